"""Score-level fusion of calibrated face and fingerprint scores into one decision with a known FMR.

Every engine reports ``score = -10 * log10(p)`` where ``p`` is the false match rate at that score:
the probability that an impostor comparison scores at least as high. For an impostor, a perfectly
calibrated ``p`` is uniformly distributed on (0, 1]. Fusion uses Fisher's method:

    X = -2 * sum(ln p_i)  ~  chi-squared with 2k degrees of freedom  (k independent impostor p-values)
    fused FMR = P(chi2_2k >= X) = exp(-X/2) * sum_{j<k} (X/2)^j / j!

so the fused FMR is exact under its assumptions and needs no genuine-score model. Note that the
naive product of the p_i would under-state the FMR (it ignores that many combinations of k scores
give the same product); the sum term is that correction.

Assumptions and their limits (read before choosing a target FMR):

- Independence of the modalities *for impostor pairs*. Face and fingerprint of two different people
  are close to independent. Faces of relatives (twins, siblings) are not independent of identity
  claims made by relatives, and several fingers of the same two people share pattern classes, so
  the fused FMR is optimistic for close relatives and somewhat optimistic for many fingers.
- Calibration on the deployment's population. Each input FMR is only as good as the engine's
  calibration table; the face table's tail is an extrapolation (see matcher.face.calibration). Each
  modality is therefore capped at :data:`MAX_MODALITY_SCORE` (FMR 1e-15): one extreme score cannot
  claim more than that, however far the engine's table reaches.
- Fisher's rule is not the most powerful combination (a likelihood-ratio sum with modelled genuine
  distributions can be), but it keeps the false match rate known, which is what the booth decision
  and 1:N de-duplication are specified on.

Missing modalities are simply absent: fusing only a face score returns that face score and FMR;
fusing nothing returns FMR 1 (no evidence), which no target below 1 accepts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import Iterable

MAX_MODALITY_SCORE = 150.0     # FMR 1e-15 per modality at most
_LN10_OVER_10 = math.log(10.0) / 10.0


class FusionError(ValueError):
    """A score or target that fusion cannot use (not a finite number, or a target FMR outside (0, 1])."""


@dataclass(frozen=True)
class FusedScore:
    score: float                  # -10 * log10(fmr)
    fmr: float                    # false match rate of the combined evidence, under independence
    modalities: tuple[str, ...]   # e.g. ("face", "finger", "finger")


def _checked(score: object, what: str) -> float:
    if isinstance(score, bool) or not isinstance(score, Real) or not math.isfinite(float(score)):
        raise FusionError(f"{what} score must be a finite number, got {type(score).__name__}")
    # A calibrated score below 0 would mean FMR > 1; above the cap is unvalidated extrapolation.
    return min(max(float(score), 0.0), MAX_MODALITY_SCORE)


def fuse(face: float | None = None, fingers: Iterable[float] | None = ()) -> FusedScore:
    """Combine a face score and any number of fingerprint scores (all calibrated, -10*log10(FMR)).

    ``face=None`` and ``fingers=()`` (or None) mean the modality was not captured.
    """
    named: list[tuple[str, float]] = []
    if face is not None:
        named.append(("face", _checked(face, "face")))
    for i, s in enumerate(fingers or ()):
        named.append(("finger", _checked(s, f"finger #{i + 1}")))
    if not named:
        return FusedScore(score=0.0, fmr=1.0, modalities=())
    half_x = _LN10_OVER_10 * sum(s for _, s in named)      # X/2 = -sum(ln p_i)
    log_fmr = -half_x + _log_poisson_tail(half_x, len(named))
    log_fmr = min(0.0, log_fmr)
    return FusedScore(score=max(0.0, -log_fmr / _LN10_OVER_10), fmr=math.exp(log_fmr),
                      modalities=tuple(name for name, _ in named))


def _log_poisson_tail(m: float, k: int) -> float:
    """ln(sum_{j<k} m^j / j!), computed in log space (m can be ~70 for two capped scores)."""
    if m == 0.0:
        return 0.0
    terms = [j * math.log(m) - math.lgamma(j + 1) for j in range(k)]
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


def decide(fused: FusedScore, target_fmr: float) -> bool:
    """Accept when the fused false match rate is at or below ``target_fmr``."""
    if isinstance(target_fmr, bool) or not isinstance(target_fmr, Real) or not 0.0 < float(target_fmr) <= 1.0:
        raise FusionError(f"target FMR must be in (0, 1], got {target_fmr!r}")
    if not isinstance(fused, FusedScore):
        raise FusionError("decide takes the FusedScore returned by fuse()")
    if not fused.modalities:
        return False
    # Relative slack of 1e-9 so that a score of exactly 40 is accepted at 1e-4 despite float rounding.
    return fused.fmr <= float(target_fmr) * (1.0 + 1e-9)
