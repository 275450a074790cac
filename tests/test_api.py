"""The API's contract: tokens on every endpoint but /health, roles, stable error codes, sign-in rate
limiting, token expiry, registry lookup without templates, and an OpenAPI document for every route.

The app runs on a real demo registry (packaged images) with no devices configured.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kiosk import create_app
from kiosk.audit import layout, records
from kiosk.openapi import document, openapi_path
from test_e2e import PASSWORDS, demo_dir  # noqa: F401  (module fixture: a demo registry with officials)

PUBLIC = {("GET", "/health"), ("GET", "/openapi.json"), ("POST", "/api/auth/sign-in")}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(demo_dir, tmp_path, clock):  # noqa: F811
    data = tmp_path / "data"
    shutil.copytree(demo_dir, data)
    application = create_app({"data_dir": data, "key_dir": data / "keys", "create_keys": True,
                              "max_failed_signins": 3, "signin_window_seconds": 60, "token_ttl_seconds": 600},
                             clock=clock)
    try:
        yield application
    finally:
        application.extensions["kiosk"].close()


@pytest.fixture
def client(app):
    return app.test_client()


def sign_in(client, username: str, password: str | None = None):
    return client.post("/api/auth/sign-in", json={"username": username,
                                                   "password": PASSWORDS[username] if password is None else password})


def bearer(client, username: str = "official") -> dict:
    return {"Authorization": f"Bearer {sign_in(client, username).json['token']}"}


def routes(app) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def concrete(path: str) -> str:
    return path.replace("<session_id>", "nosuchsession").replace("<name>", "nosuch.kab")


def audit_entries(app) -> list[dict]:
    data_dir = Path(app.extensions["kiosk"].settings.data_dir)
    return [json.loads(e) for e in records.scan((data_dir / "audit" / layout.ENTRIES_LOG).read_bytes()).entries]


# -- tokens and errors --------------------------------------------------------------------------------

def test_health_needs_no_token(client):
    reply = client.get("/health")
    assert reply.status_code == 200 and reply.json["status"] == "ok"


def test_every_other_api_endpoint_refuses_a_request_without_a_token(app, client):
    api = {(method, path) for method, path in routes(app) if path.startswith("/api/")}
    assert len(api) > 15
    for method, path in sorted(api - PUBLIC):
        reply = client.open(concrete(path), method=method)
        assert reply.status_code == 401, (method, path)
        assert reply.json["error"]["code"] == "invalid_token"
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_made_up_token_is_refused(client):
    reply = client.get("/api/devices", headers={"Authorization": "Bearer not-a-token"})
    assert (reply.status_code, reply.json["error"]["code"]) == (401, "invalid_token")


def test_unknown_path_is_a_json_404(client):
    reply = client.get("/api/nothing-here")
    assert reply.status_code == 404 and reply.json["error"]["code"] == "not_found"


def test_malformed_json_body_is_a_bad_request(client):
    reply = client.post("/api/auth/sign-in", data="{not json", content_type="application/json")
    assert (reply.status_code, reply.json["error"]["code"]) == (400, "bad_request")


# -- sign-in --------------------------------------------------------------------------------------------

def test_sign_in_returns_a_bearer_token_with_its_expiry(client):
    reply = sign_in(client, "supervisor")
    assert reply.status_code == 200
    assert (reply.json["token_type"], reply.json["expires_in"]) == ("Bearer", 600)
    assert reply.json["official"] == {"username": "supervisor", "role": "supervisor",
                                      "display_name": "Demo presiding officer"}
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {reply.json['token']}"})
    assert me.json["official"]["username"] == "supervisor"


def test_wrong_password_is_refused_and_audited_without_the_password(app, client):
    reply = sign_in(client, "official", "guess-123")
    assert (reply.status_code, reply.json["error"]["code"]) == (401, "invalid_credentials")
    failures = [e for e in audit_entries(app) if e["event"] == "sign_in_failed"]
    assert failures and failures[-1]["official_id"] == "official"
    assert b"guess-123" not in json.dumps(audit_entries(app)).encode()


def test_failed_sign_in_is_logged_without_the_password(client, caplog):
    with caplog.at_level("WARNING", logger="kiosk.auth"):
        sign_in(client, "official", "guess-456")
    assert any(r.getMessage() == "sign-in failed: bad credentials" and r.official_id == "official"
               for r in caplog.records)
    assert "guess-456" not in caplog.text


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client):
    reply = client.post("/api/auth/sign-in", json={"username": "nobody", "password": "x"})
    assert (reply.status_code, reply.json["error"]["code"]) == (401, "invalid_credentials")


def test_repeated_failures_lock_the_user_out_even_with_the_right_password(client, clock):
    for _ in range(3):
        assert sign_in(client, "official", "wrong").status_code == 401
    locked = sign_in(client, "official")
    assert (locked.status_code, locked.json["error"]["code"]) == (429, "too_many_attempts")
    assert int(locked.headers["Retry-After"]) > 0
    clock.now += 61
    assert sign_in(client, "official").status_code == 200


def test_token_expires_after_its_lifetime(client, clock):
    headers = bearer(client)
    assert client.get("/api/devices", headers=headers).status_code == 200
    clock.now += 601
    reply = client.get("/api/devices", headers=headers)
    assert (reply.status_code, reply.json["error"]["code"]) == (401, "token_expired")


def test_signed_out_token_no_longer_works(client):
    headers = bearer(client)
    assert client.post("/api/auth/sign-out", headers=headers).status_code == 200
    assert client.get("/api/devices", headers=headers).json["error"]["code"] == "invalid_token"


# -- roles ----------------------------------------------------------------------------------------------

def test_only_an_auditor_exports_the_audit_bundle(client):
    for username in ("official", "supervisor"):
        reply = client.post("/api/audit/export", headers=bearer(client, username))
        assert (reply.status_code, reply.json["error"]["code"]) == (403, "forbidden")
    assert client.post("/api/audit/export", headers=bearer(client, "auditor")).status_code == 201


def test_an_auditor_cannot_run_booth_sessions(client):
    reply = client.post("/api/sessions", headers=bearer(client, "auditor"))
    assert (reply.status_code, reply.json["error"]["code"]) == (403, "forbidden")


# -- sessions ---------------------------------------------------------------------------------------------

def test_new_session_tells_the_official_to_read_the_card(client):
    reply = client.post("/api/sessions", headers=bearer(client))
    assert reply.status_code == 201
    assert {k: reply.json[k] for k in ("state", "next_action", "message_key", "terminal")} == \
        {"state": "waiting_for_card", "next_action": "read_card", "message_key": "card.present", "terminal": False}


def test_step_out_of_order_is_refused_with_the_expected_next_action(client):
    headers = bearer(client)
    sid = client.post("/api/sessions", headers=headers).json["session_id"]
    reply = client.post(f"/api/sessions/{sid}/confirm", headers=headers)
    assert (reply.status_code, reply.json["error"]["code"]) == (409, "invalid_step")
    assert "read_card" in reply.json["error"]["message"]


def test_unknown_session_is_404(client):
    reply = client.get("/api/sessions/nosuchsession", headers=bearer(client))
    assert (reply.status_code, reply.json["error"]["code"]) == (404, "session_not_found")


def test_card_step_without_a_configured_reader_is_a_device_fault(client):
    headers = bearer(client)
    sid = client.post("/api/sessions", headers=headers).json["session_id"]
    reply = client.post(f"/api/sessions/{sid}/card", headers=headers)
    assert (reply.status_code, reply.json["error"]["code"], reply.json["error"]["device_error"]) == \
        (503, "device_fault", "device_not_configured")
    assert client.get(f"/api/sessions/{sid}", headers=headers).json["state"] == "waiting_for_card"


def test_face_only_approval_needs_a_known_reason_code(client):
    headers = bearer(client)
    sid = client.post("/api/sessions", headers=headers).json["session_id"]
    reply = client.post(f"/api/sessions/{sid}/face-only", headers=headers,
                        json={"supervisor_username": "supervisor", "supervisor_password": PASSWORDS["supervisor"],
                              "reason_code": "because"})
    assert (reply.status_code, reply.json["error"]["code"]) == (400, "bad_reason")


def test_cancelled_session_is_terminal(client):
    headers = bearer(client)
    sid = client.post("/api/sessions", headers=headers).json["session_id"]
    reply = client.post(f"/api/sessions/{sid}/cancel", headers=headers).json
    assert (reply["state"], reply["next_action"], reply["terminal"]) == ("cancelled", "none", True)


# -- devices, registry, summary -----------------------------------------------------------------------------

def test_device_status_lists_every_device(client):
    reply = client.get("/api/devices", headers=bearer(client)).json
    assert reply["station_id"] == "PS-0001"
    assert reply["devices"] == {name: {"status": "not_configured"}
                                for name in ("card_reader", "fingerprint", "lamp", "camera")}


def test_registry_lookup_returns_the_voter_without_templates_or_the_full_id(demo_dir, client):  # noqa: F811
    person = json.loads((demo_dir / "demo" / "voters.json").read_text())["voters"][0]
    reply = client.post("/api/registry/lookup", headers=bearer(client), json={"id_number": person["id_number"]})
    assert reply.status_code == 200
    voter = reply.json["voter"]
    assert (voter["name"], voter["station_id"], reply.json["at_this_station"]) == (person["name"], "PS-0001", True)
    assert voter["id_number_masked"].endswith(person["id_number"][-3:])
    assert person["id_number"] not in reply.get_data(as_text=True)
    assert not {"template", "templates", "fingers", "face", "iso"} & set(voter)
    assert voter["fingers_enrolled"] == ["right_index"] and voter["face_enrolled"] is True


def test_every_registry_lookup_is_audited_under_a_pseudonym(demo_dir, app, client):  # noqa: F811
    person = json.loads((demo_dir / "demo" / "voters.json").read_text())["voters"][0]
    client.post("/api/registry/lookup", headers=bearer(client), json={"id_number": person["id_number"]})
    client.post("/api/registry/lookup", headers=bearer(client), json={"id_number": "000000001"})
    lookups = [e for e in audit_entries(app) if e["event"] == "registry_lookup"]
    assert [(e["official_id"], e["outcome"]) for e in lookups] == [("official", "found"), ("official", "not_found")]
    assert all(len(e["voter"]) == 64 for e in lookups)
    assert person["id_number"] not in json.dumps(audit_entries(app))


def test_registry_lookup_of_an_unknown_number_is_404(client):
    reply = client.post("/api/registry/lookup", headers=bearer(client), json={"id_number": "000000001"})
    assert (reply.status_code, reply.json["error"]["code"]) == (404, "voter_not_found")


def test_registry_lookup_of_only_spaces_is_a_bad_request_not_a_server_error(client):
    reply = client.post("/api/registry/lookup", headers=bearer(client), json={"id_number": "\u00a0 "})
    assert (reply.status_code, reply.json["error"]["code"]) == (400, "bad_request")


def test_registry_lookup_needs_the_number_in_the_body(client):
    reply = client.post("/api/registry/lookup", headers=bearer(client), json={})
    assert (reply.status_code, reply.json["error"]["code"]) == (400, "bad_request")


def test_summary_has_the_end_of_day_counts(client):
    counts = client.get("/api/summary", headers=bearer(client)).json["counts"]
    for key in ("registered", "verified_biometric", "verified_fallback", "refused", "already_voted",
                "wrong_station", "fallbacks"):
        assert isinstance(counts[key], int)
    assert counts["registered"] == 3


def test_station_summary_adds_up_the_kiosks_for_a_supervisor_only(client, app):
    registry = app.extensions["kiosk"].registry
    voter = registry.station_voters("PS-0001")[0].voter_id
    registry.mark_voted(voter, kiosk_id="kiosk-02", station_id="PS-0001", official_id="po-2", method="biometric")
    registry.record_ink_found(registry.station_voters("PS-0001")[1].voter_id, station_id="PS-0001",
                              kiosk_id="kiosk-03", official_id="po-3", session_id="s")
    assert client.get("/api/station/summary", headers=bearer(client)).status_code == 403
    station = client.get("/api/station/summary", headers=bearer(client, "supervisor")).json
    assert station["kiosks"]["kiosk-02"]["votes_marked"] == 1 and station["kiosks"]["kiosk-03"]["ink_found"] == 1
    assert station["totals"]["votes_marked"] == 1 and station["registered"] == 3


# -- OpenAPI ------------------------------------------------------------------------------------------------

def test_openapi_document_is_served_without_a_token(client):
    reply = client.get("/openapi.json")
    assert reply.status_code == 200 and reply.json["openapi"].startswith("3.")


def test_every_registered_route_is_described_in_openapi(app):
    described = {(method.upper(), path) for path, item in document(app)["paths"].items() for method in item}
    registered = {(method, openapi_path(rule)) for method, rule in routes(app)}
    assert registered - described == set()
    assert described - registered == set()


def test_openapi_marks_exactly_the_public_api_endpoints_as_needing_no_token():
    public = {(m.upper(), p) for p, item in document()["paths"].items() for m, op in item.items()
              if op.get("security") == []}
    assert public == PUBLIC


def test_openapi_served_by_the_app_describes_its_pages_as_needing_no_token(app, client):
    served = client.get("/openapi.json").json["paths"]
    pages = {(m.upper(), p) for m, p in routes(app) if not p.startswith("/api/")} - PUBLIC
    for method, rule in pages:
        assert served[openapi_path(rule)][method.lower()]["security"] == []


def test_open_sessions_are_listed_for_the_booth_screen(client):
    headers = bearer(client)
    sid = client.post("/api/sessions", headers=headers).json["session_id"]
    listed = client.get("/api/sessions", headers=headers).json["sessions"]
    assert [s["session_id"] for s in listed] == [sid]


def test_no_card_fallback_needs_a_supervisors_own_credentials(client):
    headers = bearer(client)
    sid = client.post("/api/sessions", headers=headers).json["session_id"]
    as_official = client.post(f"/api/sessions/{sid}/no-card", headers=headers,
                              json={"supervisor_username": "official", "supervisor_password": PASSWORDS["official"],
                                    "reason_code": "card_lost"})
    assert (as_official.status_code, as_official.json["error"]["code"]) == (403, "supervisor_required")
    missing = client.post(f"/api/sessions/{sid}/no-card", headers=headers, json={"reason_code": "card_lost"})
    assert (missing.status_code, missing.json["error"]["code"]) == (400, "bad_request")
    approved = client.post(f"/api/sessions/{sid}/no-card", headers=headers,
                           json={"supervisor_username": "supervisor", "supervisor_password": PASSWORDS["supervisor"],
                                 "reason_code": "card_lost"})
    assert (approved.status_code, approved.json["state"], approved.json["fallbacks"]) == \
        (200, "identify_finger", ["no_card"])
