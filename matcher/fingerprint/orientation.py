"""Ridge orientation and its coherence from the averaged gradient tensor."""
from __future__ import annotations

import cv2
import numpy as np

from . import parameters as P


def orientation_field(image: np.ndarray, dpi: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel ridge orientation in [0, pi) (image axes: x right, y down) and coherence in [0, 1].

    The dominant gradient direction is perpendicular to the ridges; averaging the doubled-angle
    tensor (Gxx, Gyy, Gxy) instead of the angles makes opposite gradients reinforce each other.
    """
    img = cv2.GaussianBlur(image.astype(np.float32), (0, 0), P.at_dpi(P.ORIENT_GRADIENT_SIGMA, dpi))
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3)
    sigma = P.at_dpi(P.ORIENT_SIGMA, dpi)
    gxx = cv2.GaussianBlur(gx * gx, (0, 0), sigma)
    gyy = cv2.GaussianBlur(gy * gy, (0, 0), sigma)
    gxy = cv2.GaussianBlur(gx * gy, (0, 0), sigma)
    cos2 = gxx - gyy
    sin2 = 2.0 * gxy
    energy = gxx + gyy
    coherence = np.sqrt(cos2 * cos2 + sin2 * sin2) / np.maximum(energy, 1e-6)
    # Smooth the doubled-angle vectors once more so scars and creases do not flip the field.
    smooth = P.at_dpi(P.ORIENT_SMOOTH_SIGMA, dpi)
    cos2 = cv2.GaussianBlur(cos2, (0, 0), smooth)
    sin2 = cv2.GaussianBlur(sin2, (0, 0), smooth)
    gradient_angle = 0.5 * np.arctan2(sin2, cos2)
    ridge = np.mod(gradient_angle + np.pi / 2, np.pi).astype(np.float32)
    return ridge, np.clip(coherence, 0.0, 1.0).astype(np.float32)
