"""Normalise the arrays callers hand in to the one layout the engine uses: RGB uint8, H x W x 3, C-contiguous."""
from __future__ import annotations

import numpy as np

from matcher.face.errors import ImageFormatError

# Smaller than this cannot hold a face the encoder can use (its aligned chip is 150 x 150).
MIN_SIDE_PX = 32


def as_rgb(image: object) -> np.ndarray:
    """Return ``image`` as RGB uint8 H x W x 3.

    Accepted: RGB (H x W x 3), greyscale (H x W or H x W x 1, replicated to 3 channels) and RGBA
    (H x W x 4, alpha dropped: a camera frame or a 32-bit PNG has no transparency worth compositing).
    Anything else raises :class:`ImageFormatError`; other dtypes are refused rather than rescaled
    because a float image's range (0-1 or 0-255?) cannot be guessed safely.
    """
    if not isinstance(image, np.ndarray):
        raise ImageFormatError(f"expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ImageFormatError(f"expected dtype uint8, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        rgb = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 3:
        rgb = image
    elif image.ndim == 3 and image.shape[2] == 4:
        rgb = image[:, :, :3]
    else:
        raise ImageFormatError(f"expected H x W, H x W x 3 or H x W x 4, got shape {image.shape}")
    if min(rgb.shape[:2]) < MIN_SIDE_PX:
        raise ImageFormatError(f"image of {rgb.shape[1]} x {rgb.shape[0]} px is too small to hold a face")
    return np.ascontiguousarray(rgb)
