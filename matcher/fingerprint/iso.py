"""Finger minutiae records: ISO/IEC 19794-2:2005 and ANSI/INCITS 378-2004 bytes <-> records.

Pure functions, no I/O. ``decode`` reads either format (told apart by the rule in
``shared/reference/templates.md``) and ``encode_iso`` writes ISO 19794-2:2005. For any valid ISO
record ``encode_iso(decode(data)) == data[:record_length]``: every field is kept, extended data
blocks are kept as raw bytes, and anything that could not be written back identically (non-zero
reserved bits, a record length that disagrees with the content) is rejected instead of repaired.

Conventions
-----------
* ``Minutia.angle`` is in ISO units of 360/256 = 1.40625 degrees, 0-255, measured
  counter-clockwise *as seen on the image* from the +x axis, with the origin top-left and y
  pointing down. So a minutia at angle ``a`` points along ``(cos t, -sin t)`` in pixel
  coordinates, where ``t = angle_to_radians(a)``.
* ANSI 378 stores angles in 2-degree units (0-179). They are converted to ISO units by rounding
  ``raw * 2 * 256 / 360 = raw * 64 / 45`` to the nearest integer, modulo 256 (179 -> 255,
  i.e. 358 degrees -> 358.59). There are never ties (``128 * raw`` is even, ``45 * odd`` is odd),
  so the rounding is unambiguous; the error is at most 0.70 degrees.
* Resolutions are in pixels per centimetre, as in the record (197 = 500 dpi).

Errors never quote record bytes or minutia values (they are biometric data): they say which
field is wrong and at which byte offset.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

from .errors import TemplateFormatError

__all__ = [
    "ISO_19794_2_2005", "ANSI_378_2004", "MINUTIA_KINDS",
    "TemplateFormatError", "Minutia", "FingerView", "FingerRecord",
    "decode", "encode_iso", "angle_to_radians", "radians_to_angle", "ansi_angle_to_iso",
]

ISO_19794_2_2005 = "ISO/IEC 19794-2:2005"
ANSI_378_2004 = "ANSI/INCITS 378-2004"

_MAGIC = b"FMR\x00"
_VERSION = b" 20\x00"
# Some ANSI writers (the fingerprintio sample among them) put "020\0" in the version field.
_ANSI_LAX_VERSION = b"020\x00"

_ISO_HEADER = 24
_ANSI_HEADER = 26
_ANSI_LONG_HEADER = 30
_VIEW_HEADER = 4
_MINUTIA_SIZE = 6
_EXTENDED_LENGTH_SIZE = 2

# Type bits 15-14 of the first minutia word.
_KIND_BY_CODE = {0b00: "other", 0b01: "ending", 0b10: "bifurcation"}
_CODE_BY_KIND = {kind: code for code, kind in _KIND_BY_CODE.items()}
MINUTIA_KINDS = tuple(_CODE_BY_KIND)

_MAX_FINGER_POSITION = 10          # 0 unknown, 1-5 right thumb..little, 6-10 left thumb..little
_IMPRESSION_TYPES = frozenset({0, 1, 2, 3, 8})  # live/non-live plain/rolled, swipe
_MAX_COORDINATE = 0x3FFF           # 14 bits
_MAX_QUALITY = 100
_ANSI_ANGLE_UNITS = 180            # 2-degree units


@dataclass(frozen=True)
class Minutia:
    x: int
    y: int
    angle: int            # ISO units 0-255, see the module docstring
    kind: str             # "ending" | "bifurcation" | "other"
    quality: int = 0      # 0-100, 0 = not reported


@dataclass(frozen=True)
class FingerView:
    position: int         # ISO finger position 0-10
    view_number: int      # 0-15
    impression_type: int  # 0, 1, 2, 3 or 8
    quality: int          # 0-100
    minutiae: tuple[Minutia, ...]
    extended: bytes = b""  # the extended data blocks, raw (without their 2-byte total length)


@dataclass(frozen=True)
class FingerRecord:
    format: str           # ISO_19794_2_2005 or ANSI_378_2004 (the format it was read from)
    width: int
    height: int
    x_resolution: int     # pixels per cm
    y_resolution: int     # pixels per cm
    equipment: int        # raw 16-bit field: bit 15 certified, bits 11-0 device id
    views: tuple[FingerView, ...]
    product_id: int = field(default=0)  # ANSI CBEFF product id (owner << 16 | type); 0 for ISO

    @property
    def certified(self) -> bool:
        return bool(self.equipment & 0x8000)

    @property
    def device_id(self) -> int:
        return self.equipment & 0x0FFF


# ---------------------------------------------------------------- angles

def angle_to_radians(angle: int) -> float:
    """ISO angle units (0-255) -> radians in [0, 2*pi), counter-clockwise as seen on the image."""
    return (angle % 256) * (2.0 * math.pi / 256.0)


def radians_to_angle(theta: float) -> int:
    """Radians (counter-clockwise as seen on the image) -> nearest ISO angle unit, 0-255."""
    if not math.isfinite(theta):
        raise ValueError("angle must be a finite number of radians")
    return int(round(theta * 256.0 / (2.0 * math.pi))) % 256


def ansi_angle_to_iso(raw: int) -> int:
    """ANSI 378 2-degree units -> ISO units, rounded to nearest (no ties exist), modulo 256."""
    return int(round(raw * 64 / 45)) % 256


# ---------------------------------------------------------------- decoding

class _Reader:
    """Big-endian reads inside ``data[:end]``; every overrun is a TemplateFormatError."""

    def __init__(self, data: bytes, start: int, end: int, limit_name: str) -> None:
        self.data = data
        self.pos = start
        self.end = end
        self.limit_name = limit_name

    def take(self, size: int, what: str) -> bytes:
        if self.pos + size > self.end:
            raise TemplateFormatError(
                f"truncated: {what} needs {size} byte(s) but the {self.limit_name} ends at byte {self.end}",
                self.pos)
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u16(self, what: str) -> int:
        return struct.unpack(">H", self.take(2, what))[0]


@dataclass(frozen=True)
class _Layout:
    format: str
    record_length: int      # as declared in the header
    header_size: int
    product_id: int


def decode(data: bytes, *, strict: bool = True) -> FingerRecord:
    """Parse an ISO 19794-2:2005 or ANSI 378-2004 record (auto-detected).

    Bytes beyond the declared record length (zero padding some writers add) are ignored.
    ``strict=False`` tolerates two defects seen in files written by lax tools, and nothing else:
    a record length field that disagrees with the content (the content is then read from the
    bytes present and must be complete), and for ANSI an angle of 180-255 (taken modulo 360
    degrees) or the version written as "020". Truncated content is rejected in both modes.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"a minutiae record must be bytes, not {type(data).__name__}")
    data = bytes(data)
    layout = _read_layout(data, strict)
    if strict:
        if layout.record_length > len(data):
            raise TemplateFormatError(
                f"truncated: record length field says {layout.record_length} bytes "
                f"but only {len(data)} are present", _length_offset(layout))
        end, limit = layout.record_length, "record"
    else:
        end, limit = len(data), "data"
    equipment, width, height, x_res, y_res = struct.unpack(
        ">HHHHH", data[layout.header_size - 12:layout.header_size - 2])
    for name, value, offset in (("x resolution", x_res, layout.header_size - 6),
                                ("y resolution", y_res, layout.header_size - 4)):
        if value == 0:
            raise TemplateFormatError(f"{name} is zero pixels per cm", offset)
    reader = _Reader(data, layout.header_size - 2, end, limit)
    view_count = reader.u8("number of finger views")
    reserved = reader.u8("reserved header byte")
    if reserved != 0 and strict:
        raise TemplateFormatError("reserved header byte is not zero", reader.pos - 1)

    views = tuple(_read_view(reader, index, layout.format, width, height, strict)
                  for index in range(view_count))
    if strict and reader.pos != layout.record_length:
        raise TemplateFormatError(
            f"inconsistent: record length field says {layout.record_length} bytes "
            f"but the {view_count} finger view(s) end at byte {reader.pos}", _length_offset(layout))

    return FingerRecord(format=layout.format, width=width, height=height, x_resolution=x_res,
                        y_resolution=y_res, equipment=equipment, views=views,
                        product_id=layout.product_id)


