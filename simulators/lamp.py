"""Device models of the UV lamp's USB relay boards: LCUS (binary) and Numato (ASCII).

Pure protocol objects for :mod:`simulators.transport`. ``received`` keeps every byte the host
wrote (tests assert on it byte for byte); ``lit`` tells the camera simulator whether the UV lamp
wired to ``lamp_channel`` is glowing.

Device fault ``fails_to_light``: the board accepts commands but the lamp relay never closes. An
LCUS board's status query then reports the channel OFF (a single-channel LCUS-1 has no status
query, so the driver cannot notice); a Numato board's ``relay read`` answers ``off``.
"""
from __future__ import annotations

import threading
from typing import Callable

from hardware.errors import ProtocolError
from hardware.lamp import LCUS_HEADER, numato_relay_name, parse_lcus_frame

DEVICE_FAULTS = ("fails_to_light",)


class _FaultsMixin:
    """Fault switches and the lock that guards model state (the transport thread feeds ``receive``
    while the control API injects faults and the camera simulator reads ``lit``)."""

    faults: dict[str, dict]
    _lock: threading.RLock

    def inject(self, fault: str, **params) -> None:
        if fault not in DEVICE_FAULTS:
            raise ValueError(f"unknown lamp fault {fault!r}; expected one of {DEVICE_FAULTS}")
        with self._lock:
            self.faults[fault] = params

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()


class LcusBoardModel(_FaultsMixin):
    """An LCUS-1/2/4/8 board: ``A0 ch state sum`` frames, no acknowledgement, ``FF`` status query."""

    def __init__(self, channels: int = 2, lamp_channel: int = 1):
        if channels not in (1, 2, 4, 8):
            raise ValueError("LCUS boards have 1, 2, 4 or 8 channels")
        if not 1 <= lamp_channel <= channels:
            raise ValueError("lamp channel is not on this board")
        self.channels = channels
        self.lamp_channel = lamp_channel
        self.relays = {ch: False for ch in range(1, channels + 1)}
        self.faults: dict[str, dict] = {}
        self._lock = threading.RLock()
        self.received = bytearray()
        self.rejected_frames = 0
        self.emit: Callable[[bytes], None] = lambda data: None
        self._buf = bytearray()

    @property
    def lit(self) -> bool:
        with self._lock:
            return self.relays[self.lamp_channel]

    def status_lines(self) -> bytes:
        return b"".join(f"CH{ch}: {'ON' if on else 'OFF'}\r\n".encode() for ch, on in self.relays.items())

    def receive(self, data: bytes) -> bytes:
        with self._lock:
            return self._receive(data)

    def _receive(self, data: bytes) -> bytes:
        self.received += data
        self._buf += data
        reply = b""
        while self._buf:
            if self._buf[0] == 0xFF:
                del self._buf[0]
                if self.channels > 1:  # LCUS-1 has no status query
                    reply += self.status_lines()
            elif self._buf[0] == LCUS_HEADER:
                if len(self._buf) < 4:
                    break
                self._apply(bytes(self._buf[:4]))
                del self._buf[:4]
            else:
                del self._buf[0]  # line noise: the board ignores it
        return reply

    def _apply(self, frame: bytes) -> None:
        try:
            channel, on = parse_lcus_frame(frame)
        except ProtocolError:
            self.rejected_frames += 1
            return
        if channel not in self.relays:
            self.rejected_frames += 1
            return
        if on and channel == self.lamp_channel and "fails_to_light" in self.faults:
            return  # command accepted, relay stays open
        self.relays[channel] = on


class NumatoRelayModel(_FaultsMixin):
    """A Numato USB relay: echoes input, runs ``relay on|off|read N`` at CR, then prints ``>``."""

    def __init__(self, relays: int = 1, lamp_relay: int = 0):
        if not 1 <= relays <= 32:
            raise ValueError("Numato boards have 1-32 relays")
        if not 0 <= lamp_relay < relays:
            raise ValueError("lamp relay is not on this board")
        self.relays = {numato_relay_name(i): False for i in range(relays)}
        self.lamp_relay = numato_relay_name(lamp_relay)
        self.faults: dict[str, dict] = {}
        self._lock = threading.RLock()
        self.received = bytearray()
        self.emit: Callable[[bytes], None] = lambda data: None
        self._line = bytearray()

    @property
    def lit(self) -> bool:
        with self._lock:
            return self.relays[self.lamp_relay]

    def receive(self, data: bytes) -> bytes:
        with self._lock:
            return self._receive(data)

    def _receive(self, data: bytes) -> bytes:
        self.received += data
        reply = bytearray()
        for byte in data:
            if byte == 0x0D:
                reply += b"\n\r" + self._run(self._line.decode("latin-1").strip()) + b">"
                self._line.clear()
            elif byte != 0x0A:
                self._line.append(byte)
                reply.append(byte)  # the firmware echoes as it receives
        return bytes(reply)

    def _run(self, command: str) -> bytes:
        words = command.split()
        if words == ["ver"]:
            return b"00000008\n\r"
        if len(words) != 3 or words[0] != "relay" or words[2].upper() not in self.relays:
            return b""
        action, name = words[1], words[2].upper()
        if action == "on":
            if not (name == self.lamp_relay and "fails_to_light" in self.faults):
                self.relays[name] = True
        elif action == "off":
            self.relays[name] = False
        elif action == "read":
            return (b"on" if self.relays[name] else b"off") + b"\n\r"
        return b""
