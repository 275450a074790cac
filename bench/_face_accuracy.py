"""Project (``face.ENROLMENT``) against stock face_recognition on the same photos and generated variants.

Every labelled photo is first capped at :data:`PHOTO_MAX_SIDE` (registry photos are no larger, and
stock's upsampled HOG pass on a 4600 px original takes minutes); both pipelines then get the
identical array. Stock is face_recognition exactly as its README uses it: ``face_locations``
(HOG, upsample 1) and ``face_encodings`` of the largest face, compared by raw Euclidean distance.
A photo is a failure to enrol (FTE) for stock when it finds no face, for the project when
``face.encode`` raises. EER is over all pairs of the photos BOTH accepted (so neither pipeline gains
from refusing hard photos), genuine = same identity.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

PHOTO_MAX_SIDE = 800


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray | None:
    h, w = rgb.shape[:2]
    size = (round(w * scale), round(h * scale))
    if min(size) < 32:
        return None
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def capped(rgb: np.ndarray) -> np.ndarray:
    scale = min(1.0, PHOTO_MAX_SIDE / max(rgb.shape[:2]))
    return rgb if scale == 1.0 else _resize(rgb, scale)


def face_width(px: float) -> Callable[[np.ndarray, float], np.ndarray | None]:
    """Shrink the photo so its face (stock's box on the original) is ``px`` wide; never enlarge."""
    return lambda rgb, width: _resize(rgb, px / width) if width > px else rgb


def _downscaled(rgb: np.ndarray, width: float) -> np.ndarray | None:
    return _resize(rgb, min(1.0, 320 / max(rgb.shape[:2])))


def _darkened(rgb: np.ndarray, width: float) -> np.ndarray:
    return np.clip(((rgb / 255.0) ** 2.2) * 255 * 0.6, 0, 255).astype(np.uint8)


def _rotated(degrees: float):
    def turn(rgb: np.ndarray, width: float) -> np.ndarray:
        h, w = rgb.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
        return cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    return turn


def _jpeg(quality: int):
    def compress(rgb: np.ndarray, width: float) -> np.ndarray:
        ok, buf = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])
    return compress


def _greyscale(rgb: np.ndarray, width: float) -> np.ndarray:
    return np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)


VARIANTS: dict[str, Callable[[np.ndarray, float], np.ndarray | None]] = {
    "original (<= 800 px)": lambda rgb, width: rgb,
    "small face 64 px": face_width(64),
    "small face 48 px": face_width(48),
    "small face 40 px": face_width(40),
    "small face 32 px": face_width(32),
    "small face 28 px": face_width(28),
    "small face 24 px": face_width(24),
    "small face 20 px": face_width(20),
    "downscaled to 320 px": _downscaled,
    "JPEG quality 15": _jpeg(15),
    "greyscale": _greyscale,
    "darkened (gamma 2.2, x0.6)": _darkened,
    "rotated 20 degrees": _rotated(20),
}


@dataclass
class Encodings:
    ours: dict[str, np.ndarray | None]     # photo key -> unit embedding, None = refused
    stock: dict[str, np.ndarray | None]    # photo key -> raw embedding, None = no face found
    refusals: dict[str, str]               # photo key -> our refusal reason


def stock_encode(rgb: np.ndarray) -> tuple[np.ndarray | None, float | None]:
    """(stock encoding of the largest face, its box width) or (None, None)."""
    from matcher.face import models

    models.load()   # imports face_recognition_models quietly first (its pkg_resources warning)
    import face_recognition

    boxes = face_recognition.face_locations(rgb)
    if not boxes:
        return None, None
    top, right, bottom, left = max(boxes, key=lambda b: b[1] - b[3])
    return np.array(face_recognition.face_encodings(rgb, [(top, right, bottom, left)])[0]), float(right - left)


def encode_variant(photos: dict[str, np.ndarray], widths: dict[str, float], variant: str,
                   stock_originals: dict[str, np.ndarray | None]) -> Encodings:
    """Both pipelines on one variant of ``photos``; stock's encodings of the originals are reused."""
    from matcher import face

    out = Encodings({}, {}, {})
    make = VARIANTS[variant]
    for key, rgb in photos.items():
        image = make(rgb, widths[key])
        if image is None:
            continue
        image = np.ascontiguousarray(image)
        out.stock[key] = stock_originals[key] if image is rgb else stock_encode(image)[0]
        try:
            out.ours[key] = face.encode(image, policy=face.ENROLMENT).vector
        except face.CaptureError as exc:
            out.ours[key], out.refusals[key] = None, exc.reason
    return out


def eer_on(vectors: dict[str, np.ndarray], keys: list[str], identity: dict[str, str]) -> tuple[float, int, int]:
    """(EER, genuine pairs, impostor pairs) over every pair of ``keys``."""
    from matcher.face.calibration import eer

    if len(keys) < 2:
        return float("nan"), 0, 0
    x = np.stack([vectors[k] for k in keys])
    ids = np.array([identity[k] for k in keys])
    i, j = np.triu_indices(len(keys), k=1)
    d = np.linalg.norm(x[i] - x[j], axis=1)
    same = ids[i] == ids[j]
    if not same.any() or same.all():
        return float("nan"), int(same.sum()), int((~same).sum())
    return eer(d[same], d[~same])[0], int(same.sum()), int((~same).sum())


@dataclass
class Comparison:
    photos: int
    fte_ours: float
    fte_stock: float
    eer_ours: float
    eer_stock: float
    genuine: int
    impostor: int


def compare_pipelines(enc: Encodings, identity: dict[str, str]) -> Comparison:
    keys = sorted(enc.stock)
    both = [k for k in keys if enc.ours.get(k) is not None and enc.stock[k] is not None]
    ours, gen, imp = eer_on({k: enc.ours[k] for k in both}, both, identity)
    stock, _, _ = eer_on({k: enc.stock[k] for k in both}, both, identity)
    n = max(1, len(keys))
    return Comparison(len(keys), sum(enc.ours.get(k) is None for k in keys) / n,
                      sum(enc.stock[k] is None for k in keys) / n, ours, stock, gen, imp)
