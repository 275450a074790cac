"""The kiosk's JSON API, one blueprint per area. Every endpoint except ``/health`` needs a bearer token.

Errors are always ``{"error": {"code": <stable code>, "message": <text for people>}}``.
"""
from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    from kiosk.api import audit, auth, devices, errors, registry, sessions, station, summary
    from kiosk.openapi import register_openapi

    errors.register(app)
    for module in (auth, sessions, devices, registry, summary, station, audit):
        app.register_blueprint(module.blueprint)
    register_openapi(app)
