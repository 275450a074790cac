"""The booth workflow: one state machine per voter session, with every decision rule in this module.

Normal path::

    waiting_for_card --card--> capture_finger --finger ok--> capture_face --accepted--> check_ink
        --no ink--> awaiting_confirmation --confirm--> voted

Where it stops (terminal states): ``voted``, ``refused`` (not verified, ink found, not identified,
not registered), ``wrong_station`` (with the station the voter is registered at),
``already_voted`` (found so at lookup, or at confirmation when another booth was faster) and
``cancelled``.

Fallbacks, each counted (the decision's ``method`` starts with ``fallback``):

* no card: ``waiting_for_card --no_card--> identify_finger --> identify_face``; the voter is found
  1:N by fused fingerprint and face scores, first among this station's voters, then nationally.
* fingers unusable: after ``max_finger_attempts`` failed captures on each of up to ``max_fingers``
  enrolled fingers the session waits in ``fingers_unusable`` until a supervisor approves; then the
  face alone decides.

Both fallbacks need a supervisor's approval (their own credentials, checked by the API) with a
reason code, and are audited as ``override`` entries when approved.

Everything the workflow touches is passed in: the devices (:class:`BoothDevices`), the registry, the
biometric functions (:class:`Biometrics`), the audit recorder and the clock. Every step writes an
audit event; voters appear there only as pseudonyms.
"""
from __future__ import annotations

import math
import secrets
import string
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol

from hardware.errors import DeviceError
from hardware.mrz import MrzError

# -- states, next actions, message keys ------------------------------------------------------------

WAITING_FOR_CARD = "waiting_for_card"
CAPTURE_FINGER = "capture_finger"
FINGERS_UNUSABLE = "fingers_unusable"
CAPTURE_FACE = "capture_face"
IDENTIFY_FINGER = "identify_finger"
IDENTIFY_FACE = "identify_face"
CHECK_INK = "check_ink"
AWAITING_CONFIRMATION = "awaiting_confirmation"
VOTED = "voted"
REFUSED = "refused"
WRONG_STATION = "wrong_station"
ALREADY_VOTED = "already_voted"
CANCELLED = "cancelled"

TERMINAL = frozenset({VOTED, REFUSED, WRONG_STATION, ALREADY_VOTED, CANCELLED})

NEXT_ACTION = {
    WAITING_FOR_CARD: "read_card",
    CAPTURE_FINGER: "capture_finger",
    FINGERS_UNUSABLE: "supervisor_approval",
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
    "finger.try_another", "finger.unusable",
    "face.look_at_camera", *(f"face.{reason}" for reason in FACE_CAPTURE_REASONS),
    "ink.place_finger", "ink.retry", "ink.check_by_eye", "confirm.ready",
    "result.voted", "result.not_verified", "result.not_identified", "result.not_registered",
    "result.wrong_station", "result.already_voted", "result.ink_detected", "session.cancelled",
})
"""Every ``message_key`` a session can carry: the booth screen's message catalogue needs one text each."""

NO_CARD_REASONS = ("card_lost", "card_damaged", "card_unreadable", "card_forgotten", "other")
"""Reason codes a supervisor gives when approving identification without a card."""

FACE_ONLY_REASONS = ("worn_fingerprints", "injury", "amputation", "skin_condition", "sensor_fault", "other")
"""Reason codes a supervisor gives when approving the face-only fallback."""

MAX_FACE_ATTEMPTS = 3
MAX_INK_INCONCLUSIVE = 2
IDENTIFICATION_TOP_K = 10

# sensor confirmation codes that mean "this capture was bad" (the person, not the device)
_FINGER_CAPTURE_PROBLEMS = {"too_dry": "finger.too_dry", "too_wet": "finger.too_wet",
                            "image_messy": "finger.press_harder", "too_few_features": "finger.press_harder",
                            "capture_failed": "finger.retry", "no_valid_image": "finger.retry"}


class WorkflowError(Exception):
    """A step that cannot run now; ``code`` is stable and the API returns it."""

    code = "workflow_error"
    status = 409


