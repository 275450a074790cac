"""Liveness at the booth, end to end: the real kiosk API reading the real camera simulator's MJPEG stream.

The camera simulator plays what a tester chose (``show_voter_face(..., performance=...)``): a live
voter who blinks and turns when the booth screen asks (the kiosk's ``show_instruction`` hook stands
for the voter's eyes on the screen), or an attack made from the voter's photo. The kiosk runs the
liveness check on the frames as they arrive, with the real landmark model, then the real face
comparison; every step is audited in the real log.

One kiosk serves every test of the module, as one booth serves a polling day; no test marks a vote.
"""
from __future__ import annotations

import json
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from hardware.mjpeg import MultipartParser, boundary_of
from kiosk import create_app
from kiosk.audit import layout, records
from kiosk.booth import catalogue
from kiosk.workflow import LIVENESS_FAILURES, LIVENESS_REASONS
from simulators.suite import SimulatorSuite
from liveness_fixtures import PASSWORDS, liveness_kiosk_settings

SUPERVISOR = {"supervisor_username": "supervisor", "supervisor_password": PASSWORDS["supervisor"]}


@dataclass
class LiveBooth:
    client: object
    suite: SimulatorSuite
    data_dir: Path
    headers: dict

    def steps_up(self, person: str, performance: str) -> str:
        """The person presents card and finger and faces the camera doing ``performance``; the
        official runs card and finger. Returns the session, now waiting for the liveness check."""
        self.suite.present_voter_card(person)
        self.suite.place_voter_finger(person)
        self.suite.show_voter_face(person, performance=performance)
        sid = self.client.post("/api/sessions", headers=self.headers).json["session_id"]
        assert self.step(sid, "card").json["state"] == "capture_finger"
        assert self.step(sid, "finger").json["state"] == "check_liveness"
        return sid

    def step(self, sid: str, name: str, **body):
        return self.client.post(f"/api/sessions/{sid}/{name}", headers=self.headers, json=body or None)

    def session(self, sid: str) -> dict:
        return self.client.get(f"/api/sessions/{sid}", headers=self.headers).json

    def audit(self, sid: str) -> list[dict]:
        data = (self.data_dir / "audit" / layout.ENTRIES_LOG).read_bytes()
        return [e for e in map(json.loads, records.scan(data).entries) if e.get("session") == sid]

    def liveness_entries(self, sid: str) -> list[dict]:
        return [e for e in self.audit(sid) if e["event"] == "capture" and e.get("modality") == "liveness"]


@pytest.fixture(scope="module")
def booth(liveness_demo_dir, tmp_path_factory):
    data = tmp_path_factory.mktemp("liveness") / "data"
    shutil.copytree(liveness_demo_dir, data)
    suite = SimulatorSuite(demo_voters=data / "demo" / "voters.json", control_port=None).start()
    app = create_app(liveness_kiosk_settings(data, suite.describe()["devices"]),
                     show_instruction=lambda _session, instruction: suite.cue_face(instruction))
    client = app.test_client()
    token = client.post("/api/auth/sign-in", json={"username": "official", "password": PASSWORDS["official"]})
    try:
        yield LiveBooth(client, suite, data, {"Authorization": f"Bearer {token.json['token']}"})
    finally:
        app.extensions["kiosk"].close()
        suite.stop()


def test_a_live_voter_passes_and_the_session_goes_on_to_the_face_comparison(booth):
    sid = booth.steps_up("DEMO01", "live")
    checked = booth.step(sid, "liveness").json
    assert (checked["state"], checked["liveness"]["outcome"]) == ("capture_face", "passed"), checked
    assert checked["liveness"]["instruction"] is None                # nothing left on the screen
    face = booth.step(sid, "face").json
    assert face["state"] == "check_ink", face                        # the live face matched the enrolled one
    [entry] = booth.liveness_entries(sid)
    assert (entry["outcome"], entry["attempt"]) == ("passed", 1)
    assert 0 < entry["elapsed_ms"] <= 4000 and entry["looked_at"] >= 5
    booth.step(sid, "cancel")


