"""The booth workflow without hardware: scripted device adapters return real images (kiosk/demo_data),
the real matcher decides, a real registry (SQLite, then PostgreSQL) holds the voters, and every audit event passes the
audit log's privacy rules. The pure decision rules are specified on their own, with hypothesis.
"""
from __future__ import annotations

import secrets
from collections import deque
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware.errors import DeviceUnavailable
from hardware.ink import InkCheckResult
from hardware.mrz import IdDocument, MrzError
from kiosk import workflow as wf
from kiosk.audit import validate_fields
from kiosk.registry import Registry
from matcher import face, fingerprint

DEMO = Path(wf.__file__).resolve().parent.parent / "demo_data"   # kiosk/demo_data
STATION = "PS-0001"
ID_A, ID_B = "111222333", "444555666"


def gray(name: str) -> np.ndarray:
    return cv2.imread(str(DEMO / name), cv2.IMREAD_GRAYSCALE)


def rgb(name: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(DEMO / name), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def blank_pad() -> np.ndarray:
    """Skin on the sensor without ridges, as an R30x uploads it (4-bit pixels): the gate refuses it."""
    image = np.full((374, 388), 235, np.uint8)
    cv2.ellipse(image, (194, 187), (110, 150), 0, 0, 360, 95, -1)
    return (cv2.GaussianBlur(image, (0, 0), 3) >> 4) * 17


@pytest.fixture(scope="module")
def templates() -> dict:
    return {"a_index": fingerprint.extract(gray("finger1_1.png"), dpi=500).to_iso(),
            "a_middle": fingerprint.extract(gray("finger2_1.png"), dpi=500).to_iso(),
            "a_face": face.encode(rgb("face1_enrol.jpg")).to_bytes(),
            "b_index": fingerprint.extract(gray("finger3_1.png"), dpi=500).to_iso(),
            "b_face": face.encode(rgb("face3_enrol.jpg")).to_bytes()}


@pytest.fixture
def registry(registry_url, templates) -> Registry:
    # every test here runs on SQLite and on a real PostgreSQL cluster (tests/pg_fixtures.py)
    reg = Registry(registry_url, secrets.token_bytes(32))
    # voter A enrolled two fingers (person 1's and person 2's prints stand in for two of A's fingers)
    reg.add_voter(voter_id="VA", id_number=ID_A, name="SOK DARA", birth_date=date(1970, 1, 2), sex="M",
                  station_id=STATION, fingers={"right_index": templates["a_index"],
                                               "right_middle": templates["a_middle"]}, face=templates["a_face"])
    reg.add_voter(voter_id="VB", id_number=ID_B, name="KEO VISAL", birth_date=date(1980, 3, 4), sex="M",
                  station_id="PS-0002", fingers={"right_index": templates["b_index"]}, face=templates["b_face"])
    yield reg
    reg.close()


def document(id_number: str) -> IdDocument:
    return IdDocument(document_code="ID", issuing_state="KHM", document_number=id_number,
                      birth_date=date(1970, 1, 2), sex="M", expiry_date=date(2035, 12, 31), nationality="KHM",
                      surname="SOK", given_names="DARA", optional_data="", format="TD1", warnings=())


class ScriptedDevices:
    """Device adapters that hand out what the test scripted, in order; an exception is raised."""

    def __init__(self) -> None:
        self.cards: deque = deque()
        self.fingers: deque = deque()
        self.faces: deque = deque()
        self.ink: deque = deque()

    @staticmethod
    def _next(queue: deque, what: str):
        if not queue:
            raise AssertionError(f"the workflow asked for a {what} the test did not script")
        item = queue.popleft()
        if isinstance(item, BaseException):
            raise item
        return item

    def read_card(self):
        return self._next(self.cards, "card")

    def capture_finger(self):
        return self._next(self.fingers, "finger"), 500

    def capture_face(self):
        return self._next(self.faces, "face")

    def capture_ink_frames(self, session=None):
        return self._next(self.ink, "ink check")


class AuditTrail:
    """Collects events after checking them with the audit log's own privacy rules."""

    def __init__(self) -> None:
        self.events: list[dict] = []

    def record(self, event_type: str, **fields) -> int:
        event = {"event": event_type, **{k: v for k, v in fields.items() if v is not None}}
        validate_fields(event)
        self.events.append(event)
        return len(self.events) - 1

    def kinds(self) -> list[str]:
        return [e["event"] for e in self.events]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def devices() -> ScriptedDevices:
    return ScriptedDevices()


@pytest.fixture
def trail() -> AuditTrail:
    return AuditTrail()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_workflow(registry, devices, trail, clock, **rules) -> wf.Workflow:
    ink = lambda off, on: InkCheckResult(off, 0.0, "scripted")  # noqa: E731  (the frames carry the decision)
    bio = wf.Biometrics.default()
    bio = wf.Biometrics(**{**bio.__dict__, "detect_ink": ink})
    return wf.Workflow(registry=registry, devices=devices, rules=wf.Rules(STATION, "kiosk-01", **rules),
                       record=trail.record, pseudonym=lambda n: "ab" * 32, biometrics=bio, clock=clock,
                       idle_s=60)


@pytest.fixture
def booth(registry, devices, trail, clock) -> wf.Workflow:
    return make_workflow(registry, devices, trail, clock)


def to_finger_step(booth, devices) -> str:
    devices.cards.append(document(ID_A))
    sid = booth.start("po-1").session_id
    assert booth.read_card(sid).state == wf.CAPTURE_FINGER
    return sid


# -- the normal path ----------------------------------------------------------------------------------

def test_card_of_a_registered_voter_asks_for_the_first_enrolled_finger(booth, devices):
    sid = to_finger_step(booth, devices)
    session = booth.get(sid)
    assert (session.current_finger, session.message_key) == ("right_index", "finger.place")
    assert session.public_dict()["voter"]["voter_id"] == "VA"


def test_genuine_finger_and_face_are_accepted_then_marked_once(booth, devices, registry, trail):
    sid = to_finger_step(booth, devices)
    devices.fingers.append(gray("finger1_3.png"))
    assert booth.capture_finger(sid).state == wf.CAPTURE_FACE
    devices.faces.append(rgb("face1_probe.jpg"))
    assert booth.capture_face(sid).state == wf.CHECK_INK
    devices.ink.append(("no_ink", None))
    assert booth.check_ink(sid).state == wf.AWAITING_CONFIRMATION
    done = booth.confirm(sid, "po-1")
    assert (done.state, done.outcome, done.method) == (wf.VOTED, "verified", "biometric")
    assert registry.get_voter("VA").vote.method == "biometric"
    assert trail.kinds().count("vote_marked") == 1


def test_a_capture_is_compared_with_every_enrolled_impression_of_the_finger(booth, devices, registry, templates):
    # voter C's right index was enrolled from two impressions; person 3's print stands in for a first
    # impression that missed the part of the finger the sensor sees today, person 1's for the second
    poor = fingerprint.Template.from_iso(templates["b_index"])
    good = fingerprint.Template.from_iso(templates["a_index"])
    registry.add_voter(voter_id="VC", id_number="777888999", name="CHAN SOPHEA", birth_date=date(1990, 5, 6),
                       sex="F", station_id=STATION, fingers={"right_index": fingerprint.views_to_iso([poor, good])},
                       face=templates["a_face"])
    devices.cards.append(document("777888999"))
    sid = booth.start("po-1").session_id
    booth.read_card(sid)
    capture = gray("finger1_3.png")
    devices.fingers.append(capture)
    assert booth.capture_finger(sid).state == wf.CAPTURE_FACE
    probe = fingerprint.extract(capture, dpi=500)
    score = booth.get(sid).finger_scores["right_index"]
    assert fingerprint.compare(probe, poor) < fingerprint.threshold_for_fmr(1e-2)
    assert score == pytest.approx(fingerprint.compare(probe, good) - 10 * np.log10(2))  # two chances, not one
    assert score >= fingerprint.threshold_for_fmr(1e-4)


def test_a_stricter_target_fmr_refuses_the_same_genuine_voter(registry, devices, trail, clock):
    booth = make_workflow(registry, devices, trail, clock, target_fmr=1e-60)
    sid = to_finger_step(booth, devices)
    devices.fingers.extend([gray("finger1_3.png"), gray("finger2_3.png")])
    devices.faces.extend([rgb("face1_probe.jpg")] * 2)
    booth.capture_finger(sid)
    assert booth.capture_face(sid).state == wf.CAPTURE_FINGER          # a second round first
    booth.capture_finger(sid)
    refused = booth.capture_face(sid)
    assert (refused.state, refused.reason) == (wf.REFUSED, "not_verified")
    assert registry.summary(STATION)["refused"] == 1


# -- not verified: another round ----------------------------------------------------------------------

def test_a_voter_not_verified_is_asked_for_the_next_finger_and_the_face_again(booth, devices, trail):
    sid = to_finger_step(booth, devices)
    devices.fingers.append(gray("finger3_3.png"))                      # not A's finger
    devices.faces.append(rgb("face3_probe.jpg"))                       # nor A's face
    booth.capture_finger(sid)
    session = booth.capture_face(sid)
    assert (session.state, session.message_key) == (wf.CAPTURE_FINGER, "finger.another_round")
    assert (session.current_finger, session.verification_round, session.finger_scores) == ("right_middle", 2, {})
    public = session.public_dict()
    assert (public["round"], public["match"], public["terminal"]) == (2, None, False)
    rounds = [(e["round"], e["outcome"]) for e in trail.events if e.get("modality") == "fused"]
    assert rounds == [(1, "rejected")]


def test_the_second_round_is_decided_on_its_own_captures(booth, devices, trail):
    sid = to_finger_step(booth, devices)
    devices.fingers.extend([gray("finger3_3.png"), gray("finger2_3.png")])   # a wrong finger, then A's middle
    devices.faces.extend([rgb("face3_probe.jpg"), rgb("face1_probe.jpg")])
    booth.capture_finger(sid)
    booth.capture_face(sid)
    booth.capture_finger(sid)
    session = booth.capture_face(sid)
    assert session.state == wf.CHECK_INK
    assert set(session.finger_scores) == {"right_middle"}              # round 1's score is not carried over
    rounds = [(e["round"], e["outcome"]) for e in trail.events if e.get("modality") == "fused"]
    assert rounds == [(1, "rejected"), (2, "accepted")]


def test_an_impostor_is_refused_after_the_last_round(booth, devices, registry):
    sid = to_finger_step(booth, devices)
    devices.fingers.extend([gray("finger3_3.png")] * 2)
    devices.faces.extend([rgb("face3_probe.jpg")] * 2)
    for _ in range(2):
        booth.capture_finger(sid)
        session = booth.capture_face(sid)
    assert (session.state, session.reason, session.verification_round) == (wf.REFUSED, "not_verified", 2)
    assert registry.summary(STATION)["refused"] == 1
    assert registry.find_voter(ID_A).not_verified_before == 1       # every kiosk's next lookup counts it


def test_with_one_round_configured_the_first_rejection_refuses(registry, devices, trail, clock):
    booth = make_workflow(registry, devices, trail, clock, verification_rounds=1)
    sid = to_finger_step(booth, devices)
    devices.fingers.append(gray("finger3_3.png"))
    devices.faces.append(rgb("face3_probe.jpg"))
    booth.capture_finger(sid)
    assert (booth.capture_face(sid).state, booth.get(sid).reason) == (wf.REFUSED, "not_verified")


def test_a_voter_with_one_finger_enrolled_gives_that_finger_again(registry, devices, trail, clock, templates):
    booth = make_workflow(registry, devices, trail, clock)
    registry.add_voter(voter_id="VC", id_number="777888999", name="CHAN SREY", birth_date=date(1990, 5, 6),
                       sex="F", station_id=STATION, fingers={"right_index": templates["a_index"]},
                       face=templates["a_face"])
    devices.cards.append(document("777888999"))
    sid = booth.start("po-1").session_id
    booth.read_card(sid)
    devices.fingers.append(gray("finger3_3.png"))
    devices.faces.append(rgb("face3_probe.jpg"))
    booth.capture_finger(sid)
    session = booth.capture_face(sid)
    assert (session.state, session.current_finger) == (wf.CAPTURE_FINGER, "right_index")


def test_each_round_is_decided_at_the_target_shared_among_the_rounds(registry, devices, trail, clock):
    """A genuine session whose fused FMR lies between target / 2 and target passes with one round and
    not with two: two chances at target / 2 each cost an impostor no more than one at the target."""
    probe = make_workflow(registry, devices, trail, clock)
    sid = to_finger_step(probe, devices)
    devices.fingers.append(gray("finger1_3.png"))
    devices.faces.append(rgb("face1_probe.jpg"))
    probe.capture_finger(sid)
    fmr = probe.capture_face(sid).fused_fmr
    for rounds, expected in ((1, wf.CHECK_INK), (2, wf.CAPTURE_FINGER)):
        booth = make_workflow(registry, devices, trail, clock, target_fmr=1.5 * fmr, verification_rounds=rounds)
        sid = to_finger_step(booth, devices)
        devices.fingers.append(gray("finger1_3.png"))
        devices.faces.append(rgb("face1_probe.jpg"))
        booth.capture_finger(sid)
        assert booth.capture_face(sid).state == expected, rounds


def test_a_voter_refused_as_not_verified_before_is_decided_at_half_the_rate(registry, devices, trail, clock):
    """Another session of a card refused before: the same genuine captures whose fused FMR lies between
    target / 2 and target pass the first time and not after one earlier refusal (any kiosk's)."""
    probe = make_workflow(registry, devices, trail, clock, verification_rounds=1)
    sid = to_finger_step(probe, devices)
    devices.fingers.append(gray("finger1_3.png"))
    devices.faces.append(rgb("face1_probe.jpg"))
    probe.capture_finger(sid)
    fmr = probe.capture_face(sid).fused_fmr
    booth = make_workflow(registry, devices, trail, clock, target_fmr=1.5 * fmr, verification_rounds=1)
    outcomes = []
    for earlier in (0, 1):
        if earlier:
            registry.record_decision(session_id="elsewhere", voter_id="VA", station_id=STATION, kiosk_id="kiosk-02",
                                     official_id="po-2", outcome="refused", method="biometric", reason="not_verified")
        sid = to_finger_step(booth, devices)
        devices.fingers.append(gray("finger1_3.png"))
        devices.faces.append(rgb("face1_probe.jpg"))
        booth.capture_finger(sid)
        outcomes.append(booth.capture_face(sid).state)
    assert outcomes == [wf.CHECK_INK, wf.REFUSED]
    assert [e.get("not_verified_before") for e in trail.events if e.get("modality") == "fused"][-1] == 1


def test_a_face_only_session_not_verified_takes_the_photo_again(booth, devices):
    sid = to_finger_step(booth, devices)
    devices.fingers.extend([blank_pad()] * 6)
    for _ in range(6):
        booth.capture_finger(sid)
    booth.approve_face_only(sid, "sup-1", "worn_fingerprints")
    devices.faces.extend([rgb("face3_probe.jpg"), rgb("face1_probe.jpg")])
    session = booth.capture_face(sid)
    assert (session.state, session.message_key, session.verification_round) == \
        (wf.CAPTURE_FACE, "face.another_round", 2)
    assert booth.capture_face(sid).state == wf.CHECK_INK


def test_voter_registered_elsewhere_is_redirected_with_the_station(booth, devices):
    devices.cards.append(document(ID_B))
    session = booth.read_card(booth.start("po-1").session_id)
    assert (session.state, session.registered_station) == (wf.WRONG_STATION, "PS-0002")


def test_card_of_nobody_registered_is_refused(booth, devices, registry):
    devices.cards.append(document("999888777"))
    session = booth.read_card(booth.start("po-1").session_id)
    assert (session.state, session.outcome, session.reason) == (wf.REFUSED, "not_found", "not_registered")
    assert registry.summary(STATION)["not_found"] == 1


def test_voter_who_already_voted_elsewhere_is_stopped_at_confirmation(booth, devices, registry, trail):
    sid = to_finger_step(booth, devices)
    devices.fingers.append(gray("finger1_3.png"))
    booth.capture_finger(sid)
    devices.faces.append(rgb("face1_probe.jpg"))
    booth.capture_face(sid)
    devices.ink.append(("no_ink", None))
    booth.check_ink(sid)
    registry.mark_voted("VA", kiosk_id="kiosk-02", station_id=STATION, official_id="po-2", method="biometric")
    session = booth.confirm(sid, "po-1")
    assert (session.state, session.reason) == (wf.ALREADY_VOTED, "second_attempt")
    assert trail.events[-1]["event"] == "session_ended" and trail.events[-1]["flagged"] is True


# -- the quality gate, retries, other fingers, face-only fallback ----------------------------------------

def test_failed_captures_retry_then_ask_for_another_finger_then_offer_the_fallback(booth, devices):
    sid = to_finger_step(booth, devices)
    devices.fingers.extend([blank_pad()] * 6)
    keys = [booth.capture_finger(sid).message_key for _ in range(3)]
    assert keys == ["finger.press_harder", "finger.press_harder", "finger.try_another"]
    assert booth.get(sid).current_finger == "right_middle"
    for _ in range(3):
        session = booth.capture_finger(sid)
    assert (session.state, session.public_dict()["next_action"]) == (wf.FINGERS_UNUSABLE, "supervisor_approval")


def test_max_fingers_limits_the_fingers_tried(registry, devices, trail, clock):
    booth = make_workflow(registry, devices, trail, clock, max_fingers=1, max_finger_attempts=2)
    sid = to_finger_step(booth, devices)
    devices.fingers.extend([blank_pad()] * 2)
    booth.capture_finger(sid)
    assert booth.capture_finger(sid).state == wf.FINGERS_UNUSABLE


def test_good_capture_after_a_failed_one_is_matched(booth, devices):
    sid = to_finger_step(booth, devices)
    devices.fingers.extend([blank_pad(), gray("finger1_3.png")])
    booth.capture_finger(sid)
    session = booth.capture_finger(sid)
    assert session.state == wf.CAPTURE_FACE
    assert session.finger_scores["right_index"] > fingerprint.threshold_for_fmr(1e-4)


def test_no_finger_on_the_sensor_is_not_counted_as_an_attempt(booth, devices):
    from hardware.fingerprint_sensor import NoFinger

    sid = to_finger_step(booth, devices)
    devices.fingers.append(NoFinger())
    session = booth.capture_finger(sid)
    assert (session.message_key, session.finger_attempts) == ("finger.not_placed", 0)


def test_sensor_reporting_a_wet_finger_counts_as_a_failed_attempt(booth, devices):
    from hardware.fingerprint_sensor import TooWet

    sid = to_finger_step(booth, devices)
    devices.fingers.append(TooWet())
    session = booth.capture_finger(sid)
    assert (session.message_key, session.finger_failures) == ("finger.too_wet", 1)


def test_face_only_fallback_decides_on_the_face_and_is_counted(booth, devices, registry, trail):
    sid = to_finger_step(booth, devices)
    devices.fingers.extend([blank_pad()] * 6)
    for _ in range(6):
        booth.capture_finger(sid)
    with pytest.raises(wf.BadReason):
        booth.approve_face_only(sid, "sup-1", "no_reason")
    session = booth.approve_face_only(sid, "sup-1", "worn_fingerprints")
    assert (session.state, session.method) == (wf.CAPTURE_FACE, wf.METHOD_FACE_ONLY)
    devices.faces.append(rgb("face1_probe.jpg"))
    assert booth.capture_face(sid).state == wf.CHECK_INK
    devices.ink.append(("no_ink", None))
    booth.check_ink(sid)
    booth.confirm(sid, "po-1")
    counts = registry.summary(STATION)
    assert (counts["verified_fallback"], counts["fallbacks"]) == (1, 1)
    assert [e["kind"] for e in trail.events if e["event"] == "fallback"] == ["fallback_face_only"]


def test_face_not_found_three_times_leaves_the_fingers_to_decide(booth, devices):
    sid = to_finger_step(booth, devices)
    devices.fingers.append(gray("finger1_3.png"))
    booth.capture_finger(sid)
    nobody = np.full((480, 640, 3), 180, np.uint8)
    devices.faces.extend([nobody] * 3)
    assert booth.capture_face(sid).message_key == "face.no_face"
    booth.capture_face(sid)
    session = booth.capture_face(sid)
    assert session.state == wf.CHECK_INK
    assert session.public_dict()["match"]["face_score_band"] is None


# -- ink, device faults, cards, steps -----------------------------------------------------------------

def test_inconclusive_ink_checks_then_the_officials_own_look(booth, devices, trail):
    sid = to_finger_step(booth, devices)
    devices.fingers.append(gray("finger1_3.png"))
    booth.capture_finger(sid)
    devices.faces.append(rgb("face1_probe.jpg"))
    booth.capture_face(sid)
    devices.ink.append(("inconclusive", None))
    assert booth.check_ink(sid).message_key == "ink.retry"
    with pytest.raises(wf.InvalidStep):
        booth.check_ink(sid, checked_by_eye="no_ink")
    devices.ink.append(("inconclusive", None))
    assert booth.check_ink(sid).message_key == "ink.check_by_eye"
    assert booth.check_ink(sid, checked_by_eye="no_ink").state == wf.AWAITING_CONFIRMATION
    assert any(e["event"] == "override" and e["kind"] == "ink_checked_by_eye" for e in trail.events)


def test_ink_found_refuses_the_voter(booth, devices, registry):
    sid = to_finger_step(booth, devices)
    devices.fingers.append(gray("finger1_3.png"))
    booth.capture_finger(sid)
    devices.faces.append(rgb("face1_probe.jpg"))
    booth.capture_face(sid)
    devices.ink.append(("ink", None))
    session = booth.check_ink(sid)
    assert (session.state, session.reason) == (wf.REFUSED, "ink_detected")
    assert not registry.get_voter("VA").has_voted


def test_device_failure_keeps_the_session_where_it_was(booth, devices):
    sid = to_finger_step(booth, devices)
    devices.fingers.append(DeviceUnavailable("sensor port gone"))
    with pytest.raises(wf.DeviceFailed) as failure:
        booth.capture_finger(sid)
    assert (failure.value.device, failure.value.device_code) == ("fingerprint", "device_unavailable")
    assert booth.get(sid).state == wf.CAPTURE_FINGER


def test_card_failing_its_check_digits_asks_for_the_card_again(booth, devices):
    sid = booth.start("po-1").session_id
    devices.cards.append(MrzError("check_digit_document_number", "document number check digit is wrong"))
    session = booth.read_card(sid)
    assert (session.state, session.message_key) == (wf.WAITING_FOR_CARD, "card.unreadable")


def test_steps_out_of_order_are_refused(booth):
    sid = booth.start("po-1").session_id
    for step in (booth.capture_finger, booth.capture_face, booth.check_ink):
        with pytest.raises(wf.InvalidStep):
            step(sid)


def test_idle_sessions_are_forgotten(booth, clock):
    sid = booth.start("po-1").session_id
    clock.now += 61
    booth.start("po-1")
    with pytest.raises(wf.SessionNotFound):
        booth.get(sid)


def test_audit_events_carry_the_pseudonym_never_the_id_number(booth, devices, trail):
    to_finger_step(booth, devices)
    card = [e for e in trail.events if e["event"] == "card_read"][0]
    assert card["voter"] == "ab" * 32
    assert ID_A not in repr(trail.events) and "SOK" not in repr(trail.events)


# -- no card: identification ------------------------------------------------------------------------------

def test_voter_without_card_is_identified_within_the_station(booth, devices, registry):
    sid = booth.start("po-1").session_id
    with pytest.raises(wf.BadReason):
        booth.start_without_card(sid, "sup-1", "felt_like_it")
    assert booth.start_without_card(sid, "sup-1", "card_lost").state == wf.IDENTIFY_FINGER
    devices.fingers.append(gray("finger1_3.png"))
    assert booth.capture_finger(sid).state == wf.IDENTIFY_FACE
    devices.faces.append(rgb("face1_probe.jpg"))
    session = booth.capture_face(sid)
    assert (session.state, session.voter.voter_id, session.method) == (wf.CHECK_INK, "VA", wf.METHOD_NO_CARD)


def test_voter_without_card_found_nationally_is_redirected(booth, devices):
    sid = booth.start("po-1").session_id
    booth.start_without_card(sid, "sup-1", "card_damaged")
    devices.fingers.append(gray("finger3_3.png"))
    booth.capture_finger(sid)
    devices.faces.append(rgb("face3_probe.jpg"))
    session = booth.capture_face(sid)
    assert (session.state, session.registered_station) == (wf.WRONG_STATION, "PS-0002")


def test_voter_enrolled_while_the_kiosk_runs_is_identified_without_card(booth, devices, registry):
    def identify(finger: str, face_photo: str) -> wf.Session:
        sid = booth.start("po-1").session_id
        booth.start_without_card(sid, "sup-1", "card_lost")
        devices.fingers.append(gray(finger))
        booth.capture_finger(sid)
        devices.faces.append(rgb(face_photo))
        return booth.capture_face(sid)

    assert identify("finger4_3.png", "face4_probe.jpg").state == wf.REFUSED   # galleries built without D
    registry.add_voter(voter_id="VD", id_number="777888999", name="CHEA SOPHAL", birth_date=date(1990, 5, 6),
                       sex="F", station_id=STATION,
                       fingers={"right_index": fingerprint.extract(gray("finger4_1.png"), dpi=500).to_iso()},
                       face=face.encode(rgb("face4_enrol.jpg")).to_bytes())
    session = identify("finger4_3.png", "face4_probe.jpg")
    assert (session.state, session.voter.voter_id) == (wf.CHECK_INK, "VD")


# -- the pure rules ---------------------------------------------------------------------------------------

@given(st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_score_band_contains_the_score(score):
    band = wf.score_band(score)
    if score >= 100:
        assert band == "100+"
    else:
        low, high = map(int, band.split("-"))
        assert low <= score < high and high - low == 10


@given(attempts=st.integers(1, 6), max_fingers=st.integers(1, 5), enrolled=st.integers(1, 10))
def test_failures_before_the_fallback_is_offered(attempts, max_fingers, enrolled):
    rules = wf.Rules(STATION, "k", max_finger_attempts=attempts, max_fingers=max_fingers)
    on_finger, index, failures = 0, 0, 0
    while True:
        on_finger += 1
        failures += 1
        verdict = wf.after_finger_failure(on_finger, index, enrolled, rules)
        if verdict == "unusable":
            break
        if verdict == "next_finger":
            index, on_finger = index + 1, 0
    assert failures == attempts * min(max_fingers, enrolled)


@given(rounds=st.integers(1, 3), target=st.floats(1e-12, 0.5))
def test_the_rounds_a_session_may_take_share_its_target_false_match_rate(rounds, target):
    rules = wf.Rules(STATION, "k", target_fmr=target, verification_rounds=rounds)
    verdicts = [wf.after_rejection(taken, rules) for taken in range(1, rounds + 1)]
    assert verdicts == ["another_round"] * (rounds - 1) + ["refuse"]
    assert wf.round_fmr(rules) * len(verdicts) == pytest.approx(target)     # the union bound over the rounds


@given(earlier=st.integers(0, 60), target=st.floats(1e-12, 0.5))
def test_a_card_s_sessions_together_cost_at_most_twice_the_target(earlier, target):
    rules = wf.Rules(STATION, "k", target_fmr=target)
    total = sum(wf.session_fmr(rules, k) for k in range(earlier + 1))
    assert total <= 2 * target
    assert wf.session_fmr(rules, earlier + 1) == pytest.approx(wf.session_fmr(rules, earlier) / 2)


def test_lookup_outcomes():
    from kiosk.registry import Voter, VoteRecord

    here = Voter("V1", "1", "N", None, "M", STATION)
    voted = Voter("V1", "1", "N", None, "M", STATION, vote=VoteRecord("V1", "t", "k", STATION, "o", "biometric"))
    elsewhere_voted = Voter("V1", "1", "N", None, "M", "PS-9", vote=voted.vote)
    assert [wf.lookup_outcome(v, STATION) for v in (None, here, voted, elsewhere_voted)] == \
        ["not_found", "found", "already_voted", "wrong_station"]


def test_identification_never_picks_between_two_passing_voters():
    from matcher import fusion

    both = {"V1": {"finger": 90.0, "face": 90.0}, "V2": {"finger": 85.0, "face": 90.0}}
    assert wf.pick_identified(both, fusion.fuse, fusion.decide, 1e-6) == (None, 2)
    one = {"V1": {"finger": 90.0, "face": 90.0}, "V2": {"finger": 5.0, "face": 10.0}}
    picked, passing = wf.pick_identified(one, fusion.fuse, fusion.decide, 1e-6)
    assert (picked[0], passing) == ("V1", 1)


def test_every_message_key_the_workflow_sets_is_in_the_catalogue():
    import re

    source = "".join(path.read_text() for path in Path(wf.__file__).parent.glob("*.py"))
    literals = set(re.findall(r'"((?:card|finger|face|ink|confirm|result|session)\.[a-z_]+)"', source))
    assert literals and literals <= wf.MESSAGE_KEYS
    from matcher.face.errors import REASONS
    assert {f"face.{reason}" for reason in REASONS} <= wf.MESSAGE_KEYS


def test_open_sessions_lists_only_sessions_not_yet_ended(booth):
    first = booth.start("po-1").session_id
    second = booth.start("po-1").session_id
    booth.cancel(first)
    assert [s.session_id for s in booth.open_sessions()] == [second]


# -- the 1:N identifier behind its interface -------------------------------------------------------------

class RecordingIdentifier:
    """The default in-process identifier, noting what the workflow asked it and what it answered."""

    def __init__(self, registry) -> None:
        self.inner = wf.GalleryIdentifier(registry)
        self.asked: list[tuple[str | None, list[wf.Candidate]]] = []

    def identify(self, finger_probe, face_probe, scope, deadline=None):
        found = self.inner.identify(finger_probe, face_probe, scope, deadline)
        self.asked.append((scope, found))
        return found


def test_identification_asks_the_plugged_in_identifier_station_first_then_nationally(registry, devices, trail,
                                                                                     clock):
    booth = make_workflow(registry, devices, trail, clock)
    booth.identifier = identifier = RecordingIdentifier(registry)
    sid = booth.start("po-1").session_id
    booth.start_without_card(sid, "sup-1", "card_damaged")
    devices.fingers.append(gray("finger3_3.png"))
    booth.capture_finger(sid)
    devices.faces.append(rgb("face3_probe.jpg"))
    assert booth.capture_face(sid).registered_station == "PS-0002"
    assert [scope for scope, _ in identifier.asked] == [STATION, None]
    station, national = (found for _, found in identifier.asked)
    assert "VB" not in {c.voter_id for c in station}                 # B is registered at another station
    assert national[0].voter_id == "VB" and set(national[0].scores) == {"finger", "face"}


def test_a_finger_of_unknown_position_counts_each_enrolled_finger_of_a_voter_as_a_chance(registry):
    # voter A enrolled two fingers: the probe of A's right index had two tries to pass, not one
    probe = fingerprint.extract(gray("finger1_3.png"), dpi=500)
    [found] = [c for c in wf.GalleryIdentifier(registry).identify(probe, None, STATION) if c.voter_id == "VA"]
    enrolled = registry.enrolment("VA").fingers
    best = max(fingerprint.compare(probe, views) for views in enrolled.values())
    assert len(enrolled) == 2
    assert found.finger == pytest.approx(best - 10 * np.log10(2))


def test_each_enrolled_impression_of_a_voter_is_a_chance_in_identification(registry, templates):
    # voter C: the right index from two impressions (person 3's print stands in for a poor first one)
    poor = fingerprint.Template.from_iso(templates["b_index"])
    good = fingerprint.Template.from_iso(templates["a_index"])
    registry.add_voter(voter_id="VC", id_number="777888999", name="CHAN SOPHEA", birth_date=date(1990, 5, 6),
                       sex="F", station_id=STATION, fingers={"right_index": fingerprint.views_to_iso([poor, good])})
    probe = fingerprint.extract(gray("finger1_3.png"), dpi=500)
    [found] = [c for c in wf.GalleryIdentifier(registry).identify(probe, None, STATION) if c.voter_id == "VC"]
    assert found.finger == pytest.approx(fingerprint.compare(probe, registry.enrolment("VC").fingers["right_index"]))
    assert found.finger == pytest.approx(fingerprint.compare(probe, good) - 10 * np.log10(2))


def test_candidates_rank_by_modalities_then_score_sum():
    found = [wf.Candidate("V1", face=90.0), wf.Candidate("V2", finger=40.0, face=41.0),
             wf.Candidate("V3", finger=30.0, face=20.0), wf.Candidate("V0", finger=90.0)]
    from kiosk.workflow.identifier import ranked

    assert [c.voter_id for c in ranked(found)] == ["V2", "V3", "V0", "V1"]
    assert wf.Candidate("V9", finger=5.0).scores == {"finger": 5.0}
