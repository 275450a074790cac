"""A fingerprint module (R307-style R30x or R503) that speaks the real UART protocol.

:class:`FingerprintModule` is a pure device model (``receive(bytes) -> bytes``) with the module's
state: the image buffer, char buffers 1 and 2, a flash library, password, address, packet size,
baud and security level. Serve it with :class:`simulators.transport.PtyDevice` and any R30x client
talks to it as to a real module.

Pointing any R30x client at the simulator
------------------------------------------

::

    from simulators.fingerprint_sensor import FingerprintModule, serve_on_pty
    module = FingerprintModule("r307")            # or "r503" (192x192, 508 dpi, aura LED)
    device = serve_on_pty(module)                 # a real pseudo-terminal; device.path is e.g. /dev/pts/7
    module.place_finger(gray_uint8_image)         # any size; see fit_to_sensor()
    # ... now open device.path at 57600 baud 8N1 in any client, e.g. pyserial, the Adafruit
    # fingerprint library, or the kiosk's hardware.fingerprint_sensor.FingerprintSensor.
    device.close()

``kiosk-sim start`` does this for you and prints the path as ``devices.fingerprint.path``.
``serve_on_pty`` also lets the module see the baud rate the client set on the PTY: if it differs
from the module's (57600 by default), the module ignores the client's bytes as a real one would
read garbage, so baud probing behaves as on hardware.

What is simulated and what is not
---------------------------------

- Images: ``place_finger`` fits the image to the sensor (see :func:`fit_to_sensor`) and quantises
  it to 4 bits, as the real sensor's UART upload does; UpImage sends it back exactly.
- Templates: the real Img2Tz/UpChar template format is proprietary. The simulator's char buffers
  hold a **placeholder**: 512 deterministic bytes (a SHAKE-256 digest of the image buffer behind a
  ``SIMT`` marker). Match and Search therefore only recognise the *same image*, RegModel keeps
  char buffer 1's placeholder, and real matching happens on the host from the uploaded image.
- DownChar / DownImage: after the OK acknowledgement the module takes the host's data packets
  (no acknowledgement for them, as on hardware) and keeps the data when the last packet brings it
  to exactly 512 bytes (a template) or the sensor's image size; anything else is dropped.
- Not implemented: PortControl and unknown instructions answer ``0x01``, like a module without
  them. Aura LED, SoftReset and GetEcho exist only on the ``r503`` variant.
- Device faults (``inject``): ``wrong_password`` (VfyPwd fails, other commands then answer
  "password not verified"), ``sensor_error`` (``code`` one of ``capture_failed``, ``too_dry``,
  ``too_wet``, ``image_messy``, ``too_few_features``, ``no_valid_image``; ``stage`` ``genimg`` or
  ``img2tz``), ``no_finger`` (the finger is not seen), ``upload_stall`` (``after_packets``: the
  module stops sending an image or template after that many data packets). Transport faults
  (unplug, garbage, corrupted or dropped bytes, slow replies) belong to the transport.
"""
from __future__ import annotations

import hashlib
import os
import termios
import threading
import time
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from hardware import r30x
from hardware.r30x import Instruction, PacketId, SystemRegister
from simulators.transport import PtyDevice

TEMPLATE_BYTES = 512
_TEMPLATE_MARKER = b"SIMT"
_MATCH_SCORE = 200           # score reported for identical placeholders


@dataclass(frozen=True)
class Variant:
    name: str
    geometry: r30x.SensorGeometry
    library_size: int
    system_id: int
    has_aura_led: bool


VARIANTS = {
    "r307": Variant("r307", r30x.R30X_GEOMETRY, library_size=1000, system_id=0x0000, has_aura_led=False),
    "r503": Variant("r503", r30x.R503_GEOMETRY, library_size=200, system_id=0x0000, has_aura_led=True),
}

SENSOR_ERROR_CODES = ("capture_failed", "too_dry", "too_wet", "image_messy", "too_few_features",
                      "no_valid_image")


