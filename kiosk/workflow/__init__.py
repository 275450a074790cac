"""The booth workflow: one state machine per voter session.

Normal path::

    waiting_for_card --card--> capture_finger --finger ok--> capture_face --accepted--> check_ink
        --no ink--> awaiting_confirmation --confirm--> voted

Where it stops (terminal states): ``voted``, ``refused`` (not verified, ink found, not identified,
not registered), ``wrong_station`` (with the station the voter is registered at),
``already_voted`` (found so at lookup, or at confirmation when another booth was faster) and
``cancelled``.

Ink on record: a voter refused earlier because ink was found (at any kiosk sharing the registry)
stops right after the lookup in ``ink_on_record``, before any biometric step, until a supervisor
approves going on with a reason (``approve_ink_on_record``); then the session continues as usual.

Fallbacks, each counted (the decision's ``method`` starts with ``fallback``):

* no card: ``waiting_for_card --no_card--> identify_finger --> identify_face``; the voter is found
  1:N by fused fingerprint and face scores, first among this station's voters, then nationally.
* liveness (when configured): before the face, ``check_liveness`` (a blink, then a head turn on cue,
  over the camera's MJPEG stream); a failed check waits in ``liveness_failed`` for a supervisor.
* not verified: a fused 1:1 decision that rejects the voter leads to another round (``capture_face
  --capture_face--> capture_finger``, the next enrolled finger when there is one, then the face again),
  decided on that round's captures alone, up to ``verification_rounds``; each round is decided at
  ``target_fmr / verification_rounds``, so the session's false match rate stays at ``target_fmr``;
  a voter refused as not verified before (any kiosk sharing the registry) is decided at half the rate
  per earlier refusal, so a borrowed card's sessions together cost at most twice ``target_fmr``.
* fingers unusable: after ``max_finger_attempts`` failed captures on each of up to ``max_fingers``
  enrolled fingers the session waits in ``fingers_unusable`` until a supervisor approves; then the
  face alone decides.

Both fallbacks need a supervisor's approval (their own credentials, checked by the API) with a
reason code, and are audited as ``override`` entries when approved.

The package, one concern per module:

* :mod:`~kiosk.workflow.states`: states, actions, methods, message keys, reason codes;
* :mod:`~kiosk.workflow.transitions`: the one (state, action) -> next states table;
* :mod:`~kiosk.workflow.rules`: the decision rules, pure functions (and the configured :class:`Rules`);
* :mod:`~kiosk.workflow.session`: the session record; :mod:`~kiosk.workflow.store`: the open sessions;
* :mod:`~kiosk.workflow.errors`: typed errors;
* :mod:`~kiosk.workflow.inputs`: what the workflow is given (devices interface, matcher functions);
* :mod:`~kiosk.workflow.identifier`: 1:N identification behind the :class:`Identifier` interface;
* :mod:`~kiosk.workflow.steps`: :class:`Workflow`, the steps, which only orchestrate.
"""
from kiosk.workflow.errors import (BadReason, DeviceFailed, IllegalTransition, InvalidStep, SessionNotFound,
                                   WorkflowError)
from kiosk.workflow.identifier import Candidate, GalleryIdentifier, Identifier
from kiosk.workflow.inputs import Biometrics, BoothDevices
from kiosk.workflow.rules import (IDENTIFICATION_TOP_K, MAX_FACE_ATTEMPTS, MAX_INK_INCONCLUSIVE, Rules,
                                  after_face_failure, after_finger_failure, after_rejection, fingers_to_try,
                                  identification_outcome, ink_next, lookup_outcome, pick_identified, round_fmr,
                                  score_band, session_fmr)
from kiosk.workflow.session import Session
from kiosk.workflow.states import (ALREADY_VOTED, AWAITING_CONFIRMATION, CANCELLED, CAPTURE_FACE, CAPTURE_FINGER,
                                   CHECK_INK, CHECK_LIVENESS, FACE_CAPTURE_REASONS, LIVENESS_FAILED,
                                   LIVENESS_FAILURES, LIVENESS_REASONS, FACE_ONLY_REASONS, FINGERS_UNUSABLE,
                                   INK_ON_RECORD, INK_ON_RECORD_REASONS, IDENTIFY_FACE, IDENTIFY_FINGER, MESSAGE_KEYS, METHOD_BIOMETRIC, METHOD_FACE_ONLY,
                                   METHOD_NO_CARD, METHOD_NO_CARD_FACE_ONLY, NEXT_ACTION, NO_CARD_REASONS, REFUSED,
                                   TERMINAL, VOTED, WAITING_FOR_CARD, WRONG_STATION, Action, State)
from kiosk.workflow.steps import Workflow
from kiosk.workflow.transitions import TRANSITIONS, allowed_actions, require_step, require_transition

__all__ = [
    "ALREADY_VOTED", "AWAITING_CONFIRMATION", "Action", "BadReason", "Biometrics", "BoothDevices", "CANCELLED",
    "CAPTURE_FACE", "CAPTURE_FINGER", "CHECK_INK", "CHECK_LIVENESS", "LIVENESS_FAILED", "LIVENESS_FAILURES",
    "LIVENESS_REASONS", "Candidate", "DeviceFailed", "FACE_CAPTURE_REASONS",
    "FACE_ONLY_REASONS", "FINGERS_UNUSABLE", "GalleryIdentifier", "IDENTIFICATION_TOP_K", "IDENTIFY_FACE",
    "IDENTIFY_FINGER", "INK_ON_RECORD", "INK_ON_RECORD_REASONS", "Identifier", "IllegalTransition", "InvalidStep", "MAX_FACE_ATTEMPTS", "MAX_INK_INCONCLUSIVE",
    "MESSAGE_KEYS", "METHOD_BIOMETRIC", "METHOD_FACE_ONLY", "METHOD_NO_CARD", "METHOD_NO_CARD_FACE_ONLY",
    "NEXT_ACTION", "NO_CARD_REASONS", "REFUSED", "Rules", "Session", "SessionNotFound", "State", "TERMINAL",
    "TRANSITIONS", "VOTED", "WAITING_FOR_CARD", "WRONG_STATION", "Workflow", "WorkflowError", "after_face_failure",
    "after_finger_failure", "after_rejection", "allowed_actions", "fingers_to_try", "identification_outcome",
    "ink_next", "lookup_outcome", "pick_identified", "require_step", "require_transition", "round_fmr", "score_band",
    "session_fmr",
]
