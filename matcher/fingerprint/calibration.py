"""Score calibration: raw MCC similarity -> -10 log10(false match rate).

The impostor distribution of raw scores is modelled, not memorised: below ``TAIL_START`` a
monotone piecewise-linear map through empirical impostor quantiles; above it an exponential tail,
log10 FMR falling linearly with the raw score, whose slope was fitted on the upper tail of pooled
impostor scores (within and across all four FVC2002 databases, several sensors and a synthetic
one). An exponential tail is conservative for similarity scores bounded above, and it extends to
FMRs far below what the data could measure. Re-fit with ``fit_tail`` when sensors change.
"""
from __future__ import annotations

import math

import numpy as np

# (raw score, FMR) knots of the body, raw ascending, FMR descending; provisional until re-fitted.
BODY_KNOTS = (
    (0.0, 1.0),
    (0.005, 0.5),
    (0.010, 0.1),
    (0.017, 0.01),
)
# log10 FMR = TAIL_LOG10_AT_START - (raw - TAIL_START) * TAIL_DECADES_PER_UNIT above TAIL_START.
TAIL_START = BODY_KNOTS[-1][0]
TAIL_LOG10_AT_START = math.log10(BODY_KNOTS[-1][1])
TAIL_DECADES_PER_UNIT = 120.0
MAX_SCORE = 200.0   # FMR 1e-20: beyond anything the model can claim


def fmr_of_raw(raw: float) -> float:
    """Modelled probability that an impostor pair scores ``raw`` or higher."""
    if raw >= TAIL_START:
        return 10.0 ** (TAIL_LOG10_AT_START - (raw - TAIL_START) * TAIL_DECADES_PER_UNIT)
    xs = [k[0] for k in BODY_KNOTS]
    logs = [math.log10(k[1]) for k in BODY_KNOTS]
    return 10.0 ** float(np.interp(raw, xs, logs))


def calibrated(raw: float) -> float:
    """-10 log10(FMR) of a raw score, clipped to [0, MAX_SCORE]."""
    return float(min(MAX_SCORE, max(0.0, -10.0 * math.log10(max(fmr_of_raw(raw), 1e-300)))))


def calibrated_array(raw: np.ndarray) -> np.ndarray:
    raw = np.asarray(raw, np.float64)
    xs = np.array([k[0] for k in BODY_KNOTS])
    logs = np.log10(np.array([k[1] for k in BODY_KNOTS]))
    log_fmr = np.where(raw >= TAIL_START,
                       TAIL_LOG10_AT_START - (raw - TAIL_START) * TAIL_DECADES_PER_UNIT,
                       np.interp(raw, xs, logs))
    return np.clip(-10.0 * log_fmr, 0.0, MAX_SCORE)


def threshold_for_fmr(fmr: float) -> float:
    """The calibrated score threshold whose false match rate is ``fmr`` (0 < fmr <= 1)."""
    if not 0.0 < fmr <= 1.0:
        raise ValueError(f"FMR must be in (0, 1], got {fmr!r}")
    return min(MAX_SCORE, -10.0 * math.log10(fmr))


def fit_tail(impostor_raw: np.ndarray, tail_fraction: float = 0.01, body_fmrs=(0.5, 0.1)) -> dict:
    """Fit the calibration model to impostor raw scores (for re-calibration on new data).

    Returns the knots and tail parameters to paste into this module: body knots at the given FMRs,
    tail starting where FMR = ``tail_fraction``, slope by least squares of log10 of the empirical
    survival function over the scores above the tail start."""
    scores = np.sort(np.asarray(impostor_raw, np.float64))
    n = scores.size
    knots = [(0.0, 1.0)]
    for f in body_fmrs:
        knots.append((float(np.quantile(scores, 1 - f)), f))
    start = float(np.quantile(scores, 1 - tail_fraction))
    knots.append((start, tail_fraction))
    tail = scores[scores >= start]
    survival = 1.0 - np.arange(n - tail.size, n) / n
    logs = np.log10(survival)
    # log10 S(s) = log10(tail_fraction) - slope * (s - start); least squares through the anchor.
    dx = tail - start
    dy = math.log10(tail_fraction) - logs
    slope = float((dx * dy).sum() / max((dx * dx).sum(), 1e-12))
    return {"body_knots": knots, "tail_start": start, "decades_per_unit": slope}
