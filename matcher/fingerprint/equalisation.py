"""Ridge-valley equalisation of the part of the print the network sees: local mean and contrast made
uniform, so pale blotches (a dry finger's patches of poor contact, or uneven pressure) look like the
rest of the print.

Each pixel is re-expressed in units of its neighbourhood's grey-level spread around its
neighbourhood's mean (both Gaussian-weighted over EQUALISE_SIGMA, a third of a typical ridge period): a blotch
that lifts ridges and valleys by the same amount, or squeezes them towards white, comes back to the
contrast of the print around it. Flat areas (background) keep a spread floor so their noise is not
amplified into texture the network would read as ridges.
"""
from __future__ import annotations

import cv2
import numpy as np

from . import learned_parameters as L
from . import parameters as P

MID_GREY = 128.0


def equalise(image: np.ndarray, dpi: float, sigma: float = L.EQUALISE_SIGMA,
             gain: float = L.EQUALISE_GAIN, floor: float = L.EQUALISE_MIN_SPREAD) -> np.ndarray:
    """uint8 image with uniform local mean (mid grey) and spread ``gain`` grey levels; ``sigma`` in
    pixels at 500 dpi (0 leaves the image unchanged)."""
    if sigma <= 0:
        return image
    f = image.astype(np.float32)
    s = P.at_dpi(sigma, dpi)
    mean = cv2.GaussianBlur(f, (0, 0), s)
    spread = np.sqrt(np.maximum(cv2.GaussianBlur(f * f, (0, 0), s) - mean * mean, 0.0))
    out = MID_GREY + gain * (f - mean) / np.maximum(spread, floor)
    return np.clip(out, 0, 255).astype(np.uint8)
