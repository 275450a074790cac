"""The learned extractor: LEADER's minutiae from a grey image, as an ordinary Template.

Stages (each seen by ``trace(stage, value)``): seams repaired (a sweep sensor's strips moved back
into line and its bright seam rows rebuilt), denoised (a grainy print through non-local means), mask
(segmented finger), equalised (the finger's bounding box with uniform local mean and contrast), crop
(the part the network sees, resampled to its resolution), output (the network's four maps), minutiae.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import cv2
import numpy as np

from . import learned_parameters as L
from . import leader_model
from . import parameters as P
from .denoising import denoise
from .equalisation import equalise
from .seam_repair import repair_seams
from .errors import LowQualityError
from .quality import require_foreground, usable_image
from .segmentation import segment
from .template import Template, make_minutiae

Trace = Optional[Callable[[str, object], None]]

def _crop_box(mask: np.ndarray, margin: float) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    m = int(round(margin))
    h, w = mask.shape
    return (max(0, int(xs.min()) - m), max(0, int(ys.min()) - m),
            min(w, int(xs.max()) + 1 + m), min(h, int(ys.max()) + 1 + m))


def network_input(image: np.ndarray, factor: float) -> tuple[np.ndarray, int, int]:
    """``image`` resampled by ``factor`` and centre-padded to multiples of 32 with its corner grey
    (as LEADER was run in training); returns (input H x W float32, left pad, top pad)."""
    if abs(factor - 1.0) > 1e-3:
        h, w = image.shape
        size = (max(1, int(round(w * factor))), max(1, int(round(h * factor))))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
    h, w = image.shape
    m = L.SIZE_MULTIPLE
    new_h, new_w = -(-h // m) * m, -(-w // m) * m
    top, left = (new_h - h) // 2, (new_w - w) // 2
    padded = np.full((new_h, new_w), float(image[0, 0]), np.float32)
    padded[top:top + h, left:left + w] = image
    return padded, left, top


def percent(confidence):
    """A minutia's confidence as the template stores it: a whole percent, 1-100."""
    return np.clip(np.round(np.asarray(confidence, np.float32) * np.float32(100.0)), 1, 100).astype(np.uint8)


def detections(output: np.ndarray, threshold: float = L.QUALITY_THRESHOLD):
    """(x, y, direction, is_ending, confidence) arrays of the maxima whose confidence, as the template
    stores it (:func:`percent`), reaches ``threshold``'s. Compared in stored percents, a template
    extracted at a low threshold and cut to a higher one keeps exactly the minutiae extraction at the
    higher one finds (the bench caches low-threshold templates and cuts them)."""
    least = percent(threshold)
    # Confidences that round to ``least`` percent or more are at least half a percent below it: the
    # map is scanned from there, and the stored percent decides.
    iy, ix = np.nonzero(output[..., 3] >= (int(least) - 0.5) / 100.0)
    picked = output[iy, ix]
    keep = percent(picked[:, 3]) >= least
    iy, ix, picked = iy[keep], ix[keep], picked[keep]
    return (ix.astype(np.float32), iy.astype(np.float32), picked[:, 1], picked[:, 2] >= L.TYPE_THRESHOLD,
            picked[:, 3])


def learned_quality(area_mm2: float, confidence: np.ndarray) -> int:
    """0-100: usable area x minutia count x the network's mean confidence in its best minutiae. The
    extractor rates the detections at the shipped threshold (or its own, when higher), so a template
    extracted at a lower threshold has the quality the shipped extractor gives the same print."""
    area = min(1.0, area_mm2 / L.GOOD_AREA_MM2)
    count = min(1.0, confidence.size / L.GOOD_MINUTIAE)
    best = np.sort(confidence)[::-1][:L.GOOD_MINUTIAE]
    sure = min(1.0, float(best.mean()) / L.GOOD_CONFIDENCE) if best.size else 0.0
    return int(round(100.0 * area * count * sure))


