"""Pure codec for the R30x / R503 / AS608 / ZFM-20 fingerprint module UART protocol.

Everything here is bytes in, values out: no ports, no clocks. The driver
(:mod:`hardware.fingerprint_sensor`) and the simulator (:mod:`simulators.fingerprint_sensor`) both
speak through it, so a frame the driver writes is, byte for byte, a frame the simulator parses.

Frame layout (big-endian)::

    EF 01 | address u32 | packet id u8 | length u16 | payload (length - 2 bytes) | checksum u16

``length`` counts the payload plus the two checksum bytes, and the checksum is
``(pid + len_hi + len_lo + sum(payload)) & 0xFFFF``. Packet ids: ``01`` command, ``02`` data with
more to follow, ``07`` acknowledgement, ``08`` last data packet.

Length limit: the manuals give 256 as the maximum length, but a module set to 256-byte data packets
sends 256 payload bytes (length 258), so the parser accepts payloads of up to 256 bytes.

:class:`FrameParser` is incremental: feed it whatever the port returned and pull frames. It hunts
for ``EF 01`` (skipping garbage), checks the packet id, the length limit, the address and the
checksum, and raises a :class:`FrameError` subclass for a bad frame after skipping past its header,
so the next call re-synchronises on the following ``EF 01``. Incomplete frames stay buffered; it is
the caller's job to give up after a per-frame timeout.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from hardware.errors import ProtocolError

HEADER = b"\xef\x01"
DEFAULT_ADDRESS = 0xFFFFFFFF
DEFAULT_PASSWORD = 0x00000000
MAX_PAYLOAD = 256                      # largest data packet (packet-size code 3)
_PREFIX_LEN = 9                        # header 2 + address 4 + pid 1 + length 2
_CHECKSUM_LEN = 2

PACKET_SIZES = (32, 64, 128, 256)      # ReadSysPara packet-size code -> data bytes per packet
BAUD_UNIT = 9600                       # ReadSysPara / SetSysPara baud register holds rate / 9600


class PacketId(enum.IntEnum):
    COMMAND = 0x01
    DATA = 0x02
    ACK = 0x07
    END_DATA = 0x08


class Instruction(enum.IntEnum):
    GEN_IMG = 0x01
    IMG2TZ = 0x02
    MATCH = 0x03
    SEARCH = 0x04
    REG_MODEL = 0x05
    STORE = 0x06
    LOAD_CHAR = 0x07
    UP_CHAR = 0x08
    DOWN_CHAR = 0x09
    UP_IMAGE = 0x0A
    DOWN_IMAGE = 0x0B
    DELETE_CHAR = 0x0C
    EMPTY = 0x0D
    SET_SYS_PARA = 0x0E
    READ_SYS_PARA = 0x0F
    SET_PWD = 0x12
    VFY_PWD = 0x13
    SET_ADDR = 0x15
    PORT_CONTROL = 0x17
    TEMPLATE_NUM = 0x1D
    READ_INDEX_TABLE = 0x1F
    AURA_LED = 0x35          # R503 only
    SOFT_RESET = 0x3D        # R503 only; the module then sends the single byte 0x55
    GET_ECHO = 0x53          # R503 only


class SystemRegister(enum.IntEnum):
    """Registers writable with SetSysPara."""

    BAUD = 4            # value N: rate = N * 9600
    SECURITY_LEVEL = 5  # 1..5
    PACKET_SIZE = 6     # 0..3 -> 32, 64, 128, 256 bytes


SOFT_RESET_HANDSHAKE = 0x55


@dataclass(frozen=True)
class Confirmation:
    """One confirmation code: ``name`` is stable (used as ``SensorError.code``)."""

    value: int
    name: str
    description: str


_CONFIRMATIONS = (
    Confirmation(0x00, "ok", "command executed"),
    Confirmation(0x01, "receive_error", "the module could not receive the packet"),
    Confirmation(0x02, "no_finger", "no finger on the sensor"),
    Confirmation(0x03, "capture_failed", "the module failed to capture the finger"),
    Confirmation(0x04, "too_dry", "the finger image is too dry or too faint"),
    Confirmation(0x05, "too_wet", "the finger image is too wet or blurred"),
    Confirmation(0x06, "image_messy", "the finger image is too messy to extract features"),
    Confirmation(0x07, "too_few_features", "the finger image has too few feature points"),
    Confirmation(0x08, "no_match", "the templates do not match"),
    Confirmation(0x09, "not_found", "no matching template in the library"),
    Confirmation(0x0A, "combine_failed", "the two char buffers could not be combined"),
    Confirmation(0x0B, "page_out_of_range", "the library page is out of range"),
    Confirmation(0x0C, "bad_template", "the template could not be read or is invalid"),
    Confirmation(0x0D, "upload_feature_failed", "uploading the template failed"),
    Confirmation(0x0E, "cannot_receive_packets", "the module cannot receive the following data packets"),
    Confirmation(0x0F, "upload_image_failed", "uploading the image failed"),
    Confirmation(0x10, "delete_failed", "deleting templates failed"),
    Confirmation(0x11, "clear_failed", "clearing the library failed"),
    Confirmation(0x13, "wrong_password", "the password is wrong"),
    Confirmation(0x15, "no_valid_image", "there is no valid image in the image buffer"),
    Confirmation(0x17, "residual_finger", "a finger is still on the sensor from the previous capture"),
    Confirmation(0x18, "flash_error", "writing flash failed"),
    Confirmation(0x1A, "bad_register", "invalid register number"),
    Confirmation(0x1F, "library_full", "the fingerprint library is full"),
    Confirmation(0x20, "wrong_address", "the address is wrong"),
    Confirmation(0x21, "password_not_verified", "the password must be verified first"),
)
CONFIRMATIONS: dict[int, Confirmation] = {c.value: c for c in _CONFIRMATIONS}
CONFIRMATION_BY_NAME: dict[str, Confirmation] = {c.name: c for c in _CONFIRMATIONS}
OK = 0x00


def confirmation(value: int) -> Confirmation:
    """The table entry for a confirmation byte; unknown bytes get the name ``unknown_0xNN``."""
    found = CONFIRMATIONS.get(value)
    if found is not None:
        return found
    return Confirmation(value, f"unknown_0x{value:02x}", f"unknown confirmation code 0x{value:02X}")


# -- errors -------------------------------------------------------------------------------------
class FrameError(ProtocolError):
    """A byte sequence that starts with ``EF 01`` but is not a valid frame for us."""


class ChecksumMismatch(FrameError):
    code = "bad_checksum"


class AddressMismatch(FrameError):
    code = "wrong_address"


class BadLength(FrameError):
    code = "bad_length"


class UnknownPacketId(FrameError):
    code = "unknown_packet_id"


class TrailingBytes(FrameError):
    code = "trailing_bytes"


class IncompleteFrame(FrameError):
    code = "incomplete_frame"


# -- frames -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Frame:
    pid: int
    payload: bytes
    address: int = DEFAULT_ADDRESS

    @property
    def is_data(self) -> bool:
        return self.pid in (PacketId.DATA, PacketId.END_DATA)


def checksum(pid: int, payload: bytes) -> int:
    length = len(payload) + _CHECKSUM_LEN
    return (pid + (length >> 8) + (length & 0xFF) + sum(payload)) & 0xFFFF


def encode_frame(pid: int, payload: bytes, address: int = DEFAULT_ADDRESS) -> bytes:
    """Bytes of one frame. Raises ValueError for out-of-range fields (a programming error)."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds the {MAX_PAYLOAD}-byte limit")
    if pid not in PacketId._value2member_map_:
        raise ValueError(f"unknown packet id 0x{pid:02X}")
    if not 0 <= address <= 0xFFFFFFFF:
        raise ValueError("address must fit in 32 bits")
    length = len(payload) + _CHECKSUM_LEN
    return (HEADER + address.to_bytes(4, "big") + bytes([pid]) + length.to_bytes(2, "big")
            + bytes(payload) + checksum(pid, payload).to_bytes(2, "big"))


