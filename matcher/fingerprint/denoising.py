"""Sensor-noise removal before segmentation: non-local means, only on a print whose noise is above
what any clean capture shows.

Grainy noise hurts the learned path twice: the segmentation's local contrast counts the grain as
ridges, so the network's crop takes in noisy background (on the robustness noise set the median mask
of DB2-4 grew 1.5-1.9 times), and the network reads grain on the ridges as breaks. A plain blur removes the
grain with the ridges' contrast; non-local means averages each patch with the patches that look like
it, which along a ridge are the rest of the ridge, so the ridges keep their edges.

The noise level is Immerkaer's estimate (Computer Vision and Image Understanding 64(2), 1996): the
image filtered with the difference of two Laplacians, whose response to planes and to most smooth
structure is zero and to white noise of deviation s has deviation 6 s. The median of its absolute
value (0.6745 of that deviation for Gaussian noise) rather than the paper's mean keeps the ridges'
remaining response out of the estimate.
"""
from __future__ import annotations

import cv2
import numpy as np

from . import learned_parameters as L
from . import parameters as P

_LAPLACIAN_DIFFERENCE = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_RESPONSE_PER_SIGMA = 6.0 * 0.6745       # median |response| to Gaussian noise of deviation 1


def noise_level(image: np.ndarray) -> float:
    """Estimated deviation (grey levels) of additive white noise in ``image``."""
    if min(image.shape) < 3:
        return 0.0
    response = cv2.filter2D(image.astype(np.float32), -1, _LAPLACIAN_DIFFERENCE)[1:-1, 1:-1]
    return float(np.median(np.abs(response))) / _RESPONSE_PER_SIGMA


def _odd_window(pixels_at_500_dpi: float, dpi: float) -> int:
    return max(3, int(round(P.at_dpi(pixels_at_500_dpi, dpi))) | 1)


def denoise(image: np.ndarray, dpi: float, strength: float = L.DENOISE_STRENGTH,
            min_noise: float = L.DENOISE_MIN_NOISE) -> np.ndarray:
    """``image`` (uint8) with non-local means of filter strength ``strength`` x its noise level, when
    that level is at least ``min_noise`` grey levels; otherwise (and when ``strength`` is 0) the image
    itself."""
    if strength <= 0:
        return image
    level = noise_level(image)
    if level < min_noise:
        return image
    return cv2.fastNlMeansDenoising(image, None, h=float(strength * level),
                                    templateWindowSize=_odd_window(L.DENOISE_PATCH, dpi),
                                    searchWindowSize=_odd_window(L.DENOISE_SEARCH, dpi))
