"""One voter's session: what the booth knows so far, and the API's view of it."""
from __future__ import annotations

import secrets
import string
import threading
from dataclasses import dataclass, field
from typing import Any

from kiosk.workflow.rules import score_band
from kiosk.workflow.states import METHOD_BIOMETRIC, NEXT_ACTION, TERMINAL, State


def new_session_id() -> str:
    # letters only: an audit entry refuses digit runs that could look like an ID number
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(16))


@dataclass
class Session:
    """Changed only by the steps (:mod:`kiosk.workflow.steps`), one at a time under ``lock``; ``state``
    changes only through the transition table."""

    session_id: str
    official_id: str
    created_at: float
    updated_at: float
    state: State = State.WAITING_FOR_CARD
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
    liveness_attempts: int = 0
    liveness_instruction: str | None = None   # what the booth screen asks while the check runs
    liveness_outcome: str | None = None       # passed | failed | no_face | approved (a supervisor let it go on)
    liveness_reason: str | None = None
    live_frame: Any = None               # a frame of the live face from the check, for the face capture
    face_attempts: int = 0
    face_score: float | None = None
    verification_round: int = 1          # the fused 1:1 decision this session is on (Rules.verification_rounds)
    fused_fmr: float | None = None
    fused_score: float | None = None
    ink_decision: str | None = None
    ink_inconclusive: int = 0
    registered_station: str | None = None
    supervisor_id: str | None = None
    fallback_reason: str | None = None
    fallbacks: list[str] = field(default_factory=list)
    vote_at: str | None = None
    ink_on_record: dict | None = None    # an earlier ink refusal of this voter: found_at, kiosk_id, station_id
    ink_approved_by: str | None = None   # the supervisor who let the session go on despite it
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def current_finger(self) -> str | None:
        return self.fingers_to_try[self.finger_index] if self.finger_index < len(self.fingers_to_try) else None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def public_dict(self) -> dict:
        """The API's view: state, next action, message key; no templates, no full ID number."""
        voter = None
        if self.voter is not None:
            voter = {"voter_id": self.voter.voter_id, "name": self.voter.name,
                     "station_id": self.voter.station_id,
                     "id_number_masked": self.voter.public_dict()["id_number_masked"],
                     "birth_date": self.voter.birth_date.isoformat() if self.voter.birth_date else None,
                     "sex": self.voter.sex, "not_verified_before": self.voter.not_verified_before}
        return {
            "session_id": self.session_id,
            "state": str(self.state),
            "next_action": NEXT_ACTION.get(self.state, "none"),
            "message_key": self.message_key,
            "terminal": self.terminal,
            "outcome": self.outcome,
            "reason": self.reason,
            "method": self.method,
            "voter": voter,
            "registered_station": self.registered_station,
            "finger": {"current": self.current_finger, "attempts": self.finger_attempts,
                       "failures": self.finger_failures, "finger_number": self.finger_index + 1,
                       "fingers_available": len(self.fingers_to_try), "captured": sorted(self.finger_scores)},
            "round": self.verification_round,
            "match": None if self.fused_fmr is None else {
                "score_band": score_band(self.fused_score), "fmr": self.fused_fmr,
                "finger_score_band": score_band(max(self.finger_scores.values())) if self.finger_scores else None,
                "face_score_band": score_band(self.face_score)},
            "liveness": {"instruction": self.liveness_instruction, "outcome": self.liveness_outcome,
                         "reason": self.liveness_reason, "attempts": self.liveness_attempts},
            "ink": self.ink_decision,
            "fallbacks": list(self.fallbacks),
            "supervisor_id": self.supervisor_id,
            "official_id": self.official_id,
            "voted_at": self.vote_at,
            "ink_on_record": self.ink_on_record,
        }
