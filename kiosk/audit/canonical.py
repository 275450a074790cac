"""Canonical JSON: the exact bytes an audit entry is hashed and signed as.

Sorted keys, UTF-8 (non-ASCII kept as is, not ``\\u`` escaped), no insignificant whitespace, no
floats (their text form is not canonical across implementations), integers and strings only as
scalars. ``decode`` accepts only bytes that ``encode`` would have produced, so one entry has exactly
one byte representation and a verifier can recompute the hash from the parsed value.
"""
from __future__ import annotations

import json
from typing import Any

from kiosk.audit.errors import AuditError


class NotCanonical(AuditError, ValueError):
    """Bytes are not canonical JSON, or a value cannot be written as canonical JSON."""


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        raise NotCanonical(f"{path}: floats are not allowed in audit entries (use an integer or a string band)")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonical(f"{path}: object keys must be strings")
            _check(item, f"{path}.{key}" if key.isidentifier() and len(key) <= 40 else f"{path}.<key>")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    raise NotCanonical(f"{path}: values of type {type(value).__name__} cannot be written to the audit log")


def encode(value: Any) -> bytes:
    """The canonical JSON bytes of ``value``."""
    _check(value, "entry")
    return _dumps(value)


def _dumps(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NotCanonical("strings must be valid Unicode (a lone surrogate cannot be written as UTF-8)") from exc


def _no_float(text: str) -> Any:
    raise NotCanonical("floats are not allowed in audit entries")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise NotCanonical("an object repeats a key")
        out[key] = value
    return out


def decode(data: bytes) -> Any:
    """Parse canonical JSON; anything else (other spacing, key order, escapes, floats) is rejected.

    Fast path first (no per-object hook): bytes that re-encode to themselves cannot repeat a key,
    since a repeated key would be dropped from the re-encoding. Only a mismatch is parsed again to
    say precisely what is wrong.
    """
    try:
        text = data.decode("utf-8")
        value = json.loads(text, parse_float=_no_float, parse_constant=_no_float)
    except UnicodeDecodeError as exc:
        raise NotCanonical("not valid UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise NotCanonical(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if _dumps(value) != data:  # json.loads gave only JSON types (floats refused above): no _check needed
        json.loads(text, object_pairs_hook=_unique_keys)   # raises "an object repeats a key" if that is why
        raise NotCanonical("not in canonical form (key order, spacing or escaping differs)")
    return value
