"""Calibration fitted per sensor, worst case kept, and checked on pairs it was not fitted on: fit the
impostor model on three FVC2002 databases' same-database impostor pairs, measure the false match
rate at scores 20 / 30 / 40 on the fourth, rotate.

The shipped model (matcher/fingerprint/calibration.py) is ``fit_worst_sensor`` over all four: at each
body FMR the highest raw score any sensor needs, and the lowest tail exponent (the heaviest tail), so
no sensor's impostors are more likely to pass than the model says."""
from __future__ import annotations

import numpy as np

from bench.common import row
from matcher.fingerprint import calibration


def calibrated_with(fit: dict, raw: np.ndarray) -> np.ndarray:
    """calibration.calibrated_array with the knots and exponent of ``fit`` (fit_tail's output)."""
    raw = np.asarray(raw, np.float64)
    xs = np.array([k[0] for k in fit["body_knots"]])
    logs = np.log10(np.array([k[1] for k in fit["body_knots"]]))
    start = fit["tail_start"]
    tail = logs[-1] - fit["exponent"] * np.log10(np.maximum(raw, start) / start)
    log_fmr = np.where(raw >= start, tail, np.interp(raw, xs, logs))
    return np.clip(-10.0 * log_fmr, 0.0, calibration.MAX_SCORE)


def fit_worst_sensor(impostors: dict[str, np.ndarray]) -> dict:
    return worst_of([calibration.fit_tail(scores) for scores in impostors.values()])


def worst_of(fits: list[dict]) -> dict:
    """One model no sensor's impostors pass more often than it says: at each body FMR the highest raw
    score of ``fits`` (fit_tail's output, the same FMRs), and the lowest tail exponent."""
    knots = [(max(f["body_knots"][i][0] for f in fits), fits[0]["body_knots"][i][1])
             for i in range(len(fits[0]["body_knots"]))]
    return {"body_knots": knots, "tail_start": knots[-1][0], "exponent": min(f["exponent"] for f in fits)}


def shipped() -> dict:
    """The shipped model (calibration.py) in fit_tail's form."""
    return {"body_knots": [tuple(k) for k in calibration.BODY_KNOTS], "tail_start": calibration.TAIL_START,
            "exponent": calibration.TAIL_EXPONENT}


def lodo_check(impostors: dict[str, np.ndarray], label: str) -> None:
    dbs = sorted(impostors)
    measured = {t: [] for t in (20, 30, 40)}
    for db in dbs:
        fit = fit_worst_sensor({d: impostors[d] for d in dbs if d != db})
        scores = calibrated_with(fit, impostors[db])
        for t in measured:
            measured[t].append(np.mean(scores >= t))
    for t, rates in measured.items():
        per_db = " / ".join(f"{r:.3%}" for r in rates)
        row(f"{label}: FMR at score {t} on the held-out database", f"{np.mean(rates):.3%} ({per_db})",
            f"model {10 ** (-t / 10):.3%}; fitted on the other three")
