"""UV lamp on a USB relay board: LCUS (binary, no acknowledgement) or Numato (ASCII, read-back).

Safety rules, enforced here rather than trusted to callers:

* the lamp is switched OFF when the lamp is opened, when it is closed or a ``with`` block exits
  (normally or by an exception), and when a failed switch-on leaves its state in doubt;
* a watchdog switches it OFF once it has been on for ``max_on_seconds`` (a crashed or stuck
  caller must not leave a UV lamp burning at a voter's hand); calling :meth:`UvLamp.on` again
  does not extend the bound;
* a relay whose read-back disagrees with the command raises :class:`LampError`.

LCUS boards (CH340, 9600 8N1): frame ``A0 channel state checksum`` with
``checksum = (A0 + channel + state) & 0xFF``; no acknowledgement; ~100 ms between commands.
Multi-channel boards answer the status byte ``FF`` with ``CHn: ON|OFF`` lines, which is used to
confirm a command when the board answered the probe at open (single-channel LCUS-1 boards do not
answer, so their lamp cannot be confirmed). Channels are numbered from 1, as printed on the board.

Numato boards: ``relay on N``/``relay off N``/``relay read N`` + CR; the firmware echoes what it
receives and prints ``>`` when ready. Relays are numbered from 0; 10 and above are letters
(10 = ``A``). Every switch is confirmed by ``relay read``.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from typing import Callable, Literal

from hardware.errors import DeviceError, DeviceTimeout, DeviceUnavailable, ProtocolError
from hardware.ports import BufferedSerialPort as SerialPort
from hardware.ports import open_port, port_errors

log = logging.getLogger(__name__)

LampKind = Literal["lcus", "numato"]
LCUS_HEADER = 0xA0
LCUS_STATUS_QUERY = b"\xff"
LCUS_GAP_S = 0.1
_LCUS_STATUS_LINE = re.compile(rb"CH(\d+):\s*(ON|OFF)\s*[\r\n]")
_NUMATO_STATE = re.compile(r"\b(on|off)\b", re.IGNORECASE)
_NUMATO_NAMES = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
_POLL_S = 0.02


class LampError(DeviceError):
    """The relay did not do what it was told (e.g. the lamp failed to light)."""

    code = "lamp_error"


# -- pure codecs (the simulators use these too) ---------------------------------------------------
def lcus_frame(channel: int, on: bool) -> bytes:
    if not 1 <= channel <= 8:
        raise ValueError("LCUS channels are 1-8")
    state = 1 if on else 0
    return bytes([LCUS_HEADER, channel, state, (LCUS_HEADER + channel + state) & 0xFF])


def parse_lcus_frame(frame: bytes) -> tuple[int, bool]:
    """(channel, on) from a 4-byte LCUS frame; ProtocolError for a bad header, state or checksum."""
    if len(frame) != 4 or frame[0] != LCUS_HEADER:
        raise ProtocolError("not an LCUS relay frame")
    if frame[2] not in (0, 1):
        raise ProtocolError("LCUS frame state is neither 0 nor 1")
    if (frame[0] + frame[1] + frame[2]) & 0xFF != frame[3]:
        raise ProtocolError("LCUS frame checksum mismatch")
    return frame[1], frame[2] == 1


def parse_lcus_status(data: bytes) -> dict[int, bool]:
    """Channel states from complete ``CHn: ON|OFF`` lines (anything else is ignored)."""
    return {int(m.group(1)): m.group(2) == b"ON" for m in _LCUS_STATUS_LINE.finditer(data)}


def numato_relay_name(index: int) -> str:
    if not 0 <= index < len(_NUMATO_NAMES):
        raise ValueError("Numato relays are 0-31")
    return _NUMATO_NAMES[index]


def numato_command(action: Literal["on", "off", "read"], index: int) -> bytes:
    return f"relay {action} {numato_relay_name(index)}\r".encode("ascii")


def numato_reply_text(response: bytes, command: bytes) -> str:
    """What the firmware printed after echoing ``command`` and before its ``>`` prompt."""
    echo = command.rstrip(b"\r")
    at = response.find(echo)
    if at < 0:
        raise ProtocolError("relay reply does not echo the command")
    body = response[at + len(echo):]
    prompt = body.rfind(b">")
    return (body[:prompt] if prompt >= 0 else body).decode("latin-1").strip()


def parse_numato_state(reply: str) -> bool:
    found = _NUMATO_STATE.findall(reply)
    if len(found) != 1:
        raise ProtocolError("relay read-back is neither 'on' nor 'off'")
    return found[0].lower() == "on"


# -- relay drivers --------------------------------------------------------------------------------
class _PortIO:
    """Shared port plumbing: port failures become device errors (:func:`hardware.ports.port_errors`)."""

    def __init__(self, port: SerialPort, clock: Callable[[], float], reply_timeout: float):
        self.port = port
        self.clock = clock
        self.reply_timeout = reply_timeout

    def write(self, data: bytes) -> None:
        with port_errors("lamp relay", "write"):
            self.port.write(data)
            flush = getattr(self.port, "flush", None)
            if flush is not None:
                flush()

    def read_available(self) -> bytes:
        with port_errors("lamp relay", "read"):
            if self.port.timeout != _POLL_S:
                self.port.timeout = _POLL_S
            return self.port.read(max(1, self.port.in_waiting))

    def drain(self) -> None:
        """Discard stale input (late replies after a timeout, leftover status lines)."""
        with port_errors("lamp relay", "read"):
            while self.port.in_waiting:
                self.port.read(self.port.in_waiting)

    def read_until(self, done: Callable[[bytes], bool]) -> bytes | None:
        """Read until ``done(bytes so far)``; None when ``reply_timeout`` passes first."""
        deadline = self.clock() + self.reply_timeout
        got = b""
        while not done(got):
            if self.clock() >= deadline:
                return None
            got += self.read_available()
        return got


class LcusRelay:
    def __init__(self, io: _PortIO, channel: int, sleep: Callable[[float], None]):
        lcus_frame(channel, False)  # validates the channel
        self.io = io
        self.channel = channel
        self.sleep = sleep
        self.has_status = False
        self._last_command: float | None = None

    def _send(self, data: bytes) -> None:
        # the board drops commands that follow each other too closely
        if self._last_command is not None:
            wait = LCUS_GAP_S - (self.io.clock() - self._last_command)
            if wait > 0:
                self.sleep(wait)
        self.io.write(data)
        self._last_command = self.io.clock()

    def status(self) -> dict[int, bool] | None:
        self.io.drain()
        self._send(LCUS_STATUS_QUERY)
        got = self.io.read_until(lambda data: self.channel in parse_lcus_status(data))
        return parse_lcus_status(got) if got is not None else None

    def start(self) -> None:
        """Switch off, then probe whether the board answers status queries."""
        self._send(lcus_frame(self.channel, False))
        self.has_status = self.status() is not None

    def set(self, on: bool) -> None:
        self._send(lcus_frame(self.channel, on))
        if not self.has_status:
            return
        states = self.status()
        if states is None:
            raise DeviceTimeout("relay board did not answer the status query")
        if states[self.channel] != on:
            raise LampError("lamp failed to light" if on else "lamp failed to switch off")


class NumatoRelay:
    def __init__(self, io: _PortIO, relay: int):
        numato_relay_name(relay)  # validates the index
        self.io = io
        self.relay = relay

    def command(self, data: bytes) -> str:
        self.io.drain()
        self.io.write(data)
        echo = data.rstrip(b"\r")
        got = self.io.read_until(lambda got: b">" in got[got.find(echo) + len(echo):] if echo in got else False)
        if got is None:
            raise DeviceTimeout("relay did not answer with its prompt in time")
        return numato_reply_text(got, data)

    def read(self) -> bool:
        return parse_numato_state(self.command(numato_command("read", self.relay)))

    def start(self) -> None:
        # a bare CR clears any half-typed command left in the firmware's line buffer
        self.io.drain()
        self.io.write(b"\r")
        if self.io.read_until(lambda got: b">" in got) is None:
            raise DeviceTimeout("relay did not show its prompt")
        self.set(False)

    def set(self, on: bool) -> None:
        self.command(numato_command("on" if on else "off", self.relay))
        if self.read() != on:
            raise LampError("lamp failed to light" if on else "lamp failed to switch off")


# -- the lamp -------------------------------------------------------------------------------------
class UvLamp:
    """A UV lamp on one relay, with a bounded on-time. Thread-safe (the watchdog shares it)."""

    def __init__(self, relay: LcusRelay | NumatoRelay, max_on_seconds: float, clock: Callable[[], float], *,
                 port_to_close: object | None = None, watchdog: bool = True):
        if max_on_seconds <= 0:
            raise ValueError("max_on_seconds must be positive")
        self.relay = relay
        self.max_on_seconds = max_on_seconds
        self.clock = clock
        self._port_to_close = port_to_close
        self._lock = threading.RLock()
        self._on_since: float | None = None
        self._closed = False
        self._stop = threading.Event()
        self._watchdog_failed = False
        self._thread: threading.Thread | None = None
        if watchdog:
            self._thread = threading.Thread(target=self._watch, name="uv-lamp-watchdog", daemon=True)
            self._thread.start()

    @property
    def is_on(self) -> bool:
        return self._on_since is not None

    def on(self) -> None:
        with self._lock:
            if self._closed:
                raise DeviceUnavailable("lamp is closed")
            if self._on_since is not None:
                return  # already on: keep the original start so the on-time bound holds
            try:
                self.relay.set(True)
            except DeviceError:
                self._switch_off_after_failure()
                raise
            self._on_since = self.clock()

    def off(self) -> None:
        with self._lock:
            if self._closed:
                raise DeviceUnavailable("lamp is closed")
            self.relay.set(False)
            self._on_since = None

    def enforce_on_limit(self) -> bool:
        """Switch off if the lamp has been on for ``max_on_seconds``; True if it did. (Watchdog step.)"""
        with self._lock:
            if self._closed or self._on_since is None:
                return False
            if self.clock() - self._on_since < self.max_on_seconds:
                return False
            log.warning("UV lamp on-time limit reached; switching it off")
            self.off()
            return True

    def close(self) -> None:
        """Switch off (best effort: a failure is logged) and release the port. Idempotent."""
        self._shutdown(strict=False)

    def __enter__(self) -> "UvLamp":
        self.off()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # switch-off failures surface only when they would not hide the caller's own exception
        self._shutdown(strict=exc is None)

    def _shutdown(self, *, strict: bool) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        with self._lock:
            if self._closed:
                return
            try:
                self.relay.set(False)
                self._on_since = None
            except DeviceError as exc:
                log.error("could not switch the UV lamp off while closing: %s", exc.code)
                if strict:
                    raise
            finally:
                self._closed = True
                close = getattr(self._port_to_close, "close", None)
                if close is not None:
                    close()

    def _switch_off_after_failure(self) -> None:
        # the command may have half-worked: make sure the lamp is not left on
        try:
            self.relay.set(False)
        except DeviceError as exc:
            log.error("could not switch the UV lamp off after a failed command: %s", exc.code)
        self._on_since = None

    def _watch(self) -> None:
        while not self._stop.wait(_POLL_S * 2):
            try:
                self.enforce_on_limit()
                self._watchdog_failed = False
            except DeviceError as exc:
                if not self._watchdog_failed:  # log once per failure streak, keep retrying
                    log.error("watchdog could not switch the UV lamp off: %s", exc.code)
                self._watchdog_failed = True


def open_lamp(port, kind: LampKind = "lcus", channel: int | None = None, max_on_seconds: float = 5.0,
              clock: Callable[[], float] = time.monotonic, *, sleep: Callable[[float], None] = time.sleep,
              reply_timeout: float = 0.3, watchdog: bool = True) -> UvLamp:
    """Open the lamp relay on ``port`` (a pyserial-like object, or a path/URL opened at 9600 8N1).

    ``channel`` is the board's own numbering; ``None`` means the first relay (LCUS 1, Numato 0).
    The lamp is OFF when this returns. A port opened here is closed by :meth:`UvLamp.close`.
    """
    owned = None
    if isinstance(port, str):
        port = owned = open_port(port, "lamp relay", baudrate=9600, timeout=_POLL_S)
    io = _PortIO(port, clock, reply_timeout)
    try:
        if kind == "lcus":
            relay: LcusRelay | NumatoRelay = LcusRelay(io, 1 if channel is None else channel, sleep)
        elif kind == "numato":
            relay = NumatoRelay(io, 0 if channel is None else channel)
        else:
            raise ValueError(f"unknown lamp kind {kind!r}; expected 'lcus' or 'numato'")
        relay.start()
    except BaseException:
        if owned is not None:
            owned.close()
        raise
    return UvLamp(relay, max_on_seconds, clock, port_to_close=owned, watchdog=watchdog)
