"""Binarisation: ridges are where the enhanced image is positive, inside the finger mask."""
from __future__ import annotations

import cv2
import numpy as np

from . import parameters as P


def binarise(enhanced: np.ndarray, mask: np.ndarray, dpi: float) -> np.ndarray:
    """Boolean ridge image (True = ridge pixel)."""
    smooth = cv2.GaussianBlur(enhanced, (0, 0), P.at_dpi(P.BINARISE_SMOOTH, dpi))
    ridges = (smooth > 0) & mask
    # A 3x3 majority vote removes single-pixel burrs that would become skeleton spurs.
    return cv2.medianBlur(ridges.astype(np.uint8) * 255, 3) > 0
