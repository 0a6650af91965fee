# The syncer image: the `syncer` container of charts/vcluster runs `preview syncer` from it,
# and charts/preview-platform runs `preview serve` and `preview gc` from it (they run helm).
#
#   docker build -t preview-vcluster-syncer:dev .
#
# Three stages: the first installs the package into a virtualenv (pip builds the wheel there),
# the second downloads helm for the target architecture and checks its SHA-256, the last copies
# only those onto a clean base and runs as a non-root user.

# Pinned patch release of the base; bump it deliberately (and the one below).
FROM python:3.11.13-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/preview
WORKDIR /src
COPY pyproject.toml README.md ./
COPY preview ./preview
RUN /opt/preview/bin/pip install --no-cache-dir .

# helm, the version the tests run (.tools/bin/helm), for `preview serve`/`gc` in the platform
# chart. The checksums are those of helm's v4.1.4 release notes (get.helm.sh's .sha256sum
# files); bump the version and both together. BuildKit sets TARGETARCH (amd64, arm64).
FROM python:3.11.13-slim-bookworm AS helm
ARG TARGETARCH
ARG HELM_VERSION=v4.1.4
ARG HELM_SHA256_amd64=70b2c30a19da4db264dfd68c8a3664e05093a361cefd89572ffb36f8abfa3d09
ARG HELM_SHA256_arm64=13d03672be289045d2ff00e4e345d61de1c6f21c1257a45955a30e8ae036d8f1
# (The slim base has no curl: Python fetches it.)
RUN set -eu; \
    case "$TARGETARCH" in \
      amd64) sum="$HELM_SHA256_amd64" ;; \
      arm64) sum="$HELM_SHA256_arm64" ;; \
      *) echo "no helm checksum for architecture '$TARGETARCH'" >&2; exit 1 ;; \
    esac; \
    archive="helm-${HELM_VERSION}-linux-${TARGETARCH}.tar.gz"; \
    python -c 'import sys, urllib.request; urllib.request.urlretrieve(*sys.argv[1:])' \
      "https://get.helm.sh/$archive" "/tmp/$archive"; \
    echo "$sum  /tmp/$archive" | sha256sum -c -; \
    tar -xzf "/tmp/$archive" -C /tmp "linux-${TARGETARCH}/helm"; \
    install -m 0755 "/tmp/linux-${TARGETARCH}/helm" /usr/local/bin/helm

FROM python:3.11.13-slim-bookworm
LABEL org.opencontainers.image.title="preview-vcluster syncer" \
      org.opencontainers.image.description="Syncer of a preview-vcluster virtual cluster (charts/vcluster)" \
      org.opencontainers.image.licenses="Apache-2.0"
# The chart runs both containers as 12345 (k3s writes its admin kubeconfig 0600, the syncer
# reads it); the image's own user is the same, so it is non-root without the chart too.
RUN groupadd --system --gid 12345 preview \
 && useradd --system --uid 12345 --gid preview --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin preview
COPY --from=build /opt/preview /opt/preview
COPY --from=helm /usr/local/bin/helm /usr/local/bin/helm
ENV PATH=/opt/preview/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 12345:12345
WORKDIR /
# /healthz, /readyz, /metrics and the virtual nodes' kubelet API (`--port`). Kubernetes
# probes these itself (the chart's probes), so there is no Docker HEALTHCHECK.
EXPOSE 8443
ENTRYPOINT ["preview", "syncer"]
