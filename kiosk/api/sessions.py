"""Booth sessions and their steps. Every response is the session: its state, what the official
should do next (``next_action``) and a ``message_key`` for the booth screen's message catalogue."""
from __future__ import annotations

from flask import Blueprint, jsonify

from kiosk.api.context import BOOTH_ROLES, client_address, json_body, principal, requires, services
from kiosk.api.errors import ApiError

blueprint = Blueprint("sessions", __name__, url_prefix="/api/sessions")


def _session_response(session, status: int = 200):
    return jsonify(session.public_dict()), status


@blueprint.post("")
@requires(*BOOTH_ROLES)
def start_session():
    return _session_response(services().workflow.start(principal().username), 201)


@blueprint.get("/<session_id>")
@requires(*BOOTH_ROLES)
def get_session(session_id: str):
    return _session_response(services().workflow.get(session_id))


@blueprint.post("/<session_id>/card")
@requires(*BOOTH_ROLES)
def read_card(session_id: str):
    return _session_response(services().workflow.read_card(session_id))


@blueprint.get("")
@requires(*BOOTH_ROLES)
def open_sessions():
    """Sessions not yet ended, oldest first: a booth screen resumes after a reload."""
    return jsonify(sessions=[s.public_dict() for s in services().workflow.open_sessions()])


def _require_engines(*names: str) -> None:
    """A decision that needs an engine which failed its boot self-test is refused, not guessed."""
    engines = getattr(services(), "engines", {}) or {}
    failed = [name for name in names if engines.get(name, "ok") != "ok"]
    if failed:
        raise ApiError(503, "engine_failed", f"the {' and '.join(failed)} engine failed its self-test at start-up; "
                                             "this step is refused until the kiosk is repaired and restarted",
                       engines=failed)


def _approving_supervisor(session_id: str) -> tuple[str, str]:
    """(supervisor username, reason code) from a fallback request, after checking the supervisor's
    own credentials (rate-limited and audited like any sign-in) and role."""
    body = json_body(("supervisor_username", "supervisor_password", "reason_code"))
    session = services().workflow.get(session_id)  # 404 before spending a password check on a missing session
    supervisor = services().auth.check_credentials(body["supervisor_username"], body["supervisor_password"],
                                                   client=client_address(), purpose="supervisor_approval")
    if supervisor.role != "supervisor":
        raise ApiError(403, "supervisor_required", "the approving official must have the supervisor role")
    if supervisor.username in (session.official_id, principal().username):
        # four eyes: a fallback is approved by someone other than the official running the session
        raise ApiError(403, "self_approval", "a fallback must be approved by another official, not the one "
                                             "running this session")
    return supervisor.username, body["reason_code"]


@blueprint.post("/<session_id>/no-card")
@requires(*BOOTH_ROLES)
def no_card(session_id: str):
    """A supervisor approves identifying the voter without a card, with a reason code."""
    _require_engines("fingerprint", "face")
    supervisor, reason = _approving_supervisor(session_id)
    return _session_response(services().workflow.start_without_card(session_id, supervisor, reason))


@blueprint.post("/<session_id>/finger")
@requires(*BOOTH_ROLES)
def capture_finger(session_id: str):
    _require_engines("fingerprint")
    return _session_response(services().workflow.capture_finger(session_id))


@blueprint.post("/<session_id>/face-only")
@requires(*BOOTH_ROLES)
def approve_face_only(session_id: str):
    """A supervisor approves the face-only fallback with their own credentials and a reason code."""
    _require_engines("face")
    supervisor, reason = _approving_supervisor(session_id)
    return _session_response(services().workflow.approve_face_only(session_id, supervisor, reason))


@blueprint.post("/<session_id>/ink-on-record")
@requires(*BOOTH_ROLES)
def approve_ink_on_record(session_id: str):
    """A supervisor lets a person on whom ink was found earlier go on, with their own credentials and a
    reason code (the ink check still runs)."""
    supervisor, reason = _approving_supervisor(session_id)
    return _session_response(services().workflow.approve_ink_on_record(session_id, supervisor, reason))


@blueprint.post("/<session_id>/liveness")
@requires(*BOOTH_ROLES)
def check_liveness(session_id: str):
    """The liveness check over the camera's stream: answers when it has a verdict (a few seconds; the
    booth screen polls the session meanwhile for the instruction to show)."""
    _require_engines("face")
    return _session_response(services().workflow.check_liveness(session_id))


@blueprint.post("/<session_id>/liveness-override")
@requires(*BOOTH_ROLES)
def approve_liveness(session_id: str):
    """A supervisor who has seen the person lets a session whose liveness check failed go on to the face
    capture, with their own credentials and a reason code."""
    _require_engines("face")
    supervisor, reason = _approving_supervisor(session_id)
    return _session_response(services().workflow.approve_liveness(session_id, supervisor, reason))


@blueprint.post("/<session_id>/face")
@requires(*BOOTH_ROLES)
def capture_face(session_id: str):
    _require_engines("face")
    return _session_response(services().workflow.capture_face(session_id))


@blueprint.post("/<session_id>/ink")
@requires(*BOOTH_ROLES)
def check_ink(session_id: str):
    body = json_body()
    by_eye = body.get("checked_by_eye")
    if by_eye is not None and not isinstance(by_eye, str):
        raise ApiError(400, "bad_request", "checked_by_eye must be 'ink' or 'no_ink'")
    return _session_response(services().workflow.check_ink(session_id, checked_by_eye=by_eye))


@blueprint.post("/<session_id>/confirm")
@requires(*BOOTH_ROLES)
def confirm(session_id: str):
    return _session_response(services().workflow.confirm(session_id, principal().username))


@blueprint.post("/<session_id>/cancel")
@requires(*BOOTH_ROLES)
def cancel(session_id: str):
    return _session_response(services().workflow.cancel(session_id))
