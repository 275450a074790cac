"""What every driver needs from a serial port: pyserial's ``Serial`` (or ``serial_for_url``'s PTY,
``loop://`` and ``socket://`` ports) or anything shaped like it. Drivers separate this transport
from their protocol, as pyserial does."""
from __future__ import annotations

from typing import Protocol


class SerialPort(Protocol):
    timeout: float | None

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes) -> int | None: ...


class BufferedSerialPort(SerialPort, Protocol):
    """A port that can also say how many received bytes wait to be read."""

    @property
    def in_waiting(self) -> int: ...