def test_a_printed_photo_is_refused_audited_and_the_supervisor_fallback_is_offered(booth):
    sid = booth.steps_up("DEMO02", "printed_photo")
    checked = booth.step(sid, "liveness").json
    assert (checked["state"], checked["next_action"], checked["message_key"]) == \
        ("liveness_failed", "supervisor_approval", "liveness.failed")
    assert checked["liveness"]["outcome"] == "failed" and checked["liveness"]["reason"] in LIVENESS_FAILURES
    assert booth.step(sid, "face").status_code == 409                # no way round the supervisor
    [entry] = booth.liveness_entries(sid)
    assert (entry["outcome"], entry["reason"]) == ("failed", checked["liveness"]["reason"])
    assert len(entry["voter"]) == 64 and not {"name", "id_number", "landmarks"} & set(entry)

    approved = booth.step(sid, "liveness-override", **SUPERVISOR, reason_code="checked_in_person").json
    assert (approved["state"], approved["liveness"]["outcome"], approved["fallbacks"]) == \
        ("capture_face", "approved", ["liveness"])
    [override] = [e for e in booth.audit(sid) if e["event"] == "override"]
    assert (override["kind"], override["reason"], override["supervisor_id"], override["failure"]) == \
        ("liveness_failure_approved", "checked_in_person", "supervisor", entry["reason"])
    booth.step(sid, "cancel")


def test_a_second_round_checks_liveness_again_so_a_photo_cannot_follow_a_live_impostor(booth):
    sid = booth.steps_up("DEMO05", "live")                            # carries DEMO02's card, live
    assert booth.step(sid, "liveness").json["liveness"]["outcome"] == "passed"
    second = booth.step(sid, "face").json
    assert (second["state"], second["round"]) == ("capture_finger", 2), second   # not verified
    booth.suite.show_voter_face("DEMO02", performance="printed_photo")    # now the card holder's photo
    assert booth.step(sid, "finger").json["state"] == "check_liveness"
    assert booth.step(sid, "liveness").json["state"] == "liveness_failed"
    assert [e["outcome"] for e in booth.liveness_entries(sid)] == ["passed", "failed"]
    booth.step(sid, "cancel")


def test_a_face_capture_that_fails_after_the_check_is_retried_only_after_a_new_check(booth):
    """The live frame refused (the voter stood too far away, say): the retry's photo must be live too,
    or a person could pass as themselves, spoil the frame, and then show the voter's photo."""
    import dataclasses

    from matcher.face import CaptureError

    workflow = booth.client.application.extensions["kiosk"].workflow
    real = workflow.bio
    refused = []

    def refuse_first(frame):
        if not refused:
            refused.append(frame)
            raise CaptureError("too_small", "face is 60 px wide, needs 80")
        return real.encode_face(frame)

    sid = booth.steps_up("DEMO01", "live")
    assert booth.step(sid, "liveness").json["liveness"]["outcome"] == "passed"
    workflow._bio = dataclasses.replace(real, encode_face=refuse_first)
    try:
        failed = booth.step(sid, "face").json
    finally:
        workflow._bio = real
    assert (failed["state"], failed["message_key"]) == ("check_liveness", "face.too_small"), failed
    booth.suite.show_voter_face("DEMO01", performance="printed_photo")     # the photo instead of the person
    assert booth.step(sid, "face").status_code == 409                        # no photo without a check
    assert booth.step(sid, "liveness").json["state"] == "liveness_failed"
    assert [e["outcome"] for e in booth.liveness_entries(sid)] == ["passed", "failed"]
    booth.step(sid, "cancel")


def test_the_official_cannot_approve_their_own_session_past_a_failed_check(booth):
    sid = booth.steps_up("DEMO03", "printed_photo")
    assert booth.step(sid, "liveness").json["state"] == "liveness_failed"
    refused = booth.step(sid, "liveness-override", supervisor_username="official",
                         supervisor_password=PASSWORDS["official"], reason_code="checked_in_person")
    assert refused.status_code == 403 and booth.session(sid)["state"] == "liveness_failed"
    booth.step(sid, "cancel")


