"""What every driver needs from a serial port: pyserial's ``Serial`` (or ``serial_for_url``'s PTY,
``loop://`` and ``socket://`` ports) or anything shaped like it. Drivers separate this transport
from their protocol, as pyserial does.

This module also holds the one mapping from what a port raises to the :mod:`hardware.errors` a
driver raises (:data:`PORT_FAILURES`, applied by :func:`port_errors`), so the card reader, the
fingerprint sensor and the lamp relay report a pulled cable or a stuck write the same way.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Protocol

import serial

from hardware.errors import DeviceError, DeviceTimeout, DeviceUnavailable

try:  # pyserial's POSIX backend lets termios.error (not an OSError) escape from buffer resets
    from termios import error as _TermiosError
except ImportError:  # pragma: no cover - Windows
    class _TermiosError(Exception):
        pass


class SerialPort(Protocol):
    timeout: float | None

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes) -> int | None: ...


class BufferedSerialPort(SerialPort, Protocol):
    """A port that can also say how many received bytes wait to be read."""

    @property
    def in_waiting(self) -> int: ...


# What a port raises and the device error it stands for; the first matching row wins.
PORT_FAILURES: tuple[tuple[type[BaseException], type[DeviceError]], ...] = (
    # A write that did not finish in its write_timeout: the device stopped taking bytes.
    (serial.SerialTimeoutException, DeviceTimeout),
    (TimeoutError, DeviceTimeout),                 # socket:// ports; an OSError, so before it
    # Unplugged, wrong path, permissions, port closed under us (SerialException is an OSError).
    (OSError, DeviceUnavailable),
    # A closed file descriptor surfaces as ValueError or TypeError from the port's methods.
    (ValueError, DeviceUnavailable),
    (TypeError, DeviceUnavailable),
    (_TermiosError, DeviceUnavailable),            # buffer reset on a tty that vanished
)
_CAUGHT = tuple(failure for failure, _ in PORT_FAILURES)


def device_error(exc: BaseException, device: str, action: str) -> DeviceError | None:
    """The device error for port failure ``exc`` while ``device`` (e.g. "card reader") did ``action``
    (e.g. "read"), or None when ``exc`` is not a port failure. The message names the failure's
    type, never the bytes involved."""
    for failure, error in PORT_FAILURES:
        if isinstance(exc, failure):
            return error(f"{device} port failed on {action}: {type(exc).__name__}")
    return None


@contextmanager
def port_errors(device: str, action: str) -> Iterator[None]:
    """Raise port failures inside the block as their :mod:`hardware.errors` class (chained to the
    original). Wrap only port calls: a ValueError or TypeError from anything else would be taken for
    a closed port."""
    try:
        yield
    except DeviceError:
        raise
    except _CAUGHT as exc:
        error = device_error(exc, device, action)
        assert error is not None
        raise error from exc


def open_port(url: str, device: str, **settings) -> serial.SerialBase:
    """``serial.serial_for_url(url, **settings)`` with its failures raised as device errors."""
    with port_errors(device, "open"):
        return serial.serial_for_url(url, **settings)
