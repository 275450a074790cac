"""Typed errors of the simulator suite; ``code`` is stable and ``status`` is the HTTP status the
control API answers with (:mod:`simulators.control`)."""
from __future__ import annotations


class SimulatorError(Exception):
    """Base class for suite errors."""

    code = "simulator_error"
    status = 400


class UnknownDevice(SimulatorError):
    code = "unknown_device"
    status = 404


class UnknownFault(SimulatorError):
    code = "unknown_fault"


class DeviceNotAvailable(SimulatorError):
    """The device cannot take this operation now (an unplugged serial device takes only a clear)."""

    code = "device_not_available"
    status = 409


class UnknownVoter(SimulatorError):
    code = "unknown_voter"
    status = 404


class NoDemoVoters(SimulatorError):
    code = "no_demo_voters"
    status = 409


class BadImage(SimulatorError):
    code = "bad_image"


class BadRequest(SimulatorError):
    code = "bad_request"


class NotRunning(SimulatorError):
    code = "not_running"
    status = 409
