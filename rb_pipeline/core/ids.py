"""Content ids: the same content gets the same id in every process and on every machine."""

from __future__ import annotations

import hashlib
import json


def content_hash(*parts: object) -> str:
    """A stable 32-hex-digit id for JSON-serializable content."""
    payload = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