def _length_offset(layout: _Layout) -> int:
    return 8 if layout.header_size != _ANSI_LONG_HEADER else 10


def _read_layout(data: bytes, strict: bool) -> _Layout:
    """Magic, version, format detection and record length (templates.md, 'Telling them apart')."""
    if len(data) < 12:
        raise TemplateFormatError(f"truncated: {len(data)} bytes is shorter than any record header", 0)
    if data[0:4] != _MAGIC:
        raise TemplateFormatError('bad format identifier: expected "FMR\\0"', 0)
    version = data[4:8]
    first = struct.unpack(">H", data[8:10])[0]
    if first >= _ANSI_HEADER:
        fmt, length, header = ANSI_378_2004, first, _ANSI_HEADER
    elif first != 0:
        fmt, length, header = ISO_19794_2_2005, struct.unpack(">I", data[8:12])[0], _ISO_HEADER
    elif struct.unpack(">H", data[10:12])[0] >= _ISO_HEADER:
        fmt, length, header = ISO_19794_2_2005, struct.unpack(">I", data[8:12])[0], _ISO_HEADER
    else:
        if len(data) < 14:
            raise TemplateFormatError("truncated inside the ANSI long record length", len(data))
        fmt, length, header = ANSI_378_2004, struct.unpack(">I", data[10:14])[0], _ANSI_LONG_HEADER

    version_ok = version == _VERSION or (fmt == ANSI_378_2004 and not strict and version == _ANSI_LAX_VERSION)
    if not version_ok:
        raise TemplateFormatError(f'unsupported version for {fmt}: expected " 20\\0"', 4)
    if length < header:
        raise TemplateFormatError(
            f"record length field says {length} bytes, less than the {header}-byte {fmt} header",
            8 if header != _ANSI_LONG_HEADER else 10)
    if len(data) < header:
        raise TemplateFormatError(
            f"truncated: {len(data)} bytes is shorter than the {header}-byte {fmt} header", len(data))
    product_id = 0
    if fmt == ANSI_378_2004:
        product_id = struct.unpack(">I", data[header - 16:header - 12])[0]
    return _Layout(format=fmt, record_length=length, header_size=header, product_id=product_id)


