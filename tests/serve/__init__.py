"""Helpers of the `preview serve` tests."""

from __future__ import annotations

import urllib.request


def healthy(api_url: str) -> bool:
    """Whether a `preview serve` at `api_url` answers its /healthz with 200."""
    try:
        with urllib.request.urlopen(f"{api_url}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
