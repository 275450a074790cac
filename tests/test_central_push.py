"""The commission accepts a kiosk's push only when every entry is proved under a checkpoint the kiosk
signed and the log only grew; a rewritten or rewound log raises a fork alert that is kept."""
from __future__ import annotations

import json

import pytest
from central_kit import VOTER, Kiosk, enrol, make_app, resign, send
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@pytest.fixture
def app(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'central.sqlite3'}", max_push_bytes=256 * 1024)
    yield app
    app.extensions["central"].close()


@pytest.fixture
def kiosk(tmp_path, app):
    kiosk = Kiosk(tmp_path / "kiosk")
    enrol(app, kiosk)
    yield kiosk
    kiosk.close()


def _stored(app) -> int:
    return app.extensions["central"].store.counts()["entries"]


def test_a_push_is_verified_and_stored_and_a_repeat_stores_nothing(app, kiosk):
    kiosk.record(25)
    push = kiosk.push(0)
    first = send(app.test_client(), push)
    assert first.status_code == 200 and first.get_json()["stored"] == push.size == kiosk.log.size
    again = send(app.test_client(), push)
    assert again.status_code == 200 and again.get_json() == {**again.get_json(), "status": "duplicate", "stored": 0}
    assert _stored(app) == kiosk.log.size


def test_a_backlog_goes_in_bounded_batches_each_resuming_where_the_last_ended(app, kiosk):
    for _ in range(10):
        kiosk.record(9)
    client, size, rounds = app.test_client(), 0, 0
    while size < kiosk.log.size:
        push = kiosk.push(size, max_entries=30)
        assert push.entries <= 30
        size = send(client, push).get_json()["size"]
        rounds += 1
    assert rounds >= 4 and _stored(app) == kiosk.log.size


def test_a_push_from_an_unregistered_key_is_refused(app, tmp_path):
    stranger = Kiosk(tmp_path / "stranger", kiosk="kiosk-99")
    stranger.record(5)
    reply = send(app.test_client(), stranger.push(0))
    assert reply.status_code == 403 and reply.get_json()["error"] == "unknown_kiosk"
    stranger.close()


def test_a_forged_push_is_refused(app, kiosk):
    kiosk.record(5)
    push = kiosk.push(0)
    body = json.loads(push.body)
    body["entries"][1] = body["entries"][1].replace("po-1", "po-2")
    forged = json.dumps(body, separators=(",", ":")).encode()
    reply = send(app.test_client(), push, body=forged)
    assert reply.status_code == 401 and reply.get_json()["error"] == "bad_signature"
    other = Ed25519PrivateKey.generate()
    import base64
    reply = send(app.test_client(), push, signature=base64.b64encode(other.sign(push.body)).decode())
    assert reply.status_code == 401 and _stored(app) == 0


def test_a_truncated_batch_is_refused_and_nothing_is_half_stored(app, kiosk):
    kiosk.record(15)
    body = json.loads(kiosk.push(0).body)
    body["entries"] = body["entries"][:-3]
    raw, signature = resign(kiosk, body)
    reply = app.test_client().post("/api/push", data=raw, headers={"X-Kiosk-Signature": signature})
    assert reply.status_code == 400 and reply.get_json()["error"] == "truncated" and _stored(app) == 0


def test_entries_changed_after_signing_do_not_reach_the_signed_root(app, kiosk):
    kiosk.record(12)
    body = json.loads(kiosk.push(0).body)
    body["entries"][3] = body["entries"][3].replace("session_started", "session_ended")
    raw, signature = resign(kiosk, body)
    reply = app.test_client().post("/api/push", data=raw, headers={"X-Kiosk-Signature": signature})
    assert reply.status_code == 400 and reply.get_json()["error"] == "entries_mismatch" and _stored(app) == 0


def test_a_push_that_starts_before_the_server_copy_ends_is_told_where_to_resume(app, kiosk):
    kiosk.record(10)
    client = app.test_client()
    held = send(client, kiosk.push(0)).get_json()["size"]
    kiosk.record(10)
    stale = send(client, kiosk.push(0))     # the kiosk lost the acknowledgement
    assert stale.status_code == 409 and stale.get_json()["resume_from"] == held == 10
    assert send(client, kiosk.push(held)).status_code == 200 and _stored(app) == kiosk.log.size


def test_a_huge_body_is_refused_before_it_is_read(app, kiosk):
    reply = app.test_client().post("/api/push", data=b"x" * (300 * 1024), headers={"X-Kiosk-Signature": "x"})
    assert reply.status_code == 413 and reply.get_json()["error"] == "too_large"


def _rewritten(tmp_path, kiosk: Kiosk, n: int) -> Kiosk:
    """The same kiosk key, a log written again from scratch (what someone rewriting the log produces)."""
    forged = Kiosk(tmp_path / f"rewritten-{n}", key=kiosk.key)
    forged.record(n, event="session_ended")
    return forged


@pytest.mark.parametrize("n", [8, 30], ids=["rewound", "rewritten"])
def test_a_rewritten_or_rewound_log_raises_a_fork_alert_that_is_kept(app, kiosk, tmp_path, n):
    kiosk.record(14)
    client = app.test_client()
    accepted = send(client, kiosk.push(0)).get_json()["size"]
    forged = _rewritten(tmp_path, kiosk, n)
    push = forged.push(accepted if n > accepted else 0)
    for _ in range(2):
        reply = send(client, push)
        assert reply.status_code == 409 and reply.get_json()["error"] == "fork"
    forks = app.extensions["central"].store.forks()
    assert len(forks) == 1 and forks[0]["kiosk_id"] == "kiosk-01"
    assert ("rewound" if n < accepted else "rewritten") in forks[0]["reason"]
    assert _stored(app) == accepted          # the refused push stored nothing
    forged.close()


def test_a_fork_alert_survives_a_server_restart(tmp_path, kiosk):
    url = f"sqlite:///{tmp_path / 'restart.sqlite3'}"
    app = make_app(url)
    enrol(app, kiosk)
    kiosk.record(14)
    send(app.test_client(), kiosk.push(0))
    forged = _rewritten(tmp_path, kiosk, 4)
    send(app.test_client(), forged.push(0))
    app.extensions["central"].close()
    again = make_app(url)
    assert len(again.extensions["central"].store.forks()) == 1
    again.extensions["central"].close()
    forged.close()


def test_a_voter_marked_at_two_stations_is_reported_with_both_votes(app, tmp_path):
    a, b = Kiosk(tmp_path / "a", "PS-0001", "kiosk-01"), Kiosk(tmp_path / "b", "PS-0002", "kiosk-07")
    for kiosk, other_voter in ((a, "cd" * 32), (b, "ef" * 32)):
        enrol(app, kiosk)
        kiosk.record(3)
        kiosk.vote(other_voter)
    a.vote(VOTER)
    client = app.test_client()
    assert send(client, a.push(0)).get_json()["double_votes"] == 0
    b.vote(VOTER)
    assert send(client, b.push(0)).get_json()["double_votes"] == 1
    [double] = app.extensions["central"].store.double_votes()
    assert double["voter"] == VOTER
    assert [(v["station_id"], v["kiosk_id"]) for v in double["votes"]] == [("PS-0001", "kiosk-01"),
                                                                           ("PS-0002", "kiosk-07")]
    assert all(v["time"].endswith("Z") for v in double["votes"])
    a.close(), b.close()
