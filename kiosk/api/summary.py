"""End-of-day summary for this station."""
from __future__ import annotations

from flask import Blueprint, jsonify

from kiosk.api.context import ALL_ROLES, requires, services

blueprint = Blueprint("summary", __name__, url_prefix="/api/summary")


@blueprint.get("")
@requires(*ALL_ROLES)
def summary():
    settings = services().settings
    return jsonify(station_id=settings.station_id, kiosk_id=settings.kiosk_id,
                   counts=services().registry.summary(settings.station_id))
