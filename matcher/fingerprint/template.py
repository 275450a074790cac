"""The fingerprint template: minutiae plus image size, resolution and quality; ISO 19794-2 I/O.

Minutiae are a numpy structured array (``MINUTIA_DTYPE``) in image pixels. ``angle`` is in radians
in the ISO convention: counter-clockwise from the +x axis with y pointing down (so a ridge running
up-right has a small positive angle). Kinds: 0 other, 1 ridge ending, 2 bifurcation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

MINUTIA_DTYPE = np.dtype([("x", np.float32), ("y", np.float32), ("angle", np.float32),
                          ("kind", np.uint8), ("quality", np.uint8)])

_KIND_NAMES = {0: "other", 1: "ending", 2: "bifurcation"}
_KIND_CODES = {v: k for k, v in _KIND_NAMES.items()}
_CM_PER_INCH = 2.54


def make_minutiae(x, y, angle, kind, quality) -> np.ndarray:
    out = np.zeros(len(x), MINUTIA_DTYPE)
    out["x"], out["y"], out["angle"] = x, y, np.mod(angle, 2 * math.pi)
    out["kind"], out["quality"] = kind, quality
    return out


@dataclass(eq=False)
class Template:
    minutiae: np.ndarray
    width: int
    height: int
    dpi: float = 500.0
    quality: int = 0
    # Matching structures (cylinders) built on first use; never serialised.
    _prepared: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.minutiae = np.asarray(self.minutiae, MINUTIA_DTYPE)

    def __repr__(self) -> str:  # no coordinates in logs or errors
        return (f"Template({len(self.minutiae)} minutiae, {self.width}x{self.height} px, "
                f"{self.dpi:.0f} dpi, quality {self.quality})")

    def to_iso(self) -> bytes:
        """ISO/IEC 19794-2:2005 record with one finger view."""
        from . import iso

        ppcm = int(round(self.dpi / _CM_PER_INCH))
        points = []
        for m in self.minutiae:
            # Positions are stored to the pixel, directions to 1.4 degrees (the format's units).
            x = min(max(int(round(float(m["x"]))), 0), max(self.width - 1, 0))
            y = min(max(int(round(float(m["y"]))), 0), max(self.height - 1, 0))
            points.append(iso.Minutia(x=x, y=y, angle=iso.radians_to_angle(float(m["angle"])), kind=_KIND_NAMES.get(int(m["kind"]), "other"),
                                      quality=int(m["quality"])))
        view = iso.FingerView(position=0, view_number=0, impression_type=0, quality=int(self.quality),
                              minutiae=tuple(points), extended=b"")
        record = iso.FingerRecord(format=iso.ISO_19794_2_2005, width=int(self.width), height=int(self.height),
                                  x_resolution=ppcm, y_resolution=ppcm, equipment=0, views=(view,))
        return iso.encode_iso(record)

    @classmethod
    def from_iso(cls, data: bytes, view: int = 0) -> "Template":
        """Template from an ISO 19794-2:2005 or ANSI 378-2004 record (raises TemplateFormatError)."""
        from . import iso

        record = iso.decode(data)
        if not record.views:
            raise iso.TemplateFormatError("record has no finger view")
        if not 0 <= view < len(record.views):
            raise iso.TemplateFormatError(f"record has {len(record.views)} views; view {view} asked")
        return cls.from_record_view(record, view)

    @classmethod
    def from_record_view(cls, record, view: int) -> "Template":
        """Template of view ``view`` of a record already decoded (iso.decode), so a record's every
        view costs one decode (views.views_from_iso)."""
        from . import iso

        chosen = record.views[view]
        ms = chosen.minutiae
        dpi = float(record.x_resolution) * _CM_PER_INCH if record.x_resolution else 500.0
        minutiae = make_minutiae(
            np.array([m.x for m in ms], np.float32), np.array([m.y for m in ms], np.float32),
            np.array([iso.angle_to_radians(m.angle) for m in ms], np.float32),
            np.array([_KIND_CODES.get(m.kind, 0) for m in ms], np.uint8),
            np.array([m.quality for m in ms], np.uint8))
        return cls(minutiae=minutiae, width=int(record.width), height=int(record.height),
                   dpi=dpi, quality=int(chosen.quality))