def _read_view(reader: _Reader, index: int, fmt: str, width: int, height: int,
               strict: bool) -> FingerView:
    where = f"finger view {index}"
    start = reader.pos
    position = reader.u8(f"{where} finger position")
    if position > _MAX_FINGER_POSITION:
        raise TemplateFormatError(f"{where}: finger position {position} is not 0-10", start)
    packed = reader.u8(f"{where} view number/impression type")
    view_number, impression = packed >> 4, packed & 0x0F
    if impression not in _IMPRESSION_TYPES:
        raise TemplateFormatError(f"{where}: impression type {impression} is not 0-3 or 8", start + 1)
    quality = reader.u8(f"{where} finger quality")
    if quality > _MAX_QUALITY:
        raise TemplateFormatError(f"{where}: finger quality {quality} is above 100", start + 2)
    count = reader.u8(f"{where} minutiae count")
    needed = count * _MINUTIA_SIZE
    if reader.pos + needed > reader.end:
        raise TemplateFormatError(
            f"{where}: minutiae count {count} needs {needed} bytes but the {reader.limit_name} "
            f"ends at byte {reader.end}", start + 3)
    minutiae = tuple(_read_minutia(reader, f"{where} minutia {i}", fmt, width, height, strict)
                     for i in range(count))
    ext_offset = reader.pos
    ext_length = reader.u16(f"{where} extended data length")
    if reader.pos + ext_length > reader.end:
        raise TemplateFormatError(
            f"{where}: extended data length {ext_length} overruns the {reader.limit_name} "
            f"ending at byte {reader.end}", ext_offset)
    extended = reader.take(ext_length, f"{where} extended data")
    return FingerView(position=position, view_number=view_number, impression_type=impression,
                      quality=quality, minutiae=minutiae, extended=extended)


