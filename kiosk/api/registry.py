"""Registry lookup by ID number. Returns what an official may see: never templates, and the ID
number only masked. The number travels in the body, never in the URL (URLs end up in logs).
Every lookup, found or not, is audited under the number's pseudonym: who looked up whom is the
commission's business, and a run of lookups outside a voter session stands out in the log.

Lookups are limited per official (``Settings.lookup_limit`` per ``lookup_window_seconds``): the
endpoint would otherwise be an oracle for enumerating who is registered. A refused lookup answers
429 and is audited (``registry_lookup`` with outcome ``rate_limited``), so a burst stands out."""
from __future__ import annotations

from flask import Blueprint, jsonify

from kiosk.api.context import BOOTH_ROLES, json_body, principal, requires, services
from kiosk.api.errors import ApiError
from kiosk.workflow import lookup_outcome

blueprint = Blueprint("registry", __name__, url_prefix="/api/registry")


@blueprint.post("/lookup")
@requires(*BOOTH_ROLES)
def lookup():
    body = json_body(("id_number",))
    svc = services()
    key = f"official:{principal().username}"
    wait = svc.auth.lookups.retry_after([key])
    if wait:
        svc.recorder.record("registry_lookup", official_id=principal().username, outcome="rate_limited")
        raise ApiError(429, "too_many_lookups", f"too many registry lookups; try again in {wait} s",
                       retry_after=wait)
    svc.auth.lookups.fail([key])   # counts every lookup, found or not
    id_number = body["id_number"].strip().upper()
    if not id_number:   # only spaces (any Unicode space): nothing to look up, and no pseudonym of nothing
        raise ApiError(400, "bad_request", "id_number is empty")
    voter = svc.registry.find_voter(id_number)
    station = svc.settings.station_id
    svc.recorder.record("registry_lookup", official_id=principal().username,
                        voter=svc.recorder.pseudonym(id_number), outcome=lookup_outcome(voter, station))
    if voter is None:
        raise ApiError(404, "voter_not_found", "no voter is registered with this ID number")
    return jsonify(voter=voter.public_dict(), at_this_station=voter.station_id == station)
