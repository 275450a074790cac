"""Device status for the booth screen's status bar."""
from __future__ import annotations

from flask import Blueprint, jsonify

from kiosk.api.context import ALL_ROLES, requires, services

blueprint = Blueprint("devices", __name__, url_prefix="/api/devices")


@blueprint.get("")
@requires(*ALL_ROLES)
def device_status():
    settings = services().settings
    svc = services()
    sync = svc.sync
    failed = svc.failed_parts() if hasattr(svc, "failed_parts") else []
    return jsonify(station_id=settings.station_id, kiosk_id=settings.kiosk_id, devices=svc.devices.status(),
                   commission_sync=sync.status() if sync is not None else {"configured": False},
                   engines={k: ("ok" if v == "ok" else "fault") for k, v in getattr(svc, "engines", {}).items()
                            if k in ("fingerprint", "face")},
                   failed=failed)