def prepared(image: np.ndarray, dpi: float, emit: Callable[[str, object], None], seam_repair: bool = L.SEAM_REPAIR,
             denoise_strength: float = L.DENOISE_STRENGTH) -> np.ndarray:
    """The print as it is segmented: checked usable, its seams repaired and its grain removed (the
    stages before the mask, each emitted)."""
    image = usable_image(image)
    if seam_repair:
        image = repair_seams(image)
        emit("seams repaired", image)
    if denoise_strength > 0:
        image = denoise(image, dpi, denoise_strength)
        emit("denoised", image)
    return image


def extract_learned(image: np.ndarray, dpi: float = 500, trace: Trace = None, *, scale: float = L.SCALE,
                    crop: bool = True, threads: int = L.THREADS, optimisation: str = L.OPTIMISATION, fused: bool = True,
                    threshold: float = L.QUALITY_THRESHOLD, max_minutiae: int = L.MAX_MINUTIAE,
                    model_file: Optional[str] = None, layout: bool = True,
                    crop_margin: float = L.CROP_MARGIN, seam_repair: bool = L.SEAM_REPAIR,
                    equalise_sigma: float = L.EQUALISE_SIGMA,
                    denoise_strength: float = L.DENOISE_STRENGTH) -> Template:
    """Template of the finger in ``image`` from LEADER's minutiae (raises LowQualityError).
    The keywords are the bench's variants (resolution, crop and its margin, threads, graph rewrites,
    another model file, seam repair, equalisation window and denoising strength: 0 turns them off)."""
    emit = trace if trace is not None else (lambda stage, value: None)
    dpi = float(dpi)
    image = prepared(image, dpi, emit, seam_repair, denoise_strength)
    mask = segment(image, dpi)
    emit("mask", mask)
    area = require_foreground(mask, dpi)
    x0, y0, x1, y1 = (_crop_box(mask, P.at_dpi(crop_margin, dpi)) if crop
                      else (0, 0, image.shape[1], image.shape[0]))
    factor = L.NETWORK_DPI * scale / dpi
    region = equalise(image[y0:y1, x0:x1], dpi, equalise_sigma)
    emit("equalised", region)
    net_in, left, top = network_input(region, factor)
    emit("crop", net_in)
    out = leader_model.run(net_in[None, :, :, None], threads, optimisation, fused, model_file, layout)[0]
    emit("output", out)
    return template_from_output(out, left, top, factor, x0, y0, image.shape, dpi, area, threshold,
                                max_minutiae, emit)


def template_from_output(out, left, top, factor, x0, y0, shape, dpi, area, threshold=L.QUALITY_THRESHOLD,
                         max_minutiae=L.MAX_MINUTIAE, emit=None) -> Template:
    """Template from the network's output maps of a crop at (x0, y0), resampled by ``factor``."""
    x, y, direction, ending, confidence = detections(out, threshold)
    order = np.argsort(-confidence, kind="stable")[:max_minutiae]
    x = (x[order] - left) / factor + x0
    y = (y[order] - top) / factor + y0
    # LEADER's direction points the opposite way to ISO's (measured: on FVC2002 DB1 the nearest
    # classical minutia's ISO angle is LEADER's + 180 degrees within the classical trace error).
    angle = np.mod(direction[order] + math.pi, 2 * math.pi)
    kind = np.where(ending[order], 1, 2).astype(np.uint8)
    quality = percent(confidence[order])
    minutiae = make_minutiae(x, y, angle, kind, quality)
    if emit is not None:
        emit("minutiae", minutiae)
    if len(minutiae) < L.MIN_MINUTIAE:
        raise LowQualityError("too_few_minutiae", f"only {len(minutiae)} minutiae found")
    return Template(minutiae=minutiae, width=int(shape[1]), height=int(shape[0]), dpi=dpi,
                    quality=learned_quality(area, confidence[percent(confidence) >= percent(L.QUALITY_THRESHOLD)]))
