"""Credentials that expire: exec plugins (EKS, GKE, AKS's kubelogin) and auth-provider users.

Resolved by the official `kubernetes` library's `KubeConfigLoader`, as kubectl resolves them:
it runs the plugin with `KUBERNETES_EXEC_INFO` (client.authentication.k8s.io/v1 or v1beta1),
reads the ExecCredential it prints and remembers its `expirationTimestamp`. Asking for the
token through the library's `Configuration.get_api_key_with_prefix` runs the plugin again
once the token is within the library's skew (5 minutes) of expiring, so a long `up` or `gc`
never sends an expired token; `refresh()` runs it unconditionally (after a 401: a token can
be revoked before it expires).

The plugin runs synchronously (as the library runs it): a few hundred milliseconds once per
token lifetime, which the event loop of a CLI tolerates.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from preview.errors import PreviewError

_BEARER = "BearerToken"


class _Captured(logging.Handler):
    """The library logs (instead of raising) why a plugin failed; keep the text for our error."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _capture_library_errors() -> Iterator[_Captured]:
    handler = _Captured()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


class PluginCredentials:
    """The credentials of one kubeconfig user whose token comes from a plugin."""

    def __init__(self, kubeconfig: dict[str, Any], context: str, base: Path,
                 user: str) -> None:
        # Imported here: the library costs a second to import, and most kubeconfigs
        # (tokens, certificates) never need it.
        from kubernetes.client import Configuration
        from kubernetes.config.kube_config import KubeConfigLoader

        self._loader = KubeConfigLoader(kubeconfig, active_context=context,
                                        config_base_path=str(base))
        self._user = user
        self._lock = threading.Lock()  # the syncer's threads and loops may share a connection
        self._config = Configuration()
        self._load()

    def __repr__(self) -> str:
        return f"PluginCredentials(user={self._user!r})"

    def _load(self) -> None:
        from kubernetes.config.config_exception import ConfigException

        with _capture_library_errors() as errors:
            try:
                self._loader.load_and_set(self._config)
            except ConfigException as e:
                errors.messages.append(str(e))
        if not self._config.api_key.get(_BEARER) and not self.client_cert_file:
            detail = "; ".join(errors.messages) or "it printed no token"
            raise PreviewError(f"kubeconfig user {self._user!r}: the credential plugin gave no "
                               f"credentials ({detail})",
                               "run the plugin's command by hand (e.g. `aws eks get-token`, "
                               "`gke-gcloud-auth-plugin`, `kubelogin`) and fix its login")

    @property
    def client_cert_file(self) -> str:
        """A client certificate the plugin returned instead of a token ("" when none)."""
        return str(getattr(self._config, "cert_file", None) or "")

    @property
    def client_key_file(self) -> str:
        return str(getattr(self._config, "key_file", None) or "")

    def token(self) -> str:
        """The current bearer token (the plugin runs again when it is about to expire)."""
        with self._lock, _capture_library_errors():
            value = self._config.get_api_key_with_prefix(_BEARER) or ""
        # The loader stores "Bearer <token>"; the header is ours to build.
        return value.removeprefix("Bearer ").strip()

    def refresh(self) -> None:
        """Run the plugin again now (the server refused the token we had)."""
        with self._lock:
            self._load()
