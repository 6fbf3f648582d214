"""Content ids (the same content gets the same id in every process and on every machine) and the rule
for model ids."""

from __future__ import annotations

import hashlib
import json
import re

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def content_hash(*parts: object) -> str:
    """A stable 32-hex-digit id for JSON-serializable content."""
    payload = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def check_model_id(model_id: str) -> str:
    """A model id the lake and every table can hold: not blank, no control character (a newline would
    split a table's line and a Hub repo name), no `--` (the lake's folder encoding of `/`,
    `core.paths.encode_model_id`). Returns it; else a ValueError saying what is wrong."""
    if not model_id.strip():
        raise ValueError("model id is empty")
    if CONTROL_CHARACTERS.search(model_id):
        raise ValueError(f"model id {model_id!r} holds a control character (a newline, a tab): not allowed")
    if "--" in model_id:
        raise ValueError(f"model id {model_id!r} must not contain '--' (reserved for encoding '/')")
    return model_id
