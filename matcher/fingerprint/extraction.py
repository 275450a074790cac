"""``extract``: the public entry point, choosing the learned (LEADER) or the classical extractor.

``method="learned"`` runs the LEADER network (learned.py); ``method="classical"`` the
SourceAFIS-like pipeline (extractor.py). Both give ordinary Templates for the same MCC comparison.
"""
from __future__ import annotations

import numpy as np

from .extractor import Trace
from .extractor import extract as extract_classical
from .learned import extract_learned
from .template import Template

METHODS = ("learned", "classical")
# The booth, enrolment and de-duplication use the learned extractor: held-out (LODO) EER on FVC2002
# 0.86 % against the classical 2.54 %, within the booth's time budget (python -m bench fingerprint).
DEFAULT_METHOD = "learned"


def extract(image: np.ndarray, dpi: float = 500, trace: Trace = None, *, method: str = DEFAULT_METHOD) -> Template:
    """Template of the finger in ``image`` (2-D uint8, ``dpi`` pixels per inch).

    Raises LowQualityError (with ``reason``) when the print cannot give a reliable template.
    """
    if method == "learned":
        return extract_learned(image, dpi, trace)
    if method == "classical":
        return extract_classical(image, dpi, trace)
    raise ValueError(f"unknown extraction method {method!r}; expected one of {', '.join(METHODS)}")