def encode_command(instruction: int, params: bytes = b"", address: int = DEFAULT_ADDRESS) -> bytes:
    return encode_frame(PacketId.COMMAND, bytes([instruction]) + params, address)


def encode_ack(code: int, results: bytes = b"", address: int = DEFAULT_ADDRESS) -> bytes:
    return encode_frame(PacketId.ACK, bytes([code]) + results, address)


def encode_data(data: bytes, packet_size: int, address: int = DEFAULT_ADDRESS) -> bytes:
    """``data`` as a stream of data packets of ``packet_size`` bytes, the last one with id ``08``.

    The last packet carries whatever remains, even when it is shorter than ``packet_size``.
    """
    if packet_size not in PACKET_SIZES:
        raise ValueError(f"packet size must be one of {PACKET_SIZES}, not {packet_size}")
    chunks = [data[i:i + packet_size] for i in range(0, len(data), packet_size)] or [b""]
    out = bytearray()
    for i, chunk in enumerate(chunks):
        pid = PacketId.END_DATA if i == len(chunks) - 1 else PacketId.DATA
        out += encode_frame(pid, chunk, address)
    return bytes(out)


class FrameParser:
    """Incremental frame parser: ``feed()`` bytes, then call ``next_frame()`` until it returns None.

    ``address=None`` accepts frames for any address (a module that answers to any bus address).
    A bad frame raises a :class:`FrameError`; its header has already been skipped, so calling
    ``next_frame()`` again re-synchronises on the next ``EF 01``. ``discarded`` counts bytes
    skipped while hunting for a header (garbage on the line).
    """

    def __init__(self, address: int | None = DEFAULT_ADDRESS, max_payload: int = MAX_PAYLOAD):
        self.address = address
        self.max_payload = max_payload
        self._buffer = bytearray()
        self.discarded = 0

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def reset(self) -> None:
        self._buffer.clear()

    @property
    def pending(self) -> int:
        """Bytes buffered but not yet returned as a frame."""
        return len(self._buffer)

    @property
    def wanted(self) -> int:
        """How many more bytes could complete the next frame (at least 1).

        Lets a reader ask the port for exactly that many, so a blocking read returns as soon as
        the frame is complete instead of waiting out the port timeout for a bigger chunk.
        """
        buf = self._buffer
        at = buf.find(HEADER)
        if at < 0:
            return _PREFIX_LEN - (1 if buf.endswith(HEADER[:1]) else 0)
        have = len(buf) - at
        if have < _PREFIX_LEN:
            return _PREFIX_LEN - have
        length = min(int.from_bytes(buf[at + 7:at + 9], "big"), self.max_payload + _CHECKSUM_LEN)
        return max(1, _PREFIX_LEN + length - have)

    def abandon_partial(self) -> bool:
        """Give up on the incomplete frame at the head of the buffer, as when line noise held a
        phantom ``EF 01`` with a plausible length: skip its header so the bytes after it are
        searched again. True when there was such a frame."""
        if self._buffer.startswith(HEADER):
            self._skip(len(HEADER))
            return True
        return False

    def take(self, n: int) -> bytes:
        """Remove and return up to ``n`` raw buffered bytes (for the few replies that are not frames,
        like the R503's 0x55 ready byte after SoftReset)."""
        out = bytes(self._buffer[:n])
        self._skip(len(out))
        return out

    def _skip(self, n: int) -> None:
        del self._buffer[:n]

    def _hunt_header(self) -> bool:
        """Drop bytes before the next ``EF 01``; True when the buffer now starts with one."""
        at = self._buffer.find(HEADER)
        if at < 0:
            # keep a trailing EF: it may be the first half of a header split across reads
            keep = 1 if self._buffer.endswith(HEADER[:1]) else 0
            dropped = len(self._buffer) - keep
            self.discarded += dropped
            self._skip(dropped)
            return False
        self.discarded += at
        self._skip(at)
        return True

    def next_frame(self) -> Frame | None:
        if not self._hunt_header() or len(self._buffer) < _PREFIX_LEN:
            return None
        buf = self._buffer
        address = int.from_bytes(buf[2:6], "big")
        pid = buf[6]
        length = int.from_bytes(buf[7:9], "big")
        if pid not in PacketId._value2member_map_:
            self._skip(len(HEADER))
            raise UnknownPacketId(f"frame with unknown packet id 0x{pid:02X}")
        if length < _CHECKSUM_LEN or length - _CHECKSUM_LEN > self.max_payload:
            self._skip(len(HEADER))
            raise BadLength(f"frame length {length} outside 2..{self.max_payload + _CHECKSUM_LEN}")
        total = _PREFIX_LEN + length
        if len(buf) < total:
            return None
        payload = bytes(buf[_PREFIX_LEN:total - _CHECKSUM_LEN])
        received = int.from_bytes(buf[total - _CHECKSUM_LEN:total], "big")
        if received != checksum(pid, payload):
            # skip only the header: the length may itself be the corrupted field
            self._skip(len(HEADER))
            raise ChecksumMismatch(f"frame checksum 0x{received:04X} does not match its contents")
        if self.address is not None and address != self.address:
            self._skip(total)
            raise AddressMismatch(f"frame for address 0x{address:08X}, expected 0x{self.address:08X}")
        self._skip(total)
        return Frame(pid, payload, address)


