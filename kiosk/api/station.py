"""The polling station's view: every kiosk sharing the station's registry, added up (supervisor)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from kiosk.api.context import requires, services

blueprint = Blueprint("station", __name__, url_prefix="/api/station")


@blueprint.get("/summary")
@requires("supervisor")
def station_summary():
    """Per kiosk and in total: votes marked, refusals, ink found, fallbacks, second-vote attempts. Each
    kiosk's own counts (``/api/summary``, its audit export) still reconcile with its own audit log."""
    svc = services()
    return jsonify(kiosk_id=svc.settings.kiosk_id, **svc.registry.station_summary(svc.settings.station_id))
