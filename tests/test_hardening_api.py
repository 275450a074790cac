"""Review and fault-campaign findings on the API: sign-in timing and lock-outs, deactivated officials,
self-approved fallbacks, the lookup oracle, malformed and oversized bodies, 405 and the OpenAPI document.

Runs on the demo registry of tests/test_e2e.py (packaged images, no devices)."""
from __future__ import annotations

import json
import statistics
import time

import pytest

from kiosk import create_app
from test_api import FakeClock, audit_entries, bearer, sign_in
from test_e2e import PASSWORDS

JSON = "application/json"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(demo_copy, clock):
    data = demo_copy
    application = create_app({"data_dir": data, "key_dir": data / "keys", "create_keys": True,
                              "max_failed_signins": 3, "signin_window_seconds": 60, "token_ttl_seconds": 600,
                              "lookup_limit": 4, "lookup_window_seconds": 60}, clock=clock)
    try:
        yield application
    finally:
        application.extensions["kiosk"].close()


@pytest.fixture
def client(app):
    return app.test_client()


def from_address(client, address: str, username: str, password: str):
    return client.post("/api/auth/sign-in", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


# -- sign-in ------------------------------------------------------------------------------------------

def test_an_unknown_name_costs_as_much_as_a_wrong_password_for_a_real_one(app, clock):
    auth = app.extensions["kiosk"].auth

    def duration(username: str) -> float:
        clock.now += 1000   # outside every window: the limiter never answers instead of scrypt
        start = time.perf_counter()
        with pytest.raises(Exception):
            auth.check_credentials(username, "wrong-password", client="10.1.1.1")
        return time.perf_counter() - start

    real = statistics.median(duration("official") for _ in range(5))
    unknown = statistics.median(duration(f"nobody-{i}") for i in range(5))
    assert unknown > 0.5 * real, (unknown, real)


def test_wrong_passwords_from_elsewhere_do_not_lock_the_official_out_at_the_booth(client):
    for _ in range(5):
        assert from_address(client, "10.9.9.9", "official", "guess").status_code in (401, 429)
    assert sign_in(client, "official").status_code == 200


def test_typos_at_the_booth_for_one_name_do_not_lock_the_other_roles(client):
    for _ in range(3):
        assert sign_in(client, "official", "typo").status_code == 401
    assert sign_in(client, "official").status_code == 429       # that name, from here: locked
    assert sign_in(client, "supervisor").status_code == 200     # everyone else at the booth: not
    assert sign_in(client, "auditor").status_code == 200


def test_approval_typos_do_not_lock_the_booths_sign_in(client):
    headers = bearer(client, "official")
    session = client.post("/api/sessions", headers=headers).json["session_id"]
    for _ in range(3):
        reply = client.post(f"/api/sessions/{session}/no-card", headers=headers,
                            json={"supervisor_username": "supervisor", "supervisor_password": "typo",
                                  "reason_code": "card_lost"})
        assert reply.status_code == 401
    assert sign_in(client, "official").status_code == 200
    assert sign_in(client, "auditor").status_code == 200


def test_one_address_is_still_refused_after_many_failures_across_names(client):
    replies = [from_address(client, "10.7.7.7", f"name-{i}", "x").status_code for i in range(13)]
    assert replies[:12] == [401] * 12 and replies[12] == 429


def test_the_failure_table_stays_bounded_whatever_names_are_typed():
    from kiosk.auth import FailureLimiter

    limiter = FailureLimiter(5, 300, lambda: 0.0, max_keys=1000)
    for i in range(20_000):
        limiter.fail([f"user:typed-{i}@10.0.0.1"])
    assert len(limiter) <= 1000


def test_a_deactivated_officials_token_stops_working_at_once(app, client):
    headers = bearer(client, "official")
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    app.extensions["kiosk"].registry.set_official_active("official", False)
    reply = client.get("/api/auth/me", headers=headers)
    assert (reply.status_code, reply.json["error"]["code"]) == (401, "invalid_token")
    assert sign_in(client, "official").status_code == 401


# -- fallbacks need a second official ------------------------------------------------------------------

def test_a_supervisor_cannot_approve_a_fallback_in_their_own_session(client):
    headers = bearer(client, "supervisor")
    session = client.post("/api/sessions", headers=headers).json["session_id"]
    reply = client.post(f"/api/sessions/{session}/no-card", headers=headers,
                        json={"supervisor_username": "supervisor", "supervisor_password": PASSWORDS["supervisor"],
                              "reason_code": "card_lost"})
    assert (reply.status_code, reply.json["error"]["code"]) == (403, "self_approval")


def test_a_supervisor_approves_another_officials_session(client):
    headers = bearer(client, "official")
    session = client.post("/api/sessions", headers=headers).json["session_id"]
    reply = client.post(f"/api/sessions/{session}/no-card", headers=headers,
                        json={"supervisor_username": "supervisor", "supervisor_password": PASSWORDS["supervisor"],
                              "reason_code": "card_lost"})
    assert reply.status_code != 403, reply.json


# -- the lookup oracle --------------------------------------------------------------------------------

def test_lookups_are_limited_per_official_and_the_burst_is_audited(app, client, clock, hardening_demo):
    number = json.loads((hardening_demo / "demo" / "voters.json").read_text())["voters"][0]["id_number"]
    headers = bearer(client, "official")
    for i in range(4):
        assert client.post("/api/registry/lookup", headers=headers, json={"id_number": f"X{i}"}).status_code == 404
    refused = client.post("/api/registry/lookup", headers=headers, json={"id_number": number})
    assert (refused.status_code, refused.json["error"]["code"]) == (429, "too_many_lookups")
    assert [e["outcome"] for e in audit_entries(app) if e["event"] == "registry_lookup"][-1] == "rate_limited"
    assert client.post("/api/registry/lookup", headers=bearer(client, "supervisor"),
                       json={"id_number": number}).status_code == 200     # per official
    clock.now += 61
    assert client.post("/api/registry/lookup", headers=headers, json={"id_number": number}).status_code == 200


# -- malformed bodies are 400, oversized 413 ------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/registry/lookup", "/api/auth/sign-in"])
def test_a_lone_surrogate_is_a_bad_request_not_a_server_error(client, path):
    body = '{"id_number": "\\ud800", "username": "\\ud800", "password": "x"}'
    reply = client.post(path, data=body, content_type=JSON, headers=bearer(client))
    assert (reply.status_code, reply.json["error"]["code"]) == (400, "bad_request")


def test_deeply_nested_json_is_a_bad_request(client):
    body = "[" * 30_000 + "]" * 30_000   # the 100,000-deep body of the campaign is now a 413 (too large)
    reply = client.post("/api/registry/lookup", data=body, content_type=JSON, headers=bearer(client))
    assert (reply.status_code, reply.json["error"]["code"]) == (400, "bad_request")


def test_a_body_that_is_not_utf8_is_a_bad_request(client):
    reply = client.post("/api/auth/sign-in", data=b'{"username": "\xff"}', content_type=JSON)
    assert reply.status_code == 400


def test_a_large_body_is_refused_before_it_is_read(client):
    reply = client.post("/api/auth/sign-in", data=b'{"username": "' + b"a" * (50 * 1024 * 1024) + b'"}',
                        content_type=JSON)
    assert reply.status_code == 413 and reply.json["error"]["code"] == "request_entity_too_large"


def test_405_says_which_methods_are_allowed(client):
    reply = client.delete("/api/auth/sign-in")
    assert reply.status_code == 405 and "POST" in reply.headers["Allow"]


# -- the OpenAPI document says what the API answers ------------------------------------------------------

def test_every_operation_with_a_token_documents_401_and_403(client):
    doc = client.get("/openapi.json").json
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if op.get("security") == []:
                continue
            assert {"401", "403"} <= set(op["responses"]), (method, path)
    assert "401" in doc["paths"]["/api/auth/sign-in"]["post"]["responses"]


def test_required_strings_may_not_be_empty_in_the_schema(client):
    doc = client.get("/openapi.json").json
    body = doc["paths"]["/api/registry/lookup"]["post"]["requestBody"]["content"][JSON]["schema"]
    assert body["properties"]["id_number"]["minLength"] == 1
    sign = doc["paths"]["/api/auth/sign-in"]["post"]["requestBody"]["content"][JSON]["schema"]
    assert sign["properties"]["username"]["minLength"] == 1


# -- a failed self-test ---------------------------------------------------------------------------------

def test_a_failed_engine_self_test_makes_health_degraded_and_refuses_the_steps_needing_it(demo_copy):
    failed = {"fingerprint": "wrong_scores", "face": "ok", "milliseconds": 1}
    app = create_app({"data_dir": demo_copy, "key_dir": demo_copy / "keys"}, self_test=lambda: failed)
    try:
        client = app.test_client()
        health = client.get("/health").json
        assert (health["status"], health["failed"]) == ("degraded", ["fingerprint_engine"])
        headers = bearer(client, "official")
        assert client.get("/api/devices", headers=headers).json["engines"] == {"fingerprint": "fault", "face": "ok"}
        session = client.post("/api/sessions", headers=headers).json["session_id"]
        refused = client.post(f"/api/sessions/{session}/finger", headers=headers)
        assert (refused.status_code, refused.json["error"]["code"]) == (503, "engine_failed")
        assert client.post(f"/api/sessions/{session}/face", headers=headers).json["error"]["code"] != "engine_failed"
        entries = audit_entries(app)
        assert [e["outcome"] for e in entries if e["event"] == "self_test"] == ["fault"]
    finally:
        app.extensions["kiosk"].close()


def test_health_is_ok_when_everything_passed(client):
    health = client.get("/health").json
    assert (health["status"], health["failed"]) == ("ok", [])


def test_an_id_number_of_whitespace_only_is_a_bad_request(client):
    """Found by the fuzzer: a no-break space passed the 'non-empty' check, was stripped to nothing and
    answered 500."""
    reply = client.post("/api/registry/lookup", json={"id_number": "\u00a0"}, headers=bearer(client))
    assert (reply.status_code, reply.json["error"]["code"]) == (400, "bad_request")
