"""The workflow's typed errors: one root (:class:`WorkflowError`) whose ``code`` and ``status`` the API returns."""
from __future__ import annotations

from hardware.errors import DeviceError


class WorkflowError(Exception):
    """A step that cannot run now; ``code`` is stable and the API returns it."""

    code = "workflow_error"
    status = 409


class InvalidStep(WorkflowError):
    """The step is not one the session's state allows (see :mod:`kiosk.workflow.transitions`)."""

    code = "invalid_step"


class IllegalTransition(WorkflowError):
    """A step tried to move a session somewhere the transition table does not allow: a bug, not a
    voter's doing, so the session is left where it was and the API answers 500."""

    code = "illegal_transition"
    status = 500

    def __init__(self, state: str, action: str, to: str):
        super().__init__(f"{action} may not move a session from {state} to {to}")
        self.state, self.action, self.to = str(state), str(action), str(to)


class SessionNotFound(WorkflowError):
    code = "session_not_found"
    status = 404


class BadReason(WorkflowError):
    code = "bad_reason"
    status = 400


def require_reason(reason_code: str, allowed: tuple[str, ...]) -> None:
    """A supervisor's override names one of the reasons its step allows, or the step is refused."""
    if reason_code not in allowed:
        raise BadReason(f"reason_code must be one of: {', '.join(allowed)}")


class DeviceFailed(WorkflowError):
    """A device failed during a step; the session stays where it was, so the step can be retried.

    ``device`` is one of :data:`kiosk.devices.DEVICE_NAMES`; the devices layer raises this itself when
    one operation uses two devices (the ink check: lamp and camera), because only it knows which one
    failed."""

    code = "device_fault"
    status = 503

    def __init__(self, device: str, cause: DeviceError):
        super().__init__(f"the {device.replace('_', ' ')} failed ({cause.code}); check it and retry")
        self.device = device
        self.device_code = cause.code


def ink_device(error: DeviceError) -> str:
    """Which device of the ink check raised ``error``, by its type: a lamp error or a camera error.
    (:meth:`kiosk.devices.DeviceSet.capture_ink_frames` names the device itself; this is for other
    device adapters, which raise the hardware drivers' errors.) Anything else is put on the camera,
    as before the types were checked."""
    from hardware.lamp import LampError

    return "lamp" if isinstance(error, LampError) else "camera"
