"""The steps of a booth session: each asks the devices, the matcher, the registry or the identifier,
asks a rule (:mod:`kiosk.workflow.rules`) what that means, audits it, and moves the session through
the transition table (:mod:`kiosk.workflow.transitions`). Nothing here decides on its own.

Every step writes an audit event; voters appear there only as pseudonyms. What the steps stand on
(inputs, sessions, moving, ending) is :class:`kiosk.workflow.core.WorkflowCore`.
"""
from __future__ import annotations

from hardware.errors import DeviceError
from hardware.mrz import MrzError
from kiosk.workflow import rules as rule
from kiosk.workflow.liveness_steps import LivenessSteps
from kiosk.workflow.errors import BadReason, DeviceFailed, InvalidStep, ink_device, require_reason
from kiosk.workflow.rules import score_band
from kiosk.workflow.session import Session
from kiosk.workflow.states import (FACE_ONLY_REASONS, FINGER_CAPTURE_PROBLEMS, INK_ON_RECORD_REASONS,
                                   METHOD_BIOMETRIC, METHOD_FACE_ONLY, METHOD_NO_CARD, METHOD_NO_CARD_FACE_ONLY,
                                   NO_CARD_REASONS, Action, State)

_LOOKUP_ENDINGS = {  # lookup outcome -> (state, outcome, reason, message key)
    "not_found": (State.REFUSED, "not_found", "not_registered", "result.not_registered"),
    "wrong_station": (State.WRONG_STATION, "wrong_station", "registered_elsewhere", "result.wrong_station"),
    "already_voted": (State.ALREADY_VOTED, "already_voted", "vote_already_marked", "result.already_voted"),
}


