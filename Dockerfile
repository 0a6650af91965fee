# The syncer image: the `syncer` container of charts/vcluster runs `preview syncer` from it.
#
#   docker build -t preview-vcluster-syncer:dev .
#
# Two stages: the first installs the package into a virtualenv (pip builds the wheel there),
# the second copies only that virtualenv onto a clean base and runs as a non-root user.

# Pinned patch release of the base; bump it deliberately (and the one below).
FROM python:3.11.13-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/preview
WORKDIR /src
COPY pyproject.toml README.md ./
COPY preview ./preview
RUN /opt/preview/bin/pip install --no-cache-dir .

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
ENV PATH=/opt/preview/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 12345:12345
WORKDIR /
# /healthz, /readyz, /metrics and the virtual nodes' kubelet API (`--port`). Kubernetes
# probes these itself (the chart's probes), so there is no Docker HEALTHCHECK.
EXPOSE 8443
ENTRYPOINT ["preview", "syncer"]
