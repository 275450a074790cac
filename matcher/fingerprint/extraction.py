"""``extract``: the public entry point, choosing the learned (LEADER) or the classical extractor.

``method="learned"`` runs the LEADER network (learned.py), with a second look at prints it is unsure
of (thickening.py); ``method="classical"`` the SourceAFIS-like pipeline (extractor.py). Both give
ordinary Templates for the same MCC comparison.
"""
from __future__ import annotations

import numpy as np

from .extractor import Trace
from .extractor import extract as extract_classical
from .thickening import extract_thickening
from .template import Template

METHODS = ("learned", "classical")
# The booth, enrolment and de-duplication use the learned extractor: held-out (LODO) EER on FVC2002
# 0.13 % at 0.9 x (0.86 % before the 0.9 x / no-margin default) against the classical 2.54 %, within
# the booth's time budget (python -m bench fingerprint).
# Not both fused: bench fingerprint --fusion (2026-11-29, held out) fuses the two extractors' scores,
# rule and weight chosen leave-one-database-out. At 0.9 x the fused LODO EER is 0.18 % (plain sum
# 0.22 %) against learned-only 0.18 %, no nearer 1.5x clean on the dry / partial / sweep sets and worse
# on noise (classical 8 % there), for ~73 ms more extraction CPU and over twice the compare time (above
# the 0.1 ms target). At 0.8 x the plain sum helps on FVC (0.36 vs 0.86 %), but 0.9 x alone does better.
DEFAULT_METHOD = "learned"


def extract(image: np.ndarray, dpi: float = 500, trace: Trace = None, *, method: str = DEFAULT_METHOD) -> Template:
    """Template of the finger in ``image`` (2-D uint8, ``dpi`` pixels per inch).

    Raises LowQualityError (with ``reason``) when the print cannot give a reliable template.
    """
    if method == "learned":
        return extract_thickening(image, dpi, trace)
    if method == "classical":
        return extract_classical(image, dpi, trace)
    raise ValueError(f"unknown extraction method {method!r}; expected one of {', '.join(METHODS)}")