def test_the_camera_unplugged_mid_check_is_a_clear_error_and_loses_nothing(booth):
    sid = booth.steps_up("DEMO01", "live")
    pull = threading.Timer(0.6, booth.suite.inject, args=("camera", "unplugged"))
    pull.start()
    failed = booth.step(sid, "liveness")
    pull.join()
    assert failed.status_code == 503
    assert (failed.json["error"]["code"], failed.json["error"]["device"]) == ("device_fault", "camera")
    kept = booth.session(sid)
    assert (kept["state"], kept["finger"]["captured"], kept["voter"]["station_id"]) == \
        ("check_liveness", ["right_index"], "PS-0001")
    assert booth.liveness_entries(sid)[-1]["outcome"] == "device_fault"

    booth.suite.clear_faults("camera")                                # plugged back in
    booth.suite.show_voter_face("DEMO01", performance="live")         # the voter faces the camera again
    again = booth.step(sid, "liveness").json
    assert (again["state"], again["liveness"]["attempts"]) == ("capture_face", 2), again
    booth.step(sid, "cancel")


# -- the MJPEG wire format ------------------------------------------------------------------------------

def _part(payload: bytes, boundary: str = "kiosksimframe", length: bool = True) -> bytes:
    head = f"--{boundary}\r\nContent-Type: image/jpeg\r\n"
    head += f"Content-Length: {len(payload)}\r\n\r\n" if length else "\r\n"
    return head.encode() + payload + b"\r\n"


@settings(max_examples=60, deadline=None)
@given(payloads=st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=6),
       cuts=st.lists(st.integers(min_value=1, max_value=50), max_size=30), with_length=st.booleans())
def test_mjpeg_parts_come_out_whole_however_the_bytes_are_split(payloads, cuts, with_length):
    if not with_length:   # without Content-Length a part ends at the next boundary: its payload cannot hold one
        payloads = [p.replace(b"--kiosksimframe", b"") or b"x" for p in payloads]
        payloads = [p.rstrip(b"\r\n") or b"x" for p in payloads]
    wire = b"".join(_part(p, length=with_length) for p in payloads) + b"--kiosksimframe\r\n\r\n"
    parser, got, at = MultipartParser("kiosksimframe"), [], 0
    for cut in cuts + [len(wire)]:
        got += parser.feed(wire[at:at + cut])
        at += cut
    got += parser.feed(wire[at:])
    assert got == payloads


def test_a_stream_that_is_not_multipart_is_refused_by_name():
    from hardware.camera import CameraUnavailable

    assert boundary_of('multipart/x-mixed-replace; boundary="--frame"') == "frame"
    with pytest.raises(CameraUnavailable, match="not an MJPEG stream"):
        boundary_of("image/jpeg")


@pytest.mark.parametrize("language", catalogue.LANGUAGES)
def test_every_liveness_instruction_reason_and_failure_has_a_text(language):
    texts = catalogue.load(language)
    cues = {f"liveness.cue_{cue}" for cue in ("look_at_camera", "blink", "turn_left", "turn_right")}
    assert cues | {f"reason.{r}" for r in LIVENESS_REASONS} | {f"liveness_failure.{f}" for f in LIVENESS_FAILURES} \
        <= set(texts)


# -- the run's deadline (pure: the stream, the check and the clock are passed in) -----------------------

class ScriptedStream:
    """Frames arriving every 0.1 s; the run looks at each one (none dropped)."""
    dropped = 0

    def next_frame(self, after: int):
        from hardware.mjpeg import StreamFrame

        return StreamFrame(after + 1, 0.1 * after, rgb=None)


class UnsettledCheck:
    """A check still waiting for a still, frontal face (what a fidgeting voter gets)."""
    cue = None

    def observe(self, t, points):
        from matcher.face.liveness import Verdict
        return Verdict("pending", "look_at_camera", None, t)


@pytest.mark.parametrize(("face", "outcome", "reason"), [(None, "no_face", None), ("a face", "failed", "timeout")])
def test_a_run_without_a_verdict_ends_at_its_deadline(face, outcome, reason):
    from kiosk.workflow.liveness import run_liveness

    shown = []
    run = run_liveness(ScriptedStream(), UnsettledCheck(), lambda rgb: face, deadline_s=2.0, show=shown.append,
                       clock=lambda: 0.0)
    assert (run.outcome, run.reason, run.live_frame) == (outcome, reason, None)
    assert 2.0 < run.elapsed_s <= 2.1 and run.frames == 22
    assert shown == ["look_at_camera"]
