"""Request bodies as the real decoder reads them: identity, types, and fields the kind knows.

A body's apiVersion, kind and namespace are checked against the URL; a value of the wrong JSON
type fails it (`jsontypes.py`); a field the kind's schema does not declare is dropped and the
client told as it asked (`fieldValidation`, `unknownfields.py`). The schema is the client's
model of a built-in kind, or the CRD's structural schema of a custom resource (crds.py), which
validation reads too.
"""

from __future__ import annotations

from typing import Any

from preview.sandbox.apiserver.encoding import protobuf_schema
from preview.sandbox.apiserver.registry import crds, jsontypes, unknownfields
from preview.sandbox.apiserver.registry.options import WriteOptions
from preview.sandbox.apiserver.storage.store import Store
from preview.sandbox.machinery import schemas, warnings
from preview.sandbox.machinery.objects import clone
from preview.sandbox.machinery.resources import ResourceType
from preview.sandbox.machinery.status import StatusError, bad_request


class Decoder:
    """Decodes request bodies for the registry; reads the store for CRD schemas only."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def decode(self, rt: ResourceType, namespace: str, body: Any, opts: WriteOptions,
               applying: bool = False, owned: bool = False) -> dict[str, Any]:
        """Check a request body's identity against the URL and its fields against its kind,
        as the real decoder does (see `_check_fields`). The result is a copy of `body`
        unless the caller says it is `owned` already (nothing else holds any part of it)."""
        obj = require_object(body) if owned else clone(require_object(body))
        api_version = obj.get("apiVersion") or rt.api_version
        kind = obj.get("kind") or rt.kind
        if api_version != rt.api_version:
            raise bad_request(f"the API version in the data ({api_version}) does not match the "
                              f"expected API version ({rt.api_version})")
        if kind != rt.kind:
            raise bad_request(f"the kind in the data ({kind}) does not match the expected kind "
                              f"({rt.kind})")
        obj["apiVersion"], obj["kind"] = api_version, kind
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise bad_request(f"{rt.kind} in version \"{rt.version}\" cannot be handled as a "
                              f"{rt.kind}: metadata must be an object")
        if rt.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
            meta["namespace"] = body_ns or namespace
        else:
            meta.pop("namespace", None)
        self._check_fields(rt, obj, opts, applying)
        return obj

    def _check_fields(self, rt: ResourceType, obj: dict[str, Any], opts: WriteOptions,
                      applying: bool) -> None:
        """What the real decoder makes of a body: a value of the wrong type fails it
        (`jsontypes.py`); a field the kind's schema does not declare is dropped and the
        client told as it asked (`fieldValidation`, `unknownfields.py`). Server-side apply
        cannot type either: a 500 without a reason, as the real server (1.34) answers it."""
        mismatch = None
        if not rt.custom:
            mismatch = jsontypes.first_mismatch(obj, schemas.message_name(rt),
                                                protobuf_schema.load())
        if mismatch is not None and not applying:  # a decoding error, whatever the directive
            raise bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a '
                              f"{rt.kind}: {mismatch.decoder_message()}")
        schema = self.schema(rt)
        unknown = unknownfields.prune(obj, schema, schemas.resolve) if schema is not None else []
        if applying:
            errors = [f"{unknownfields.typed_path(p)}: field not declared in schema"
                      for p in unknown]
            typed = None if mismatch is None else jsontypes.apply_message(
                mismatch, unknownfields.typed_path(mismatch.steps))
            errors = ([typed] if typed else []) + errors
            if not errors:
                return
            group_version = f"{rt.group}/{rt.version}"
            where = "/".join(p for p in (obj["metadata"].get("namespace"),
                                         obj["metadata"].get("name", "")) if p is not None)
            text = errors[0] if len(errors) == 1 else "\n  ".join(["errors:", *errors])
            raise StatusError(500, "", f"failed to create typed patch object ({where}; "
                                       f"{group_version}, Kind={rt.kind}): {text}")
        if not unknown:
            return
        named = [f'unknown field "{unknownfields.decoder_path(p)}"' for p in unknown]
        if opts.field_validation == "Strict":
            raise bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a '
                              f"{rt.kind}: strict decoding error: {', '.join(named)}")
        if opts.field_validation == "Warn":
            for text in named:
                warnings.add(text)

    def crd_schema(self, rt: ResourceType) -> dict[str, Any] | None:
        """The `openAPIV3Schema` a custom resource's CRD gives its version, if any."""
        crd = self.store.get(crds.STORAGE, "", f"{rt.resource}.{rt.group}")
        return crds.schema_of(crd, rt.version) if crd is not None else None

    def schema(self, rt: ResourceType) -> dict[str, Any] | None:
        """The schema fields are checked against: the client's model of a built-in kind,
        the CRD's structural schema of a custom resource (whose apiVersion, kind and
        metadata are always the server's to check); None where neither is known."""
        if not rt.custom:
            cls = schemas.model_class(rt)
            return None if cls is None else {"$ref": schemas.REF_PREFIX + cls}
        schema = self.crd_schema(rt)
        return None if schema is None else crds.with_envelope(schema)


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON or YAML object")
    return body
