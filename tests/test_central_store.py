"""The commission's storage behaves the same on SQLite (the demo) and PostgreSQL (a deployment)."""
from __future__ import annotations

import pytest
from central_kit import VOTER, Kiosk, enrol, make_app, send, token


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'central.sqlite3'}"
    return request.getfixturevalue("pg_database")


@pytest.fixture
def app(database_url):
    app = make_app(database_url)
    yield app
    app.extensions["central"].close()


def test_pushes_double_votes_and_forks_are_stored_and_reported(app, tmp_path):
    a, b = Kiosk(tmp_path / "a", "PS-0001", "kiosk-01"), Kiosk(tmp_path / "b", "PS-0002", "kiosk-02")
    client = app.test_client()
    for kiosk in (a, b):
        enrol(app, kiosk)
        kiosk.record(4, event="refusal", reason="wrong_station")
        kiosk.record(2, event="fallback", reason="fingers_unusable")
        kiosk.vote(VOTER)
        assert send(client, kiosk.push(0)).status_code == 200
    forged = Kiosk(tmp_path / "forged", "PS-0001", "kiosk-01", key=a.key)
    forged.record(3)
    assert send(client, forged.push(0)).get_json()["error"] == "fork"
    store = app.extensions["central"].store
    assert store.counts() == {"entries": a.log.size + b.log.size, "kiosks": 2}
    assert [d["voter"] for d in store.double_votes()] == [VOTER]
    assert [f["kiosk_id"] for f in store.forks()] == ["kiosk-01"]
    assert {(r["event"], r["reason"], r["count"]) for r in store.refusals_and_fallbacks()} == {
        ("refusal", "wrong_station", 8), ("fallback", "fingers_unusable", 4)}
    assert sum(r["votes"] for r in store.turnout()) == 2
    assert store.storage_bytes() > 0
    for kiosk in (a, b, forged):
        kiosk.close()


def test_enrolling_the_same_kiosk_or_key_twice_is_refused(app, tmp_path):
    kiosk = Kiosk(tmp_path / "k")
    enrol(app, kiosk)
    with pytest.raises(ValueError, match="already enrolled"):
        enrol(app, kiosk)
    kiosk.close()


def test_reports_need_a_signed_in_official_and_enrolment_needs_an_admin(app, tmp_path):
    client = app.test_client()
    assert client.get("/api/reports/turnout").status_code == 401
    assert client.get("/health").status_code == 200
    monitor, admin = token(client, "monitor"), token(client, "admin")
    assert client.get("/api/reports/alerts", headers=monitor).get_json() == {"forks": [], "double_votes": []}
    kiosk = Kiosk(tmp_path / "k")
    body = {"kiosk_id": "kiosk-05", "station_id": "PS-0003", "vkey": kiosk.verifier.vkey}
    assert client.post("/api/kiosks", json=body, headers=monitor).status_code == 403
    assert client.post("/api/kiosks", json=body, headers=admin).status_code == 201
    silent = client.get("/api/reports/silent?minutes=5", headers=monitor).get_json()
    assert [k["kiosk_id"] for k in silent["silent"]] == ["kiosk-05"]    # never pushed
    kiosk.close()


def test_a_wrong_password_gets_no_token(app):
    reply = app.test_client().post("/api/auth/sign-in", json={"username": "monitor", "password": "guess"})
    assert reply.status_code == 401 and "token" not in reply.get_json()
