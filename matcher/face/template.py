"""The face template: a unit-length 128-D float32 embedding plus the quality of its capture.

Byte layout (little-endian), version 1, fixed length :data:`TEMPLATE_BYTES`::

    0   4  magic b"KFT\\0"
    4   1  version (1)
    5   1  flags (bit 0: made with mirror averaging)
    6   2  dimension (128)
    8  24  quality: face_px, brightness, saturated_share, sharpness, yaw, roll_deg (6 x float32)
   32 512  embedding, 128 x float32
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from matcher.face.errors import TemplateFormatError
from matcher.face.quality import FaceQuality

DIMENSION = 128
MAGIC = b"KFT\x00"
VERSION = 1
_HEADER = struct.Struct("<4sBBH6f")
TEMPLATE_BYTES = _HEADER.size + 4 * DIMENSION
FLAG_MIRROR = 0x01


@dataclass(frozen=True, eq=False)
class Template:
    vector: np.ndarray                      # float32, shape (128,), unit length
    quality: FaceQuality
    mirrored: bool = False

    def __post_init__(self) -> None:
        vec = np.asarray(self.vector, dtype=np.float32)
        if vec.shape != (DIMENSION,) or not np.all(np.isfinite(vec)):
            raise TemplateFormatError(f"a face template is {DIMENSION} finite numbers")
        norm = float(np.linalg.norm(vec))
        if not 0.99 < norm < 1.01:
            raise TemplateFormatError("a face template vector must have unit length")
        vec = vec.copy()
        vec.flags.writeable = False
        object.__setattr__(self, "vector", vec)

    @property
    def quality_score(self) -> int:
        return self.quality.score()

    def to_bytes(self) -> bytes:
        q = self.quality
        head = _HEADER.pack(MAGIC, VERSION, FLAG_MIRROR if self.mirrored else 0, DIMENSION,
                            q.face_px, q.brightness, q.saturated_share, q.sharpness, q.yaw, q.roll_deg)
        return head + self.vector.astype("<f4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Template":
        data = bytes(data)
        if len(data) != TEMPLATE_BYTES:
            raise TemplateFormatError(f"a face template is {TEMPLATE_BYTES} bytes, got {len(data)}")
        magic, version, flags, dim, *qual = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise TemplateFormatError("not a face template (bad magic)")
        if version != VERSION:
            raise TemplateFormatError(f"face template version {version} is not supported (expected {VERSION})")
        if dim != DIMENSION or flags & ~FLAG_MIRROR:
            raise TemplateFormatError("face template header is inconsistent")
        vector = np.frombuffer(data, dtype="<f4", offset=_HEADER.size, count=DIMENSION)
        return cls(vector=vector.astype(np.float32), quality=FaceQuality(*qual), mirrored=bool(flags & FLAG_MIRROR))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Template):
            return NotImplemented
        return (self.mirrored == other.mirrored and self.quality == other.quality
                and bool(np.array_equal(self.vector, other.vector)))

    def __hash__(self) -> int:
        return hash(self.vector.tobytes())

    def __repr__(self) -> str:  # never print the embedding (privacy)
        return f"face.Template(quality={self.quality_score}, face_px={self.quality.face_px:.0f})"
