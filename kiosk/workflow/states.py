"""The workflow's vocabulary: states, actions, decision methods, message keys and reason codes.

Plain data only; the transition table that joins states and actions is in
:mod:`kiosk.workflow.transitions`.
"""
from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Where a session is. A ``StrEnum``: each state compares equal to (and serialises as) its name."""

    WAITING_FOR_CARD = "waiting_for_card"
    CAPTURE_FINGER = "capture_finger"
    FINGERS_UNUSABLE = "fingers_unusable"
    CHECK_LIVENESS = "check_liveness"
    LIVENESS_FAILED = "liveness_failed"
    CAPTURE_FACE = "capture_face"
    IDENTIFY_FINGER = "identify_finger"
    IDENTIFY_FACE = "identify_face"
    INK_ON_RECORD = "ink_on_record"
    CHECK_INK = "check_ink"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    VOTED = "voted"
    REFUSED = "refused"
    WRONG_STATION = "wrong_station"
    ALREADY_VOTED = "already_voted"
    CANCELLED = "cancelled"


class Action(StrEnum):
    """A step the official (or a supervisor) asks for: one :class:`kiosk.workflow.Workflow` method each."""

    READ_CARD = "read_card"
    START_WITHOUT_CARD = "start_without_card"
    CAPTURE_FINGER = "capture_finger"
    APPROVE_FACE_ONLY = "approve_face_only"
    APPROVE_INK_ON_RECORD = "approve_ink_on_record"
    CHECK_LIVENESS = "check_liveness"
    APPROVE_LIVENESS = "approve_liveness"
    CAPTURE_FACE = "capture_face"
    CHECK_INK = "check_ink"
    CONFIRM = "confirm"
    CANCEL = "cancel"


# the names other modules have always imported
WAITING_FOR_CARD = State.WAITING_FOR_CARD
CAPTURE_FINGER = State.CAPTURE_FINGER
FINGERS_UNUSABLE = State.FINGERS_UNUSABLE
CAPTURE_FACE = State.CAPTURE_FACE
CHECK_LIVENESS = State.CHECK_LIVENESS
LIVENESS_FAILED = State.LIVENESS_FAILED
IDENTIFY_FINGER = State.IDENTIFY_FINGER
IDENTIFY_FACE = State.IDENTIFY_FACE
CHECK_INK = State.CHECK_INK
INK_ON_RECORD = State.INK_ON_RECORD
AWAITING_CONFIRMATION = State.AWAITING_CONFIRMATION
VOTED = State.VOTED
REFUSED = State.REFUSED
WRONG_STATION = State.WRONG_STATION
ALREADY_VOTED = State.ALREADY_VOTED
CANCELLED = State.CANCELLED

TERMINAL = frozenset({VOTED, REFUSED, WRONG_STATION, ALREADY_VOTED, CANCELLED})

NEXT_ACTION = {
    WAITING_FOR_CARD: "read_card",
    CAPTURE_FINGER: "capture_finger",
    FINGERS_UNUSABLE: "supervisor_approval",
    INK_ON_RECORD: "supervisor_approval",
    CHECK_LIVENESS: "check_liveness",
    LIVENESS_FAILED: "supervisor_approval",
    CAPTURE_FACE: "capture_face",
    IDENTIFY_FINGER: "capture_finger",
    IDENTIFY_FACE: "capture_face",
    CHECK_INK: "check_ink",
    AWAITING_CONFIRMATION: "confirm",
}
"""What the official should do next in each non-terminal state (terminal states: ``none``)."""

METHOD_BIOMETRIC = "biometric"
METHOD_NO_CARD = "fallback_no_card"
METHOD_FACE_ONLY = "fallback_face_only"
METHOD_NO_CARD_FACE_ONLY = "fallback_no_card_face_only"

FACE_CAPTURE_REASONS = ("no_face", "several_faces", "too_small", "too_dark", "too_bright", "blurred", "not_frontal",
                        "unusable_image")
"""matcher.face capture reasons (plus ``unusable_image``); each is a ``face.<reason>`` message key."""

MESSAGE_KEYS = frozenset({
    "card.present", "card.not_detected", "card.unreadable",
    "finger.place", "finger.not_placed", "finger.press_harder", "finger.retry", "finger.too_dry", "finger.too_wet",
    "finger.try_another", "finger.unusable", "finger.another_round",
    "face.look_at_camera", "face.another_round", *(f"face.{reason}" for reason in FACE_CAPTURE_REASONS),
    "liveness.look_at_camera", "liveness.no_face", "liveness.failed",
    "ink.place_finger", "ink.on_record", "ink.retry", "ink.check_by_eye", "confirm.ready",
    "result.voted", "result.not_verified", "result.not_identified", "result.not_registered",
    "result.wrong_station", "result.already_voted", "result.ink_detected", "session.cancelled",
})
"""Every ``message_key`` a session can carry: the booth screen's message catalogue needs one text each."""

FINGER_CAPTURE_PROBLEMS = {"too_dry": "finger.too_dry", "too_wet": "finger.too_wet",
                           "image_messy": "finger.press_harder", "too_few_features": "finger.press_harder",
                           "capture_failed": "finger.retry", "no_valid_image": "finger.retry"}
"""Sensor confirmation codes that mean "this capture was bad" (the person, not the device) -> message key."""

NO_CARD_REASONS = ("card_lost", "card_damaged", "card_unreadable", "card_forgotten", "other")
"""Reason codes a supervisor gives when approving identification without a card."""

FACE_ONLY_REASONS = ("worn_fingerprints", "injury", "amputation", "skin_condition", "sensor_fault", "other")
"""Reason codes a supervisor gives when approving the face-only fallback."""

INK_ON_RECORD_REASONS = ("not_election_ink", "detector_error_confirmed", "other")
"""Reason codes a supervisor gives when letting a person go on whom ink was found earlier (at this or
another kiosk of the station): the earlier finding was not election ink, or the detector was wrong."""

LIVENESS_REASONS = ("checked_in_person", "disability", "camera_fault", "other")
"""Reason codes a supervisor gives when letting a voter whose liveness check failed go on to the face
capture: they saw the person in front of the camera themselves, the person cannot follow the cues
(a disability), or the camera misbehaved."""

LIVENESS_FAILURES = ("no_response", "wrong_direction", "moved_instead_of_blink", "face_lost", "too_early", "timeout")
"""Why a liveness check failed (matcher.face.liveness.FAILURES, plus ``timeout``: a face was seen but
the check had no verdict by the deadline)."""
