"""Contextual enhancement: local normalisation, then an oriented Gabor bank tuned to the ridge period.

An isotropic-envelope Gabor kernel is separable as the real part of a product of two complex 1-D
filters, so each orientation costs four 1-D passes instead of one large 2-D convolution.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from . import parameters as P


def normalise(image: np.ndarray, dpi: float) -> np.ndarray:
    """Zero local mean, unit local contrast (float32)."""
    sigma = P.at_dpi(P.ENHANCE_NORMALISE_SIGMA, dpi)
    img = image.astype(np.float32)
    centred = img - cv2.GaussianBlur(img, (0, 0), sigma)
    spread = np.sqrt(cv2.GaussianBlur(centred * centred, (0, 0), sigma))
    return centred / np.maximum(spread, 1.0)


def _gabor_response(img: np.ndarray, normal_angle: float, period: float, sigma: float) -> np.ndarray:
    radius = int(math.ceil(3 * sigma))
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    envelope = np.exp(-t * t / (2 * sigma * sigma))
    omega = 2 * math.pi / period
    cx, sy = math.cos(normal_angle), math.sin(normal_angle)
    # exp(i*w*(x cos a + y sin a)) = exp(i*w*x*cos a) * exp(i*w*y*sin a)
    kx_re = (envelope * np.cos(omega * cx * t)).astype(np.float32)
    kx_im = (envelope * np.sin(omega * cx * t)).astype(np.float32)
    ky_re = (envelope * np.cos(omega * sy * t)).astype(np.float32)
    ky_im = (envelope * np.sin(omega * sy * t)).astype(np.float32)
    real = cv2.sepFilter2D(img, cv2.CV_32F, kx_re, ky_re, borderType=cv2.BORDER_REFLECT)
    imag = cv2.sepFilter2D(img, cv2.CV_32F, kx_im, ky_im, borderType=cv2.BORDER_REFLECT)
    # Subtract the envelope-weighted mean so the kernel has zero DC and flat regions map to zero.
    envelope2d_sum = float(envelope.sum()) ** 2
    dc = float(np.sum(np.outer(ky_re, kx_re) - np.outer(ky_im, kx_im)))
    env = envelope.astype(np.float32)
    local = cv2.sepFilter2D(img, cv2.CV_32F, env, env, borderType=cv2.BORDER_REFLECT)
    return real - imag - (dc / envelope2d_sum) * local


def enhance(image: np.ndarray, theta: np.ndarray, period: float, dpi: float) -> np.ndarray:
    """Ridge-enhanced image: positive on ridges (dark in the input), negative in valleys."""
    img = -normalise(image, dpi)           # ridges are dark; make them positive
    count = P.ENHANCE_ORIENTATIONS
    sigma = P.ENHANCE_SIGMA_FRACTION * period
    index = np.round(theta / (math.pi / count)).astype(np.int32) % count
    out = np.zeros(img.shape, np.float32)
    for k in range(count):
        where = index == k
        if not where.any():
            continue
        ridge_angle = k * math.pi / count
        response = _gabor_response(img, ridge_angle + math.pi / 2, period, sigma)
        out[where] = response[where]
    return out
