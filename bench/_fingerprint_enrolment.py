"""What enrolling a finger from three impressions instead of one would buy, on the robustness sets.

    python -m bench._fingerprint_enrolment [--set NAME ...]

The registry keeps one template per finger, so a small or partial capture at the booth meets one clean
impression, which may not cover the part of the finger the sensor saw. Here a degraded probe (the
robustness sets, bench/_fingerprint_robustness.py) meets an enrolment of three clean impressions and
scores the best of the three, against the first of them alone, on the same pairs (``enrolment_pairs``):
each probe against two disjoint triples of its finger's other impressions (160 genuine comparisons per
database), and against the other fingers' impressions 1-3 (4-6 for a probe among 1-3; 720 impostor
comparisons). The learned engine as shipped, its cached templates; EER per database, as the bench
reports it. The impostor side pays for the best of three too, so the EER is a fair comparison.

The kiosk compares a probe with every enrolled view of a finger (matcher.fingerprint.views) and
calibrates the best as ``k`` chances (calibration.calibrated_best_of: 10 log10 3 = 4.8 points off at
three views), so the second table is at the booth's own threshold: the genuine pairs it rejects with
one view and with three, and the impostors at scores 30 and 40 against what the calibration expects.
The calibration was fitted on single comparisons of clean FVC2002 impressions; its best-of-three form
was fitted on nothing, and these probes are degraded, so the impostor columns check it out of sample.
"""
from __future__ import annotations

import argparse

import numpy as np

from bench import _fingerprint_cache as cache
from bench import _fingerprint_robustness as robustness
from bench.common import row
from bench.fingerprint import DPI, eer, load_database, robustness_extractor
from kiosk.datasets import datasets_dir
from kiosk.config import Settings
from matcher.fingerprint import calibration

ENROLLED = 3
DEFAULT_SETS = ("partial, on the print (60 % window)", "partial, uniform placement (60 % window)", "small dry sensor",
                "dry", "sweep, speed as the real sensor")


def enrolment_pairs(impressions: int = ENROLLED) -> tuple[list, list]:
    """(genuine, impostor) comparisons of one database: (probe key, [enrolled keys]), each enrolment the
    first ``impressions`` of a triple (so 1 and 3 are scored on the same probes and fingers)."""
    genuine, impostor = [], []
    fingers = range(1, robustness.FINGERS + 1)
    for f in fingers:
        for k in robustness.IMPRESSIONS:
            others = [e for e in robustness.IMPRESSIONS if e != k]
            for triple in (others[0:ENROLLED], others[ENROLLED:2 * ENROLLED]):
                genuine.append(((f, k), [(f, e) for e in triple[:impressions]]))
            enrolled = (1, 2, 3) if k not in (1, 2, 3) else (4, 5, 6)
            impostor += [((f, k), [(g, e) for e in enrolled[:impressions]]) for g in fingers if g != f]
    return genuine, impostor


def best_of(found: dict, enrolled: dict, comparisons) -> np.ndarray:
    """The best raw score of each probe against its enrolled impressions (refused probes -1)."""
    return np.array([max(cache.score(found[probe], enrolled[key]) for key in keys) for probe, keys in comparisons])


BOOTH_SCORE = calibration.threshold_for_fmr(Settings().target_fmr)     # 40, the booth's finger-alone threshold
CHECK_SCORES = (30.0, BOOTH_SCORE)


def calibrated_best_of(raw: np.ndarray, chances: int) -> np.ndarray:
    """calibration.calibrated_best_of over an array (a refused probe, raw -1, scores 0)."""
    return calibration.best_of(calibration.calibrated_array(np.maximum(raw, 0.0)), chances)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._fingerprint_enrolment")
    parser.add_argument("--set", action="append", choices=("clean probes",) + tuple(robustness.SETS))
    args = parser.parse_args(argv)
    root = datasets_dir() / "fingerprints" / "fvc2002"
    databases = {db: load_database(root, db) for db in sorted(DPI)}
    extract, settings, enrolled = robustness_extractor(databases, "learned")
    booth: dict = {}
    print(f"\n   learned, enrolled from one impression against the best of {ENROLLED} (the same probes and fingers): mean"
          f" EER [{' / '.join(db[:3] for db in sorted(DPI))}]")
    for name in ("clean probes",) + tuple(args.set or DEFAULT_SETS):
        probes = (robustness.clean_probes(databases, DPI) if name == "clean probes"
                  else robustness.probe_set(name, databases, DPI))
        eers = {impressions: [] for impressions in (1, ENROLLED)}
        booth[name] = {impressions: ([], []) for impressions in eers}
        for db in sorted(DPI):
            found = {key: cache.cached(image, dpi, settings, extract)[0] for key, (image, dpi) in probes[db].items()}
            for impressions, per_db in eers.items():
                genuine, impostor = (best_of(found, enrolled[db], pairs) for pairs in enrolment_pairs(impressions))
                per_db.append(eer(genuine, impostor) * 100)
                booth[name][impressions][0].append(calibrated_best_of(genuine, impressions))
                booth[name][impressions][1].append(calibrated_best_of(impostor, impressions))
        row(name, "   ".join(f"{impressions} enrolled {np.mean(per_db):.2f} % [{' / '.join(f'{e:.2f}' for e in per_db)}]"
                             for impressions, per_db in eers.items()))
    print_booth(booth)
    return 0


def print_booth(booth: dict) -> None:
    """At the booth's threshold, with the best of k calibrated as k chances: genuine pairs rejected, and
    impostors at or above each check score against the model's count, per set and over all sets."""
    print(f"\n   at the booth: genuine pairs rejected at score {BOOTH_SCORE:.0f}, 1 view -> {ENROLLED} views"
          f" (best of {ENROLLED} calibrated as {ENROLLED} chances); impostors at "
          + " / ".join(f">= {s:.0f}" for s in CHECK_SCORES) + " against the model's expectation")
    pooled = {impressions: [] for impressions in (1, ENROLLED)}
    for name, by_views in booth.items():
        rejected = {k: np.mean(np.concatenate(g) < BOOTH_SCORE) for k, (g, _) in by_views.items()}
        impostors = {k: np.concatenate(i) for k, (_, i) in by_views.items()}
        for k, scores in impostors.items():
            pooled[k].append(scores)
        row(name, f"rejected {rejected[1]:.2%} -> {rejected[ENROLLED]:.2%}",
            "   ".join(impostor_counts(k, scores) for k, scores in impostors.items()))
    row("all sets", "", "   ".join(impostor_counts(k, np.concatenate(s)) for k, s in pooled.items()))


def impostor_counts(views: int, scores: np.ndarray) -> str:
    counts = " / ".join(f"{int(np.sum(scores >= s))} ({scores.size * 10 ** (-s / 10):.1f})" for s in CHECK_SCORES)
    return f"{views} view{'s' if views > 1 else ''}: {counts} of {scores.size}"


if __name__ == "__main__":
    raise SystemExit(main())
