"""``extract``: the pipeline from a grey image to a Template, one stage per module.

``trace(stage, value)`` (optional) sees every intermediate image and minutia set, in order:
contrast, mask, orientation, coherence, period, normalised, enhanced, ridges, skeleton,
candidates, filter_* (one per rule), minutiae.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np

from . import parameters as P
from .binarisation import binarise
from .enhancement import enhance, normalise
from .errors import LowQualityError
from .filtering import remove_false
from .frequency import ridge_period
from .minutiae import detect
from .orientation import orientation_field
from .quality import image_quality, mean_coherence, minutia_quality, require_foreground, usable_image
from .segmentation import local_contrast, segment
from .skeleton import thin
from .template import Template, make_minutiae

Trace = Optional[Callable[[str, object], None]]


def extract(image: np.ndarray, dpi: float = 500, trace: Trace = None) -> Template:
    """Template of the finger in ``image`` (2-D uint8, ``dpi`` pixels per inch).

    Raises LowQualityError (with ``reason``) when the print cannot give a reliable template.
    """
    emit = trace if trace is not None else (lambda stage, value: None)
    image = usable_image(image)
    dpi = float(dpi)

    contrast = local_contrast(image, dpi)
    emit("contrast", contrast)
    mask = segment(image, dpi, contrast)
    emit("mask", mask)
    area = require_foreground(mask, dpi)

    theta, coherence = orientation_field(image, dpi)
    emit("orientation", theta)
    emit("coherence", coherence)
    clarity = mean_coherence(coherence, mask)
    if clarity < P.MIN_MEAN_COHERENCE:
        raise LowQualityError("incoherent", f"ridge flow too unclear (coherence {clarity:.2f})")

    period = ridge_period(image, mask, theta, coherence, dpi)
    emit("period", period)
    emit("normalised", normalise(image, dpi))
    enhanced = enhance(image, theta, period, dpi)
    emit("enhanced", enhanced)
    ridges = binarise(enhanced, mask, dpi)
    emit("ridges", ridges)
    skeleton = thin(ridges)
    emit("skeleton", skeleton)

    candidates = detect(skeleton, P.at_dpi(P.MINUTIA_TRACE_LENGTH, dpi))
    emit("candidates", candidates)
    kept = remove_false(candidates, mask, coherence, dpi, trace=trace)

    quality = minutia_quality(kept.x, kept.y, coherence)
    order = np.argsort(-quality.astype(np.int32), kind="stable")[:P.MAX_MINUTIAE]
    # Image axes (y down, clockwise-positive atan2) -> ISO angle (counter-clockwise, y down).
    iso_angle = np.mod(-kept.angle[order], 2 * math.pi)
    minutiae = make_minutiae(kept.x[order], kept.y[order], iso_angle, kept.kind[order], quality[order])
    emit("minutiae", minutiae)
    if len(minutiae) < P.MIN_MINUTIAE:
        raise LowQualityError("too_few_minutiae", f"only {len(minutiae)} minutiae found")
    score = image_quality(area, clarity, len(minutiae))
    return Template(minutiae=minutiae, width=int(image.shape[1]), height=int(image.shape[0]),
                    dpi=dpi, quality=score)
