"""Serial MRZ (ID card) readers: framing codecs, auto-detection and the :class:`IdCardReader`.

Desktop MRZ readers push the zone unprompted when a card is swiped; vendors frame it differently:

* ``desko``: ``[SOH] STX line CR line CR line CR ETX``.
* ``3m``: ``SOH len "OU" STX flag line CR line CR line CR ETX BCC``, lines padded with `_` instead
  of `<`. ``len`` is one byte counting the bytes from ``"O"`` through ``ETX``; ``BCC`` is the XOR of
  the bytes from ``len`` through ``ETX``; ``flag`` is one status byte (``0`` = read OK; kept opaque).
  Public documentation of this framing is thin, so these exact choices are ours (see hardware.md 2).
* ``plain``: each line terminated by CR, LF or CRLF (also keyboard-wedge-like serial readers).

Each framing is a pure *frame scanner* ``scan(buffer) -> (consumed, event)``:
``(0, None)`` = need more bytes, ``(n, None)`` = skip ``n`` garbage bytes (resync),
``(n, lines)`` = a frame, ``(n, ProtocolError)`` = a bad frame. :class:`FrameDecoder` owns the
buffer (its only state) and turns a byte stream into events; ``auto`` picks the framing per
frame from its first bytes, so garbage or a vendor switch never wedges it. Scanners never raise:
random bytes only ever produce lines or :class:`~hardware.errors.ProtocolError` events.

The reader adds time: a frame that starts but does not finish within ``frame_timeout`` raises
:class:`~hardware.errors.DeviceTimeout`, and ``read_document(timeout)`` returns ``None`` when no
card was presented in time. Raw zones never reach logs or exception messages.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Literal, Sequence, Union

from hardware import mrz
from hardware.errors import DeviceTimeout, ProtocolError
from hardware.ports import BufferedSerialPort as SerialPort
from hardware.ports import open_port, port_errors

SOH, STX, ETX, CR, LF = 0x01, 0x02, 0x03, 0x0D, 0x0A
MAX_FRAME = 1024          # bytes; a longer "frame" is garbage and is skipped
PLAIN_WIDTHS = {30: 3, 36: 2, 44: 2}   # MRZ line width -> lines in the zone

Lines = tuple[str, ...]
Event = Union[Lines, ProtocolError]
Step = tuple[int, Union[Lines, ProtocolError, None]]
FramingName = Literal["auto", "desko", "3m", "plain"]


def _split_lines(body: bytes) -> Lines:
    text = body.decode("latin-1").replace("\r", "\n")
    return tuple(line for line in text.split("\n") if line)


def _frame_error(message: str) -> ProtocolError:
    return ProtocolError(f"card reader sent a bad frame: {message}")


# -- DESKO ----------------------------------------------------------------------------------------
def encode_desko(lines: Sequence[str], *, soh: bool = False) -> bytes:
    body = b"".join(line.encode("ascii") + b"\r" for line in lines)
    return (b"\x01" if soh else b"") + b"\x02" + body + b"\x03"


def scan_desko(buf: bytes) -> Step:
    start = buf.find(STX)
    if start < 0:
        return len(buf), None          # no frame start: all garbage (an optional SOH included)
    if start > 0:
        return start, None
    for i in range(1, len(buf)):
        byte = buf[i]
        if byte == ETX:
            lines = _split_lines(buf[1:i])
            return i + 1, (lines if lines else _frame_error("empty frame"))
        if byte in (STX, SOH):
            return i, _frame_error("frame truncated by the start of another")
    if len(buf) > MAX_FRAME:
        return 1, _frame_error("frame too long")
    return 0, None


# -- 3M-style -------------------------------------------------------------------------------------
def bcc(data: bytes) -> int:
    out = 0
    for byte in data:
        out ^= byte
    return out


def encode_3m(lines: Sequence[str], *, flag: bytes = b"0") -> bytes:
    body = b"OU\x02" + flag + b"".join(line.replace("<", "_").encode("ascii") + b"\r" for line in lines) + b"\x03"
    if len(body) > 255:
        raise ValueError("zone too long for a one-byte 3M length")
    framed = bytes([len(body)]) + body
    return b"\x01" + framed + bytes([bcc(framed)])


def scan_3m(buf: bytes) -> Step:
    start = buf.find(SOH)
    if start < 0:
        return len(buf), None
    if start > 0:
        return start, None
    if len(buf) >= 2 and buf[1] < 5:
        return 1, _frame_error("length field too small")
    if len(buf) >= 4 and buf[2:4] != b"OU":
        return 1, _frame_error("missing OU header")
    if len(buf) >= 5 and buf[4] != STX:
        return 1, _frame_error("missing STX")
    if len(buf) < 2 or len(buf) < buf[1] + 3:
        return 0, None
    length = buf[1]
    end = 2 + length                     # index of the BCC byte
    if buf[end - 1] != ETX:
        return 1, _frame_error("length does not match the frame")
    if bcc(buf[1:end]) != buf[end]:
        return end + 1, _frame_error("BCC mismatch")
    lines = tuple(line.replace("_", "<") for line in _split_lines(buf[6:end - 1]))
    return end + 1, (lines if lines else _frame_error("empty frame"))


# -- plain lines ----------------------------------------------------------------------------------
def encode_plain(lines: Sequence[str], *, newline: bytes = b"\r") -> bytes:
    return b"".join(line.encode("ascii") + newline for line in lines)


def _clean_line(raw: bytes) -> str:
    # garbage bytes (control, non-ASCII) and spaces never belong to a zone line
    return "".join(ch for ch in raw.decode("latin-1") if "!" <= ch <= "~")


def scan_plain(buf: bytes) -> Step:
    """Group CR/LF-terminated lines into a zone by their width (3x30, 2x36 or 2x44)."""
    pos, lines, width = 0, [], 0
    while True:
        end = next((i for i in range(pos, len(buf)) if buf[i] in (CR, LF)), -1)
        if end < 0:
            if len(buf) > MAX_FRAME:
                return len(buf), _frame_error("line too long")
            return 0, None
        line = _clean_line(buf[pos:end])
        pos = end + 1
        if not line:
            if not lines:
                return pos, None     # blank line or leftover terminator between zones
            continue
        if not lines:
            if len(line) not in PLAIN_WIDTHS:
                return pos, _frame_error("line of a length no MRZ has")
            width = len(line)
        elif len(line) != width:
            return pos, _frame_error("zone lines of different lengths")
        lines.append(line)
        if len(lines) == PLAIN_WIDTHS[width]:
            return pos, tuple(lines)


# -- auto-detection -------------------------------------------------------------------------------
def scan_auto(buf: bytes) -> Step:
    """Pick the framing of the next frame from its first bytes, then scan it with that framing."""
    if not buf:
        return 0, None
    first = buf[0]
    if first == STX:
        return scan_desko(buf)
    if first == SOH:
        if len(buf) < 2:
            return 0, None
        if buf[1] == STX:
            return scan_desko(buf)
        if len(buf) < 4:
            return 0, None
        if buf[2:4] == b"OU":
            return scan_3m(buf)
        return 1, None                 # a stray SOH
    if first in (CR, LF) or not 0x20 <= first <= 0x7E:
        # skip the whole run of line noise at once, up to something that can start a frame
        run = next((i for i in range(1, len(buf)) if buf[i] in (SOH, STX) or 0x20 <= buf[i] <= 0x7E), len(buf))
        return run, None
    # printable text: a plain line, unless a framed reply starts before the line ends
    for i in range(len(buf)):
        if buf[i] in (CR, LF):
            return scan_plain(buf)
        if buf[i] in (STX, SOH):
            return i, None
    if len(buf) > MAX_FRAME:
        return len(buf), _frame_error("line too long")
    return 0, None


SCANNERS: dict[str, Callable[[bytes], Step]] = {"desko": scan_desko, "3m": scan_3m, "plain": scan_plain, "auto": scan_auto}
ENCODERS: dict[str, Callable[[Sequence[str]], bytes]] = {"desko": encode_desko, "3m": encode_3m, "plain": encode_plain}


class FrameDecoder:
    """Byte stream -> events (zone lines or ProtocolError) with one framing; the buffer is the state."""

    def __init__(self, framing: str = "auto"):
        if framing not in SCANNERS:
            raise ValueError(f"unknown framing {framing!r}; expected one of {sorted(SCANNERS)}")
        self.framing = framing
        self._scan = SCANNERS[framing]
        self._buf = bytearray()

    @property
    def busy(self) -> bool:
        """True while bytes of an unfinished frame are buffered."""
        return bool(self._buf)

    def reset(self) -> None:
        self._buf.clear()

    def feed(self, data: bytes) -> list[Event]:
        self._buf += data
        events: list[Event] = []
        while self._buf:
            consumed, event = self._scan(bytes(self._buf))
            if consumed == 0:
                break
            del self._buf[:consumed]
            if event is not None:
                events.append(event)
        return events


# -- reader ---------------------------------------------------------------------------------------
@dataclass
class _PendingFrame:
    started: float


class IdCardReader:
    """Reads ID documents from a serial MRZ reader.

    ``port`` is any pyserial-like object (``serial.Serial``, ``serial_for_url("loop://")``...) or
    a path/URL, which is then opened at ``baudrate`` 8N1 and closed by :meth:`close`.
    The reader sets ``port.timeout`` to its short poll interval so it can watch its deadlines.
    """

    POLL_S = 0.05

    def __init__(self, port: SerialPort | str, framing: FramingName = "auto", strictness: mrz.Strictness = "reject", *,
                 frame_timeout: float = 1.0, clock: Callable[[], float] = time.monotonic, baudrate: int = 9600):
        if strictness not in ("reject", "warn"):
            raise ValueError("strictness must be 'reject' or 'warn'")
        self._owned_port = None
        if isinstance(port, str):
            port = self._owned_port = open_port(port, "card reader", baudrate=baudrate, timeout=self.POLL_S)
        self.port = port
        self.decoder = FrameDecoder(framing)
        self.strictness = strictness
        self.frame_timeout = frame_timeout
        self.clock = clock
        self._events: deque[Event] = deque()
        self._frame: _PendingFrame | None = None

    @property
    def framing(self) -> str:
        return self.decoder.framing

    def close(self) -> None:
        """Close the port if this reader opened it (a caller's port is left alone)."""
        if self._owned_port is not None:
            self._owned_port.close()

    def __enter__(self) -> "IdCardReader":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def flush(self) -> None:
        """Forget zones already received (call when a new voter session starts)."""
        self._events.clear()
        self.decoder.reset()
        self._frame = None
        with port_errors("card reader", "read"):
            while self.port.in_waiting:
                self.port.read(self.port.in_waiting)

    def read_document(self, timeout: float = 5.0) -> mrz.IdDocument | None:
        """The next presented document, or ``None`` if no card arrived within ``timeout`` seconds.

        Raises DeviceUnavailable (port gone), DeviceTimeout (frame started but never finished),
        ProtocolError (bad frame) or MrzError (zone fails validation under ``strictness``).
        """
        deadline = self.clock() + timeout
        while True:
            if self._events:
                event = self._events.popleft()
                if isinstance(event, ProtocolError):
                    raise event
                return mrz.parse(event, self.strictness)
            if self._frame is not None and self.clock() - self._frame.started > self.frame_timeout:
                self.decoder.reset()
                self._frame = None
                raise DeviceTimeout("card reader started a frame but did not finish it in time")
            events = self.decoder.feed(self._read_chunk())  # at least one read, even for timeout=0
            self._events.extend(events)
            if not self.decoder.busy:
                self._frame = None
            elif self._frame is None or events:
                # a new frame began (possibly right after one that just finished)
                self._frame = _PendingFrame(started=self.clock())
            if not self._events and self._frame is None and self.clock() >= deadline:
                return None

    def _read_chunk(self) -> bytes:
        with port_errors("card reader", "read"):
            if self.port.timeout != self.POLL_S:
                self.port.timeout = self.POLL_S
            return self.port.read(max(1, self.port.in_waiting))
