"""Commission officials: scrypt password hashes, bearer tokens (or the same token in a cookie for the
pages), and a role check for each view."""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone

from flask import current_app, g, jsonify, redirect, request, url_for

from central.store import ROLES

COOKIE = "central_token"
_N, _R, _P = 2 ** 14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
                             p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def sign_in(store, username: str, password: str, ttl_s: int) -> str | None:
    found = store.official(username)
    if found is None or not check_password(password, found[0]):
        hash_password(password)  # same cost whether or not the user exists
        return None
    token = secrets.token_urlsafe(24)
    expires = (datetime.now(timezone.utc) + timedelta(seconds=ttl_s)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    store.add_token(token, username, expires)
    return token


def _token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE)


def official_of_request() -> tuple[str, str] | None:
    """(username, role) of the signed-in official making this request, or None."""
    services = current_app.extensions["central"]
    token = _token()
    return services.store.token_user(token, services.clock()) if token else None


def requires(role: str = "monitor", *, page: bool = False):
    """Allow officials whose role is ``role`` or higher (admin > monitor)."""
    needed = ROLES.index(role)

    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            services = current_app.extensions["central"]
            token = _token()
            user = services.store.token_user(token, services.clock()) if token else None
            if user is None:
                if page:
                    return redirect(url_for("pages.login", next=request.path))
                return jsonify(error="unauthorized", message="sign in first (Bearer token)"), 401
            if ROLES.index(user[1]) < needed:
                return jsonify(error="forbidden", message=f"this needs the {role} role"), 403
            g.official = {"username": user[0], "role": user[1]}
            return view(*args, **kwargs)
        return inner
    return wrap
