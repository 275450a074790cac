"""Helpers shared by the blueprints: the services, the signed-in official, the JSON body."""
from __future__ import annotations

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


def json_body(required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The request's JSON object (empty when there is no body); ``required`` fields must be strings."""
    if not request.data:
        body: Any = {}
    else:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", "the request body must be a JSON object")
    missing = [name for name in required if not isinstance(body.get(name), str) or not body.get(name)]
    if missing:
        raise ApiError(400, "bad_request", f"missing or non-string field(s): {', '.join(missing)}")
    return body


def client_address() -> str:
    return request.remote_addr or "unknown"
