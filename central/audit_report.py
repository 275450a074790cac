"""The commission's audit report (``kiosk.audit.report``), served from what the server has verified.

Every entry here was verified on arrival (signatures, inclusion in a signed root, append-only
consistency: ``central.push``), so the report summarises the stored entries without re-verifying a
bundle. A kiosk with a fork alert is still counted up to the history the server accepted, and the
report's bundle table says it forked; a kiosk that never pushed is listed with no entries.
"""
from __future__ import annotations

from flask import Blueprint, current_app, make_response, request

from central.auth import requires
from kiosk.audit.report import BundleStatus, render_html, summarise

blueprint = Blueprint("audit_report", __name__)


def _status(log: dict) -> BundleStatus:
    entries = log["entries"]
    note = "the server keeps the history it accepted; a later push forked from it" if log["forked"] else None
    return BundleStatus(path=f"{log['station_id']} / {log['kiosk_id']} (pushed)", status="valid", error=note,
                        origin=f"kiosk-audit/{log['station_id']}/{log['kiosk_id']}", log_key=log["vkey"],
                        entries=len(entries), checkpoints=1 if log["checkpoint"] else 0,
                        first_time=entries[0]["time"] if entries else None,
                        last_time=entries[-1]["time"] if entries else None)


@blueprint.get("/audit-report")
@requires("monitor", page=True)
def audit_report():
    services = current_app.extensions["central"]
    try:
        offset = int(request.args.get("utc_offset_hours", 0))
        gap = max(1, int(request.args.get("gap_minutes", 30)))
    except ValueError:
        return make_response("utc_offset_hours and gap_minutes must be whole numbers", 400)
    logs = [(_status(log), log["entries"]) for log in services.store.audit_logs() if log["entries"]]
    report = summarise(logs, gap_minutes=gap, utc_offset_hours=offset, generated_at=services.clock()[:16] + " UTC")
    response = make_response(render_html(report))
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    if request.args.get("download"):
        response.headers["Content-Disposition"] = 'attachment; filename="audit-report.html"'
    return response
