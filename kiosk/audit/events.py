"""What may be written to the audit log: event types, field rules and the voter pseudonym.

Privacy is part of correctness here: an event that carries (or looks like it carries) a template, an
image, a raw MRZ line, an ID number or a voter's name is refused with :class:`EventRejected`, whose
message names the field and the rule but never repeats the value.

Event types (``event`` field)
    boot, self_test, card_read, capture, match, fallback, ink_check, lamp_on, lamp_off, override,
    vote_marked, export, shutdown, plus sign_in, sign_in_failed, session_started, session_ended,
    refusal, log_recovered (written by the log itself when it repaired a torn tail).

Fields the log fills in: ``seq`` (0-based, equal to the Merkle leaf index), ``time`` (UTC,
``YYYY-MM-DDTHH:MM:SS.ffffffZ``), ``kiosk_id``, ``station_id``. Common caller fields:
``official_id``, ``outcome``, ``score_band``, ``reason``, ``voter`` (a :func:`pseudonym`), and
``summary`` (end-of-day counts: an object of small integers) on ``export``/``shutdown`` events.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import re
from typing import Any, Mapping

from kiosk.audit.errors import EventRejected

EVENT_TYPES = frozenset({
    "boot", "self_test", "card_read", "capture", "match", "fallback", "ink_check", "lamp_on",
    "lamp_off", "override", "vote_marked", "export", "shutdown",
    "sign_in", "sign_in_failed", "session_started", "session_ended", "refusal", "log_recovered",
    "registry_lookup",
    "case_decided",     # a reviewer confirmed or dismissed a suspected duplicate (national.cases)
})

LOG_FIELDS = ("seq", "time", "kiosk_id", "station_id")
"""Fields the log writes itself; a caller may pass kiosk_id/station_id only if they agree."""

# Key fragments that name raw biometrics or identity documents. Matched as substrings of the
# lower-cased key so "face_template", "probe_image" and "mrz_lines" are all caught.
FORBIDDEN_KEY_PARTS = ("template", "image", "photo", "picture", "frame", "mrz", "minutia",
                       "embedding", "encoding", "id_number", "idnumber", "national_id",
                       "document_number", "password", "secret", "token")
# Whole keys that would hold a voter's identity in the clear.
FORBIDDEN_KEYS = frozenset({"name", "surname", "given_names", "full_name", "birth_date",
                            "date_of_birth", "dob", "iso", "raw"})

_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_DIGIT_RUN = re.compile(r"\d{6,}")
_MRZ_LIKE = re.compile(r"[A-Z0-9<]{25,}|<<")
_BLOB_LIKE = re.compile(r"[A-Za-z0-9+/=_-]{40,}")
MAX_STRING = 200
MAX_INT = 10**6 - 1
MAX_ITEMS = 100
MAX_DEPTH = 4


def _reject(path: str, why: str) -> EventRejected:
    return EventRejected(f"audit event field {path!r} rejected: {why}")


def _is_hash_key(key: str) -> bool:
    return key == "voter" or key.endswith("_pseudonym") or key.endswith("_sha256")


def _check_value(path: str, key: str, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _reject(path, f"nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise _reject(path, f"integer of 7 or more digits looks like an ID number (limit {MAX_INT})")
        return
    if isinstance(value, float):
        raise _reject(path, "floats are not allowed (use an integer or a string band)")
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise _reject(path, "raw bytes are not allowed (templates and images never enter the log)")
    if isinstance(value, str):
        if _is_hash_key(key):
            if not _HEX64.fullmatch(value):
                raise _reject(path, "must be 64 lower-case hex characters (an HMAC/SHA-256 value)")
            return
        if len(value) > MAX_STRING:
            raise _reject(path, f"string longer than {MAX_STRING} characters")
        if _DIGIT_RUN.search(value):
            raise _reject(path, "a run of 6 or more digits looks like an ID number; log its pseudonym")
        if _MRZ_LIKE.search(value):
            raise _reject(path, "looks like a raw MRZ line")
        if _BLOB_LIKE.search(value):
            raise _reject(path, "looks like encoded binary data (a template or image)")
        return
    if isinstance(value, Mapping):
        if len(value) > MAX_ITEMS:
            raise _reject(path, f"more than {MAX_ITEMS} keys")
        for sub_key, item in value.items():
            _check_key(f"{path}.{sub_key}", sub_key)
            _check_value(f"{path}.{sub_key}", sub_key, item, depth + 1)
        return
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_ITEMS:
            raise _reject(path, f"more than {MAX_ITEMS} items")
        for i, item in enumerate(value):
            _check_value(f"{path}[{i}]", key, item, depth + 1)
        return
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        raise _reject(path, "arrays are not allowed (templates and images never enter the log)")
    raise _reject(path, f"values of type {type(value).__name__} are not allowed")


_FORBIDDEN_KEY_PART = re.compile("|".join(map(re.escape, FORBIDDEN_KEY_PARTS)))


@functools.lru_cache(maxsize=4096)
def _key_problem(key: str) -> str | None:
    """Why ``key`` may not appear in an entry, or None. Cached: entries repeat the same few keys."""
    if not _KEY.fullmatch(key) or _DIGIT_RUN.search(key):
        return "shape"
    if key in FORBIDDEN_KEYS or _FORBIDDEN_KEY_PART.search(key):
        return "forbidden"
    return None


def _check_key(path: str, key: Any) -> None:
    problem = _key_problem(key) if isinstance(key, str) else "shape"
    if problem == "shape":  # the key itself is not repeated: it could be the very number refused
        parent = path.rsplit(".", 1)[0] if "." in path else "the top level"
        raise EventRejected(f"audit event key in {parent!r} rejected: keys are lower-case identifiers "
                            "of at most 40 characters without runs of 6 or more digits")
    if problem == "forbidden":
        raise _reject(path, "this key names raw biometric or identity data, which never enters the log")


def validate_fields(fields: Mapping[str, Any], *, allow_log_fields: bool = False) -> None:
    """Raise :class:`EventRejected` unless ``fields`` is a loggable event."""
    if not isinstance(fields, Mapping):
        raise EventRejected("an audit event must be a dict")
    event = fields.get("event")
    if not isinstance(event, str):
        raise EventRejected("audit event has no 'event' type")
    if event not in EVENT_TYPES:
        shown = f" {event!r}" if re.fullmatch(r"[a-z_]{1,40}", event) else ""  # never echo digits
        raise EventRejected(f"unknown audit event type{shown}; known: {', '.join(sorted(EVENT_TYPES))}")
    for key, value in fields.items():
        if not allow_log_fields and key in ("seq", "time"):
            raise _reject(key, "is written by the log itself")
        _check_key(str(key), key)
        if allow_log_fields and key == "time":
            continue  # the log's own ISO time string, checked by the verifier's time rules
        _check_value(key, key, value, 1)


def pseudonym(id_number: str, key: bytes) -> str:
    """HMAC-SHA256 of the normalised ID number under the commission key, as 64 hex characters.

    Normalised means surrounding whitespace removed and upper-cased, so the card reader's and the
    registry's spelling of one number give one pseudonym. Without the key nobody can link a
    pseudonym back to a number, not even by trying every possible number.
    """
    if not isinstance(key, (bytes, bytearray)) or len(key) < 16:
        raise ValueError("pseudonym key must be at least 16 bytes")
    if not isinstance(id_number, str) or not id_number.strip():
        raise ValueError("pseudonym needs a non-empty ID number string")
    return hmac.new(bytes(key), id_number.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()
