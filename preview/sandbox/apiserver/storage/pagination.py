"""List pagination: `limit` and opaque `continue` tokens, as the real server issues them."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from preview.sandbox.machinery.status import bad_request


def item_key(obj: dict[str, Any]) -> str:
    """Where an object sorts in a list: by namespace, then name (the store's order)."""
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


def encode_continue(rv: int, key: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": key}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        return int(data["rv"]), str(data["start"])
    except (binascii.Error, ValueError, KeyError, TypeError) as e:
        raise bad_request(f"continue key is not valid: {e}") from e
