"""The engine's evidence: comparison scores from benchmark runs, as DET curves, EERs and group rates.

Input is a CSV of scored pairs, one row each, with the header ``modality,set,group,genuine,score``:
``modality`` is ``fingerprint`` or ``face``, ``set`` names the data (``FVC2002 DB1``, a deployment's
calibration photos, ...), ``group`` is empty or a demographic label a deployment supplies for its own
calibration data, ``genuine`` is 1 for a mated pair and 0 for an impostor pair, and ``score`` the
calibrated score (-10 log10 FMR, as ``matcher`` returns it). ``python -m bench evidence`` writes one
from the public datasets. No template or image is in it: only scores.

Per group the report gives FNMR and FMR at the operating threshold, as NIST's FRVT and PFT
demographic reports do: an impostor pair counts for a group when both sides belong to it (the
label is per pair).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import numpy as np

MODALITIES = ("fingerprint", "face")
HEADER = ["modality", "set", "group", "genuine", "score"]


class EvidenceError(ValueError):
    """The scores file is not in the documented format (the message names the line)."""


@dataclass
class ScoreSet:
    modality: str
    name: str
    genuine: list[float] = field(default_factory=list)
    impostor: list[float] = field(default_factory=list)
    groups: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupRates:
    group: str
    genuine_pairs: int
    impostor_pairs: int
    fnmr: float
    fmr: float


def read_scores(text: str) -> list[ScoreSet]:
    """Parse the CSV (strict: unknown modality, a bad number or a missing column names its line)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] != HEADER:
        raise EvidenceError(f"line 1: the header must be {','.join(HEADER)}")
    sets: dict[tuple[str, str], ScoreSet] = {}
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(HEADER):
            raise EvidenceError(f"line {line}: expected {len(HEADER)} columns, found {len(row)}")
        modality, name, group, genuine, score = (cell.strip() for cell in row)
        if modality not in MODALITIES:
            raise EvidenceError(f"line {line}: modality must be one of {', '.join(MODALITIES)}")
        if genuine not in ("0", "1"):
            raise EvidenceError(f"line {line}: genuine must be 0 or 1")
        try:
            value = float(score)
        except ValueError:
            raise EvidenceError(f"line {line}: score is not a number") from None
        if not np.isfinite(value):
            raise EvidenceError(f"line {line}: score is not finite")
        target = sets.setdefault((modality, name), ScoreSet(modality, name))
        (target.genuine if genuine == "1" else target.impostor).append(value)
        if group:
            mated, non_mated = target.groups.setdefault(group, ([], []))
            (mated if genuine == "1" else non_mated).append(value)
    return [s for s in sets.values() if s.genuine and s.impostor]


def det_curve(genuine: list[float], impostor: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """(FMR, FNMR) at every distinct threshold, accepting score >= threshold."""
    g, i = np.sort(np.asarray(genuine)), np.sort(np.asarray(impostor))
    thresholds = np.unique(np.concatenate([g, i]))
    fnmr = np.searchsorted(g, thresholds, side="left") / len(g)
    fmr = 1.0 - np.searchsorted(i, thresholds, side="left") / len(i)
    return fmr, fnmr


def equal_error_rate(genuine: list[float], impostor: list[float]) -> float:
    fmr, fnmr = det_curve(genuine, impostor)
    k = int(np.argmin(np.abs(fmr - fnmr)))
    return float((fmr[k] + fnmr[k]) / 2)


def fnmr_at_fmr(genuine: list[float], impostor: list[float], target: float) -> float | None:
    """FNMR at the lowest threshold whose FMR is at most ``target`` (None: too few impostors to say)."""
    if len(impostor) * target < 1:
        return None
    fmr, fnmr = det_curve(genuine, impostor)
    ok = np.nonzero(fmr <= target)[0]
    return float(fnmr[ok[0]]) if len(ok) else 1.0


def rates_at(genuine: list[float], impostor: list[float], threshold: float) -> tuple[float, float]:
    """(FNMR, FMR) accepting score >= threshold."""
    g, i = np.asarray(genuine), np.asarray(impostor)
    fnmr = float(np.mean(g < threshold)) if len(g) else float("nan")
    fmr = float(np.mean(i >= threshold)) if len(i) else float("nan")
    return fnmr, fmr


def group_rates(scores: ScoreSet, threshold: float) -> list[GroupRates]:
    out = []
    for group in sorted(scores.groups):
        mated, non_mated = scores.groups[group]
        fnmr, fmr = rates_at(mated, non_mated, threshold)
        out.append(GroupRates(group, len(mated), len(non_mated), fnmr, fmr))
    return out