@dataclass
class ModuleFaults:
    wrong_password: bool = False
    no_finger: bool = False
    genimg_error: int | None = None        # confirmation code GenImg answers with a finger present
    img2tz_error: int | None = None        # confirmation code Img2Tz answers
    upload_stall_after: int | None = None  # data packets sent before an upload stops


@dataclass(frozen=True)
class Placement:
    """How :func:`fit_to_sensor` mapped the source image onto the sensor."""

    scale: float
    # top-left of the sensor window in the (scaled) source image; negative = white padding
    top: int
    left: int


def _finger_centre(image: np.ndarray) -> tuple[int, int]:
    """Row, column of the finger: the centroid of blocks with ridge contrast (image centre if none)."""
    block = 16
    h, w = image.shape
    bh, bw = h // block, w // block
    if bh == 0 or bw == 0:
        return h // 2, w // 2
    blocks = image[:bh * block, :bw * block].astype(np.float32).reshape(bh, block, bw, block)
    contrast = blocks.std(axis=(1, 3))
    mask = contrast > max(8.0, 0.5 * float(contrast.max()))
    if not mask.any():
        return h // 2, w // 2
    rows, cols = np.nonzero(mask)
    return int(rows.mean() * block + block / 2), int(cols.mean() * block + block / 2)


