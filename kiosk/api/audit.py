"""Audit bundle export (auditor role): the signed log a commission verifies offline."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

from flask import Blueprint, jsonify, send_file

from kiosk.api.context import json_body, principal, requires, services
from kiosk.api.errors import ApiError

blueprint = Blueprint("audit", __name__, url_prefix="/api/audit")


def _exports_dir() -> Path:
    return Path(services().settings.data_dir) / "exports"


@blueprint.post("/export")
@requires("auditor")
def export():
    from kiosk.audit import export_bundle

    json_body()
    svc = services()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"{svc.settings.station_id}-{svc.settings.kiosk_id}-{stamp}.kab"
    out = _exports_dir() / name
    out.parent.mkdir(parents=True, exist_ok=True)
    path = export_bundle(svc.recorder.log, out, official_id=principal().username,
                         summary=svc.registry.summary(svc.settings.station_id, kiosk_id=svc.settings.kiosk_id))
    data = Path(path).read_bytes()
    return jsonify(bundle=name, bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                   entries=svc.recorder.log.size, download=f"/api/audit/bundles/{name}"), 201


@blueprint.get("/bundles/<name>")
@requires("auditor")
def download(name: str):
    path = _exports_dir() / name
    if "/" in name or not name.endswith(".kab") or not path.is_file():
        raise ApiError(404, "bundle_not_found", "no exported bundle with this name")
    return send_file(path, mimetype="application/octet-stream", as_attachment=True, download_name=name)
