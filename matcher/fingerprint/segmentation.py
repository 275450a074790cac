"""Segmentation: which pixels belong to the finger (ridges with contrast), as a boolean mask."""
from __future__ import annotations

import cv2
import numpy as np

from . import parameters as P


def local_contrast(image: np.ndarray, dpi: float) -> np.ndarray:
    """Local standard deviation of grey levels in a Gaussian window (float32)."""
    sigma = P.at_dpi(P.SEGMENT_SIGMA, dpi)
    img = image.astype(np.float32)
    mean = cv2.GaussianBlur(img, (0, 0), sigma)
    mean_sq = cv2.GaussianBlur(img * img, (0, 0), sigma)
    return np.sqrt(np.maximum(mean_sq - mean * mean, 0.0))


def _disc(radius: float) -> np.ndarray:
    size = max(3, int(round(radius)) * 2 + 1)
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def _largest_component_filled(mask: np.ndarray) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros(mask.shape, bool)
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    region = (labels == biggest).astype(np.uint8)
    # Fill holes: whatever background cannot be reached from the border is inside the finger.
    padded = np.pad(region, 1)
    flood = padded.copy()
    cv2.floodFill(flood, None, (0, 0), 1)
    holes = (flood == 0)[1:-1, 1:-1]
    return region.astype(bool) | holes


def contrast_threshold(contrast: np.ndarray) -> float:
    """Contrast separating finger from background.

    Otsu's threshold on the contrast histogram adapts to sensors whose background is textured
    (capacitive DB3) as well as to clean white ones; scaling it down keeps the finger's weaker rim,
    and the cap at a fraction of the 95th percentile protects images the finger fills entirely
    (where Otsu would split the finger itself)."""
    top = max(float(np.percentile(contrast, 99)), 1e-3)
    scaled = np.clip(contrast * (255.0 / top), 0, 255).astype(np.uint8)
    otsu, _ = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    adaptive = min(P.SEGMENT_OTSU_FRACTION * otsu * top / 255.0,
                   P.SEGMENT_CONTRAST_FRACTION * float(np.percentile(contrast, 95)))
    return max(P.SEGMENT_MIN_STD, adaptive)


def segment(image: np.ndarray, dpi: float, contrast: np.ndarray | None = None) -> np.ndarray:
    """Boolean foreground mask: the largest area of ridge contrast, holes filled, rim eroded."""
    if contrast is None:
        contrast = local_contrast(image, dpi)
    threshold = contrast_threshold(contrast)
    mask = (contrast > threshold).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _disc(P.at_dpi(P.SEGMENT_CLOSE, dpi)))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _disc(P.at_dpi(P.SEGMENT_CLOSE, dpi)))
    filled = _largest_component_filled(mask)
    eroded = cv2.erode(filled.astype(np.uint8), _disc(P.at_dpi(P.SEGMENT_ERODE, dpi)))
    return eroded.astype(bool)
