"""What every step stands on: the inputs, the open sessions, holding a session for one step, moving
it through the transition table, auditing, and ending it. The steps are in :mod:`kiosk.workflow.steps`."""
from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from kiosk.workflow.closing import record_ending
from kiosk.workflow.identifier import GalleryIdentifier, Identifier
from kiosk.workflow.inputs import Biometrics, BoothDevices
from kiosk.workflow.rules import Rules
from kiosk.workflow.session import Session
from kiosk.workflow.states import Action, State
from kiosk.workflow.store import SessionStore
from kiosk.workflow.transitions import require_step, require_transition


class WorkflowCore:
    """Everything the workflow touches is passed in: the devices, the registry, the biometric
    functions (default: the matcher's), the 1:N identifier (default: in-process galleries over the
    registry), the audit recorder ``record(event_type, **fields)``, ``pseudonym(id_number)``, the clock,
    the randomness of the liveness cues (default: the system's, so an attacker cannot predict them) and
    ``show_instruction(session_id, instruction)``, told each liveness cue as the booth screen shows it
    (the screen itself reads it from the session; the simulators' voter listens here)."""

    def __init__(self, *, registry, devices: BoothDevices, rules: Rules, record: Callable[..., int],
                 pseudonym: Callable[[str], str], biometrics: Biometrics | None = None,
                 clock: Callable[[], float], idle_s: float = 900.0, identifier: Identifier | None = None,
                 rng: random.Random | None = None,
                 show_instruction: Callable[[str, str | None], None] | None = None):
        self.registry = registry
        self.devices = devices
        self.rules = rules
        self.identifier: Identifier = identifier if identifier is not None else GalleryIdentifier(registry)
        self._record = record
        self._pseudonym = pseudonym
        self._bio = biometrics
        self._clock = clock
        self._rng = rng if rng is not None else random.SystemRandom()
        self._show_instruction = show_instruction
        self._sessions = SessionStore(clock, idle_s)

    @property
    def bio(self) -> Biometrics:
        if self._bio is None:
            self._bio = Biometrics.default()
        return self._bio

    # -- sessions ---------------------------------------------------------------------------------
    def start(self, official_id: str) -> Session:
        session = self._sessions.start(official_id)
        self._record("session_started", session=session.session_id, official_id=official_id)
        return session

    def get(self, session_id: str) -> Session:
        return self._sessions.get(session_id)

    def open_sessions(self) -> list[Session]:
        """Sessions not yet ended, oldest first (a booth screen resumes the current one after a reload)."""
        return self._sessions.open_sessions()

    # -- what each step uses ------------------------------------------------------------------------
    @contextmanager
    def _step(self, session_id: str, action: Action) -> Iterator[Session]:
        """Hold the session for one step, which the transition table must allow in its state."""
        session = self.get(session_id)
        with session.lock:
            require_step(session.state, action)
            session.updated_at = self._clock()
            yield session

    @staticmethod
    def _move(session: Session, action: Action, to: State, message_key: str) -> None:
        """The only place a session's state changes: through the transition table."""
        session.state = require_transition(session.state, action, to)
        session.message_key = message_key

    def _audit(self, event: str, session: Session, **fields: Any) -> None:
        self._record(event, session=session.session_id, official_id=session.official_id,
                     voter=session.voter_pseudonym, **fields)

    def _finish(self, session: Session, action: Action, state: State, outcome: str, reason: str | None,
                message_key: str) -> None:
        """End the session: state, decision row (for the end-of-day summary), audit, drop templates."""
        self._move(session, action, state, message_key)
        session.outcome, session.reason = outcome, reason
        session.enrolment = None
        session.finger_probe = None
        session.live_frame = None
        record_ending(session, registry=self.registry, rules=self.rules, audit=self._audit)
        discard = getattr(self.devices, "discard_card_reads", None)   # optional in BoothDevices
        if discard is not None:
            discard()   # a card read but not taken must not become the next voter's
