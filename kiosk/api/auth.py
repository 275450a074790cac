"""Sign-in, sign-out and who am I."""
from __future__ import annotations

from flask import Blueprint, g, jsonify

from kiosk.api.context import ALL_ROLES, client_address, json_body, principal, requires, services

blueprint = Blueprint("auth", __name__, url_prefix="/api/auth")


@blueprint.post("/sign-in")
def sign_in():
    body = json_body(("username", "password"))
    token, who = services().auth.sign_in(body["username"], body["password"], client=client_address())
    ttl = services().settings.token_ttl_seconds
    return jsonify(token=token, token_type="Bearer", expires_in=ttl, official=who.public_dict())


@blueprint.post("/sign-out")
@requires(*ALL_ROLES)
def sign_out():
    services().auth.tokens.revoke(g.token)
    return jsonify(signed_out=True)


@blueprint.get("/me")
@requires(*ALL_ROLES)
def me():
    return jsonify(official=principal().public_dict())
