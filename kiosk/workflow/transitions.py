"""The state machine as ONE table: (state, action) -> the states that action may leave the session in.

Every step asks :func:`require_step` before it runs (an action not in the table for the session's
state is an :class:`~kiosk.workflow.errors.InvalidStep`, which the API answers with 409) and moves the
session only through :func:`require_transition` (a target state the table does not allow for that
action is an :class:`~kiosk.workflow.errors.IllegalTransition`: a bug in a step, never the voter's
doing). Staying in the same state (a retry) is listed where a step may do it.

Normal path::

    waiting_for_card --read_card--> capture_finger --capture_finger--> capture_face
        --capture_face--> check_ink --check_ink--> awaiting_confirmation --confirm--> voted

No card: ``waiting_for_card --start_without_card--> identify_finger --capture_finger-->
identify_face --capture_face--> check_ink``. Fingers unusable: ``capture_finger`` (or
``identify_finger``) ``--capture_finger--> fingers_unusable --approve_face_only--> capture_face``
(or ``identify_face``). Every non-terminal state may be cancelled.

Not verified with rounds left (``Rules.verification_rounds``): ``capture_face --capture_face-->
capture_finger`` (or stays in ``capture_face`` when the face alone decides, or goes to ``check_liveness``
when that is on), and the round runs again, liveness check included.

Liveness (``Rules.liveness``): every step above that leads to ``capture_face`` or ``identify_face``
leads to ``check_liveness`` instead (as does a face capture that failed after a passed check: the
retry's photo must be live too); ``--check_liveness-->`` then goes on to the face state the
session needed, stays (nobody in front of the camera) or stops in ``liveness_failed``, where a
supervisor may let the voter go on to the face capture (``--approve_liveness-->``).
"""
from __future__ import annotations

from types import MappingProxyType

from kiosk.workflow.errors import IllegalTransition, InvalidStep
from kiosk.workflow.states import NEXT_ACTION, TERMINAL, Action, State

_ENDS_AFTER_LOOKUP = frozenset({State.REFUSED, State.WRONG_STATION, State.ALREADY_VOTED})

_STEPS: dict[tuple[State, Action], frozenset[State]] = {
    (State.WAITING_FOR_CARD, Action.READ_CARD): frozenset({
        State.WAITING_FOR_CARD,           # no card yet, or its zone failed its check digits
        State.CAPTURE_FINGER,
        State.FINGERS_UNUSABLE,           # registered without enrolled fingers
        State.INK_ON_RECORD,              # refused for ink earlier: a supervisor decides first
        *_ENDS_AFTER_LOOKUP}),
    (State.WAITING_FOR_CARD, Action.START_WITHOUT_CARD): frozenset({State.IDENTIFY_FINGER}),
    (State.CAPTURE_FINGER, Action.CAPTURE_FINGER): frozenset({
        State.CAPTURE_FINGER, State.CAPTURE_FACE, State.CHECK_LIVENESS, State.FINGERS_UNUSABLE}),
    (State.IDENTIFY_FINGER, Action.CAPTURE_FINGER): frozenset({
        State.IDENTIFY_FINGER, State.IDENTIFY_FACE, State.CHECK_LIVENESS, State.FINGERS_UNUSABLE}),
    (State.FINGERS_UNUSABLE, Action.APPROVE_FACE_ONLY): frozenset({
        State.CAPTURE_FACE, State.IDENTIFY_FACE, State.CHECK_LIVENESS}),
    (State.CHECK_LIVENESS, Action.CHECK_LIVENESS): frozenset({
        State.CHECK_LIVENESS,             # nobody in front of the camera before the deadline: try again
        State.CAPTURE_FACE, State.IDENTIFY_FACE,
        State.LIVENESS_FAILED}),          # a presentation attack, or a voter who did not follow the cues
    (State.LIVENESS_FAILED, Action.APPROVE_LIVENESS): frozenset({State.CAPTURE_FACE, State.IDENTIFY_FACE}),
    (State.CAPTURE_FACE, Action.CAPTURE_FACE): frozenset({
        State.CAPTURE_FACE,               # the capture failed, or face only: another round
        State.CHECK_LIVENESS,             # a retry, or another round: the new photo must be live too
        State.CAPTURE_FINGER,             # not verified: another round, finger first
        State.CHECK_INK, State.REFUSED}),
    (State.IDENTIFY_FACE, Action.CAPTURE_FACE): frozenset({
        State.IDENTIFY_FACE, State.CHECK_INK, State.INK_ON_RECORD, *_ENDS_AFTER_LOOKUP,
        State.CHECK_LIVENESS}),           # the capture failed: the retry's photo must be live too
    (State.INK_ON_RECORD, Action.APPROVE_INK_ON_RECORD): frozenset({
        State.CAPTURE_FINGER, State.FINGERS_UNUSABLE, State.CHECK_INK}),
    (State.CHECK_INK, Action.CHECK_INK): frozenset({State.CHECK_INK, State.AWAITING_CONFIRMATION, State.REFUSED}),
    (State.AWAITING_CONFIRMATION, Action.CONFIRM): frozenset({State.VOTED, State.ALREADY_VOTED}),
    **{(state, Action.CANCEL): frozenset({State.CANCELLED}) for state in State if state not in TERMINAL},
}

# how InvalidStep names each action ("cannot capture the face in state check_ink")
_PHRASES = {Action.READ_CARD: "read a card", Action.START_WITHOUT_CARD: "start the no-card fallback",
            Action.CAPTURE_FINGER: "capture a finger", Action.APPROVE_FACE_ONLY: "approve the face-only fallback",
            Action.APPROVE_INK_ON_RECORD: "approve going on despite ink on record",
            Action.CHECK_LIVENESS: "check liveness",
            Action.APPROVE_LIVENESS: "approve going on after a failed liveness check",
            Action.CAPTURE_FACE: "capture the face", Action.CHECK_INK: "check for ink", Action.CONFIRM: "confirm",
            Action.CANCEL: "cancel"}

TRANSITIONS = MappingProxyType(_STEPS)
"""(state, action) -> allowed next states; a pair that is absent is an action the state does not allow."""


def allowed_actions(state: str) -> frozenset[Action]:
    """The actions the table allows in ``state`` (none in a terminal state)."""
    return frozenset(action for (from_state, action) in TRANSITIONS if from_state == state)


def require_step(state: str, action: str) -> frozenset[State]:
    """The states ``action`` may lead to from ``state``; raises InvalidStep when it may not run there."""
    targets = TRANSITIONS.get((State(state), Action(action)))
    if targets is None:
        raise InvalidStep(f"cannot {_PHRASES[Action(action)]} in state {state}; "
                          f"next: {NEXT_ACTION.get(state, 'none')}")
    return targets


def require_transition(state: str, action: str, to: str) -> State:
    """``to`` as a State when the table lets ``action`` move a session from ``state`` there; raises
    InvalidStep when the action may not run in ``state`` and IllegalTransition when it may run but not
    end in ``to``."""
    if State(to) not in require_step(state, action):
        raise IllegalTransition(state, action, to)
    return State(to)
