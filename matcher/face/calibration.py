"""Score calibration: template distance -> false match rate -> score = -10 * log10(FMR).

A :class:`CalibrationTable` maps Euclidean distance between unit-length embeddings to the share of
impostor pairs at or below that distance. It is built by :func:`build_table` from labelled pairs
of the deployment's own population and swapped in with :func:`set_calibration`; the default table
(:mod:`matcher.face.default_calibration`) was built from the public photos in
``../shared/datasets/faces``, which are mostly adult, European and North-American faces.

Why a deployment must swap it: published evaluations of dlib's encoder (its own README, NIST FRVT
demographic studies) show far more false matches among East-Asian faces and among children at a
fixed distance, i.e. the impostor distances of those populations sit lower. A table built on the
deployment's own labelled pairs (registry photos of different people from the same region and
age mix) moves the threshold for a target FMR to where it actually holds. Procedure::

    table = calibration.build_table(genuine_distances, impostor_distances, source="KH 2026 pilot")
    Path("face-calibration.json").write_text(table.to_json())      # ship with the kiosk config
    face.set_calibration(CalibrationTable.from_json(text))         # at start-up

Tail model: a few thousand impostor pairs measure FMR down to ~1e-3 at best, while the booth works
at 1e-4 .. 1e-6 and 1:N at far less. Below the distance where fewer than :data:`TAIL_MIN_COUNT`
impostors remain, FMR follows a Gaussian fitted to the lower half of the impostor distances
(probit of the empirical CDF is close to linear there), joined continuously to the empirical
curve. This is an extrapolation: treat scores above ~50 as "very strong", not as exact rates.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from matcher.face.errors import CalibrationError

MIN_LOG10_FMR = -15.0      # floor of the table: scores are capped at 150
TAIL_MIN_COUNT = 10        # below this many impostors at or under d, use the fitted tail
MIN_IMPOSTORS = 100
GRID = tuple(round(0.01 * i, 2) for i in range(0, 201))  # distances 0.00 .. 2.00 (unit vectors)

_NORMAL = NormalDist()


@dataclass(frozen=True)
class CalibrationTable:
    distances: tuple[float, ...]   # strictly increasing
    log10_fmr: tuple[float, ...]   # non-decreasing, in [MIN_LOG10_FMR, 0]
    source: str = ""

    def __post_init__(self) -> None:
        d = np.asarray(self.distances, dtype=float)
        f = np.asarray(self.log10_fmr, dtype=float)
        if d.ndim != 1 or d.shape != f.shape or d.size < 2:
            raise CalibrationError("a calibration table needs two equal-length columns of at least 2 rows")
        if not (np.all(np.isfinite(d)) and np.all(np.isfinite(f))):
            raise CalibrationError("calibration table values must be finite")
        if np.any(np.diff(d) <= 0):
            raise CalibrationError("calibration distances must be strictly increasing")
        if np.any(np.diff(f) < 0) or f.max() > 0 or f.min() < MIN_LOG10_FMR:
            raise CalibrationError("log10 FMR must be non-decreasing and within [-15, 0]")

    @property
    def min_fmr(self) -> float:
        return 10.0 ** self.log10_fmr[0]

    def fmr(self, distance: float | np.ndarray) -> float | np.ndarray:
        """Share of impostor pairs at or below ``distance`` (interpolated in log space)."""
        out = 10.0 ** np.interp(distance, self.distances, self.log10_fmr)
        return float(out) if np.ndim(out) == 0 else out

    def score(self, distance: float | np.ndarray) -> float | np.ndarray:
        """Calibrated score -10 * log10(FMR) for a distance: higher = more similar."""
        out = -10.0 * np.interp(distance, self.distances, self.log10_fmr)
        return float(out) if np.ndim(out) == 0 else out

    def distance_for_fmr(self, fmr: float) -> float:
        """The largest distance whose FMR is at most ``fmr`` (the 1:1 acceptance distance)."""
        target = _check_fmr(fmr, self)
        f = np.asarray(self.log10_fmr)
        d = np.asarray(self.distances)
        above = np.flatnonzero(f > target)
        if above.size == 0:
            return float(d[-1])
        i = int(above[0])
        if i == 0:
            return float(d[0])
        # Linear inverse of the log-interpolation between rows i-1 and i.
        t = (target - f[i - 1]) / (f[i] - f[i - 1])
        return float(d[i - 1] + t * (d[i] - d[i - 1]))

    def to_json(self) -> str:
        return json.dumps({"version": 1, "kind": "face-distance-fmr", "source": self.source,
                           "distances": list(self.distances), "log10_fmr": list(self.log10_fmr)})

    @classmethod
    def from_json(cls, text: str) -> "CalibrationTable":
        try:
            obj = json.loads(text)
            if obj.get("version") != 1 or obj.get("kind") != "face-distance-fmr":
                raise CalibrationError("not a version-1 face calibration table")
            return cls(tuple(float(x) for x in obj["distances"]), tuple(float(x) for x in obj["log10_fmr"]),
                       str(obj.get("source", "")))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            if isinstance(exc, CalibrationError):
                raise
            raise CalibrationError(f"unreadable calibration table ({type(exc).__name__})") from exc


def _check_fmr(fmr: float, table: CalibrationTable) -> float:
    if not (isinstance(fmr, (int, float)) and 0.0 < fmr <= 1.0):
        raise CalibrationError(f"target FMR must be in (0, 1], got {fmr!r}")
    target = math.log10(fmr)
    if target < table.log10_fmr[0] - 1e-12:
        raise CalibrationError(f"the calibration table does not reach FMR {fmr:g} (floor {table.min_fmr:g})")
    return target


def threshold_for_fmr(fmr: float, table: CalibrationTable) -> float:
    """Score threshold for a target FMR: ``score >= threshold`` accepts at most that share of impostors."""
    return -10.0 * _check_fmr(fmr, table)


@dataclass(frozen=True)
class TailFit:
    mean: float
    sd: float


def fit_tail(impostor: np.ndarray) -> TailFit:
    """Gaussian fitted by least squares to probit(empirical CDF) over the lower half of the impostor distances."""
    x = np.sort(np.asarray(impostor, dtype=float))
    n = x.size
    ranks = (np.arange(1, n + 1) - 0.5) / n
    lower = ranks <= 0.5
    z = np.array([_NORMAL.inv_cdf(float(p)) for p in ranks[lower]])
    slope, intercept = np.polyfit(x[lower], z, 1)
    if slope <= 0:
        raise CalibrationError("impostor distances do not increase with rank; cannot fit a tail")
    return TailFit(mean=float(-intercept / slope), sd=float(1.0 / slope))


def build_table(genuine: np.ndarray | list[float], impostor: np.ndarray | list[float],
                source: str = "", grid: tuple[float, ...] = GRID) -> CalibrationTable:
    """Build a distance -> FMR table from labelled pair distances.

    ``genuine`` is only sanity-checked (it must sit below the impostors on average); the table
    itself is the impostor distribution, empirical where it has at least :data:`TAIL_MIN_COUNT`
    pairs and a Gaussian tail below, joined continuously.
    """
    imp = np.sort(np.asarray(impostor, dtype=float))
    gen = np.asarray(genuine, dtype=float)
    if imp.size < MIN_IMPOSTORS:
        raise CalibrationError(f"need at least {MIN_IMPOSTORS} impostor distances, got {imp.size}")
    if gen.size == 0 or not (np.all(np.isfinite(imp)) and np.all(np.isfinite(gen))):
        raise CalibrationError("need finite genuine and impostor distances")
    if np.median(gen) >= np.median(imp):
        raise CalibrationError("genuine distances are not smaller than impostor ones: labels swapped?")
    tail = fit_tail(imp)
    d = np.asarray(grid, dtype=float)
    empirical = np.searchsorted(imp, d, side="right") / imp.size
    join_at = imp[TAIL_MIN_COUNT - 1]                 # distance of the TAIL_MIN_COUNT-th impostor
    model = np.array([_log10_normal_cdf((x - tail.mean) / tail.sd) for x in d])
    join_model = _log10_normal_cdf((join_at - tail.mean) / tail.sd)
    join_empirical = math.log10(TAIL_MIN_COUNT / imp.size)
    log_fmr = np.where(d < join_at, model + (join_empirical - join_model),
                       np.log10(np.maximum(empirical, TAIL_MIN_COUNT / imp.size)))
    log_fmr = np.maximum.accumulate(np.clip(log_fmr, MIN_LOG10_FMR, 0.0))
    return CalibrationTable(tuple(float(x) for x in d), tuple(round(float(x), 4) for x in log_fmr), source)


def _log10_normal_cdf(z: float) -> float:
    """log10 of the standard normal CDF, accurate far into the lower tail."""
    if z > -5:
        return math.log10(max(_NORMAL.cdf(z), 1e-300))
    # Mills-ratio asymptotic form: Phi(z) ~ phi(z)/|z| * (1 - 1/z^2 + 3/z^4)
    log_phi = -0.5 * z * z - 0.5 * math.log(2 * math.pi)
    return (log_phi - math.log(-z) + math.log1p(-1 / z ** 2 + 3 / z ** 4)) / math.log(10)


def eer(genuine: np.ndarray | list[float], impostor: np.ndarray | list[float]) -> tuple[float, float]:
    """(equal error rate, distance) from pair distances: the point where FMR and FNMR cross.

    Thresholds are the observed distances; at each, FNMR = share of genuine above it and FMR = share
    of impostors at or below it; the EER is the mean of the two at the threshold where they are closest.
    """
    gen = np.sort(np.asarray(genuine, dtype=float))
    imp = np.sort(np.asarray(impostor, dtype=float))
    if gen.size == 0 or imp.size == 0:
        raise CalibrationError("EER needs genuine and impostor distances")
    thresholds = np.sort(np.concatenate([gen, imp]))
    fnmr = 1.0 - np.searchsorted(gen, thresholds, side="right") / gen.size
    fmr = np.searchsorted(imp, thresholds, side="right") / imp.size
    i = int(np.argmin(np.abs(fnmr - fmr)))  # first (smallest) threshold among ties
    return float((fnmr[i] + fmr[i]) / 2), float(thresholds[i])
