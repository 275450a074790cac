"""The liveness steps: the check between the fingers and the face, and the supervisor's way past a failed one.

With ``Rules.liveness`` on, a session that would go on to the face capture goes to ``check_liveness``
first. The check reads the camera's MJPEG stream for a few seconds (:meth:`BoothDevices.watch_camera`),
shows the voter a cue at a time (the session's ``liveness.instruction``, which the booth screen polls),
and then:

- passed: on to the face capture (``capture_face``, or ``identify_face`` without a card); the frame
  that set the check's baseline is the one the face capture encodes, so the face compared is the
  face that was just shown to be live, not whatever is in front of the camera a moment later;
- failed (no response to a cue, a wrong response, a face that was a flat picture): the session waits
  in ``liveness_failed`` until a supervisor, who has seen the person, lets it go on with a reason
  (``approve_liveness``, audited as an ``override``), or the official cancels it;
- nobody in front of the camera until the deadline: it stays, and the official starts it again.

Every run is audited as a ``capture`` of modality ``liveness`` (outcome, reason, time taken, frames
looked at and dropped); no frame and no landmark ever enters the log.
"""
from __future__ import annotations

from hardware.errors import DeviceError
from kiosk.workflow.core import WorkflowCore
from kiosk.workflow.errors import DeviceFailed, require_reason
from kiosk.workflow.liveness import run_liveness
from kiosk.workflow.session import Session
from kiosk.workflow.states import LIVENESS_REASONS, METHOD_NO_CARD, METHOD_NO_CARD_FACE_ONLY, Action, State


class LivenessSteps(WorkflowCore):

    def _to_face(self, session: Session, action: Action) -> None:
        """On to the face: through the liveness check first when it is on, unless a supervisor who saw the
        person approved going on, or a passed check's live frame is still there to be compared. A check
        vouches only for the frame it saw: once that is used, the next photo (a retry after a refused
        capture, another round) needs a new check, or a person could pass as themselves and then show the
        voter's photo."""
        vouched = session.liveness_outcome == "approved" or (
            session.liveness_outcome == "passed" and session.live_frame is not None)
        if self.rules.liveness and not vouched:
            self._move(session, action, State.CHECK_LIVENESS, "liveness.look_at_camera")
            return
        identify = session.method in (METHOD_NO_CARD, METHOD_NO_CARD_FACE_ONLY)
        self._move(session, action, State.IDENTIFY_FACE if identify else State.CAPTURE_FACE, "face.look_at_camera")

    # -- step: liveness -----------------------------------------------------------------------------
    def check_liveness(self, session_id: str) -> Session:
        with self._step(session_id, Action.CHECK_LIVENESS) as session:
            check = self.bio.new_liveness_check(self._rng)
            tracker = self.bio.new_landmark_tracker()

            def show(instruction: str | None) -> None:
                session.liveness_instruction = instruction
                if self._show_instruction is not None:
                    self._show_instruction(session.session_id, instruction)

            session.liveness_attempts += 1
            session.liveness_outcome = session.liveness_reason = None
            try:
                run = self.devices.watch_camera(lambda stream: run_liveness(
                    stream, check, tracker.landmarks, deadline_s=self.rules.liveness_deadline_s, show=show,
                    clock=stream.clock))
            except DeviceError as exc:
                self._audit("capture", session, modality="liveness", outcome="device_fault", reason=exc.code,
                            attempt=session.liveness_attempts)
                raise DeviceFailed("camera", exc) from exc
            finally:
                show(None)
            session.liveness_outcome, session.liveness_reason = run.outcome, run.reason
            self._audit("capture", session, modality="liveness", outcome=run.outcome, reason=run.reason,
                        attempt=session.liveness_attempts, elapsed_ms=int(round(1000 * run.elapsed_s)),
                        looked_at=run.frames, skipped=run.dropped)   # counts ("frame" keys are refused)
            if run.outcome == "passed":
                session.live_frame = run.live_frame
                self._to_face(session, Action.CHECK_LIVENESS)
            elif run.outcome == "failed":
                self._move(session, Action.CHECK_LIVENESS, State.LIVENESS_FAILED, "liveness.failed")
            else:
                session.message_key = "liveness.no_face"
            return session

    def approve_liveness(self, session_id: str, supervisor_id: str, reason_code: str) -> Session:
        """Called once the API has checked the supervisor's credentials and role."""
        require_reason(reason_code, LIVENESS_REASONS)
        with self._step(session_id, Action.APPROVE_LIVENESS) as session:
            session.supervisor_id = supervisor_id
            session.fallbacks.append("liveness")
            session.liveness_outcome = "approved"
            self._audit("override", session, kind="liveness_failure_approved", reason=reason_code,
                        supervisor_id=supervisor_id, failure=session.liveness_reason)
            self._to_face(session, Action.APPROVE_LIVENESS)
            return session
