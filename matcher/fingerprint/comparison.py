"""Comparison of two cylinder sets: local similarities, then LSS-R consolidation (MCC paper, sec. 5).

1. Local similarity of every pair of valid cylinders whose minutiae turn by less than 90 degrees:
   1 - |a xor b| / (|a| + |b|) over the cells valid in both (norms are square roots of popcounts).
2. The best one-to-one pairs (greedy on similarity) are relaxed: each pair's weight is reinforced by
   pairs that agree with it geometrically (distance, relative direction, radial angle), which
   suppresses pairs that look alike locally but sit in the wrong place.
3. The score is the mean relaxed weight of the n_P most "efficient" pairs, n_P growing with the
   number of minutiae (a sigmoid between LSS_MIN_NP and LSS_MAX_NP).

The numba kernels are in :mod:`._kernels.similarity` and :mod:`._kernels.consolidation`.

The constants (parameters.py) are the MCC paper's or near them, set, not tuned. Checked 2026-11-30 on
the learned templates of the robustness protocol (bench/_fingerprint_robustness.py, every probe
impression, the shipped extractor's cached templates re-scored), one constant at a time, by leave-one-
database-out with the choice rule of bench/_fingerprint_robustness_lodo.py (a scratch run, not a bench
module): the paper's value was chosen on every fold for the spatial sigma (9.3 against 11 and 13 px),
the valid-cell and common-cell fractions; the relaxation's distance tolerance (5 against 6.5 / 8 / 10
px) was chosen on one fold; LSS_MIN_NP 3 and LSSR_WEIGHT 0.35 were chosen on all four, but for at most
0.1 point of held-out EER on any set (1-2 genuine pairs per database). No setting moved the former sweep
set ("sweep artefacts"): its FNMR at FMR 0.1 % stayed at 22-25 % for all of them, so its loss is in the
cylinders of a stretched print, not in the consolidation. None was changed.
"""
from __future__ import annotations

from . import parameters as P
from ._kernels import raw_score_from_python
from .cylinders import CYLINDER, Cylinders

CONSOLIDATION = P.consolidation_parameters()
MIN_COMMON_CELLS = CYLINDER.min_common_cells
_FIELDS = (tuple(CYLINDER), tuple(CONSOLIDATION))


def compare_cylinders(a: Cylinders, b: Cylinders) -> float:
    """Raw MCC LSS-R similarity in [0, 1]."""
    return float(raw_score_from_python(a.x, a.y, a.angle, a.bits, a.mask, a.valid, b.x, b.y, b.angle, b.bits,
                                       b.mask, b.valid, *_FIELDS))
