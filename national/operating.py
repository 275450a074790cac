"""Operating points per search, not per comparison.

A 1:N search of a probe against N enrolled records is a false positive when any of the N impostor
comparisons passes. With a per-comparison false match rate p at the threshold, and comparisons close to
independent, FPIR(N) = 1 - (1 - p)^N, so the threshold for a target FPIR is

    p* = 1 - (1 - FPIR)^(1/N)  ~  FPIR / N       (9.71 M enrolled, FPIR 1 %:  p* ~ 1.0e-9)

p is the *fused* false match rate of a candidate: each modality's score is calibrated to
-10 log10(FMR) by its engine (fingerprint: power-law impostor tail fitted on FVC2002; face: table fitted
on the labelled photos), and matcher.fusion combines a face and any number of fingers with Fisher's
method, which is exact for independent, well-calibrated p-values. A single modality cannot reach 1e-9
honestly (its calibration ends near 1e-6 of measured data); two fingers and a face can. Records that are
never scored exactly (outside the short list) cannot be false positives, so the search's real FPIR is at
most the figure above; bench/dedup.py checks it on synthetic searches the calibrations were not fitted on.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence


def per_comparison_fmr(fpir: float, enrolled: int) -> float:
    """The fused false match rate each candidate must reach for a search's FPIR to be ``fpir``."""
    if not 0.0 < fpir < 1.0:
        raise ValueError(f"target FPIR must be in (0, 1), got {fpir!r}")
    if enrolled < 1:
        raise ValueError(f"enrolled must be at least 1, got {enrolled!r}")
    return -math.expm1(math.log1p(-fpir) / enrolled)


def fused_threshold(fpir: float, enrolled: int) -> float:
    """The same threshold as a fused score, -10 log10(p*)."""
    return -10.0 * math.log10(per_comparison_fmr(fpir, enrolled))


def expected_fpir(per_comparison: float, enrolled: int) -> float:
    return -math.expm1(enrolled * math.log1p(-per_comparison))


def passing(candidates: Iterable, fpir: float, enrolled: int) -> list:
    """The candidates (anything with ``fused_fmr``) whose fused FMR meets the search's operating point."""
    limit = per_comparison_fmr(fpir, enrolled) * (1.0 + 1e-9)
    return [c for c in candidates if c.fused_fmr <= limit]


def fpir_fnir(mated_best: Sequence[float], nonmated_best: Sequence[float], threshold_fmr: float) -> tuple[float, float]:
    """(FPIR, FNIR) at a per-comparison threshold, from each search's best fused FMR: for mated searches
    the mate's (1.0 when the mate was not returned), for non-mated searches the best impostor's."""
    fnir = sum(1 for f in mated_best if f > threshold_fmr) / max(1, len(mated_best))
    fpir = sum(1 for f in nonmated_best if f <= threshold_fmr) / max(1, len(nonmated_best))
    return fpir, fnir
