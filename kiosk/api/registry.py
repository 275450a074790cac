"""Registry lookup by ID number. Returns what an official may see: never templates, and the ID
number only masked. The number travels in the body, never in the URL (URLs end up in logs)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from kiosk.api.context import BOOTH_ROLES, json_body, requires, services
from kiosk.api.errors import ApiError

blueprint = Blueprint("registry", __name__, url_prefix="/api/registry")


@blueprint.post("/lookup")
@requires(*BOOTH_ROLES)
def lookup():
    body = json_body(("id_number",))
    voter = services().registry.find_voter(body["id_number"].strip().upper())
    if voter is None:
        raise ApiError(404, "voter_not_found", "no voter is registered with this ID number")
    station = services().settings.station_id
    return jsonify(voter=voter.public_dict(), at_this_station=voter.station_id == station)