def _read_minutia(reader: _Reader, where: str, fmt: str, width: int, height: int,
                  strict: bool) -> Minutia:
    offset = reader.pos
    word_x, word_y, raw_angle, quality = struct.unpack(">HHBB", reader.take(_MINUTIA_SIZE, where))
    code = word_x >> 14
    if code not in _KIND_BY_CODE:
        raise TemplateFormatError(f"{where}: minutia type bits 11 are not defined", offset)
    if word_y >> 14 and strict:
        raise TemplateFormatError(f"{where}: reserved bits of the y field are not zero", offset + 2)
    x, y = word_x & _MAX_COORDINATE, word_y & _MAX_COORDINATE
    # Width/height 0 means "not recorded": nothing to check against.
    if width and x >= width:
        raise TemplateFormatError(f"{where}: x is outside the image width", offset)
    if height and y >= height:
        raise TemplateFormatError(f"{where}: y is outside the image height", offset + 2)
    if fmt == ANSI_378_2004:
        if raw_angle >= _ANSI_ANGLE_UNITS and strict:
            raise TemplateFormatError(f"{where}: ANSI angle is above 179 (2-degree units)", offset + 4)
        angle = ansi_angle_to_iso(raw_angle % _ANSI_ANGLE_UNITS)
    else:
        angle = raw_angle
    if quality > _MAX_QUALITY:
        raise TemplateFormatError(f"{where}: quality is above 100", offset + 5)
    return Minutia(x=x, y=y, angle=angle, kind=_KIND_BY_CODE[code], quality=quality)


# ---------------------------------------------------------------- encoding

def encode_iso(record: FingerRecord) -> bytes:
    """Write ``record`` as ISO 19794-2:2005 bytes (whatever format it was read from)."""
    _check_u16(record.width, "image width")
    _check_u16(record.height, "image height")
    for name, value in (("x resolution", record.x_resolution), ("y resolution", record.y_resolution)):
        _check_u16(value, name)
        if value == 0:
            raise TemplateFormatError(f"{name} is zero pixels per cm")
    _check_u16(record.equipment, "capture equipment")
    if len(record.views) > 255:
        raise TemplateFormatError(f"{len(record.views)} finger views do not fit in one byte")
    body = b"".join(_encode_view(view, i, record.width, record.height)
                    for i, view in enumerate(record.views))
    length = _ISO_HEADER + len(body)
    header = (_MAGIC + _VERSION
              + struct.pack(">IHHHHHBB", length, record.equipment, record.width, record.height,
                            record.x_resolution, record.y_resolution, len(record.views), 0))
    return header + body


def _encode_view(view: FingerView, index: int, width: int, height: int) -> bytes:
    where = f"finger view {index}"
    if not 0 <= view.position <= _MAX_FINGER_POSITION:
        raise TemplateFormatError(f"{where}: finger position is not 0-10")
    if not 0 <= view.view_number <= 15:
        raise TemplateFormatError(f"{where}: view number is not 0-15")
    if view.impression_type not in _IMPRESSION_TYPES:
        raise TemplateFormatError(f"{where}: impression type is not 0-3 or 8")
    if not 0 <= view.quality <= _MAX_QUALITY:
        raise TemplateFormatError(f"{where}: finger quality is not 0-100")
    if len(view.minutiae) > 255:
        raise TemplateFormatError(f"{where}: {len(view.minutiae)} minutiae do not fit in one byte")
    extended = bytes(view.extended)
    if len(extended) > 0xFFFF:
        raise TemplateFormatError(f"{where}: extended data is longer than 65535 bytes")
    parts = [bytes((view.position, view.view_number << 4 | view.impression_type, view.quality,
                    len(view.minutiae)))]
    parts += [_encode_minutia(m, f"{where} minutia {i}", width, height)
              for i, m in enumerate(view.minutiae)]
    parts.append(struct.pack(">H", len(extended)) + extended)
    return b"".join(parts)


def _encode_minutia(m: Minutia, where: str, width: int, height: int) -> bytes:
    if m.kind not in _CODE_BY_KIND:
        raise TemplateFormatError(f"{where}: kind must be one of {', '.join(MINUTIA_KINDS)}")
    for name, value, limit in (("x", m.x, width), ("y", m.y, height)):
        if not 0 <= value <= _MAX_COORDINATE:
            raise TemplateFormatError(f"{where}: {name} does not fit in 14 bits")
        if limit and value >= limit:
            raise TemplateFormatError(f"{where}: {name} is outside the image")
    if not 0 <= m.angle <= 255:
        raise TemplateFormatError(f"{where}: angle is not 0-255 ISO units")
    if not 0 <= m.quality <= _MAX_QUALITY:
        raise TemplateFormatError(f"{where}: quality is not 0-100")
    return struct.pack(">HHBB", _CODE_BY_KIND[m.kind] << 14 | m.x, m.y, m.angle, m.quality)


def _check_u16(value: int, name: str) -> None:
    if not 0 <= value <= 0xFFFF:
        raise TemplateFormatError(f"{name} does not fit in 16 bits")
