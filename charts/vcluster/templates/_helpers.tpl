{{/*
Names and labels of one virtual cluster. The release name is the virtual cluster's NAME.
*/}}

{{/* The release name, checked: the pod NAME-0 and the Service NAME must be DNS labels. */}}
{{- define "vcluster.name" -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$" .Release.Name) -}}
{{- fail (printf "release name %q must be a DNS label of at most 52 characters (the pod is NAME-0)" .Release.Name) -}}
{{- end -}}
{{- .Release.Name -}}
{{- end -}}

{{/* Labels on every object of the chart; never the syncer's own managed-by label. */}}
{{- define "vcluster.labels" -}}
app.kubernetes.io/name: vcluster
app.kubernetes.io/instance: {{ include "vcluster.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: preview-vcluster
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* The control-plane pod's labels (also the StatefulSet's selector). */}}
{{- define "vcluster.selectorLabels" -}}
app.kubernetes.io/name: vcluster
app.kubernetes.io/instance: {{ include "vcluster.name" . }}
app.kubernetes.io/component: control-plane
{{- end -}}

{{- define "vcluster.serviceAccount" -}}
vc-{{ include "vcluster.name" . }}
{{- end -}}

{{- define "vcluster.workloadServiceAccount" -}}
vc-workload-{{ include "vcluster.name" . }}
{{- end -}}

{{- define "vcluster.syncerImage" -}}
{{- .Values.syncer.image | default (printf "ghcr.io/preview-vcluster/syncer:%s" .Chart.AppVersion) -}}
{{- end -}}

{{/* Names the API server certificate must carry: every way clients reach it. */}}
{{- define "vcluster.tlsSANs" -}}
{{- $name := include "vcluster.name" . -}}
{{- $ns := .Release.Namespace -}}
{{- $sans := list $name (printf "%s.%s" $name $ns) (printf "%s.%s.svc" $name $ns) (printf "%s.%s.svc.%s" $name $ns .Values.clusterDomain) "127.0.0.1" "localhost" -}}
{{- if .Values.ingress.enabled -}}
{{- $sans = append $sans .Values.ingress.host -}}
{{- end -}}
{{- range .Values.tlsSANs -}}
{{- $sans = append $sans . -}}
{{- end -}}
{{- toJson (uniq $sans) -}}
{{- end -}}

{{/*
`k3s server` as a control plane only. k3s flags: https://docs.k3s.io/cli/server
- no agent (so no kubelet, containerd, flannel, kube-proxy, network policy controller), no
  scheduler: the host schedules the synced pods; k3s allows a non-root server only with
  --disable-agent;
- --egress-selector-mode=disabled: without an agent there is no tunnel for the API server to
  reach kubelets through; it dials the virtual nodes' kubelet address (the syncer) directly;
- controllers that act on real nodes or volumes are off (their canonical names since
  Kubernetes 1.28, cmd/kube-controller-manager/names): node IPAM and lifecycle would evict
  pods from the synthetic nodes, the PV controllers would bind claims the host binds.
*/}}
{{- define "vcluster.k3sArgs" -}}
{{- $args := list "server" "--data-dir=/data/k3s" "--write-kubeconfig=/data/k3s-config/kube-config.yaml" "--write-kubeconfig-mode=0600" -}}
{{- $args = append $args (printf "--service-cidr=%s" (required "serviceCIDR is required (the host's Service range)" .Values.serviceCIDR)) -}}
{{- $args = append $args (printf "--cluster-domain=%s" .Values.clusterDomain) -}}
{{- range (include "vcluster.tlsSANs" . | fromJsonArray) -}}
{{- $args = append $args (printf "--tls-san=%s" .) -}}
{{- end -}}
{{- $args = concat $args (list "--disable-agent" "--disable-scheduler" "--disable-cloud-controller" "--disable-network-policy" "--disable-helm-controller" "--disable-kube-proxy" "--disable=traefik,servicelb,metrics-server,local-storage") -}}
{{- if .Values.k3s.disableCoreDNS -}}
{{- $args = append $args "--disable=coredns" -}}
{{- end -}}
{{- $args = concat $args (list "--flannel-backend=none" "--egress-selector-mode=disabled" "--kube-controller-manager-arg=controllers=*,-node-ipam-controller,-node-lifecycle-controller,-persistentvolume-binder-controller,-persistentvolume-attach-detach-controller,-persistentvolume-expander-controller,-ttl-controller") -}}
{{- with .Values.oidc -}}
{{- if .enabled -}}
{{- $args = append $args (printf "--kube-apiserver-arg=oidc-issuer-url=%s" (required "oidc.issuerURL is required when oidc.enabled" .issuerURL)) -}}
{{- $args = append $args (printf "--kube-apiserver-arg=oidc-client-id=%s" (required "oidc.clientID is required when oidc.enabled" .clientID)) -}}
{{- $args = append $args (printf "--kube-apiserver-arg=oidc-username-claim=%s" .usernameClaim) -}}
{{- if .usernamePrefix -}}
{{- $args = append $args (printf "--kube-apiserver-arg=oidc-username-prefix=%s" .usernamePrefix) -}}
{{- end -}}
{{- if .groupsClaim -}}
{{- $args = append $args (printf "--kube-apiserver-arg=oidc-groups-claim=%s" .groupsClaim) -}}
{{- end -}}
{{- if .groupsPrefix -}}
{{- $args = append $args (printf "--kube-apiserver-arg=oidc-groups-prefix=%s" .groupsPrefix) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml (concat $args .Values.k3s.extraArgs) -}}
{{- end -}}

{{/* `preview syncer` flags (the image's entrypoint is `preview syncer`). */}}
{{- define "vcluster.syncerArgs" -}}
{{- $name := include "vcluster.name" . -}}
{{- $args := list (printf "--name=%s" $name) "--virtual-kubeconfig=/data/k3s-config/kube-config.yaml" -}}
{{- $args = append $args (printf "--kubeconfig-secret=vc-%s" $name) -}}
{{- $args = append $args (printf "--kubeconfig-server=https://%s.%s.svc:443" $name .Release.Namespace) -}}
{{- $args = append $args (printf "--api-service=%s" $name) -}}
{{- $args = append $args (printf "--workload-service-account=%s" (include "vcluster.workloadServiceAccount" .)) -}}
{{- $args = concat $args (list "--advertise-address=127.0.0.1" "--port=8443" "--kubelet-port=10250" "--kubelet-ca-dir=/data/k3s/server/tls") -}}
{{- if .Values.dns.enabled -}}
{{- $args = concat $args (list (printf "--dns-service=%s-dns" $name) "--dns-port=1053" (printf "--cluster-domain=%s" .Values.clusterDomain)) -}}
{{- end -}}
{{- /* sync.kinds names every kind (values.schema.json allows no other); sorted, on ones */ -}}
{{- $kinds := list -}}
{{- range $kind, $on := .Values.sync.kinds -}}
{{- if $on -}}
{{- $kinds = append $kinds $kind -}}
{{- end -}}
{{- end -}}
{{- $args = append $args (printf "--sync=%s" (join "," $kinds)) -}}
{{- $args = append $args (printf "--configs=%s" .Values.sync.configs) -}}
{{- $args = append $args (printf "--node-sync=%s" .Values.sync.nodes) -}}
{{- $args = append $args (printf "--pod-security=%s" .Values.isolation.podSecurity) -}}
{{- range .Values.sync.allow -}}
{{- $args = append $args (printf "--allow=%s" .) -}}
{{- end -}}
{{- range .Values.isolation.ingress.allowedHosts -}}
{{- $args = append $args (printf "--allowed-host=%s" .) -}}
{{- end -}}
{{- range .Values.isolation.ingress.deniedAnnotations -}}
{{- $args = append $args (printf "--denied-annotation=%s" .) -}}
{{- end -}}
{{- if and (not .Values.isolation.ingress.deniedAnnotations) (not (has "ingress-annotations" .Values.sync.allow)) -}}
{{- /* an empty deny list denies nothing (the syncer's default list would otherwise apply) */ -}}
{{- $args = append $args "--allow=ingress-annotations" -}}
{{- end -}}
{{- range .Values.isolation.pods.allowedPriorityClasses -}}
{{- $args = append $args (printf "--allowed-priority-class=%s" .) -}}
{{- end -}}
{{- range $key, $value := .Values.sync.extraLabels -}}
{{- if hasPrefix "preview-vcluster.io/" $key -}}
{{- fail (printf "sync.extraLabels: %q is under preview-vcluster.io/, the syncer's own labels; use another key" $key) -}}
{{- end -}}
{{- $args = append $args (printf "--extra-label=%s=%s" $key $value) -}}
{{- end -}}
{{- range $key, $value := .Values.sync.nodeSelector -}}
{{- $args = append $args (printf "--node-selector=%s=%s" $key $value) -}}
{{- end -}}
{{- range .Values.sync.tolerations -}}
{{- $toleration := .key -}}
{{- if hasKey . "value" -}}
{{- $toleration = printf "%s=%s" $toleration .value -}}
{{- end -}}
{{- if .effect -}}
{{- $toleration = printf "%s:%s" $toleration .effect -}}
{{- end -}}
{{- $args = append $args (printf "--toleration=%s" $toleration) -}}
{{- end -}}
{{- range $virtual, $host := .Values.sync.storageClasses -}}
{{- $args = append $args (printf "--storage-class=%s=%s" $virtual $host) -}}
{{- end -}}
{{- $args = append $args (printf "--workers=%d" (int .Values.syncer.workers)) -}}
{{- $args = append $args (printf "--log-format=%s" .Values.syncer.logFormat) -}}
{{- toYaml (concat $args .Values.syncer.extraArgs) -}}
{{- end -}}

{{/* One probe from {enabled, initialDelaySeconds, ...} plus its handler (a dict). */}}
{{- define "vcluster.probe" -}}
{{- $probe := index . 0 -}}
{{- $handler := index . 1 -}}
{{- toYaml $handler }}
initialDelaySeconds: {{ $probe.initialDelaySeconds }}
periodSeconds: {{ $probe.periodSeconds }}
timeoutSeconds: {{ $probe.timeoutSeconds }}
failureThreshold: {{ $probe.failureThreshold }}
{{- end -}}
