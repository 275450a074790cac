"""Quality: per-minutia confidence and a 0-100 image score that predicts matching failure.

The image score multiplies three factors, each saturating at a level typical of a good capture:
usable ridge area, ridge clarity (orientation coherence over the finger) and minutia count. A print
that is small, smudged or nearly featureless scores low, and below hard floors extraction refuses it.
"""
from __future__ import annotations

import numpy as np

from . import parameters as P
from .errors import LowQualityError


def foreground_mm2(mask: np.ndarray, dpi: float) -> float:
    pixel_mm = 25.4 / dpi
    return float(mask.sum()) * pixel_mm * pixel_mm


def usable_image(image: np.ndarray) -> np.ndarray:
    """The image as 2-D uint8, or LowQualityError("bad_input") when it cannot be a fingerprint image."""
    if not isinstance(image, np.ndarray) or image.ndim != 2:
        raise LowQualityError("bad_input", "expected a 2-D greyscale image")
    if image.shape[0] < 64 or image.shape[1] < 64:
        raise LowQualityError("bad_input", f"image of {image.shape[1]}x{image.shape[0]} px is too small")
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return image


def require_foreground(mask: np.ndarray, dpi: float) -> float:
    """The finger's area in mm2; LowQualityError when there is no finger or too little of it."""
    area = foreground_mm2(mask, dpi)
    if area == 0.0:
        raise LowQualityError("blank", "no finger found on the sensor image")
    if area < P.MIN_FOREGROUND_MM2:
        raise LowQualityError("too_small", f"finger area {area:.0f} mm2 is below {P.MIN_FOREGROUND_MM2:.0f} mm2")
    return area


def mean_coherence(coherence: np.ndarray, mask: np.ndarray) -> float:
    return float(coherence[mask].mean()) if mask.any() else 0.0


def minutia_quality(x: np.ndarray, y: np.ndarray, coherence: np.ndarray) -> np.ndarray:
    """0-100 per minutia from the local ridge coherence (clear ridges: reliable position/direction)."""
    xi = np.clip(np.round(x).astype(int), 0, coherence.shape[1] - 1)
    yi = np.clip(np.round(y).astype(int), 0, coherence.shape[0] - 1)
    return np.clip(np.round(coherence[yi, xi] * 110.0), 1, 100).astype(np.uint8)


def image_quality(area_mm2: float, clarity: float, minutiae: int) -> int:
    area = min(1.0, area_mm2 / P.QUALITY_GOOD_AREA_MM2)
    clear = min(1.0, max(0.0, (clarity - P.MIN_MEAN_COHERENCE) / (P.QUALITY_GOOD_COHERENCE - P.MIN_MEAN_COHERENCE)))
    count = min(1.0, minutiae / P.QUALITY_GOOD_MINUTIAE)
    return int(round(100.0 * area * clear * count))