def fit_to_sensor(image: np.ndarray, geometry: r30x.SensorGeometry,
                  source_dpi: float | None = None) -> tuple[np.ndarray, Placement]:
    """Put a greyscale finger image of any size on the sensor without distorting ridge geometry.

    The host matcher works on the uploaded image, so ridge spacing must survive: the image is
    scaled only to convert resolution (``source_dpi`` differs from the sensor's by more than 3 %)
    or, when its resolution is unknown, only when it is far larger than the sensor (more than
    1.5x in both directions: a photo, not a sensor image), just enough to cover the sensor. Then a
    sensor-sized window is cut around the finger's centre; where the image is smaller the rest is
    white, like an empty platen. Returns the 8-bit image (not yet quantised) and the placement.
    """
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if image.ndim != 2 or image.size == 0:
        raise ValueError("finger image must be a non-empty 2-D greyscale array")
    image = image.astype(np.uint8, copy=False)
    h, w = image.shape
    sh, sw = geometry.height, geometry.width
    scale = 1.0
    if source_dpi is not None:
        ratio = geometry.dpi / float(source_dpi)
        if abs(ratio - 1.0) > 0.03:
            scale = ratio
    elif h > 1.5 * sh and w > 1.5 * sw:
        scale = max(sh / h, sw / w)
    if scale != 1.0:
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=interpolation)
        h, w = image.shape
    cy, cx = _finger_centre(image)
    # window top-left: centred on the finger, clamped inside the image when the image is larger,
    # centred (padding on both sides) when it is smaller
    top = min(max(cy - sh // 2, 0), h - sh) if h >= sh else -((sh - h) // 2)
    left = min(max(cx - sw // 2, 0), w - sw) if w >= sw else -((sw - w) // 2)
    out = np.full((sh, sw), 255, dtype=np.uint8)
    src_top, src_left = max(top, 0), max(left, 0)
    dst_top, dst_left = max(-top, 0), max(-left, 0)
    rows, cols = min(sh - dst_top, h - src_top), min(sw - dst_left, w - src_left)
    out[dst_top:dst_top + rows, dst_left:dst_left + cols] = image[src_top:src_top + rows, src_left:src_left + cols]
    return out, Placement(scale, top, left)


def placeholder_template(image: np.ndarray) -> bytes:
    """The simulator's stand-in for the proprietary 512-byte module template: deterministic, not matchable."""
    digest = hashlib.shake_256(image.shape[0].to_bytes(2, "big") + image.shape[1].to_bytes(2, "big")
                               + image.tobytes()).digest(TEMPLATE_BYTES - len(_TEMPLATE_MARKER))
    return _TEMPLATE_MARKER + digest


@dataclass
class LedState:
    control: int = 4     # 4 = always off
    speed: int = 0
    colour: int = 0
    count: int = 0


class FingerprintModule:
    """The device model. ``receive`` takes host bytes and returns the module's answer."""

    emit: Callable[[bytes], None]

    def __init__(self, variant: str | Variant = "r307", *, address: int = r30x.DEFAULT_ADDRESS,
                 password: int = r30x.DEFAULT_PASSWORD, baud: int = 57600, packet_size: int = 128,
                 security_level: int = 3, pace: bool = False, sleep: Callable[[float], None] = time.sleep):
        if isinstance(variant, str):
            if variant not in VARIANTS:
                raise ValueError(f"unknown variant {variant!r}; choose from {sorted(VARIANTS)}")
            variant = VARIANTS[variant]
        self.variant = variant
        self.address = address
        self.password = password
        self.baud = baud
        self.packet_size = packet_size
        self.security_level = security_level
        # pace=True emits replies at the module's baud rate (10 bits a byte), for realistic timing
        self.pace = pace
        self._sleep = sleep
        self.faults = ModuleFaults()
        self.led = LedState()
        self.library: dict[int, bytes] = {}
        self.char_buffers: dict[int, bytes | None] = {1: None, 2: None}
        self.image_buffer: np.ndarray | None = None
        self.finger: np.ndarray | None = None
        self.password_verified = False
        # returns the baud rate the host set on the line, or None when unknown (see serve_on_pty)
        self.line_baud: Callable[[], int | None] = lambda: None
        self.emit = lambda data: None
        self._parser = r30x.FrameParser(address=None)
        self._lock = threading.RLock()
        # a DownChar/DownImage in progress: ("char", buffer) or ("image", 0), and the data so far
        self._download: tuple[str, int] | None = None
        self._download_data = bytearray()

    # -- tester controls ------------------------------------------------------------------------
    @property
    def geometry(self) -> r30x.SensorGeometry:
        return self.variant.geometry

    def place_finger(self, image: np.ndarray, source_dpi: float | None = None) -> Placement:
        """Put a finger on the sensor: fitted to the sensor size and quantised to 4 bits."""
        fitted, placement = fit_to_sensor(image, self.geometry, source_dpi)
        with self._lock:
            self.finger = r30x.quantise(fitted)
        return placement

    def lift_finger(self) -> None:
        with self._lock:
            self.finger = None

    def inject(self, fault: str, **params) -> None:
        with self._lock:
            if fault == "wrong_password":
                self.faults.wrong_password = True
                self.password_verified = False
            elif fault == "no_finger":
                self.faults.no_finger = True
            elif fault == "sensor_error":
                name = params.get("code", "image_messy")
                if name not in SENSOR_ERROR_CODES:
                    raise ValueError(f"sensor_error code must be one of {SENSOR_ERROR_CODES}")
                value = r30x.CONFIRMATION_BY_NAME[name].value
                stage = params.get("stage", "img2tz")
                if stage == "genimg":
                    self.faults.genimg_error = value
                elif stage == "img2tz":
                    self.faults.img2tz_error = value
                else:
                    raise ValueError("sensor_error stage must be 'genimg' or 'img2tz'")
            elif fault == "upload_stall":
                self.faults.upload_stall_after = int(params.get("after_packets", 10))
            else:
                raise ValueError(f"unknown fingerprint fault {fault!r}")

    def clear_faults(self) -> None:
        with self._lock:
            self.faults = ModuleFaults()

    def state(self) -> dict:
        """A JSON-friendly summary for a control API (no images or templates)."""
        with self._lock:
            return {"variant": self.variant.name, "finger_present": self.finger is not None,
                    "templates": len(self.library), "baud": self.baud, "packet_size": self.packet_size,
                    "led": {"control": self.led.control, "colour": self.led.colour},
                    "faults": {k: v for k, v in vars(self.faults).items() if v not in (None, False)}}

    # -- wire -----------------------------------------------------------------------------------
    def receive(self, data: bytes) -> bytes:
        line = self.line_baud()
        if line is not None and line != self.baud:
            return b""           # at the wrong baud rate the module sees only noise
        with self._lock:
            self._parser.feed(data)
            out = bytearray()
            while True:
                try:
                    frame = self._parser.next_frame()
                except r30x.FrameError:
                    out += self._ack(0x01)          # "error when receiving package"
                    continue
                if frame is None:
                    break
                if frame.address != self.address:
                    continue                         # not for us: ignore it
                if frame.is_data:
                    self._receive_data(frame)
                elif frame.pid == PacketId.COMMAND and frame.payload:
                    self._download = None            # a command ends any download in progress
                    out += self._execute(frame.payload[0], frame.payload[1:])
        if self.pace and out:
            self._emit_paced(bytes(out))
            return b""
        return bytes(out)

    def _receive_data(self, frame: r30x.Frame) -> None:
        if self._download is None:
            return                                   # data nobody asked for
        self._download_data += frame.payload
        if frame.pid != PacketId.END_DATA:
            return
        (kind, buffer), data = self._download, bytes(self._download_data)
        self._download = None
        if kind == "char" and len(data) == TEMPLATE_BYTES:
            self.char_buffers[buffer] = data
        elif kind == "image" and len(data) == self.geometry.image_bytes:
            self.image_buffer = r30x.unpack_image(data, self.geometry.width, self.geometry.height)

    def _start_download(self, kind: str, buffer: int) -> bytes:
        self._download, self._download_data = (kind, buffer), bytearray()
        return self._ack(0x00)

    def _emit_paced(self, data: bytes) -> None:
        seconds_per_byte = 10.0 / self.baud
        chunk = 256
        for i in range(0, len(data), chunk):
            piece = data[i:i + chunk]
            self._sleep(len(piece) * seconds_per_byte)
            self.emit(piece)

    def _ack(self, code: int, results: bytes = b"") -> bytes:
        return r30x.encode_ack(code, results, self.address)

    def _data(self, data: bytes) -> bytes:
        stream = r30x.encode_data(data, self.packet_size, self.address)
        if self.faults.upload_stall_after is not None:
            frame_len = 11 + self.packet_size
            stream = stream[:self.faults.upload_stall_after * frame_len]
        return stream

    # -- instructions ---------------------------------------------------------------------------
    def _execute(self, instruction: int, params: bytes) -> bytes:
        if instruction == Instruction.VFY_PWD:
            return self._vfy_pwd(params)
        if self.faults.wrong_password or (self.password != r30x.DEFAULT_PASSWORD and not self.password_verified):
            return self._ack(0x21)
        handler = self._handlers().get(instruction)
        if handler is None:
            return self._ack(0x01)
        try:
            return handler(params)
        except (IndexError, ValueError):
            return self._ack(0x01)     # parameters too short or malformed

    def _handlers(self) -> dict[int, Callable[[bytes], bytes]]:
        handlers = {
            Instruction.GEN_IMG: self._gen_img, Instruction.IMG2TZ: self._img2tz,
            Instruction.MATCH: self._match, Instruction.SEARCH: self._search,
            Instruction.REG_MODEL: self._reg_model, Instruction.STORE: self._store,
            Instruction.LOAD_CHAR: self._load_char, Instruction.UP_CHAR: self._up_char,
            Instruction.UP_IMAGE: self._up_image, Instruction.DOWN_CHAR: self._down_char,
            Instruction.DOWN_IMAGE: self._down_image, Instruction.DELETE_CHAR: self._delete_char,
            Instruction.EMPTY: self._empty, Instruction.SET_SYS_PARA: self._set_sys_para,
            Instruction.READ_SYS_PARA: self._read_sys_para, Instruction.SET_PWD: self._set_pwd,
            Instruction.SET_ADDR: self._set_addr, Instruction.TEMPLATE_NUM: self._template_num,
            Instruction.READ_INDEX_TABLE: self._read_index_table,
        }
        if self.variant.has_aura_led:
            handlers.update({Instruction.AURA_LED: self._aura_led, Instruction.SOFT_RESET: self._soft_reset,
                             Instruction.GET_ECHO: self._get_echo})
        return handlers

    def _vfy_pwd(self, params: bytes) -> bytes:
        if len(params) != 4:
            return self._ack(0x01)
        ok = not self.faults.wrong_password and int.from_bytes(params, "big") == self.password
        self.password_verified = ok
        return self._ack(0x00 if ok else 0x13)

    def _gen_img(self, params: bytes) -> bytes:
        if self.finger is None or self.faults.no_finger:
            return self._ack(0x02)
        if self.faults.genimg_error is not None:
            return self._ack(self.faults.genimg_error)
        self.image_buffer = self.finger.copy()
        return self._ack(0x00)

    def _buffer_id(self, value: int) -> int:
        if value not in (1, 2):
            raise ValueError("char buffer must be 1 or 2")
        return value

    def _img2tz(self, params: bytes) -> bytes:
        buffer = self._buffer_id(params[0])
        if self.image_buffer is None:
            return self._ack(0x15)
        if self.faults.img2tz_error is not None:
            return self._ack(self.faults.img2tz_error)
        self.char_buffers[buffer] = placeholder_template(self.image_buffer)
        return self._ack(0x00)

    def _match(self, params: bytes) -> bytes:
        a, b = self.char_buffers[1], self.char_buffers[2]
        if a is None or b is None:
            return self._ack(0x0C)
        if a == b:
            return self._ack(0x00, _MATCH_SCORE.to_bytes(2, "big"))
        return self._ack(0x08, b"\x00\x00")

    def _search(self, params: bytes) -> bytes:
        if len(params) < 5:
            raise ValueError("Search needs buffer, start and count")
        buffer = self._buffer_id(params[0])
        start = int.from_bytes(params[1:3], "big")
        count = int.from_bytes(params[3:5], "big")
        probe = self.char_buffers[buffer]
        if probe is None:
            return self._ack(0x0C)
        for page in range(start, min(start + count, self.variant.library_size)):
            if self.library.get(page) == probe:
                return self._ack(0x00, page.to_bytes(2, "big") + _MATCH_SCORE.to_bytes(2, "big"))
        return self._ack(0x09, b"\x00\x00\x00\x00")

    def _reg_model(self, params: bytes) -> bytes:
        if self.char_buffers[1] is None or self.char_buffers[2] is None:
            return self._ack(0x0A)
        self.char_buffers[2] = self.char_buffers[1]
        return self._ack(0x00)

    def _store(self, params: bytes) -> bytes:
        if len(params) < 3:
            raise ValueError("Store needs buffer and page")
        buffer = self._buffer_id(params[0])
        page = int.from_bytes(params[1:3], "big")
        if page >= self.variant.library_size:
            return self._ack(0x0B)
        if self.char_buffers[buffer] is None:
            return self._ack(0x0C)
        self.library[page] = self.char_buffers[buffer]
        return self._ack(0x00)

    def _load_char(self, params: bytes) -> bytes:
        if len(params) < 3:
            raise ValueError("LoadChar needs buffer and page")
        buffer = self._buffer_id(params[0])
        page = int.from_bytes(params[1:3], "big")
        if page >= self.variant.library_size:
            return self._ack(0x0B)
        if page not in self.library:
            return self._ack(0x0C)
        self.char_buffers[buffer] = self.library[page]
        return self._ack(0x00)

    def _up_char(self, params: bytes) -> bytes:
        template = self.char_buffers[self._buffer_id(params[0])]
        if template is None:
            return self._ack(0x0D)
        return self._ack(0x00) + self._data(template)

    def _up_image(self, params: bytes) -> bytes:
        if self.image_buffer is None:
            return self._ack(0x15)
        return self._ack(0x00) + self._data(r30x.pack_image(self.image_buffer))

    def _down_char(self, params: bytes) -> bytes:
        return self._start_download("char", self._buffer_id(params[0]))

    def _down_image(self, params: bytes) -> bytes:
        return self._start_download("image", 0)

    def _delete_char(self, params: bytes) -> bytes:
        if len(params) < 4:
            raise ValueError("DeleteChar needs page and count")
        page = int.from_bytes(params[0:2], "big")
        count = int.from_bytes(params[2:4], "big")
        if count == 0 or page + count > self.variant.library_size:
            return self._ack(0x10)
        for p in range(page, page + count):
            self.library.pop(p, None)
        return self._ack(0x00)

    def _empty(self, params: bytes) -> bytes:
        self.library.clear()
        return self._ack(0x00)

    def _set_sys_para(self, params: bytes) -> bytes:
        register, value = params[0], params[1]
        if register == SystemRegister.BAUD and 1 <= value <= 12:
            reply = self._ack(0x00)          # answered at the old rate, then the module switches
            self.baud = value * r30x.BAUD_UNIT
            return reply
        if register == SystemRegister.SECURITY_LEVEL and 1 <= value <= 5:
            self.security_level = value
            return self._ack(0x00)
        if register == SystemRegister.PACKET_SIZE and value < len(r30x.PACKET_SIZES):
            self.packet_size = r30x.PACKET_SIZES[value]
            return self._ack(0x00)
        return self._ack(0x1A)

    def system_parameters(self) -> r30x.SystemParameters:
        status = ((0x04 if self.password_verified else 0) | (0x08 if self.image_buffer is not None else 0))
        return r30x.SystemParameters(status=status, system_id=self.variant.system_id,
                                     library_size=self.variant.library_size,
                                     security_level=self.security_level, address=self.address,
                                     packet_size=self.packet_size, baud=self.baud)

    def _read_sys_para(self, params: bytes) -> bytes:
        return self._ack(0x00, self.system_parameters().to_bytes())

    def _set_pwd(self, params: bytes) -> bytes:
        if len(params) != 4:
            return self._ack(0x01)
        self.password = int.from_bytes(params, "big")
        return self._ack(0x00)

    def _set_addr(self, params: bytes) -> bytes:
        if len(params) != 4:
            return self._ack(0x01)
        self.address = int.from_bytes(params, "big")
        return self._ack(0x00)           # already from the new address, as the manuals describe

    def _template_num(self, params: bytes) -> bytes:
        return self._ack(0x00, len(self.library).to_bytes(2, "big"))

    def _read_index_table(self, params: bytes) -> bytes:
        index_page = params[0]
        bits = bytearray(32)
        for page in self.library:
            offset = page - index_page * 256
            if 0 <= offset < 256:
                bits[offset // 8] |= 1 << (offset % 8)
        return self._ack(0x00, bytes(bits))

    def _aura_led(self, params: bytes) -> bytes:
        control, speed, colour, count = params[0], params[1], params[2], params[3]
        if not 1 <= control <= 6:
            return self._ack(0x01)
        self.led = LedState(control, speed, colour, count)
        return self._ack(0x00)

    def _soft_reset(self, params: bytes) -> bytes:
        self.image_buffer = None
        self.char_buffers = {1: None, 2: None}
        self.password_verified = False
        return self._ack(0x00) + bytes([r30x.SOFT_RESET_HANDSHAKE])

    def _get_echo(self, params: bytes) -> bytes:
        return self._ack(r30x.SOFT_RESET_HANDSHAKE)


# -- serving ------------------------------------------------------------------------------------
_SPEEDS = {getattr(termios, name): int(name[1:]) for name in dir(termios)
           if name.startswith("B") and name[1:].isdigit()}


def pty_line_baud(path: str) -> int | None:
    """The baud rate the host configured on a PTY slave (None when it cannot be read)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        return _SPEEDS.get(termios.tcgetattr(fd)[5])
    except termios.error:
        return None
    finally:
        os.close(fd)


def serve_on_pty(module: FingerprintModule, name: str = "fingerprint") -> PtyDevice:
    """Serve ``module`` on a new pseudo-terminal, letting it see the host's baud setting."""
    device = PtyDevice(module, name)
    module.line_baud = lambda: pty_line_baud(device.path) if device.plugged else None
    return device
