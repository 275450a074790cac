"""Score calibration: raw MCC similarity -> -10 log10(false match rate).

The impostor distribution of raw scores is modelled, not memorised: below ``TAIL_START`` a
monotone piecewise-linear map (in log FMR) through three empirical impostor quantiles; above it a
power-law (Pareto) tail, log10 FMR falling linearly with log10 of the raw score.

Fitting data: the templates of the default (learned) extractor on FVC2002 DB1-4, 2,800 same-database
impostor pairs per database (same sensor, the realistic case: cross-sensor impostors score lower and
would make the calibration optimistic). Sensors differ (DB4's impostors score highest), so the model
is fitted per database and the worst kept: at each body FMR the highest raw score any database needs,
and the lowest tail exponent (5.42, DB3; the others 6.2-12.8), set below it to 5. Re-fitted
2026-11-29 on the templates at 0.9 x with no crop margin (bench/_fingerprint_calibration.py
fit_worst_sensor; the knots moved by < 0.0004 from the 0.8 x fit). Checked on held-out pairs (fit on
three databases, measure on the fourth): FMR 0.069 % at score 30 (model 0.1 %; per database 0.035 /
0.000 / 0.069 / 0.174 %) and none of 11,200 at score 40, but 2.6 % at score 20 on DB4 when DB4 is left
out: a sensor with a heavier impostor body than any fitted on is under-estimated near FMR 1 %, which
is why the booth operates at 40. In-sample FNMR at 40: 4.3 %. (Before 2026-11-29 the fit was on the
classical extractor's templates; against this model those score conservatively.)
Checked again after seam repair and ridge-valley equalisation joined the extractor (2026-11-29, 17:30
UTC): a worst-sensor fit on the new templates puts every knot at or below these (by <= 0.0006) and the
tail exponent at 5.49 (DB4), so the knots and exponent here stay, conservative on every point.
In-sample with them: FMR 0.009 % at 30, none of 11,200 at 40, FNMR 4.5 % at 40. Held out, DB4 is now
the sensor the other three under-estimate: FMR at 30 is 0.122 % mean (0.000 / 0.000 / 0.000 / 0.486 %)
and at 40 0.043 % (DB4 0.174 %), 3.75 % at 20 on DB4: a sensor not fitted on can pass impostors at 5x the model's rate at score 30
and 17x at the booth's 40 (0.17 % for a model 0.01 %), so each deployed sensor's impostors are fitted.
Checked again when the learned detection threshold moved from 0.35 to 0.25 (2026-11-29, 22:00 UTC;
more, weaker minutiae per template): the worst-sensor fit on the new templates gives knots 0.014210 /
0.017592 / 0.022369 and a tail exponent of 8.73 (the heaviest tail now DB1's; DB4's went from 5.45 to
9.34), every knot below these, so they stay, conservative. Held out (bench fingerprint, 21:50 UTC):
FMR at 30 0.122 % (DB4 0.486 %, as before), at 40 0.000 % of 11,200 (was 0.043 %), at 20 1.54 % (DB4
5.76 %, was 3.75 %); in-sample FNMR at 40 4.55 % (was 4.46 %).
Checked by the smaller template's minutiae (2026-11-30, the robustness report's impostor pairs of all
13 sets, degraded probes against clean enrolments, bench/_fingerprint_robustness.py sparse_end): with
6-13 minutiae 5 of 738 pairs reach 30 against 0.7 expected (DB2 1, DB3 1, DB4 3) and 33 reach 20 against
7.4; with 14-16, 3 of 1,053 against 1.1; with 17 or more none of 35,613 against 35.6. LSS-R averages
only 4-5 cylinder pairs for such a template, so an impostor's few lucky pairs weigh more. Not corrected
here: a factor per size fitted on three databases misses the fourth (held out, DB4's sparse impostors
still pass at several times the model), the sensor caveat above again; a small sensor's deployment fits
its own impostors, and the booth's quality gate keeps most sparse probes out (of its accepted probes,
the partial sets' impostors at 30 are at the model's count).
Re-fit with :func:`fit_tail` when sensors or extraction change, and paste the result here.
``SPARSE_MINUTIAE``: below it (the size bins above), an import reports the enrolled template.
"""
from __future__ import annotations

import math

import numpy as np