class InvalidStep(WorkflowError):
    code = "invalid_step"


class SessionNotFound(WorkflowError):
    code = "session_not_found"
    status = 404


class BadReason(WorkflowError):
    code = "bad_reason"
    status = 400


class DeviceFailed(WorkflowError):
    """A device failed during a step; the session stays where it was, so the step can be retried."""

    code = "device_fault"
    status = 503

    def __init__(self, device: str, cause: DeviceError):
        super().__init__(f"the {device.replace('_', ' ')} failed ({cause.code}); check it and retry")
        self.device = device
        self.device_code = cause.code


# -- what the workflow is given -------------------------------------------------------------------

class BoothDevices(Protocol):
    def read_card(self) -> Any: ...                            # hardware.mrz.IdDocument | None
    def capture_finger(self) -> tuple[Any, int]: ...            # (2-D uint8 image, dpi)
    def capture_face(self) -> Any: ...                          # RGB uint8 frame
    def capture_ink_frames(self, session: str | None = None) -> tuple[Any, Any]: ...  # (lamp off, lamp on) RGB


@dataclass(frozen=True)
class Biometrics:
    """The matcher's functions, passed in so the workflow stays testable and import-light."""

    extract_finger: Callable[..., Any]
    compare_finger: Callable[[Any, Any], float]
    encode_face: Callable[[Any], Any]
    compare_face: Callable[[Any, Any], float]
    fuse: Callable[..., Any]              # fuse(face=score|None, fingers=[...]) -> FusedScore(score, fmr, modalities)
    decide: Callable[[Any, float], bool]
    finger_low_quality: tuple[type[BaseException], ...]
    face_capture_errors: tuple[type[BaseException], ...]
    detect_ink: Callable[[Any, Any], Any]

    @classmethod
    def default(cls) -> "Biometrics":
        from hardware import ink
        from matcher import face, fingerprint, fusion

        return cls(extract_finger=fingerprint.extract, compare_finger=fingerprint.compare,
                   encode_face=face.encode, compare_face=face.compare, fuse=fusion.fuse, decide=fusion.decide,
                   finger_low_quality=(fingerprint.LowQualityError,),
                   face_capture_errors=(face.CaptureError, face.ImageFormatError),
                   detect_ink=ink.detect_ink)


@dataclass(frozen=True)
class Rules:
    """The configured numbers the decision rules use (from :class:`kiosk.config.Settings`)."""

    station_id: str
    kiosk_id: str
    target_fmr: float = 1e-4
    identification_fmr: float = 1e-6
    max_finger_attempts: int = 3
    max_fingers: int = 3
    min_finger_quality: int = 20

    @classmethod
    def from_settings(cls, settings) -> "Rules":
        return cls(station_id=settings.station_id, kiosk_id=settings.kiosk_id, target_fmr=settings.target_fmr,
                   identification_fmr=settings.identification_fmr,
                   max_finger_attempts=settings.max_finger_attempts, max_fingers=settings.max_fingers,
                   min_finger_quality=settings.min_finger_quality)


# -- the session ----------------------------------------------------------------------------------

