"""Structured logging that cannot leak biometrics or identity numbers.

Every record passes through :class:`RedactingFilter`: values under sensitive keys are replaced, long
runs of digits (ID numbers), MRZ-looking lines and base64/hex blobs (templates, images) in the
message are masked. Callers should log pseudonyms and counts, never raw data; this is the safety net.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

SENSITIVE_KEYS = frozenset({
    "template", "templates", "image", "images", "photo", "mrz", "mrz_lines", "id_number",
    "national_id", "document_number", "password", "token", "key", "secret", "iso", "encoding",
})

_PATTERNS = [
    (re.compile(r"[A-Z0-9<]{25,}"), "[mrz]"),                     # MRZ lines
    (re.compile(r"(?:[A-Za-z0-9+/]{40,}={0,2})"), "[blob]"),        # base64 blobs
    (re.compile(r"\b[0-9a-fA-F]{40,}\b"), "[hex]"),                 # hex dumps
    # alphanumeric ID numbers as the importer accepts them (5-20 letters and digits, upper-cased): a
    # word with at least one capital letter and one digit
    (re.compile(r"\b(?=[A-Z0-9]{5,20}\b)(?=[0-9]*[A-Z])(?=[A-Z]*[0-9])[A-Z0-9]+\b"), "[id]"),
    (re.compile(r"\d{6,}"), "[number]"),                            # ID numbers, dates of birth
]

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def redact_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(key: str, value: Any) -> Any:
    if key.lower() in SENSITIVE_KEYS:
        return "[redacted]"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"[{len(value)} bytes]"
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(key, v) for v in value][:20]
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"[array {getattr(value, 'shape', '')}]"
    return value


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not kill logging
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD:
                setattr(record, key, redact_value(key, value))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                  + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            payload["error"] = record.exc_info[0].__name__
            payload["error_message"] = redact_text(str(record.exc_info[1]))
        return json.dumps(payload, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time level logger: message``; a traceback is redacted like the message (exception text may
    quote what it failed on)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        # the whole line: another handler may have cached the record's traceback text unredacted
        return redact_text(super().format(record))


def configured() -> bool:
    return any(getattr(h, "_kiosk", False) for h in logging.getLogger().handlers)


def ensure_configured(level: str = "INFO", fmt: str = "json") -> None:
    """Configure logging unless the process already did (the CLI does first; an app built by a WSGI
    server, a test or another program gets the redacting handler too)."""
    if not configured():
        configure(level, fmt)


def configure(level: str = "INFO", fmt: str = "json", stream=None) -> None:
    """Install one handler on the root logger; safe to call more than once."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_kiosk", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._kiosk = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
