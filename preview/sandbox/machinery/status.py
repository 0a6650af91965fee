"""Kubernetes `Status` objects and the one exception the emulator raises to produce them.

Every failure a handler can meet is a `StatusError`; the HTTP layer turns it into the same
JSON body and status code the real kube-apiserver would send (see the `metav1.Status`
type and `k8s.io/apimachinery/pkg/api/errors`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cause:
    """One entry of `details.causes` (for 422 Invalid: the field and why)."""

    reason: str
    message: str
    field: str = ""

    def to_dict(self) -> dict[str, str]:
        out = {"reason": self.reason, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


@dataclass
class StatusError(Exception):
    """A failed request, rendered as a `Status` with the real server's code and reason.

    apimachinery's `errors.StatusError`: what the emulator raises. Its clients (controllers,
    kubelet) receive `preview.kube.client`'s `ApiError` family instead; the two never mix.
    """

    code: int
    reason: str
    message: str
    kind: str = ""
    name: str = ""
    group: str = ""
    causes: list[Cause] = field(default_factory=list)
    retry_after: int | None = None

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def status(self) -> dict[str, Any]:
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [c.to_dict() for c in self.causes]
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        # The field order of `metav1.Status`, which clients comparing the text rely on.
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:  # omitempty: a plain error becomes a 500 with none
            body["reason"] = self.reason
        if details:
            body["details"] = details
        body["code"] = self.code
        return body


def qualified(resource: str, group: str) -> str:
    """`deployments.apps` / `pods`: how the real server names a resource in messages."""
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, group: str, name: str) -> StatusError:
    return StatusError(404, "NotFound", f'{qualified(resource, group)} "{name}" not found',
                    kind=resource, name=name, group=group)


def already_exists(resource: str, group: str, name: str) -> StatusError:
    return StatusError(409, "AlreadyExists", f'{qualified(resource, group)} "{name}" already exists',
                    kind=resource, name=name, group=group)


def conflict(resource: str, group: str, name: str, why: str) -> StatusError:
    return StatusError(409, "Conflict",
                    f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {why}',
                    kind=resource, name=name, group=group)


def invalid(kind: str, group: str, name: str, causes: list[Cause]) -> StatusError:
    """422 Invalid, with the message format of `errors.NewInvalid`."""
    parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    qualified_kind = f"{kind}.{group}" if group else kind
    return StatusError(422, "Invalid", f'{qualified_kind} "{name}" is invalid: {summary}',
                    kind=kind, name=name, group=group, causes=causes)


def field_invalid(path: str, value: Any, detail: str) -> Cause:
    """A `field.Invalid` cause: `spec.x: Invalid value: <v>: <detail>`."""
    shown = f'"{value}"' if isinstance(value, str) else _go_repr(value)
    return Cause("FieldValueInvalid", f"Invalid value: {shown}: {detail}", path)


def field_required(path: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", "Required value" + (f": {detail}" if detail else ""), path)


def field_forbidden(path: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", f"Forbidden: {detail}", path)


def field_not_supported(path: str, value: Any, supported: list[str]) -> Cause:
    values = ", ".join(f'"{s}"' for s in supported)
    return Cause("FieldValueNotSupported",
                 f'Unsupported value: "{value}": supported values: {values}', path)


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def forbidden(message: str, resource: str = "", group: str = "", name: str = "") -> StatusError:
    return StatusError(403, "Forbidden", message, kind=resource, name=name, group=group)


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> StatusError:
    return StatusError(405, "MethodNotAllowed", message)


def gone(message: str) -> StatusError:
    return StatusError(410, "Expired", message)


def unsupported_media_type(message: str) -> StatusError:
    return StatusError(415, "UnsupportedMediaType", message)


def _go_repr(value: Any) -> str:
    if isinstance(value, list):
        return "[]string{" + ", ".join(f'"{v}"' for v in value) + "}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def success(kind: str = "", name: str = "", group: str = "", code: int = 200) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                            "status": "Success", "code": code}
    if details:
        body["details"] = details
    return body
