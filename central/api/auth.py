"""Officials sign in: ``POST /api/auth/sign-in`` gives a bearer token; ``/login`` (a form) sets a cookie."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from central.auth import sign_in

blueprint = Blueprint("auth", __name__)


@blueprint.post("/api/auth/sign-in")
def api_sign_in():
    services = current_app.extensions["central"]
    body = request.get_json(silent=True) or {}
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return jsonify(error="malformed", message="username and password are required"), 400
    token = sign_in(services.store, username, password, services.settings.token_ttl_seconds)
    if token is None:
        return jsonify(error="unauthorized", message="unknown user or wrong password"), 401
    return jsonify(token=token, role=services.store.official(username)[1])
