"""The booth on a shared station registry: a retried confirmation is the same vote, and a registry
that cannot commit marks nothing and lets the session wait. Runs on both backends like
tests/test_workflow.py, whose scripted devices and fixtures it reuses."""
from __future__ import annotations

import secrets

import pytest

from kiosk import workflow as wf
from kiosk.events import AuditUnavailable
from kiosk.registry import Registry, RegistryUnavailable
from test_workflow import (STATION, AuditTrail, clock, devices, gray, make_workflow, registry,  # noqa: F401
                           rgb, templates, to_finger_step, trail)


def to_confirmation(booth, devices) -> str:
    sid = to_finger_step(booth, devices)
    devices.fingers.append(gray("finger1_3.png"))
    booth.capture_finger(sid)
    devices.faces.append(rgb("face1_probe.jpg"))
    booth.capture_face(sid)
    devices.ink.append(("no_ink", None))
    assert booth.check_ink(sid).state == wf.AWAITING_CONFIRMATION
    return sid


class AuditFailingOnce(AuditTrail):
    """The audit log's disk refuses the first ``vote_marked`` entry (full, unplugged), then recovers."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def record(self, event_type: str, **fields) -> int:
        if event_type == "vote_marked" and not self.failed:
            self.failed = True
            raise AuditUnavailable("disk full")
        return super().record(event_type, **fields)


def test_an_audit_failure_after_the_vote_then_a_retry_is_the_same_vote_not_a_second_attempt(
        registry, devices, clock):
    trail = AuditFailingOnce()
    booth = make_workflow(registry, devices, trail, clock)
    sid = to_confirmation(booth, devices)
    with pytest.raises(AuditUnavailable):
        booth.confirm(sid, "po-1")
    assert booth.get(sid).state == wf.AWAITING_CONFIRMATION
    first = registry.get_voter("VA").vote
    done = booth.confirm(sid, "po-1")          # the official presses Confirm again
    assert (done.state, done.outcome, done.vote_at) == (wf.VOTED, "verified", first.voted_at)
    assert registry.vote_refusals("VA") == [] and registry.summary(STATION)["second_vote_attempts"] == 0
    assert trail.kinds().count("vote_marked") == 1 and "already_voted" not in str(trail.events)


def test_another_session_for_the_same_voter_is_still_refused_as_a_second_attempt(registry, devices, trail, clock):
    booth = make_workflow(registry, devices, trail, clock)
    booth.confirm(to_confirmation(booth, devices), "po-1")
    other_kiosk = make_workflow(registry, devices, trail, clock)
    devices.cards.append(__import__("test_workflow").document("111222333"))
    session = other_kiosk.read_card(other_kiosk.start("po-2").session_id)
    assert session.state == wf.ALREADY_VOTED


def test_a_registry_that_cannot_commit_marks_nothing_and_the_session_waits_until_it_returns(
        pg_private_cluster, templates, devices, trail, clock):
    from test_workflow import ID_A

    reg = Registry(pg_private_cluster.create_database("booth"), secrets.token_bytes(32))
    reg.add_voter(voter_id="VA", id_number=ID_A, name="SOK DARA", birth_date=None, sex="M", station_id=STATION,
                  fingers={"right_index": templates["a_index"]}, face=templates["a_face"])
    booth = make_workflow(reg, devices, trail, clock)
    sid = to_confirmation(booth, devices)
    pg_private_cluster.stop("immediate")
    with pytest.raises(RegistryUnavailable):
        booth.confirm(sid, "po-1")
    assert booth.get(sid).state == wf.AWAITING_CONFIRMATION and "vote_marked" not in trail.kinds()
    pg_private_cluster.start()
    reg.ping(timeout=5)
    assert booth.confirm(sid, "po-1").state == wf.VOTED
    assert reg.get_voter("VA").vote.session_id == sid
    reg.close()


def test_health_is_degraded_at_once_when_the_registry_server_is_lost_and_ok_again_when_it_returns(
        pg_private_cluster, tmp_path):
    import time

    from kiosk import create_app

    app = create_app({"data_dir": str(tmp_path), "key_dir": str(tmp_path / "keys"), "create_keys": True,
                      "database_url": pg_private_cluster.create_database("health")})
    client = app.test_client()
    assert client.get("/health").get_json()["registry_backend"] == "postgresql"
    assert client.get("/health").status_code == 200
    pg_private_cluster.stop("immediate")
    started = time.monotonic()
    reply = client.get("/health")
    assert (reply.status_code, reply.get_json()["status"], reply.get_json()["registry"]) == \
        (503, "degraded", "unavailable")
    assert time.monotonic() - started < 5
    pg_private_cluster.start()
    deadline = time.monotonic() + 15
    while client.get("/health").status_code != 200:
        assert time.monotonic() < deadline, "the kiosk did not reconnect by itself"
        time.sleep(0.2)
    app.extensions["kiosk"].close()


def test_an_ink_refusal_is_recorded_and_another_kiosk_stops_before_any_biometric_step(registry, devices, trail,
                                                                                    clock):
    from test_workflow import ID_A, document

    booth = make_workflow(registry, devices, trail, clock)
    sid = to_finger_step(booth, devices)
    devices.fingers.append(gray("finger1_3.png"))
    booth.capture_finger(sid)
    devices.faces.append(rgb("face1_probe.jpg"))
    booth.capture_face(sid)
    devices.ink.append(("ink", None))
    refused = booth.check_ink(sid)
    assert (refused.state, refused.reason) == (wf.REFUSED, "ink_detected")
    found = registry.get_voter("VA").ink_found
    assert (found.kiosk_id, found.station_id) == ("kiosk-01", STATION)
    assert {"event": "refusal", "reason": "ink_detected"}.items() <= trail.events[-2].items()

    other = wf.Workflow(registry=registry, devices=devices, rules=wf.Rules(STATION, "kiosk-02"), record=trail.record,
                        pseudonym=lambda n: "ab" * 32, biometrics=booth.bio, clock=clock, idle_s=60)
    devices.cards.append(document(ID_A))
    again = other.read_card(other.start("po-2").session_id)
    assert (again.state, again.message_key, again.public_dict()["next_action"]) == \
        (wf.INK_ON_RECORD, "ink.on_record", "supervisor_approval")
    assert again.public_dict()["ink_on_record"]["kiosk_id"] == "kiosk-01"
    with pytest.raises(wf.InvalidStep):          # no biometric step, no vote, without the approval
        other.capture_finger(again.session_id)
    with pytest.raises(wf.BadReason):
        other.approve_ink_on_record(again.session_id, "sup-1", "because")
    going_on = other.approve_ink_on_record(again.session_id, "sup-1", "not_election_ink")
    assert going_on.state == wf.CAPTURE_FINGER
    assert {"event": "override", "kind": "ink_on_record_approved", "reason": "not_election_ink",
            "supervisor_id": "sup-1"}.items() <= trail.events[-1].items()