def decode_frame(data: bytes, address: int | None = DEFAULT_ADDRESS) -> Frame:
    """Exactly one frame from ``data`` (no garbage, no trailing bytes)."""
    if not data.startswith(HEADER):
        raise FrameError("data does not start with the EF 01 header")
    parser = FrameParser(address)
    parser.feed(data)
    frame = parser.next_frame()
    if frame is None:
        raise IncompleteFrame(f"{len(data)} bytes do not hold a complete frame")
    if parser.pending:
        raise TrailingBytes(f"{parser.pending} bytes after the frame")
    return frame


# -- system parameters --------------------------------------------------------------------------
@dataclass(frozen=True)
class SystemParameters:
    status: int
    system_id: int
    library_size: int
    security_level: int
    address: int
    packet_size: int       # bytes per data packet (32, 64, 128 or 256)
    baud: int              # bits per second

    def to_bytes(self) -> bytes:
        if self.packet_size not in PACKET_SIZES:
            raise ValueError(f"packet size must be one of {PACKET_SIZES}")
        return (self.status.to_bytes(2, "big") + self.system_id.to_bytes(2, "big")
                + self.library_size.to_bytes(2, "big") + self.security_level.to_bytes(2, "big")
                + self.address.to_bytes(4, "big") + PACKET_SIZES.index(self.packet_size).to_bytes(2, "big")
                + (self.baud // BAUD_UNIT).to_bytes(2, "big"))

    @classmethod
    def from_bytes(cls, data: bytes) -> "SystemParameters":
        if len(data) != 16:
            raise ProtocolError(f"system parameters are 16 bytes, got {len(data)}")
        words = [int.from_bytes(data[i:i + 2], "big") for i in range(0, 16, 2)]
        size_code = words[6]
        if size_code >= len(PACKET_SIZES):
            raise ProtocolError(f"unknown packet-size code {size_code}")
        if words[7] == 0:
            raise ProtocolError("baud register is 0")
        return cls(status=words[0], system_id=words[1], library_size=words[2], security_level=words[3],
                   address=int.from_bytes(data[8:12], "big"), packet_size=PACKET_SIZES[size_code],
                   baud=words[7] * BAUD_UNIT)


# -- images -------------------------------------------------------------------------------------
def pack_image(image: np.ndarray) -> bytes:
    """8-bit greyscale -> the UART image format: upper 4 bits, two pixels a byte, left one high."""
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError("image must be a 2-D uint8 array")
    if image.shape[1] % 2:
        raise ValueError("image width must be even (two pixels per byte)")
    nibbles = image >> 4
    return ((nibbles[:, 0::2] << 4) | nibbles[:, 1::2]).astype(np.uint8).tobytes()


def unpack_image(data: bytes, width: int, height: int) -> np.ndarray:
    """The UART image format -> 8-bit greyscale, each 4-bit pixel rebuilt as ``nibble * 17``."""
    if width % 2 or width <= 0 or height <= 0:
        raise ValueError("width must be even and positive, height positive")
    if len(data) != width * height // 2:
        raise ProtocolError(f"image data is {len(data)} bytes, {width}x{height} needs {width * height // 2}")
    packed = np.frombuffer(data, dtype=np.uint8).reshape(height, width // 2)
    out = np.empty((height, width), dtype=np.uint8)
    out[:, 0::2] = (packed >> 4) * 17
    out[:, 1::2] = (packed & 0x0F) * 17
    return out


def quantise(image: np.ndarray) -> np.ndarray:
    """What an 8-bit image looks like after the 4-bit UART round trip."""
    return ((image >> 4) * 17).astype(np.uint8)


@dataclass(frozen=True)
class SensorGeometry:
    """A sensor's image size and resolution."""

    name: str
    width: int
    height: int
    dpi: int

    @property
    def image_bytes(self) -> int:
        return self.width * self.height // 2


R30X_GEOMETRY = SensorGeometry("r30x", 256, 288, 500)
R503_GEOMETRY = SensorGeometry("r503", 192, 192, 508)
# The module does not report its image size; the length of the image it uploads tells us which
# sensor it has. Unknown lengths need an explicit geometry from the caller.
KNOWN_GEOMETRIES = {g.image_bytes: g for g in (R30X_GEOMETRY, R503_GEOMETRY)}


def geometry_for_upload(n_bytes: int) -> SensorGeometry | None:
    return KNOWN_GEOMETRIES.get(n_bytes)
