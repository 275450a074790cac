"""End to end: the real API (Flask test client) against the real simulators over PTYs, with a real
registry built by build_demo_registry(source="packaged") and the real matcher, ink check and audit log.

Demo people (kiosk/registry/demo.py): DEMO01-DEMO03 registered at PS-0001, DEMO04 registered at
PS-0002, DEMO05 an unregistered impostor carrying DEMO02's card.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk import config, create_app
from kiosk.audit import layout, records, verify_bundle
from kiosk.cli import prepare_demo
from simulators.suite import SimulatorSuite

PASSWORDS = {"official": "official-pass", "supervisor": "supervisor-pass", "auditor": "auditor-pass"}
SUPERVISOR = {"supervisor_username": "supervisor", "supervisor_password": PASSWORDS["supervisor"]}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    settings = config.load(overrides={"data_dir": root, "key_dir": root / "keys", "create_keys": True}, environ={})
    prepare_demo(settings, source="packaged", passwords=PASSWORDS)
    return root


@dataclass
class Booth:
    app: object
    client: object
    suite: SimulatorSuite
    data_dir: Path
    voters: dict

    def headers(self, username: str = "official") -> dict:
        reply = self.client.post("/api/auth/sign-in", json={"username": username, "password": PASSWORDS[username]})
        assert reply.status_code == 200, reply.json
        return {"Authorization": f"Bearer {reply.json['token']}"}

    def step(self, headers, session_id: str, name: str, **body):
        reply = self.client.post(f"/api/sessions/{session_id}/{name}", headers=headers, json=body or None)
        return reply

    def start(self, headers) -> str:
        reply = self.client.post("/api/sessions", headers=headers)
        assert reply.status_code == 201
        return reply.json["session_id"]

    def present(self, person: str, *, card: bool = True) -> None:
        """The person steps up: card on the reader, finger on the sensor, face to the camera."""
        if card:
            self.suite.present_voter_card(person)
        self.suite.place_voter_finger(person)
        self.suite.show_voter_face(person)

    def to_ink_cradle(self, inked: bool = False) -> None:
        """The person steps back from the camera and puts the finger in the UV cradle."""
        self.suite.show_face(None)
        self.suite.set_ink(inked)

    def registry_id(self, person: str) -> str | None:
        return self.voters[person]["registry_voter_id"]

    def audit_entries(self) -> list[dict]:
        data = (self.data_dir / "audit" / layout.ENTRIES_LOG).read_bytes()
        return [json.loads(entry) for entry in records.scan(data).entries]

    def summary(self, headers) -> dict:
        return self.client.get("/api/summary", headers=headers).json["counts"]


@pytest.fixture
def booth(demo_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(demo_dir, data)
    voters = {v["voter_id"]: v for v in json.loads((data / "demo" / "voters.json").read_text())["voters"]}
    suite = SimulatorSuite(demo_voters=data / "demo" / "voters.json", control_port=None).start()
    devices = suite.describe()["devices"]
    app = create_app({"data_dir": data, "key_dir": data / "keys", "create_keys": True,
                      "card_reader_url": devices["card_reader"]["path"],
                      "card_reader_framing": devices["card_reader"]["framing"],
                      "fingerprint_url": devices["fingerprint"]["path"], "lamp_url": devices["lamp"]["path"],
                      "camera_source": devices["camera"]["url"], "card_timeout_seconds": 1.0,
                      "finger_timeout_seconds": 1.0})
    try:
        yield Booth(app, app.test_client(), suite, data, voters)
    finally:
        app.extensions["kiosk"].close()
        suite.stop()


def verify_to_ink(booth: Booth, h, person: str) -> str:
    booth.present(person)
    sid = booth.start(h)
    assert booth.step(h, sid, "card").json["state"] == "capture_finger"
    assert booth.step(h, sid, "finger").json["state"] == "capture_face"
    reply = booth.step(h, sid, "face").json
    assert reply["state"] == "check_ink", reply
    return sid


def test_registered_voter_is_verified_and_marked(booth):
    h = booth.headers()
    sid = verify_to_ink(booth, h, "DEMO01")
    booth.to_ink_cradle(inked=False)
    ink = booth.step(h, sid, "ink").json
    assert (ink["state"], ink["ink"], ink["next_action"]) == ("awaiting_confirmation", "no_ink", "confirm")
    done = booth.step(h, sid, "confirm").json
    assert (done["state"], done["outcome"], done["method"], done["message_key"]) == \
        ("voted", "verified", "biometric", "result.voted")
    assert done["voter"]["voter_id"] == booth.registry_id("DEMO01")
    assert booth.app.extensions["kiosk"].registry.get_voter(booth.registry_id("DEMO01")).has_voted
    counts = booth.summary(h)
    assert (counts["votes_marked"], counts["verified_biometric"], counts["fallbacks"]) == (1, 1, 0)


def test_every_step_is_audited_without_identity_data(booth):
    h = booth.headers()
    sid = verify_to_ink(booth, h, "DEMO01")
    booth.to_ink_cradle()
    booth.step(h, sid, "ink")
    booth.step(h, sid, "confirm")
    events = [e for e in booth.audit_entries() if e.get("session") == sid]
    kinds = [e["event"] for e in events]
    for expected in ("session_started", "card_read", "capture", "match", "ink_check", "vote_marked", "session_ended"):
        assert expected in kinds
    person = booth.voters["DEMO01"]
    raw = (booth.data_dir / "audit" / layout.ENTRIES_LOG).read_bytes()
    for secret in (person["id_number"], person["name"], person["mrz"][0], person["mrz"][1]):
        assert secret.encode() not in raw
    pseudonyms = {e["voter"] for e in events if "voter" in e}
    assert len(pseudonyms) == 1 and len(pseudonyms.pop()) == 64


def test_impostor_with_someone_elses_card_is_refused(booth):
    h = booth.headers()
    booth.suite.present_voter_card("DEMO05")        # carries DEMO02's card
    booth.suite.place_voter_finger("DEMO05")
    booth.suite.show_voter_face("DEMO05")
    sid = booth.start(h)
    card = booth.step(h, sid, "card").json
    assert card["voter"]["voter_id"] == booth.registry_id("DEMO02")
    booth.step(h, sid, "finger")
    second = booth.step(h, sid, "face").json                 # not verified: a second round first
    assert (second["state"], second["message_key"], second["round"], second["terminal"]) == \
        ("capture_finger", "finger.another_round", 2, False)
    booth.step(h, sid, "finger")
    result = booth.step(h, sid, "face").json
    assert (result["state"], result["outcome"], result["reason"], result["message_key"]) == \
        ("refused", "refused", "not_verified", "result.not_verified")
    assert result["next_action"] == "none"
    assert booth.step(h, sid, "confirm").json["error"]["code"] == "invalid_step"
    assert not booth.app.extensions["kiosk"].registry.get_voter(booth.registry_id("DEMO02")).has_voted
    assert booth.summary(h)["refused"] == 1


def test_second_attempt_to_vote_is_refused_and_flagged(booth):
    h = booth.headers()
    sid = verify_to_ink(booth, h, "DEMO01")
    booth.to_ink_cradle()
    booth.step(h, sid, "ink")
    assert booth.step(h, sid, "confirm").json["state"] == "voted"
    booth.suite.remove_card()
    booth.present("DEMO01")
    again = booth.start(h)
    reply = booth.step(h, again, "card").json
    assert (reply["state"], reply["outcome"], reply["message_key"]) == \
        ("already_voted", "already_voted", "result.already_voted")
    assert booth.summary(h)["already_voted"] == 1
    assert any(e["event"] == "session_ended" and e.get("outcome") == "already_voted" and e.get("flagged")
               for e in booth.audit_entries())


def test_voter_registered_elsewhere_is_told_where_to_go(booth):
    h = booth.headers()
    booth.present("DEMO04")
    sid = booth.start(h)
    reply = booth.step(h, sid, "card").json
    assert (reply["state"], reply["registered_station"], reply["message_key"]) == \
        ("wrong_station", "PS-0002", "result.wrong_station")
    assert booth.summary(h)["wrong_station"] == 1


def test_voter_without_card_is_identified_by_finger_and_face(booth):
    h = booth.headers()
    booth.present("DEMO03", card=False)
    sid = booth.start(h)
    started = booth.step(h, sid, "no-card", **SUPERVISOR, reason_code="card_forgotten").json
    assert (started["state"], started["supervisor_id"]) == ("identify_finger", "supervisor")
    assert booth.step(h, sid, "finger").json["state"] == "identify_face"
    found = booth.step(h, sid, "face").json
    assert found["state"] == "check_ink", found
    assert found["voter"]["voter_id"] == booth.registry_id("DEMO03")
    booth.to_ink_cradle()
    booth.step(h, sid, "ink")
    done = booth.step(h, sid, "confirm").json
    assert (done["state"], done["method"], done["fallbacks"]) == ("voted", "fallback_no_card", ["no_card"])
    counts = booth.summary(h)
    assert (counts["verified_fallback"], counts["fallbacks"]) == (1, 1)


def test_unregistered_person_without_card_is_not_identified(booth):
    h = booth.headers()
    booth.present("DEMO05", card=False)
    sid = booth.start(h)
    booth.step(h, sid, "no-card", **SUPERVISOR, reason_code="card_lost")
    booth.step(h, sid, "finger")
    reply = booth.step(h, sid, "face").json
    assert (reply["state"], reply["reason"]) == ("refused", "not_identified")


def _worn_finger():
    """A finger pad whose ridges are worn flat: skin contact on the sensor, but no ridge pattern."""
    image = np.full((374, 388), 235, np.uint8)
    cv2.ellipse(image, (194, 187), (110, 150), 0, 0, 360, 95, -1)
    image = cv2.GaussianBlur(image, (0, 0), 3)
    noise = np.random.default_rng(1).normal(0, 4, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def test_unusable_fingers_fall_back_to_face_with_supervisor_approval(booth):
    h = booth.headers()
    booth.present("DEMO02")
    sid = booth.start(h)
    booth.step(h, sid, "card")
    booth.suite.inject("fingerprint", "sensor_error", code="too_wet", stage="genimg")
    wet = booth.step(h, sid, "finger").json
    assert (wet["state"], wet["message_key"], wet["finger"]["failures"]) == ("capture_finger", "finger.too_wet", 1)
    booth.suite.clear_faults("fingerprint")
    booth.suite.place_finger(_worn_finger())
    replies = [booth.step(h, sid, "finger").json for _ in range(2)]
    assert replies[0]["message_key"] == "finger.press_harder"
    assert (replies[-1]["state"], replies[-1]["next_action"]) == ("fingers_unusable", "supervisor_approval")

    # an ordinary official cannot approve; a wrong password is refused; the supervisor can
    official = booth.step(h, sid, "face-only", supervisor_username="official",
                          supervisor_password=PASSWORDS["official"], reason_code="worn_fingerprints")
    assert (official.status_code, official.json["error"]["code"]) == (403, "supervisor_required")
    wrong = booth.step(h, sid, "face-only", supervisor_username="supervisor", supervisor_password="nope",
                       reason_code="worn_fingerprints")
    assert (wrong.status_code, wrong.json["error"]["code"]) == (401, "invalid_credentials")
    approved = booth.step(h, sid, "face-only", supervisor_username="supervisor",
                          supervisor_password=PASSWORDS["supervisor"], reason_code="worn_fingerprints").json
    assert (approved["state"], approved["method"], approved["supervisor_id"]) == \
        ("capture_face", "fallback_face_only", "supervisor")

    assert booth.step(h, sid, "face").json["state"] == "check_ink"
    booth.to_ink_cradle()
    booth.step(h, sid, "ink")
    done = booth.step(h, sid, "confirm").json
    assert (done["state"], done["method"]) == ("voted", "fallback_face_only")
    counts = booth.summary(h)
    assert (counts["verified_fallback"], counts["fallbacks"]) == (1, 1)
    entries = [e for e in booth.audit_entries() if e.get("session") == sid]
    override = [e for e in entries if e["event"] == "override"]
    assert override and (override[0]["reason"], override[0]["supervisor_id"]) == ("worn_fingerprints", "supervisor")
    fallback = [e for e in entries if e["event"] == "fallback"]
    assert len(fallback) == 1 and (fallback[0]["kind"], fallback[0]["reason"]) == \
        ("fallback_face_only", "worn_fingerprints")


def test_inked_finger_is_flagged_and_refused(booth):
    h = booth.headers()
    sid = verify_to_ink(booth, h, "DEMO03")
    booth.to_ink_cradle(inked=True)
    reply = booth.step(h, sid, "ink").json
    assert (reply["state"], reply["ink"], reply["reason"], reply["message_key"]) == \
        ("refused", "ink", "ink_detected", "result.ink_detected")
    assert not booth.app.extensions["kiosk"].registry.get_voter(booth.registry_id("DEMO03")).has_voted
    kinds = [e["event"] for e in booth.audit_entries() if e.get("session") == sid]
    assert "lamp_on" in kinds and "lamp_off" in kinds   # the lamp's entries name the session
    assert any(e["event"] == "ink_check" and e.get("outcome") == "ink" for e in booth.audit_entries())


def test_card_step_without_a_card_waits_for_it(booth):
    h = booth.headers()
    sid = booth.start(h)
    reply = booth.step(h, sid, "card").json
    assert (reply["state"], reply["message_key"]) == ("waiting_for_card", "card.not_detected")


def test_unplugged_card_reader_is_reported_as_a_device_fault(booth):
    h = booth.headers()
    sid = booth.start(h)
    booth.suite.inject("card_reader", "unplugged")
    reply = booth.step(h, sid, "card")
    assert (reply.status_code, reply.json["error"]["code"], reply.json["error"]["device"]) == \
        (503, "device_fault", "card_reader")
    status = booth.client.get("/api/devices", headers=h).json["devices"]
    assert status["card_reader"]["status"] == "fault"
    assert status["fingerprint"]["status"] == "ready"


def test_audit_bundle_exported_by_the_auditor_verifies_and_reconciles_offline(booth):
    h = booth.headers()
    booth.suite.present_voter_card("DEMO05")        # the impostor: refused
    booth.suite.place_voter_finger("DEMO05")
    booth.suite.show_voter_face("DEMO05")
    sid = booth.start(h)
    for step in ("card", "finger", "face", "finger", "face"):     # two rounds, then refused
        booth.step(h, sid, step)
    booth.suite.remove_card()
    sid = verify_to_ink(booth, h, "DEMO01")         # a voter: marked
    booth.to_ink_cradle()
    booth.step(h, sid, "ink")
    booth.step(h, sid, "confirm")
    booth.suite.remove_card()
    booth.present("DEMO04")                         # wrong station
    booth.step(h, booth.start(h), "card")
    assert booth.client.post("/api/audit/export", headers=h).status_code == 403
    auditor = booth.headers("auditor")
    exported = booth.client.post("/api/audit/export", headers=auditor)
    assert exported.status_code == 201
    download = booth.client.get(exported.json["download"], headers=auditor)
    bundle = booth.data_dir / "copy.kab"
    bundle.write_bytes(download.data)
    report = verify_bundle(bundle)
    assert report.ok, report.error
    assert report.reconciled and "votes_marked=1" in report.reconciled[-1] and "refusals=1" in report.reconciled[-1]