@dataclass
class Session:
    session_id: str
    official_id: str
    created_at: float
    updated_at: float
    state: str = WAITING_FOR_CARD
    message_key: str = "card.present"
    method: str = METHOD_BIOMETRIC
    outcome: str | None = None          # verified | refused | wrong_station | already_voted | cancelled
    reason: str | None = None
    voter: Any = None                    # kiosk.registry.Voter (never serialised whole)
    voter_pseudonym: str | None = None
    enrolment: Any = None                # decrypted templates, dropped when the session ends
    fingers_to_try: list[str] = field(default_factory=list)
    finger_index: int = 0
    finger_attempts: int = 0
    finger_failures: int = 0
    finger_scores: dict[str, float] = field(default_factory=dict)
    finger_probe: Any = None             # no-card: the probe template kept for the face step
    face_attempts: int = 0
    face_score: float | None = None
    fused_fmr: float | None = None
    fused_score: float | None = None
    ink_decision: str | None = None
    ink_inconclusive: int = 0
    registered_station: str | None = None
    supervisor_id: str | None = None
    fallback_reason: str | None = None
    fallbacks: list[str] = field(default_factory=list)
    vote_at: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def current_finger(self) -> str | None:
        return self.fingers_to_try[self.finger_index] if self.finger_index < len(self.fingers_to_try) else None

    def public_dict(self) -> dict:
        """The API's view: state, next action, message key; no templates, no full ID number."""
        voter = None
        if self.voter is not None:
            voter = {"voter_id": self.voter.voter_id, "name": self.voter.name,
                     "station_id": self.voter.station_id,
                     "id_number_masked": self.voter.public_dict()["id_number_masked"],
                     "birth_date": self.voter.birth_date.isoformat() if self.voter.birth_date else None,
                     "sex": self.voter.sex}
        return {
            "session_id": self.session_id,
            "state": self.state,
            "next_action": NEXT_ACTION.get(self.state, "none"),
            "message_key": self.message_key,
            "terminal": self.state in TERMINAL,
            "outcome": self.outcome,
            "reason": self.reason,
            "method": self.method,
            "voter": voter,
            "registered_station": self.registered_station,
            "finger": {"current": self.current_finger, "attempts": self.finger_attempts,
                       "failures": self.finger_failures, "finger_number": self.finger_index + 1,
                       "fingers_available": len(self.fingers_to_try), "captured": sorted(self.finger_scores)},
            "match": None if self.fused_fmr is None else {
                "score_band": score_band(self.fused_score), "fmr": self.fused_fmr,
                "finger_score_band": score_band(max(self.finger_scores.values())) if self.finger_scores else None,
                "face_score_band": score_band(self.face_score)},
            "ink": self.ink_decision,
            "fallbacks": list(self.fallbacks),
            "supervisor_id": self.supervisor_id,
            "official_id": self.official_id,
            "voted_at": self.vote_at,
        }


# -- pure decision rules --------------------------------------------------------------------------

