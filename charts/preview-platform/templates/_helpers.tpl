{{/*
Names and labels of the platform: the API (`preview serve`) and the nightly GC.
*/}}

{{/* The base name of every object: the release name, with the chart's name added unless it
is in it already (cut to leave room for the `-gc`, `-sleep` suffixes and the CronJobs' job names). */}}
{{- define "platform.fullname" -}}
{{- $name := .Values.fullnameOverride | default (ternary .Release.Name (printf "%s-preview-platform" .Release.Name) (contains "preview-platform" .Release.Name)) -}}
{{- $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object of the chart. */}}
{{- define "platform.labels" -}}
app.kubernetes.io/name: preview-platform
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: preview-vcluster
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* One component's pod labels (also its selector): (list $ "api") or (list $ "gc"). */}}
{{- define "platform.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: preview-platform
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "platform.image" -}}
{{- .Values.image.repository | default (printf "ghcr.io/preview-vcluster/syncer:%s" .Chart.AppVersion) -}}
{{- end -}}

{{/* Where the ConfigMap (policy.yaml) is mounted in both pods. */}}
{{- define "platform.configDir" -}}/etc/preview{{- end -}}

{{/*
Environment both pods share. The root filesystem is read-only: HOME, the temporary
directory and helm's cache, config and data go to the emptyDir at /tmp. No KUBECONFIG:
`preview` finds the pod's ServiceAccount as client-go does (KUBERNETES_SERVICE_HOST and the
mounted token) and hands the helm it runs a kubeconfig of the same files.
*/}}
{{- define "platform.env" -}}
- name: HOME
  value: /tmp
- name: TMPDIR
  value: /tmp
- name: HELM_CACHE_HOME
  value: /tmp/helm/cache
- name: HELM_CONFIG_HOME
  value: /tmp/helm/config
- name: HELM_DATA_HOME
  value: /tmp/helm/data
{{- end -}}

{{/* One probe from {enabled, initialDelaySeconds, ...} plus its handler (a dict). */}}
{{- define "platform.probe" -}}
{{- $probe := index . 0 -}}
{{- $handler := index . 1 -}}
{{- toYaml $handler }}
initialDelaySeconds: {{ $probe.initialDelaySeconds }}
periodSeconds: {{ $probe.periodSeconds }}
timeoutSeconds: {{ $probe.timeoutSeconds }}
failureThreshold: {{ $probe.failureThreshold }}
{{- end -}}
