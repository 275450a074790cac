"""A second look at a print whose ridges may be too thin: the network reads the print as captured
and, when it is unsure of it, the same print with its ridges thickened; the template rated the
higher is kept.

A dry finger, or a sensor that images ridges thin, gives thin broken ridges, which the network reads
as spurious endings and misses minutiae along. A grey erosion by one pixel thickens every ridge (the
ridges are dark), but merges ridges that were thick already (wet prints). No per-print detector of
thin ridges separated the two (the contrast left after a grey dilation against after an erosion, and
the share of dark pixels, overlap between clean and dry prints: ridge width varies between fingers
as much as dryness changes it), so the network decides: the version whose ridges look like the ones it
was trained on gives it more minutiae it is sure of.

Both passes are :func:`learned.extract_learned` on the same repaired and denoised print; only the
thickening is added between them.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from . import learned_parameters as L
from .errors import LowQualityError
from .learned import Trace, extract_learned, percent, prepared
from .parameters import at_dpi
from .template import Template


def thicken(image: np.ndarray, dpi: float, radius: float = L.THICKEN_RADIUS) -> np.ndarray:
    """``image`` with its dark ridges grown by ``radius`` pixels at 500 dpi on each side (grey erosion
    by a disc, at least one pixel)."""
    r = max(1, int(round(at_dpi(radius, dpi))))
    return cv2.erode(image, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))


def assurance(template: Optional[Template]) -> int:
    """How sure the network is of a template: the sum of the stored confidences (percent) of its best
    MAX_MINUTIAE minutiae at the shipped detection threshold; 0 for a refused print or one left with
    fewer than MIN_MINUTIAE there. Rated at the shipped threshold whatever the template was extracted
    at, so the bench's low-threshold templates are chosen between as the shipped ones are."""
    if template is None:
        return 0
    confidence = template.minutiae["quality"]
    confidence = np.sort(confidence[confidence >= percent(L.QUALITY_THRESHOLD)])[::-1][:L.MAX_MINUTIAE]
    return 0 if confidence.size < L.MIN_MINUTIAE else int(confidence.sum(dtype=np.int64))


def unsure(template: Optional[Template], below: int = L.THICKEN_BELOW) -> bool:
    """Whether the network's reading of the print as captured is worth a second look."""
    return assurance(template) < below


def rating(template: Optional[Template]) -> int:
    """The template's quality (learned.learned_quality: usable area x minutia count x the network's
    confidence in its best minutiae, at the shipped threshold); -1 for a refused print or one left with
    fewer than MIN_MINUTIAE at the shipped threshold."""
    return -1 if assurance(template) == 0 else template.quality


def surer(as_captured: Optional[Template], thickened: Optional[Template]) -> Optional[Template]:
    """The template to keep: the thickened print's only when it is rated strictly higher."""
    return thickened if rating(thickened) > rating(as_captured) else as_captured


def extract_thickening(image: np.ndarray, dpi: float = 500, trace: Trace = None, *,
                       thickening: bool = L.THICKENING, seam_repair: bool = L.SEAM_REPAIR,
                       denoise_strength: float = L.DENOISE_STRENGTH, **keywords) -> Template:
    """:func:`extract_learned`'s template of ``image``, or of the print with thickened ridges when the
    network is unsure of the first and the second is rated higher (``thickening=False``: the first alone).
    The second pass's stages are traced with the prefix "thickened "; "kept" names the pass kept.
    Raises the first pass's LowQualityError when both passes are refused."""
    emit = trace if trace is not None else (lambda stage, value: None)
    dpi = float(dpi)
    # The stages before segmentation run once, here: both passes read the same repaired, denoised print.
    image = prepared(image, dpi, emit, seam_repair, denoise_strength)
    single = dict(keywords, seam_repair=False, denoise_strength=0.0)
    first, refusal = _attempt(image, dpi, trace, single)
    if not thickening or not unsure(first):
        return _kept(first, refusal, "as captured", emit)
    thick = thicken(image, dpi)
    emit("thickened", thick)
    second, _ = _attempt(thick, dpi, None if trace is None else (lambda stage, v: trace("thickened " + stage, v)),
                         single)
    kept = surer(first, second)
    return _kept(kept, refusal, "thickened" if kept is second else "as captured", emit)


def _attempt(image, dpi, trace, keywords) -> tuple[Optional[Template], Optional[LowQualityError]]:
    try:
        return extract_learned(image, dpi, trace, **keywords), None
    except LowQualityError as refusal:
        return None, refusal


def _kept(template, refusal, name, emit) -> Template:
    if template is None:
        raise refusal
    emit("kept", name)
    return template
