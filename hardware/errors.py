"""Typed errors shared by every device adapter.

Adapters raise subclasses of :class:`DeviceError`, so the kiosk can tell "the device is gone"
from "the device answered nonsense" from "the device said no", and show the official what to do.
Messages never include raw zone data, images or templates.
"""
from __future__ import annotations


class DeviceError(Exception):
    """Base class for every error raised by an adapter in ``hardware``."""

    code = "device_error"


class DeviceUnavailable(DeviceError):
    """The port could not be opened or closed under us (unplugged, wrong path, permissions)."""

    code = "device_unavailable"


class DeviceTimeout(DeviceError):
    """The device did not answer (or did not finish a frame) within the allowed time."""

    code = "device_timeout"


class ProtocolError(DeviceError):
    """The device sent bytes that do not form a valid frame (bad header, checksum, length...)."""

    code = "protocol_error"