# (raw score, FMR) knots of the body: raw ascending, FMR descending (fit_tail output).
BODY_KNOTS = (
    (0.0, 1.0),
    (0.014324, 0.5),
    (0.017998, 0.1),
    (0.023803, 0.01),
)
# Above TAIL_START: log10 FMR = log10(FMR at TAIL_START) - TAIL_EXPONENT * log10(raw / TAIL_START).
TAIL_START = BODY_KNOTS[-1][0]
TAIL_LOG10_AT_START = math.log10(BODY_KNOTS[-1][1])
TAIL_EXPONENT = 5.0
MAX_SCORE = 200.0   # FMR 1e-20: beyond anything the model can claim
SPARSE_MINUTIAE = 17   # a template with fewer minutiae is where the model under-states impostors (docstring)
# The body's knots as arrays once, not per call: most comparisons are impostors scored in the body,
# and rebuilding these lists cost a 1:1 comparison about 3 microseconds.
_BODY_RAW = np.array([k[0] for k in BODY_KNOTS])
_BODY_LOG10 = np.array([math.log10(k[1]) for k in BODY_KNOTS])


def fmr_of_raw(raw: float) -> float:
    """Modelled probability that an impostor pair scores ``raw`` or higher."""
    if raw >= TAIL_START:
        return 10.0 ** (TAIL_LOG10_AT_START - TAIL_EXPONENT * math.log10(raw / TAIL_START))
    return 10.0 ** float(np.interp(raw, _BODY_RAW, _BODY_LOG10))


def calibrated(raw: float) -> float:
    """-10 log10(FMR) of a raw score, clipped to [0, MAX_SCORE]."""
    return float(min(MAX_SCORE, max(0.0, -10.0 * math.log10(max(fmr_of_raw(raw), 1e-300)))))


def calibrated_best_of(raw: float, chances: int) -> float:
    """-10 log10(FMR) of the best of ``chances`` raw scores (a probe against several impressions of
    one finger): an impostor has ``chances`` tries, so the FMR is ``chances`` times a single
    comparison's (capped at 1), an upper bound when the tries are positively correlated."""
    return float(best_of(calibrated(raw), chances))


def best_of(score, chances):
    """The calibrated score of the best of ``chances`` comparisons, from that best one's calibrated
    ``score`` (-10 log10 of ``chances`` times its FMR, clipped at 0: for scores already calibrated, e.g. a
    1:N search's): a finger of unknown position compared with each of a voter's enrolled fingers has
    that many chances to pass. Scalars or arrays (element-wise)."""
    chances = np.asarray(chances)
    if np.any(chances < 1):
        raise ValueError("chances must be at least 1")
    out = np.clip(np.asarray(score, np.float64) - 10.0 * np.log10(chances), 0.0, MAX_SCORE)
    return float(out) if out.ndim == 0 else out


def calibrated_array(raw: np.ndarray) -> np.ndarray:
    raw = np.asarray(raw, np.float64)
    xs = np.array([k[0] for k in BODY_KNOTS])
    logs = np.log10(np.array([k[1] for k in BODY_KNOTS]))
    tail = TAIL_LOG10_AT_START - TAIL_EXPONENT * np.log10(np.maximum(raw, TAIL_START) / TAIL_START)
    log_fmr = np.where(raw >= TAIL_START, tail, np.interp(raw, xs, logs))
    return np.clip(-10.0 * log_fmr, 0.0, MAX_SCORE)


def threshold_for_fmr(fmr: float) -> float:
    """The calibrated score threshold whose false match rate is ``fmr`` (0 < fmr <= 1)."""
    if not 0.0 < fmr <= 1.0:
        raise ValueError(f"FMR must be in (0, 1], got {fmr!r}")
    return min(MAX_SCORE, -10.0 * math.log10(fmr))


def fit_tail(impostor_raw: np.ndarray, tail_fraction: float = 0.01, body_fmrs=(0.5, 0.1)) -> dict:
    """Fit the calibration model to impostor raw scores (for re-calibration on new data).

    Returns body knots at the given FMRs, the tail start (where FMR = ``tail_fraction``) and the
    power-law exponent: least squares of log10 of the empirical survival function against
    log10(score / start), over the scores above the start, through the anchor point."""
    scores = np.sort(np.asarray(impostor_raw, np.float64))
    n = scores.size
    knots = [(0.0, 1.0)]
    for f in body_fmrs:
        knots.append((float(np.quantile(scores, 1 - f)), f))
    start = float(np.quantile(scores, 1 - tail_fraction))
    knots.append((start, tail_fraction))
    first = int(np.searchsorted(scores, start))
    tail = scores[first:]
    survival = (n - np.arange(first, n)) / n
    dx = np.log10(tail / start)
    dy = math.log10(tail_fraction) - np.log10(survival)
    exponent = float((dx * dy).sum() / max((dx * dx).sum(), 1e-12))
    return {"body_knots": knots, "tail_start": start, "exponent": exponent}
