"""Fingerprint engine: minutiae extraction, MCC matching, calibrated scores, 1:N search.

Public API::

    tpl = extract(image, dpi=500, trace=None, method=...)  # -> Template; LowQualityError(reason)
    score = compare(probe, candidate)           # -10 log10(FMR); 0 below MIN_MINUTIAE minutiae
    score = compare(probe, views)               # a finger enrolled from several impressions
    threshold_for_fmr(1e-4)                     # -> 40.0
    Template.to_iso() / Template.from_iso(data) # TemplateFormatError on bad records
    views_to_iso(templates) / views_from_iso(data)  # one record, a finger view per impression
    Gallery(templates).search(probe, top_k=10)  # [(index, score)], best first
"""
from __future__ import annotations

from typing import Sequence

from . import parameters as P
from .calibration import calibrated, calibrated_best_of, threshold_for_fmr
from .comparison import compare_cylinders
from .cylinders import Cylinders, cylinders_for
from .errors import FingerprintError, LowQualityError, TemplateFormatError
from .extraction import extract
from .gallery import Gallery
from .template import MINUTIA_DTYPE, Template
from .views import views_from_iso, views_to_iso

__all__ = ["extract", "compare", "compare_raw", "comparable", "MIN_MINUTIAE", "prepare", "threshold_for_fmr", "Template", "Gallery",
           "views_to_iso", "views_from_iso",
           "TemplateFormatError", "LowQualityError", "FingerprintError", "MINUTIA_DTYPE"]


def prepare(template: Template) -> Cylinders:
    """The template's cylinders, built once and kept on the template (a prepared probe)."""
    if template._prepared is None:
        template._prepared = cylinders_for(template.minutiae, template.dpi)
    return template._prepared


MIN_MINUTIAE = P.MIN_MINUTIAE


def comparable(template: Template) -> bool:
    """Whether the template has enough minutiae to be compared at all (P.MIN_MINUTIAE, the floor
    extraction refuses below). LSS-R divides by a pair count that shrinks with the smaller template,
    so a 4-minutia template can score like a strong match against an unrelated print."""
    return len(template.minutiae) >= MIN_MINUTIAE


def compare_raw(probe: Template, candidate: Template) -> float:
    """Uncalibrated MCC similarity in [0, 1] (for calibration and benchmarks); 0 when either
    template is below the floor (:func:`comparable`), as templates imported from elsewhere may be."""
    if not (comparable(probe) and comparable(candidate)):
        return 0.0
    return compare_cylinders(prepare(probe), prepare(candidate))


def compare(probe: Template, candidate: Template | Sequence[Template]) -> float:
    """Calibrated similarity: -10 log10 of the false match rate at this score. ``candidate`` may be
    the impressions (views) of one enrolled finger: the best one counts, calibrated as the best of
    that many chances (matcher.fingerprint.views)."""
    if isinstance(candidate, Template):
        return calibrated(compare_raw(probe, candidate))
    views = list(candidate)
    if not views:
        raise ValueError("an enrolled finger needs at least one view")
    return calibrated_best_of(max(compare_raw(probe, view) for view in views), len(views))

