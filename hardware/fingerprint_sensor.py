"""Driver for R30x / R503 / AS608 fingerprint modules over any pyserial-like port.

The driver sends one command frame, waits for one acknowledgement frame (each frame must arrive
within ``frame_timeout`` seconds, else :class:`~hardware.errors.DeviceTimeout`), and for uploads
reads data packets until the last one (id ``08``), keeping the last packet even when it is short.
Every frame's header, address and checksum are checked by :class:`hardware.r30x.FrameParser`;
an empty read is "nothing yet", never data. Every confirmation code becomes either a typed result
(``Match`` -> :class:`MatchResult`, ``Search`` -> :class:`SearchHit` or None) or a
:class:`SensorError` subclass with a stable ``.code`` ("no_finger", "too_wet", ...).

The module does not report its image size, so the driver learns it from the upload length
(36,864 bytes: 256x288 R30x; 18,432 bytes: 192x192 R503 at 508 dpi) unless a
:class:`~hardware.r30x.SensorGeometry` is given. Packet size comes from ReadSysPara.

Error messages never contain image or template bytes or passwords.

One caller at a time: the protocol is half duplex and has no sequence numbers. For the same reason
a reply that arrives after its frame timeout is indistinguishable from the next command's reply;
the driver discards stale input before every command, so wait a moment (or re-probe) after a
DeviceTimeout before trusting the line again.

The driver sets the port's read timeout to 50 ms (short blocking reads; the per-frame deadline is
its own). :func:`open_sensor` opens a serial URL, probes the baud rate and verifies the password.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from hardware import r30x
from hardware.errors import DeviceError, DeviceTimeout, DeviceUnavailable, ProtocolError
from hardware.ports import SerialPort, open_port, port_errors
from hardware.r30x import Instruction, PacketId

DEFAULT_DPI = 500
PROBE_BAUD_RATES = (57600, 115200, 9600, 19200, 38400, 76800)
_READ_CHUNK = 4096

_MAX_UPLOAD_BYTES = 1 << 20   # far above any real sensor image; stops an endless data stream


# -- typed errors -------------------------------------------------------------------------------
class SensorError(DeviceError):
    """The module answered with a confirmation code other than OK. ``.code`` names it stably."""

    code = "sensor_error"
    confirmation: int | None = None

    def __init__(self, message: str | None = None, confirmation: int | None = None):
        if confirmation is not None:
            self.confirmation = confirmation
        if message is None:
            message = (r30x.confirmation(self.confirmation).description if self.confirmation is not None
                       else self.code.replace("_", " "))
        super().__init__(message)


def _sensor_error(value: int, class_name: str) -> type[SensorError]:
    entry = r30x.CONFIRMATIONS[value]
    return type(class_name, (SensorError,), {
        "code": entry.name, "confirmation": value, "__doc__": f"Confirmation 0x{value:02X}: {entry.description}.",
        "__module__": __name__})


# One class per confirmation code, named for what it means to the caller.
ReceiveError = _sensor_error(0x01, "ReceiveError")
NoFinger = _sensor_error(0x02, "NoFinger")
CaptureFailed = _sensor_error(0x03, "CaptureFailed")
TooDry = _sensor_error(0x04, "TooDry")
TooWet = _sensor_error(0x05, "TooWet")
ImageMessy = _sensor_error(0x06, "ImageMessy")
TooFewFeatures = _sensor_error(0x07, "TooFewFeatures")
NoMatch = _sensor_error(0x08, "NoMatch")
NotFound = _sensor_error(0x09, "NotFound")
CombineFailed = _sensor_error(0x0A, "CombineFailed")
PageOutOfRange = _sensor_error(0x0B, "PageOutOfRange")
BadTemplate = _sensor_error(0x0C, "BadTemplate")
UploadFeatureFailed = _sensor_error(0x0D, "UploadFeatureFailed")
CannotReceivePackets = _sensor_error(0x0E, "CannotReceivePackets")
UploadImageFailed = _sensor_error(0x0F, "UploadImageFailed")
DeleteFailed = _sensor_error(0x10, "DeleteFailed")
ClearFailed = _sensor_error(0x11, "ClearFailed")
WrongPassword = _sensor_error(0x13, "WrongPassword")
NoValidImage = _sensor_error(0x15, "NoValidImage")
ResidualFinger = _sensor_error(0x17, "ResidualFinger")
FlashError = _sensor_error(0x18, "FlashError")
BadRegister = _sensor_error(0x1A, "BadRegister")
LibraryFull = _sensor_error(0x1F, "LibraryFull")
WrongAddress = _sensor_error(0x20, "WrongAddress")
PasswordNotVerified = _sensor_error(0x21, "PasswordNotVerified")

SENSOR_ERRORS: dict[int, type[SensorError]] = {
    cls.confirmation: cls for cls in (
        ReceiveError, NoFinger, CaptureFailed, TooDry, TooWet, ImageMessy, TooFewFeatures, NoMatch,
        NotFound, CombineFailed, PageOutOfRange, BadTemplate, UploadFeatureFailed, CannotReceivePackets,
        UploadImageFailed, DeleteFailed, ClearFailed, WrongPassword, NoValidImage, ResidualFinger,
        FlashError, BadRegister, LibraryFull, WrongAddress, PasswordNotVerified)}


class UnknownConfirmation(SensorError):
    """The module answered with a confirmation code that is not in the manuals."""

    code = "unknown_confirmation"


class LedUnsupported(SensorError):
    """The module refused the Aura LED command (only the R503 family has it)."""

    code = "led_unsupported"


def error_for(confirmation: int) -> SensorError:
    """The typed error for a non-OK confirmation code."""
    cls = SENSOR_ERRORS.get(confirmation)
    if cls is None:
        return UnknownConfirmation(f"unknown confirmation code 0x{confirmation:02X}", confirmation)
    return cls()


# -- results ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MatchResult:
    matched: bool
    score: int


@dataclass(frozen=True)
class SearchHit:
    page: int
    score: int


LED_MODES = {"breathing": 1, "flashing": 2, "on": 3, "off": 4, "gradual_on": 5, "gradual_off": 6}
LED_COLOURS = {"red": 1, "blue": 2, "purple": 3, "green": 4, "yellow": 5, "cyan": 6, "white": 7}


class FingerprintSensor:
    """One fingerprint module on ``port``.

    ``frame_timeout`` bounds the wait for each frame; ``retries`` is how many times a single-frame
    command is re-sent after a corrupted reply (uploads are not retried: the caller decides).
    ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(self, port: SerialPort, address: int = r30x.DEFAULT_ADDRESS, password: int = r30x.DEFAULT_PASSWORD,
                 *, frame_timeout: float = 2.0, retries: int = 1, geometry: r30x.SensorGeometry | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.port = port
        self.address = address
        self.password = password
        self.frame_timeout = frame_timeout
        self.retries = retries
        self.geometry = geometry
        self.system_parameters: r30x.SystemParameters | None = None
        self._clock = clock
        self._sleep = sleep
        self._parser = r30x.FrameParser(address)
        # short blocking reads let the driver enforce its own per-frame deadline without spinning
        # (None would block forever, 0 would busy-loop)
        current = getattr(port, "timeout", None)
        if current is None or not 0 < current <= 0.05:
            port.timeout = 0.05

    @property
    def dpi(self) -> int:
        return self.geometry.dpi if self.geometry is not None else DEFAULT_DPI

    # -- port I/O -------------------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        with port_errors("fingerprint sensor", "write"):
            self.port.write(data)
            flush = getattr(self.port, "flush", None)
            if flush is not None:
                flush()

    def _read_some(self) -> bytes:
        with port_errors("fingerprint sensor", "read"):
            # everything already waiting, or exactly what completes the frame: either way a
            # blocking read returns as soon as the bytes are there
            waiting = getattr(self.port, "in_waiting", 0) or 0
            return self.port.read(min(max(waiting, self._parser.wanted), _READ_CHUNK))

    def _discard_input(self) -> None:
        """Forget stale bytes (a late reply to an earlier command) before a new exchange."""
        self._parser.reset()
        reset = getattr(self.port, "reset_input_buffer", None)
        if reset is not None:
            with port_errors("fingerprint sensor", "input reset"):
                reset()

    def _read_frame(self, what: str) -> r30x.Frame:
        deadline = self._clock() + self.frame_timeout
        while True:
            frame = self._parser.next_frame()
            if frame is not None:
                return frame
            if self._clock() >= deadline:
                salvaged = self._salvage()
                if salvaged is not None:
                    return salvaged
                raise DeviceTimeout(f"fingerprint sensor: no complete {what} within {self.frame_timeout:g} s")
            chunk = self._read_some()
            if chunk:
                self._parser.feed(chunk)

    def _salvage(self) -> r30x.Frame | None:
        """At the deadline: a frame may sit behind a phantom header from line noise whose length
        swallowed it. Drop incomplete headers one by one and look for a whole frame after them."""
        while self._parser.abandon_partial():
            while True:
                try:
                    frame = self._parser.next_frame()
                    break
                except r30x.FrameError:
                    continue
            if frame is not None:
                return frame
        return None

    def _read_ack(self, instruction: int) -> tuple[int, bytes]:
        frame = self._read_frame("acknowledgement")
        if frame.pid != PacketId.ACK or not frame.payload:
            raise ProtocolError(f"expected an acknowledgement to instruction 0x{instruction:02X}, "
                                f"got packet id 0x{frame.pid:02X}")
        return frame.payload[0], frame.payload[1:]

    def _exchange(self, instruction: int, params: bytes = b"") -> tuple[int, bytes]:
        """Send one command, return (confirmation code, result bytes); re-send on a corrupted reply."""
        for attempt in range(self.retries + 1):
            self._discard_input()
            self._write(r30x.encode_command(instruction, params, self.address))
            try:
                return self._read_ack(instruction)
            except r30x.FrameError:
                if attempt == self.retries:
                    raise
        raise AssertionError("unreachable")

    def _command(self, instruction: int, params: bytes = b"", result_len: int = 0) -> bytes:
        """Send a command that must succeed; raise its typed error otherwise."""
        code, results = self._exchange(instruction, params)
        if code != r30x.OK:
            raise error_for(code)
        if len(results) < result_len:
            raise ProtocolError(f"acknowledgement to instruction 0x{instruction:02X} carries "
                                f"{len(results)} result bytes, expected {result_len}")
        return results

    def _read_data(self, packet_size: int) -> bytes:
        """Data packets up to and including the last (``08``) one, all kept (a short last one too)."""
        data = bytearray()
        while True:
            frame = self._read_frame("data packet")
            if not frame.is_data:
                raise ProtocolError(f"expected a data packet, got packet id 0x{frame.pid:02X}")
            if len(frame.payload) > packet_size or (frame.pid == PacketId.DATA and len(frame.payload) != packet_size):
                raise ProtocolError(f"data packet of {len(frame.payload)} bytes; the module's packet size is {packet_size}")
            data += frame.payload
            if frame.pid == PacketId.END_DATA:
                return bytes(data)
            if len(data) > _MAX_UPLOAD_BYTES:
                raise ProtocolError("data stream longer than any fingerprint image")

    def _upload(self, instruction: int, params: bytes = b"") -> bytes:
        # the packet size must be known before the stream starts: no command can go mid-stream
        packet_size = (self.system_parameters or self.read_system_parameters()).packet_size
        self._discard_input()
        self._write(r30x.encode_command(instruction, params, self.address))
        code, _ = self._read_ack(instruction)
        if code != r30x.OK:
            raise error_for(code)
        return self._read_data(packet_size)

    # -- commands -------------------------------------------------------------------------------
    def ping(self) -> int:
        """Send VfyPwd and return the confirmation code, whatever it is: any reply means 'alive'."""
        code, _ = self._exchange(Instruction.VFY_PWD, self.password.to_bytes(4, "big"))
        return code

    def verify_password(self) -> None:
        self._command(Instruction.VFY_PWD, self.password.to_bytes(4, "big"))

    def read_system_parameters(self) -> r30x.SystemParameters:
        results = self._command(Instruction.READ_SYS_PARA, result_len=16)
        self.system_parameters = r30x.SystemParameters.from_bytes(results[:16])
        return self.system_parameters

    def set_system_parameter(self, register: r30x.SystemRegister, value: int) -> None:
        self._command(Instruction.SET_SYS_PARA, bytes([int(register), value]))
        self.system_parameters = None    # re-read before the next upload
        if register == r30x.SystemRegister.BAUD and hasattr(self.port, "baudrate"):
            # the module acknowledged at the old rate and now listens at the new one
            self.port.baudrate = value * r30x.BAUD_UNIT

    def template_count(self) -> int:
        return int.from_bytes(self._command(Instruction.TEMPLATE_NUM, result_len=2)[:2], "big")

    def generate_image(self) -> None:
        """GenImg: capture the finger into the module's image buffer (NoFinger when there is none)."""
        self._command(Instruction.GEN_IMG)

    def upload_image(self) -> np.ndarray:
        """UpImage: the image buffer as a 2-D uint8 array (4-bit pixels rebuilt as nibble * 17)."""
        data = self._upload(Instruction.UP_IMAGE)
        geometry = self.geometry or r30x.geometry_for_upload(len(data))
        if geometry is None:
            raise ProtocolError(f"the module uploaded an image of {len(data)} bytes, a size this driver does not "
                                "know; pass geometry=SensorGeometry(...)")
        if geometry.image_bytes != len(data):
            raise ProtocolError(f"image upload incomplete: {len(data)} of {geometry.image_bytes} bytes")
        self.geometry = geometry
        return r30x.unpack_image(data, geometry.width, geometry.height)

    def capture_image(self, timeout: float = 10.0, poll_interval: float = 0.1) -> np.ndarray:
        """Poll GenImg until a finger is on the sensor (NoFinger after ``timeout`` s), then upload it."""
        deadline = self._clock() + timeout
        while True:
            try:
                self.generate_image()
                break
            except NoFinger:
                if self._clock() >= deadline:
                    raise NoFinger(f"no finger on the sensor within {timeout:g} s") from None
                self._sleep(poll_interval)
        return self.upload_image()

    def image_to_template(self, buffer: int = 1) -> None:
        """Img2Tz: extract the module's own template into char buffer 1 or 2."""
        self._command(Instruction.IMG2TZ, bytes([_char_buffer(buffer)]))

    def match(self) -> MatchResult:
        """Match char buffers 1 and 2 on the module."""
        code, results = self._exchange(Instruction.MATCH)
        if code == 0x08:
            return MatchResult(False, int.from_bytes(results[:2], "big"))
        if code != r30x.OK:
            raise error_for(code)
        if len(results) < 2:
            raise ProtocolError("Match acknowledgement carries no score")
        return MatchResult(True, int.from_bytes(results[:2], "big"))

    def search(self, buffer: int = 1, start: int = 0, count: int | None = None) -> SearchHit | None:
        """Search the module's library for char buffer ``buffer``; None when nothing matches."""
        if count is None:
            count = (self.system_parameters or self.read_system_parameters()).library_size - start
        code, results = self._exchange(Instruction.SEARCH, bytes([_char_buffer(buffer)])
                                       + start.to_bytes(2, "big") + count.to_bytes(2, "big"))
        if code == 0x09:
            return None
        if code != r30x.OK:
            raise error_for(code)
        if len(results) < 4:
            raise ProtocolError("Search acknowledgement carries no page and score")
        return SearchHit(int.from_bytes(results[0:2], "big"), int.from_bytes(results[2:4], "big"))

    def register_model(self) -> None:
        """RegModel: combine char buffers 1 and 2 into one template."""
        self._command(Instruction.REG_MODEL)

    def store(self, page: int, buffer: int = 1) -> None:
        self._command(Instruction.STORE, bytes([_char_buffer(buffer)]) + page.to_bytes(2, "big"))

    def load(self, page: int, buffer: int = 1) -> None:
        self._command(Instruction.LOAD_CHAR, bytes([_char_buffer(buffer)]) + page.to_bytes(2, "big"))

    def upload_template(self, buffer: int = 1) -> bytes:
        """UpChar: the module's proprietary template (only useful to move it to another module)."""
        return self._upload(Instruction.UP_CHAR, bytes([_char_buffer(buffer)]))

    def _download(self, instruction: int, params: bytes, data: bytes) -> None:
        packet_size = (self.system_parameters or self.read_system_parameters()).packet_size
        self._command(instruction, params)
        # the module acknowledges the command, then takes the data packets without answering
        self._write(r30x.encode_data(data, packet_size, self.address))

    def download_template(self, template: bytes, buffer: int = 1) -> None:
        """DownChar: put a template (from upload_template) into char buffer 1 or 2."""
        self._download(Instruction.DOWN_CHAR, bytes([_char_buffer(buffer)]), template)

    def download_image(self, image: np.ndarray) -> None:
        """DownImage: put an image of the sensor's size into the module's image buffer
        (4-bit pixels travel, so the module holds the quantised image)."""
        if self.geometry is not None and image.shape != (self.geometry.height, self.geometry.width):
            raise ValueError(f"image must be {self.geometry.height}x{self.geometry.width} for this sensor")
        self._download(Instruction.DOWN_IMAGE, b"", r30x.pack_image(image))

    def delete(self, page: int, count: int = 1) -> None:
        self._command(Instruction.DELETE_CHAR, page.to_bytes(2, "big") + count.to_bytes(2, "big"))

    def empty(self) -> None:
        self._command(Instruction.EMPTY)

    def led(self, mode: str = "breathing", colour: str = "blue", speed: int = 128, count: int = 0) -> None:
        """Aura LED (R503). Raises LedUnsupported on modules without it."""
        if mode not in LED_MODES or colour not in LED_COLOURS:
            raise ValueError(f"LED mode must be one of {sorted(LED_MODES)} and colour one of {sorted(LED_COLOURS)}")
        code, _ = self._exchange(Instruction.AURA_LED, bytes([LED_MODES[mode], speed & 0xFF,
                                                              LED_COLOURS[colour], count & 0xFF]))
        if code == 0x01:
            raise LedUnsupported("the module refused the Aura LED command (not an R503?)", code)
        if code != r30x.OK:
            raise error_for(code)

    def soft_reset(self) -> None:
        """SoftReset (R503): wait for the module's 0x55 'ready' byte after the acknowledgement."""
        self._command(Instruction.SOFT_RESET)
        deadline = self._clock() + self.frame_timeout
        while True:
            byte = self._parser.take(1)
            if byte:
                if byte != bytes([r30x.SOFT_RESET_HANDSHAKE]):
                    raise ProtocolError(f"expected the 0x55 ready byte after SoftReset, got 0x{byte[0]:02X}")
                return
            if self._clock() >= deadline:
                raise DeviceTimeout(f"no ready byte within {self.frame_timeout:g} s after SoftReset")
            self._parser.feed(self._read_some())


def _char_buffer(buffer: int) -> int:
    if buffer not in (1, 2):
        raise ValueError("char buffer must be 1 or 2")
    return buffer


def probe_baud(port: SerialPort, rates: Sequence[int] = PROBE_BAUD_RATES, address: int = r30x.DEFAULT_ADDRESS,
               password: int = r30x.DEFAULT_PASSWORD, frame_timeout: float = 0.3) -> int:
    """Find the module's baud rate: set each rate on ``port`` and send VfyPwd until a valid reply comes.

    Any well-formed acknowledgement counts (even "wrong password": the module is alive at that rate).
    Leaves the port at the rate found; raises DeviceUnavailable when no rate answers.
    """
    sensor = FingerprintSensor(port, address, password, frame_timeout=frame_timeout, retries=0)
    for rate in rates:
        port.baudrate = rate          # type: ignore[attr-defined]
        try:
            sensor.ping()
            return rate
        except (DeviceTimeout, ProtocolError):
            continue
    raise DeviceUnavailable(f"no fingerprint module answered at {', '.join(map(str, rates))} baud")


def open_sensor(url: str, baud: int | None = None, *, rates: Sequence[int] = PROBE_BAUD_RATES,
                address: int = r30x.DEFAULT_ADDRESS, password: int = r30x.DEFAULT_PASSWORD,
                **options) -> FingerprintSensor:
    """Open a serial URL (device path, PTY path, ``socket://``, ``loop://``), find the baud rate
    unless given, verify the password and return the ready sensor."""
    port = open_port(url, "fingerprint sensor", baudrate=baud or rates[0], timeout=0.05)
    try:
        if baud is None:
            probe_baud(port, rates, address, password)
        sensor = FingerprintSensor(port, address, password, **options)
        sensor.verify_password()
        sensor.read_system_parameters()
    except DeviceError:
        port.close()
        raise
    return sensor