class Workflow(LivenessSteps):
    """Runs booth sessions. Thread-safe: steps on one session are serialised by its lock; the
    registry makes marking a vote atomic across sessions, threads and kiosks."""

    # -- step: card -------------------------------------------------------------------------------
    def read_card(self, session_id: str) -> Session:
        with self._step(session_id, Action.READ_CARD) as session:
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
            self._apply_lookup(session, Action.READ_CARD, voter)
            return session

    def _apply_lookup(self, session: Session, action: Action, voter) -> None:
        outcome = rule.lookup_outcome(voter, self.rules.station_id)
        session.voter = voter
        if outcome in _LOOKUP_ENDINGS:
            if outcome == "wrong_station":
                session.registered_station = voter.station_id
            self._finish(session, action, *_LOOKUP_ENDINGS[outcome])
        elif voter.ink_found is not None:
            # refused for ink before, at this kiosk or another one of the station: say so before any
            # biometric step; only a supervisor's approval with a reason lets the session go on
            session.ink_on_record = voter.ink_found.as_dict()
            self._move(session, action, State.INK_ON_RECORD, "ink.on_record")
        else:
            self._after_lookup(session, action, voter)

    def _after_lookup(self, session: Session, action: Action, voter) -> None:
        if session.method == METHOD_BIOMETRIC:
            session.enrolment = self.registry.enrolment(voter.voter_id)
            # in the registry's ISO position order (thumb first), not the storage's row order
            enrolled = [f for f in voter.fingers_enrolled if f in session.enrolment.fingers]
            session.fingers_to_try = rule.fingers_to_try(enrolled, self.rules.max_fingers)
            if session.fingers_to_try:
                self._move(session, action, State.CAPTURE_FINGER, "finger.place")
            else:
                # nobody enrolled fingers for this voter: the same as fingers unusable
                self._move(session, action, State.FINGERS_UNUSABLE, "finger.unusable")
        else:
            # identified without a card: the biometric decision is already made
            self._move(session, action, State.CHECK_INK, "ink.place_finger")

    # -- step: no card ----------------------------------------------------------------------------
    def start_without_card(self, session_id: str, supervisor_id: str, reason_code: str) -> Session:
        """Called once the API has checked the supervisor's credentials and role."""
        require_reason(reason_code, NO_CARD_REASONS)
        with self._step(session_id, Action.START_WITHOUT_CARD) as session:
            session.method = METHOD_NO_CARD
            session.fallbacks.append("no_card")
            session.supervisor_id, session.fallback_reason = supervisor_id, reason_code
            session.fingers_to_try = ["any"]
            self._move(session, Action.START_WITHOUT_CARD, State.IDENTIFY_FINGER, "finger.place")
            self._audit("card_read", session, outcome="skipped_no_card")
            self._audit("override", session, kind="no_card_approved", reason=reason_code, supervisor_id=supervisor_id)
            return session

    # -- step: finger -----------------------------------------------------------------------------
    def capture_finger(self, session_id: str) -> Session:
        with self._step(session_id, Action.CAPTURE_FINGER) as session:
            finger = session.current_finger
            try:
                image, dpi = self.devices.capture_finger()
            except DeviceError as exc:
                problem = FINGER_CAPTURE_PROBLEMS.get(exc.code)
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
            if session.state == State.IDENTIFY_FINGER:
                session.finger_probe = probe
                self._to_face(session, Action.CAPTURE_FINGER)
                return session
            score = self.bio.compare_finger(probe, session.enrolment.fingers[finger])
            session.finger_scores[finger] = score
            self._audit("match", session, modality="finger", finger=finger, score_band=score_band(score))
            self._to_face(session, Action.CAPTURE_FINGER)
            return session

    def _finger_failed(self, session: Session, reason: str, message_key: str, quality: int | None = None) -> None:
        session.finger_attempts += 1
        session.finger_failures += 1
        self._audit("capture", session, modality="finger", finger=session.current_finger, outcome="failed",
                    reason=reason, attempt=session.finger_attempts,
                    quality=None if quality is None else int(quality))
        verdict = rule.after_finger_failure(session.finger_attempts, session.finger_index,
                                            len(session.fingers_to_try), self.rules)
        if verdict == "retry":
            session.message_key = message_key
        elif verdict == "next_finger":
            session.finger_index += 1
            session.finger_attempts = 0
            session.message_key = "finger.try_another"
        else:
            self._move(session, Action.CAPTURE_FINGER, State.FINGERS_UNUSABLE, "finger.unusable")

    # -- step: supervisor approves face only ------------------------------------------------------------
    def approve_face_only(self, session_id: str, supervisor_id: str, reason_code: str) -> Session:
        """Called once the API has checked the supervisor's credentials and role."""
        require_reason(reason_code, FACE_ONLY_REASONS)
        with self._step(session_id, Action.APPROVE_FACE_ONLY) as session:
            no_card = session.method == METHOD_NO_CARD
            session.method = METHOD_NO_CARD_FACE_ONLY if no_card else METHOD_FACE_ONLY
            session.fallbacks.append("face_only")
            session.supervisor_id = supervisor_id
            earlier = session.fallback_reason   # no card, then face only: both reasons are kept
            session.fallback_reason = f"{earlier}+{reason_code}" if earlier else reason_code
            session.finger_scores.clear()
            self._audit("override", session, kind="face_only_approved", reason=reason_code,
                        supervisor_id=supervisor_id)
            self._to_face(session, Action.APPROVE_FACE_ONLY)
            return session

    def approve_ink_on_record(self, session_id: str, supervisor_id: str, reason_code: str) -> Session:
        """A supervisor lets a person on whom ink was found earlier go on (their credentials checked by
        the API); the ink check still runs, and finds ink again if it is there."""
        require_reason(reason_code, INK_ON_RECORD_REASONS)
        with self._step(session_id, Action.APPROVE_INK_ON_RECORD) as session:
            session.ink_approved_by = supervisor_id
            self._audit("override", session, kind="ink_on_record_approved", reason=reason_code,
                        supervisor_id=supervisor_id)
            self._after_lookup(session, Action.APPROVE_INK_ON_RECORD, session.voter)
            return session

    # -- step: face and the decision ------------------------------------------------------------------
    def capture_face(self, session_id: str) -> Session:
        with self._step(session_id, Action.CAPTURE_FACE) as session:
            # the frame the liveness check saw live, once; a retry takes a new picture (after a new check)
            frame, session.live_frame = session.live_frame, None
            try:
                if frame is None:
                    frame = self.devices.capture_face()
            except DeviceError as exc:
                self._audit("capture", session, modality="face", outcome="device_fault", reason=exc.code)
                raise DeviceFailed("camera", exc) from exc
            session.face_attempts += 1
            try:
                probe = self.bio.encode_face(frame)
            except self.bio.face_capture_errors as exc:
                reason = rule.snake(str(getattr(exc, "reason", None) or "unusable_image"))
                self._audit("capture", session, modality="face", outcome="failed", reason=reason,
                            attempt=session.face_attempts)
                if rule.after_face_failure(session.face_attempts) == "retry":
                    self._to_face(session, Action.CAPTURE_FACE)   # through a new liveness check when it is on
                    session.message_key = f"face.{reason}"
                    return session
                probe = None
            else:
                self._audit("capture", session, modality="face", outcome="ok", attempt=session.face_attempts)
            if session.state == State.IDENTIFY_FACE:
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
            self._finish(session, Action.CAPTURE_FACE, State.REFUSED, "refused", "no_usable_biometrics",
                         "result.not_verified")
            return
        fused = self.bio.fuse(face=session.face_score, fingers=finger_scores)
        earlier = session.voter.not_verified_before
        accepted = self.bio.decide(fused, rule.round_fmr(self.rules, earlier))
        session.fused_score, session.fused_fmr = float(fused.score), float(fused.fmr)
        self._audit("match", session, modality="fused", outcome="accepted" if accepted else "rejected",
                    score_band=score_band(fused.score), face_score_band=score_band(session.face_score),
                    modalities=list(fused.modalities), round=session.verification_round,
                    not_verified_before=earlier or None)
        if accepted:
            self._move(session, Action.CAPTURE_FACE, State.CHECK_INK, "ink.place_finger")
        elif rule.after_rejection(session.verification_round, self.rules) == "another_round":
            self._another_round(session)
        else:
            self._finish(session, Action.CAPTURE_FACE, State.REFUSED, "refused", "not_verified", "result.not_verified")

    def _another_round(self, session: Session) -> None:
        """Not verified with rounds left: capture again and decide on the new captures alone (an earlier
        round's scores never count again: each round is one chance, as rule.round_fmr prices it). The
        next enrolled finger when there is one (a cut or worn finger stays bad), else the same again;
        the face alone when it decides alone (face only). The liveness check, when on, runs again: the
        first check's frame has been used (LivenessSteps._to_face)."""
        session.verification_round += 1
        session.face_score = session.fused_score = session.fused_fmr = None
        session.face_attempts = 0
        if not session.finger_scores:
            self._to_face(session, Action.CAPTURE_FACE)
            if session.state == State.CAPTURE_FACE:
                session.message_key = "face.another_round"
            return
        session.finger_scores.clear()
        session.finger_attempts = 0
        if session.finger_index + 1 < len(session.fingers_to_try):
            session.finger_index += 1
        self._move(session, Action.CAPTURE_FACE, State.CAPTURE_FINGER, "finger.another_round")

    def _identify(self, session: Session, face_probe) -> None:
        """1:N: this station's voters first, then the whole registry; an ambiguous result stops the search."""
        for scope in (self.rules.station_id, None):
            found = self.identifier.identify(session.finger_probe, face_probe, scope)
            fmr = rule.identification_fmr(self.rules, self._enrolled(scope))
            picked, passing = rule.pick_identified({c.voter_id: c.scores for c in found}, self.bio.fuse,
                                                   self.bio.decide, fmr)
            outcome = rule.identification_outcome(picked, passing)
            self._audit("match", session, modality="identification", scope="station" if scope else "national",
                        outcome=outcome, candidates=min(len(found), 100))
            if picked is not None:
                voter_id, fused = picked
                session.fused_score, session.fused_fmr = float(fused.score), float(fused.fmr)
                voter = self.registry.get_voter(voter_id)
                session.voter_pseudonym = self._pseudonym(voter.id_number)
                self._apply_lookup(session, Action.CAPTURE_FACE, voter)
                return
            if outcome == "ambiguous":
                break
        self._finish(session, Action.CAPTURE_FACE, State.REFUSED, "refused", "not_identified",
                     "result.not_identified")

    def _enrolled(self, scope: str | None) -> int:
        """How many voters a search in ``scope`` compares against (its operating point depends on it)."""
        enrolled = getattr(self.identifier, "enrolled", None)
        if enrolled is not None:
            return int(enrolled(scope))
        return self.registry.count_voters() if scope is None else len(self.registry.all_voter_ids(scope))

    # -- step: ink --------------------------------------------------------------------------------
    def check_ink(self, session_id: str, *, checked_by_eye: str | None = None) -> Session:
        """Run the UV check; or, after repeated inconclusive checks, take the official's own look
        (``checked_by_eye`` = ``"ink"`` or ``"no_ink"``), audited as an override."""
        with self._step(session_id, Action.CHECK_INK) as session:
            if checked_by_eye is not None:
                if checked_by_eye not in ("ink", "no_ink"):
                    raise BadReason("checked_by_eye must be 'ink' or 'no_ink'")
                if rule.ink_next("inconclusive", session.ink_inconclusive) != "check_by_eye":
                    raise InvalidStep("a check by eye is allowed only after repeated inconclusive UV checks")
                self._audit("override", session, kind="ink_checked_by_eye", outcome=checked_by_eye)
                decision = checked_by_eye
            else:
                frame_off, frame_on = self._ink_frames(session)
                decision = self.bio.detect_ink(frame_off, frame_on).decision
                self._audit("ink_check", session, outcome=decision)
            session.ink_decision = decision
            if decision == "inconclusive":
                session.ink_inconclusive += 1
            verdict = rule.ink_next(decision, session.ink_inconclusive)
            if verdict == "refuse":
                # in the shared registry, so every kiosk of the station knows this person had ink
                self.registry.record_ink_found(session.voter.voter_id, station_id=self.rules.station_id,
                                               kiosk_id=self.rules.kiosk_id, official_id=session.official_id,
                                               session_id=session.session_id)
                self._finish(session, Action.CHECK_INK, State.REFUSED, "refused", "ink_detected", "result.ink_detected")
            elif verdict == "confirm":
                self._move(session, Action.CHECK_INK, State.AWAITING_CONFIRMATION, "confirm.ready")
            else:
                session.message_key = "ink.check_by_eye" if verdict == "check_by_eye" else "ink.retry"
            return session

    def _ink_frames(self, session: Session):
        """(lamp off, lamp on) frames; a device failure names the lamp or the camera by the error's type."""
        try:
            return self.devices.capture_ink_frames(session=session.session_id)
        except DeviceFailed as failure:   # the devices layer already knows which device it was
            self._audit("ink_check", session, outcome="device_fault", reason=failure.device_code)
            raise
        except DeviceError as exc:
            self._audit("ink_check", session, outcome="device_fault", reason=exc.code)
            raise DeviceFailed(ink_device(exc), exc) from exc

    # -- step: confirm ----------------------------------------------------------------------------
    def confirm(self, session_id: str, official_id: str) -> Session:
        from kiosk.registry import AlreadyVoted

        with self._step(session_id, Action.CONFIRM) as session:
            try:
                # Keyed by the session: when the vote committed but what follows failed (the audit write,
                # the answer to the booth, the database connection during COMMIT), the official's retry
                # of this session gets the same vote back instead of a second-vote refusal. A registry
                # that cannot commit raises RegistryUnavailable and the session waits here, unmarked.
                vote = self.registry.mark_voted(session.voter.voter_id, kiosk_id=self.rules.kiosk_id,
                                                station_id=self.rules.station_id, official_id=official_id,
                                                method=session.method, session_id=session.session_id)
            except AlreadyVoted:
                # flagged in session_ended (a vote_marked entry would be tallied as a vote)
                self._finish(session, Action.CONFIRM, State.ALREADY_VOTED, "already_voted", "second_attempt",
                             "result.already_voted")
                return session
            session.vote_at = vote.voted_at
            self._audit("vote_marked", session, outcome="marked", method=session.method,
                        confirmed_by=official_id)
            self._finish(session, Action.CONFIRM, State.VOTED, "verified", None, "result.voted")
            return session

    def cancel(self, session_id: str, reason: str = "cancelled_by_official") -> Session:
        with self._step(session_id, Action.CANCEL) as session:
            self._finish(session, Action.CANCEL, State.CANCELLED, "cancelled", rule.snake(reason)[:40],
                         "session.cancelled")
            return session
