"""Reports for commission officials (``monitor`` role), and kiosk enrolment (``admin``)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from kiosk.audit.errors import NoteError
from kiosk.audit.note import Verifier

from central.auth import requires
from central.reports import REPORTS, report

blueprint = Blueprint("reports", __name__)


def _minutes(services) -> int:
    try:
        return max(1, int(request.args.get("minutes", services.settings.silent_minutes)))
    except ValueError:
        return services.settings.silent_minutes


@blueprint.get("/api/reports/<name>")
@requires("monitor")
def get_report(name: str):
    services = current_app.extensions["central"]
    if name not in REPORTS:
        return jsonify(error="not_found", message=f"reports: {', '.join(REPORTS)}"), 404
    return jsonify(report(services.store, name, now=services.clock(), minutes=_minutes(services)))


@blueprint.post("/api/kiosks")
@requires("admin")
def enrol():
    services = current_app.extensions["central"]
    body = request.get_json(silent=True) or {}
    try:
        verifier = Verifier.parse(body.get("vkey", ""))
        kiosk_id, station_id = str(body["kiosk_id"]), str(body["station_id"])
    except (NoteError, KeyError, AttributeError) as exc:
        return jsonify(error="malformed", message=f"kiosk_id, station_id and a verifier key vkey are needed ({exc})"), 400
    try:
        services.store.enrol_kiosk(kiosk_id, station_id, verifier.vkey, services.clock())
    except ValueError as exc:
        return jsonify(error="conflict", message=str(exc)), 409
    return jsonify(kiosk_id=kiosk_id, station_id=station_id, vkey=verifier.vkey), 201
