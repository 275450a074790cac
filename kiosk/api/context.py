"""Helpers shared by the blueprints: the services, the signed-in official, the JSON body."""
from __future__ import annotations

import json
from functools import wraps
from typing import Any, Callable

from flask import current_app, g, request

from kiosk.api.errors import ApiError
from kiosk.auth import Principal, TokenInvalid, require_role

ALL_ROLES = ("official", "supervisor", "auditor")
BOOTH_ROLES = ("official", "supervisor")


def services():
    return current_app.extensions["kiosk"]


def principal() -> Principal:
    return g.principal


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenInvalid("this endpoint needs 'Authorization: Bearer <token>' (sign in first)")
    return token.strip()


def requires(*roles: str) -> Callable:
    """Decorator: a valid bearer token whose official has one of ``roles``."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            who = services().auth.authenticate(bearer_token())
            require_role(who, *roles)
            g.principal = who
            g.token = bearer_token()
            return view(*args, **kwargs)
        wrapper.required_roles = roles  # read by the OpenAPI document
        return wrapper
    return decorate


MAX_JSON_DEPTH = 16
"""Nesting deeper than this is refused before parsing (a 100,000-deep array would exhaust the stack)."""


def _too_deep(data: bytes) -> bool:
    depth = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def parse_json_object(data: bytes) -> dict[str, Any]:
    """A request body as a JSON object; anything else (not UTF-8, not JSON, too deep, a lone UTF-16
    surrogate that no text can hold) is a 400 with a plain message."""
    if _too_deep(data):
        raise ApiError(400, "bad_request", f"the request body is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "bad_request", "the request body is not valid UTF-8 JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "the request body must be a JSON object")
    if _has_lone_surrogate(body):
        raise ApiError(400, "bad_request", "the request body holds a lone UTF-16 surrogate (not text)")
    return body


def json_body(required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The request's JSON object (empty when there is no body); ``required`` fields must be non-empty strings."""
    body: dict[str, Any] = parse_json_object(request.get_data()) if request.content_length or request.data else {}
    # whitespace alone is missing too: " " or a no-break space would be stripped to nothing further on
    missing = [name for name in required if not isinstance(body.get(name), str) or not body[name].strip()]
    if missing:
        raise ApiError(400, "bad_request", f"missing or non-string field(s): {', '.join(missing)}")
    return body


def client_address() -> str:
    return request.remote_addr or "unknown"