def score_band(score: float | None) -> str | None:
    """A calibrated score as a band of ten for the audit log and the screen ("40-50", "100+")."""
    if score is None or math.isnan(score):
        return None
    if score >= 100:
        return "100+"
    low = max(0, int(score // 10) * 10)
    return f"{low}-{low + 10}"


def lookup_outcome(voter, station_id: str) -> str:
    """What a registry lookup means at this station: ``not_found``, ``wrong_station``,
    ``already_voted`` or ``found``. Wrong station wins over already voted: the voter must go there."""
    if voter is None:
        return "not_found"
    if voter.station_id != station_id:
        return "wrong_station"
    if voter.has_voted:
        return "already_voted"
    return "found"


def fingers_to_try(enrolled: tuple[str, ...] | list[str], max_fingers: int) -> list[str]:
    """The enrolled fingers the booth asks for, in the registry's order (ISO position), at most
    ``max_fingers``."""
    return list(enrolled)[:max(0, max_fingers)]


def after_finger_failure(attempts_on_finger: int, finger_index: int, fingers: int, rules: Rules) -> str:
    """After a failed capture: ``retry`` the same finger, try the ``next_finger`` or the fingers
    are ``unusable`` (offer the face-only fallback)."""
    if attempts_on_finger < rules.max_finger_attempts:
        return "retry"
    if finger_index + 1 < min(fingers, rules.max_fingers):
        return "next_finger"
    return "unusable"


def ink_next(decision: str, inconclusive_so_far: int) -> str:
    """After an ink check: ``refuse`` (ink found), ``confirm`` (no ink), ``retry`` or, after
    repeated inconclusive checks, ``check_by_eye`` (the official looks under the lamp)."""
    if decision == "ink":
        return "refuse"
    if decision == "no_ink":
        return "confirm"
    return "check_by_eye" if inconclusive_so_far >= MAX_INK_INCONCLUSIVE else "retry"


def pick_identified(candidates: dict[str, dict[str, float]], fuse, decide, fmr: float):
    """The one voter whose fused scores pass ``fmr`` in 1:N identification, or None.

    ``candidates`` maps voter_id -> {"finger": score, "face": score} (either may be missing). When
    more than one voter passes, the identification is ambiguous and nobody is picked: a booth must
    never guess between two people."""
    passing = []
    for voter_id, scores in candidates.items():
        fingers = [scores["finger"]] if "finger" in scores else []
        if not fingers and "face" not in scores:
            continue
        fused = fuse(face=scores.get("face"), fingers=fingers)
        if decide(fused, fmr):
            passing.append((fused.score, voter_id, fused))
    if len(passing) != 1:
        return None, len(passing)
    _, voter_id, fused = passing[0]
    return (voter_id, fused), 1


def _session_id() -> str:
    # letters only: an audit entry refuses digit runs that could look like an ID number
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(16))


# -- the workflow ---------------------------------------------------------------------------------

class Workflow:
    """Runs booth sessions. Thread-safe: steps on one session are serialised by its lock; the
    registry makes marking a vote atomic across sessions, threads and kiosks."""

    def __init__(self, *, registry, devices: BoothDevices, rules: Rules, record: Callable[..., int],
                 pseudonym: Callable[[str], str], biometrics: Biometrics | None = None,
                 clock: Callable[[], float], idle_s: float = 900.0):
        self.registry = registry
        self.devices = devices
        self.rules = rules
        self._record = record
        self._pseudonym = pseudonym
        self._bio = biometrics
        self._clock = clock
        self._idle_s = idle_s
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._indexes: dict[tuple[str, str | None], tuple[int, Any, list]] = {}
        self._index_lock = threading.Lock()

    @property
    def bio(self) -> Biometrics:
        if self._bio is None:
            self._bio = Biometrics.default()
        return self._bio

    # -- sessions ---------------------------------------------------------------------------------
    def start(self, official_id: str) -> Session:
        now = self._clock()
        session = Session(_session_id(), official_id, now, now)
        with self._lock:
            self._expire(now)
            self._sessions[session.session_id] = session
        self._record("session_started", session=session.session_id, official_id=official_id)
        return session

    def get(self, session_id: str) -> Session:
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            raise SessionNotFound("no such session (it may have expired)")
        return session

    def _expire(self, now: float) -> None:
        for sid in [sid for sid, s in self._sessions.items() if now - s.updated_at > self._idle_s]:
            del self._sessions[sid]

    @contextmanager
    def _step(self, session_id: str, allowed: tuple[str, ...], action: str) -> Iterator[Session]:
        """Hold the session for one step, which is allowed only in the ``allowed`` states."""
        session = self.get(session_id)
        with session.lock:
            if session.state not in allowed:
                raise InvalidStep(f"cannot {action} in state {session.state}; next: "
                                  f"{NEXT_ACTION.get(session.state, 'none')}")
            session.updated_at = self._clock()
            yield session

    def _audit(self, event: str, session: Session, **fields: Any) -> None:
        self._record(event, session=session.session_id, official_id=session.official_id,
                     voter=session.voter_pseudonym, **fields)

    def _finish(self, session: Session, state: str, outcome: str, reason: str | None, message_key: str) -> None:
        """End the session: state, decision row (for the end-of-day summary), audit, drop templates."""
        session.state, session.outcome, session.reason, session.message_key = state, outcome, reason, message_key
        session.enrolment = None
        session.finger_probe = None
        # The audit tallies must reconcile with the registry's end-of-day summary (kiosk.audit.verify):
        # one "fallback" entry per decision taken by a fallback method, one "refusal" entry per
        # "refused" decision, one "vote_marked" per vote. Wrong station and already voted are told
        # apart by the session_ended entry.
        if outcome != "cancelled":
            self.registry.record_decision(session_id=session.session_id,
                                          voter_id=session.voter.voter_id if session.voter else None,
                                          station_id=self.rules.station_id, kiosk_id=self.rules.kiosk_id,
                                          official_id=session.official_id, outcome=outcome,
                                          method=session.method, reason=reason)
            if session.method.startswith("fallback"):
                self._audit("fallback", session, kind=session.method, outcome=outcome,
                            reason=session.fallback_reason, supervisor_id=session.supervisor_id)
        if outcome == "refused":
            self._audit("refusal", session, outcome=outcome, reason=reason, method=session.method)
        # flagged for the commission: someone tried to vote twice (already marked, or ink on the finger)
        flagged = outcome == "already_voted" or reason == "ink_detected"
        self._audit("session_ended", session, outcome=outcome, reason=reason, method=session.method,
                    flagged=True if flagged else None)

    # -- step: card -------------------------------------------------------------------------------
    def read_card(self, session_id: str) -> Session:
        with self._step(session_id, (WAITING_FOR_CARD,), "read a card") as session:
            try:
                document = self.devices.read_card()
            except MrzError as exc:   # the zone's check digits or layout are wrong: show the card again
                self._audit("card_read", session, outcome="unreadable", reason=exc.code)
                session.message_key = "card.unreadable"
                return session
            except DeviceError as exc:
                self._audit("card_read", session, outcome="device_fault", reason=exc.code)
                raise DeviceFailed("card_reader", exc) from exc
            if document is None:
                # Not an event: the booth screen polls while it waits, and an audit entry per poll
                # would bury the real card reads.
                session.message_key = "card.not_detected"
                return session
            id_number = document.document_number
            session.voter_pseudonym = self._pseudonym(id_number)
            voter = self.registry.find_voter(id_number)
            self._audit("card_read", session, outcome="read", card_format=document.format)
            self._apply_lookup(session, voter)
            return session

    def _apply_lookup(self, session: Session, voter) -> None:
        outcome = lookup_outcome(voter, self.rules.station_id)
        session.voter = voter
        if outcome == "not_found":
            self._finish(session, REFUSED, "not_found", "not_registered", "result.not_registered")
        elif outcome == "wrong_station":
            session.registered_station = voter.station_id
            self._finish(session, WRONG_STATION, "wrong_station", "registered_elsewhere", "result.wrong_station")
        elif outcome == "already_voted":
            self._finish(session, ALREADY_VOTED, "already_voted", "vote_already_marked", "result.already_voted")
        elif session.method == METHOD_BIOMETRIC:
            session.enrolment = self.registry.enrolment(voter.voter_id)
            # in the registry's ISO position order (thumb first), not the storage's row order
            enrolled = [f for f in voter.fingers_enrolled if f in session.enrolment.fingers]
            session.fingers_to_try = fingers_to_try(enrolled, self.rules.max_fingers)
            if session.fingers_to_try:
                session.state, session.message_key = CAPTURE_FINGER, "finger.place"
            else:
                # nobody enrolled fingers for this voter: the same as fingers unusable
                session.state, session.message_key = FINGERS_UNUSABLE, "finger.unusable"
        else:
            # identified without a card: the biometric decision is already made
            session.state, session.message_key = CHECK_INK, "ink.place_finger"

    # -- step: no card ----------------------------------------------------------------------------
    def start_without_card(self, session_id: str, supervisor_id: str, reason_code: str) -> Session:
        """Called once the API has checked the supervisor's credentials and role."""
        if reason_code not in NO_CARD_REASONS:
            raise BadReason(f"reason_code must be one of: {', '.join(NO_CARD_REASONS)}")
        with self._step(session_id, (WAITING_FOR_CARD,), "start the no-card fallback") as session:
            session.method = METHOD_NO_CARD
            session.fallbacks.append("no_card")
            session.supervisor_id, session.fallback_reason = supervisor_id, reason_code
            session.fingers_to_try = ["any"]
            session.state, session.message_key = IDENTIFY_FINGER, "finger.place"
            self._audit("card_read", session, outcome="skipped_no_card")
            self._audit("override", session, kind="no_card_approved", reason=reason_code, supervisor_id=supervisor_id)
            return session

    def open_sessions(self) -> list[Session]:
        """Sessions not yet ended, oldest first (a booth screen resumes the current one after a reload)."""
        with self._lock:
            self._expire(self._clock())
            return sorted((s for s in self._sessions.values() if s.state not in TERMINAL), key=lambda s: s.created_at)

    # -- step: finger -----------------------------------------------------------------------------
    def capture_finger(self, session_id: str) -> Session:
        with self._step(session_id, (CAPTURE_FINGER, IDENTIFY_FINGER), "capture a finger") as session:
            finger = session.current_finger
            try:
                image, dpi = self.devices.capture_finger()
            except DeviceError as exc:
                problem = _FINGER_CAPTURE_PROBLEMS.get(exc.code)
                if exc.code == "no_finger":
                    self._audit("capture", session, modality="finger", finger=finger, outcome="no_finger")
                    session.message_key = "finger.not_placed"
                    return session
                if problem is None:
                    self._audit("capture", session, modality="finger", finger=finger, outcome="device_fault",
                                reason=exc.code)
                    raise DeviceFailed("fingerprint", exc) from exc
                self._finger_failed(session, exc.code, problem)
                return session
            try:
                probe = self.bio.extract_finger(image, dpi=dpi)
            except self.bio.finger_low_quality:
                self._finger_failed(session, "low_quality", "finger.press_harder")
                return session
            if probe.quality < self.rules.min_finger_quality:
                self._finger_failed(session, "low_quality", "finger.press_harder", quality=probe.quality)
                return session
            session.finger_attempts += 1
            self._audit("capture", session, modality="finger", finger=finger, outcome="ok",
                        attempt=session.finger_attempts, quality=int(probe.quality))
            if session.state == IDENTIFY_FINGER:
                session.finger_probe = probe
                session.state, session.message_key = IDENTIFY_FACE, "face.look_at_camera"
                return session
            score = self.bio.compare_finger(probe, session.enrolment.fingers[finger])
            session.finger_scores[finger] = score
            self._audit("match", session, modality="finger", finger=finger, score_band=score_band(score))
            session.state, session.message_key = CAPTURE_FACE, "face.look_at_camera"
            return session

    def _finger_failed(self, session: Session, reason: str, message_key: str, quality: int | None = None) -> None:
        session.finger_attempts += 1
        session.finger_failures += 1
        self._audit("capture", session, modality="finger", finger=session.current_finger, outcome="failed",
                    reason=reason, attempt=session.finger_attempts,
                    quality=None if quality is None else int(quality))
        verdict = after_finger_failure(session.finger_attempts, session.finger_index, len(session.fingers_to_try),
                                       self.rules)
        if verdict == "retry":
            session.message_key = message_key
        elif verdict == "next_finger":
            session.finger_index += 1
            session.finger_attempts = 0
            session.message_key = "finger.try_another"
        else:
            session.state, session.message_key = FINGERS_UNUSABLE, "finger.unusable"

    # -- step: supervisor approves face only ------------------------------------------------------------
    def approve_face_only(self, session_id: str, supervisor_id: str, reason_code: str) -> Session:
        """Called once the API has checked the supervisor's credentials and role."""
        if reason_code not in FACE_ONLY_REASONS:
            raise BadReason(f"reason_code must be one of: {', '.join(FACE_ONLY_REASONS)}")
        with self._step(session_id, (FINGERS_UNUSABLE,), "approve the face-only fallback") as session:
            session.method = METHOD_NO_CARD_FACE_ONLY if session.method == METHOD_NO_CARD else METHOD_FACE_ONLY
            session.fallbacks.append("face_only")
            session.supervisor_id = supervisor_id
            session.fallback_reason = f"{session.fallback_reason}+{reason_code}" if session.fallback_reason else reason_code
            session.finger_scores.clear()
            self._audit("override", session, kind="face_only_approved", reason=reason_code,
                        supervisor_id=supervisor_id)
            no_card = session.method == METHOD_NO_CARD_FACE_ONLY
            session.state = IDENTIFY_FACE if no_card else CAPTURE_FACE
            session.message_key = "face.look_at_camera"
            return session

    # -- step: face and the decision ------------------------------------------------------------------
    def capture_face(self, session_id: str) -> Session:
        with self._step(session_id, (CAPTURE_FACE, IDENTIFY_FACE), "capture the face") as session:
            try:
                frame = self.devices.capture_face()
            except DeviceError as exc:
                self._audit("capture", session, modality="face", outcome="device_fault", reason=exc.code)
                raise DeviceFailed("camera", exc) from exc
            session.face_attempts += 1
            try:
                probe = self.bio.encode_face(frame)
            except self.bio.face_capture_errors as exc:
                reason = _snake(str(getattr(exc, "reason", None) or "unusable_image"))
                self._audit("capture", session, modality="face", outcome="failed", reason=reason,
                            attempt=session.face_attempts)
                if session.face_attempts < MAX_FACE_ATTEMPTS:
                    session.message_key = f"face.{reason}"
                    return session
                probe = None
            else:
                self._audit("capture", session, modality="face", outcome="ok", attempt=session.face_attempts)
            if session.state == IDENTIFY_FACE:
                self._identify(session, probe)
            else:
                self._verify(session, probe)
            return session

    def _verify(self, session: Session, face_probe) -> None:
        enrolled_face = session.enrolment.face
        if face_probe is not None and enrolled_face is not None:
            session.face_score = self.bio.compare_face(face_probe, enrolled_face)
        finger_scores = list(session.finger_scores.values())
        if session.face_score is None and not finger_scores:
            self._audit("match", session, modality="fused", outcome="no_biometrics")
            self._finish(session, REFUSED, "refused", "no_usable_biometrics", "result.not_verified")
            return
        fused = self.bio.fuse(face=session.face_score, fingers=finger_scores)
        accepted = self.bio.decide(fused, self.rules.target_fmr)
        session.fused_score, session.fused_fmr = float(fused.score), float(fused.fmr)
        self._audit("match", session, modality="fused", outcome="accepted" if accepted else "rejected",
                    score_band=score_band(fused.score), face_score_band=score_band(session.face_score),
                    modalities=list(fused.modalities))
        if accepted:
            session.state, session.message_key = CHECK_INK, "ink.place_finger"
        else:
            self._finish(session, REFUSED, "refused", "not_verified", "result.not_verified")

    def _identify(self, session: Session, face_probe) -> None:
        """1:N: this station's voters first, then the whole registry."""
        finger_probe = session.finger_probe
        for scope in (self.rules.station_id, None):
            candidates: dict[str, dict[str, float]] = {}
            if finger_probe is not None:
                gallery, labels = self._index("finger", scope)
                for index, score in (gallery.search(finger_probe, top_k=IDENTIFICATION_TOP_K) if labels else []):
                    voter_id = labels[index][0]
                    best = candidates.setdefault(voter_id, {})
                    best["finger"] = max(best.get("finger", float("-inf")), float(score))
            if face_probe is not None:
                gallery, labels = self._index("face", scope)
                for index, score in (gallery.search(face_probe, top_k=IDENTIFICATION_TOP_K) if labels else []):
                    candidates.setdefault(labels[index], {})["face"] = float(score)
            picked, passing = pick_identified(candidates, self.bio.fuse, self.bio.decide,
                                              self.rules.identification_fmr)
            self._audit("match", session, modality="identification", scope="station" if scope else "national",
                        outcome="identified" if picked else ("ambiguous" if passing > 1 else "not_identified"),
                        candidates=min(len(candidates), 100))
            if picked is not None:
                voter_id, fused = picked
                session.fused_score, session.fused_fmr = float(fused.score), float(fused.fmr)
                voter = self.registry.get_voter(voter_id)
                session.voter_pseudonym = self._pseudonym(voter.id_number)
                self._apply_lookup(session, voter)
                return
            if passing > 1:
                break
        self._finish(session, REFUSED, "refused", "not_identified", "result.not_identified")

    def _index(self, modality: str, scope: str | None):
        """The 1:N gallery of a modality within a scope (station or nation), built on first use and
        rebuilt when the registry's enrolments have changed since (an import while the kiosk runs)."""
        key = (modality, scope)
        generation = self.registry.enrolment_generation()
        with self._index_lock:
            built = self._indexes.get(key)
            if built is None or built[0] != generation:
                build = self.registry.fingerprint_index if modality == "finger" else self.registry.face_index
                built = self._indexes[key] = (generation, *build(station_id=scope))
            return built[1], built[2]

    # -- step: ink --------------------------------------------------------------------------------
    def check_ink(self, session_id: str, *, checked_by_eye: str | None = None) -> Session:
        """Run the UV check; or, after repeated inconclusive checks, take the official's own look
        (``checked_by_eye`` = ``"ink"`` or ``"no_ink"``), audited as an override."""
        with self._step(session_id, (CHECK_INK,), "check for ink") as session:
            if checked_by_eye is not None:
                if checked_by_eye not in ("ink", "no_ink"):
                    raise BadReason("checked_by_eye must be 'ink' or 'no_ink'")
                if ink_next("inconclusive", session.ink_inconclusive) != "check_by_eye":
                    raise InvalidStep("a check by eye is allowed only after repeated inconclusive UV checks")
                self._audit("override", session, kind="ink_checked_by_eye", outcome=checked_by_eye)
                decision = checked_by_eye
            else:
                try:
                    frame_off, frame_on = self.devices.capture_ink_frames(session=session.session_id)
                except DeviceError as exc:
                    self._audit("ink_check", session, outcome="device_fault", reason=exc.code)
                    raise DeviceFailed("lamp" if "lamp" in type(exc).__name__.lower() else "camera", exc) from exc
                result = self.bio.detect_ink(frame_off, frame_on)
                decision = result.decision
                self._audit("ink_check", session, outcome=decision)
            session.ink_decision = decision
            if decision == "inconclusive":
                session.ink_inconclusive += 1
            verdict = ink_next(decision, session.ink_inconclusive)
            if verdict == "refuse":
                self._finish(session, REFUSED, "refused", "ink_detected", "result.ink_detected")
            elif verdict == "confirm":
                session.state, session.message_key = AWAITING_CONFIRMATION, "confirm.ready"
            elif verdict == "check_by_eye":
                session.message_key = "ink.check_by_eye"
            else:
                session.message_key = "ink.retry"
            return session

    # -- step: confirm ----------------------------------------------------------------------------
    def confirm(self, session_id: str, official_id: str) -> Session:
        from kiosk.registry import AlreadyVoted

        with self._step(session_id, (AWAITING_CONFIRMATION,), "confirm") as session:
            try:
                vote = self.registry.mark_voted(session.voter.voter_id, kiosk_id=self.rules.kiosk_id,
                                                station_id=self.rules.station_id, official_id=official_id,
                                                method=session.method)
            except AlreadyVoted:
                # flagged in session_ended (a vote_marked entry would be tallied as a vote)
                self._finish(session, ALREADY_VOTED, "already_voted", "second_attempt", "result.already_voted")
                return session
            session.vote_at = vote.voted_at
            self._audit("vote_marked", session, outcome="marked", method=session.method,
                        confirmed_by=official_id)
            self._finish(session, VOTED, "verified", None, "result.voted")
            return session

    def cancel(self, session_id: str, reason: str = "cancelled_by_official") -> Session:
        with self._step(session_id, tuple(NEXT_ACTION), "cancel") as session:
            self._finish(session, CANCELLED, "cancelled", _snake(reason)[:40], "session.cancelled")
            return session


def _snake(text: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "_" for c in text)
    return "_".join(part for part in out.split("_") if part)[:60] or "unknown"
