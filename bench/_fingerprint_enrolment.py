"""What enrolling a finger from three impressions instead of one buys, on the robustness sets.

    python -m bench._fingerprint_enrolment [--set NAME ...]

With one impression per finger, a small or partial capture at the booth meets one clean impression,
which may not cover the part of the finger the sensor saw (bench/_fingerprint_shared_minutiae.py
counts how often it shares too little with it); the registry keeps every impression it is given. Here a degraded probe (the
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

The third table is the booth's second round (kiosk.workflow.rules.round_fmr): a voter not verified is
asked again, and each of the two rounds is decided at half the target FMR (score 43.0 instead of 40),
so an impostor's two chances cost no more than one. Finger alone, twice: first the same finger again,
two fresh probes of it against one enrolment (``round_pairs``: 100 genuine and 900 impostor sessions
per database), then as the kiosk runs it for a voter with two fingers enrolled, the other finger in the
second round (``next_finger_round_pairs``, chimeric persons: 100 genuine and 400 impostor sessions per
database). The impostor column checks the union bound at score 30 (one round at 30 against two at 33.0).

The fourth table is registration's de-duplication (kiosk.registry.dedup, national.search): a person
registered twice, once from clean captures and once on the set's sensor (its degraded images), each
record enrolled from one impression or from three (``dedup_pairs``: impressions 1-3 against 4-6 and
6-8 against 1-3, each way round; 40 genuine and 180 impostor record pairs per database). Every view of
one record meets every view of the other, so the best of nine is calibrated as nine chances. Its
thresholds are the de-duplication's (national.operating.fused_threshold at FPIR 1 %): a station's 750
voters, for one finger alone, and the nation's 9.71 million, which one finger alone almost never reaches
(its calibrated scores of genuine clean pairs stay below 90), for two fingers fused as the search fuses
them (matcher.fusion, Fisher). The two fingers are chimeric: fingers 2p-1 and 2p of a database stand
for one person (``chimeric_persons``), so 20 genuine and 40 impostor persons per database. The search
also fuses the face, which this leaves out.
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
from matcher import fusion
from matcher.fingerprint import calibration
from national import operating

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


DEDUP_SPLITS = (((1, 2, 3), (4, 5, 6)), ((4, 5, 6), (1, 2, 3)), ((6, 7, 8), (1, 2, 3)), ((1, 2, 3), (6, 7, 8)))
STATION_SCORE = operating.fused_threshold(0.01, 750)          # 48.7
NATION_SCORE = operating.fused_threshold(0.01, 9_710_000)      # 89.9


def dedup_pairs(views: int = ENROLLED) -> tuple[list, list]:
    """(genuine, impostor) record pairs of one database for de-duplication: ([clean keys], [degraded keys]),
    each record the first ``views`` impressions of a split's triple (so 1 and 3 views are scored on the
    same people). Impostors: every other finger's record, the first two splits only."""
    genuine, impostor = [], []
    fingers = range(1, robustness.FINGERS + 1)
    for split, (clean, degraded) in enumerate(DEDUP_SPLITS):
        for f in fingers:
            genuine.append(([(f, k) for k in clean[:views]], [(f, k) for k in degraded[:views]]))
            if split < 2:
                impostor += [([(f, k) for k in clean[:views]], [(g, k) for k in degraded[:views]])
                             for g in fingers if g != f]
    return genuine, impostor


ROUNDS = 2
ROUND_ATTEMPTS = {(1, 2, 3): ((4, 5), (6, 7), (8, 4), (5, 6), (7, 8)),
                  (6, 7, 8): ((1, 2), (3, 4), (5, 1), (2, 3), (4, 5))}


def round_pairs(views: int = ENROLLED) -> tuple[list, list]:
    """(genuine, impostor) booth sessions of one database, the same finger in both rounds: ((first probe,
    [enrolled keys]), (second probe, the same keys)), the enrolment the first ``views`` of a triple, the
    probes two other impressions (each impression first once and second once per triple). Impostors:
    every other finger's probes."""
    genuine, impostor = [], []
    fingers = range(1, robustness.FINGERS + 1)
    for triple, attempts in ROUND_ATTEMPTS.items():
        for f in fingers:
            keys = [(f, e) for e in triple[:views]]
            for a, b in attempts:
                genuine.append((((f, a), keys), ((f, b), keys)))
                impostor += [(((g, a), keys), ((g, b), keys)) for g in fingers if g != f]
    return genuine, impostor


def next_finger_round_pairs(views: int = ENROLLED) -> tuple[list, list]:
    """(genuine, impostor) booth sessions as the kiosk runs them when the voter enrolled two fingers: the
    second round asks for the other finger (kiosk.workflow: finger.another_round). Fingers 2p-1 and 2p of
    a database stand for one person (as ``chimeric_persons``); each session is ((probe, [enrolled keys])
    of the first round, the same of the second), each finger first once, the probes and enrolments of
    ``round_pairs`` (100 genuine and 400 impostor sessions per database). An impostor presents person
    q's two fingers against person p's enrolment."""
    genuine, impostor = [], []
    persons = range(1, robustness.FINGERS // 2 + 1)
    for triple, attempts in ROUND_ATTEMPTS.items():
        def keys(finger):
            return [(finger, e) for e in triple[:views]]
        for p in persons:
            for first, second in ((2 * p - 1, 2 * p), (2 * p, 2 * p - 1)):
                for a, b in attempts:
                    genuine.append((((first, a), keys(first)), ((second, b), keys(second))))
                    # person q's same two fingers in the same order: each 2 (q - p) fingers along
                    impostor += [(((first + 2 * (q - p), a), keys(first)), ((second + 2 * (q - p), b), keys(second)))
                                 for q in persons if q != p]
    return genuine, impostor


def round_scores(found: dict, enrolled: dict, sessions, views: int) -> np.ndarray:
    """(sessions, 2) calibrated scores of each session's two rounds, (probe, [enrolled keys]) each."""
    attempts = [attempt for session in sessions for attempt in session]
    return calibrated_best_of(best_of(found, enrolled, attempts), views).reshape(len(sessions), -1)


def not_verified(scores: np.ndarray, threshold: float, rounds: int) -> np.ndarray:
    """Sessions whose first ``rounds`` attempts all stay below ``threshold`` shared among ``rounds``."""
    return np.all(scores[:, :rounds] < best_of_threshold(threshold, rounds), axis=1)


def best_of_threshold(threshold: float, rounds: int) -> float:
    """The score each of ``rounds`` decisions needs when they share ``threshold``'s FMR (+10 log10 rounds)."""
    return threshold + 10 * np.log10(rounds)


def chimeric_persons(views: int = ENROLLED) -> tuple[list, list]:
    """(genuine, impostor) person pairs as index pairs into ``dedup_pairs(views)``'s lists: the record
    pairs of fingers 2p-1 and 2p (one person, two fingers) of the same split; an impostor person pair
    meets finger 2p-1 with 2q-1 and 2p with 2q."""
    def index(pairs):
        return {(clean[0][0], degraded[0][0], clean[0][1], degraded[0][1]): i
                for i, (clean, degraded) in enumerate(pairs)}
    genuine, impostor = (index(pairs) for pairs in dedup_pairs(views))
    persons = range(1, robustness.FINGERS // 2 + 1)
    first = [(clean[0], degraded[0]) for clean, degraded in DEDUP_SPLITS]
    same = [(genuine[2 * p - 1, 2 * p - 1, a, b], genuine[2 * p, 2 * p, a, b]) for a, b in first for p in persons]
    other = [(impostor[2 * p - 1, 2 * q - 1, a, b], impostor[2 * p, 2 * q, a, b])
             for a, b in first[:2] for p in persons for q in persons if q != p]
    return same, other


def fused_persons(scores: np.ndarray, persons) -> np.ndarray:
    """Each person pair's two calibrated finger scores fused as the search fuses them."""
    return np.array([fusion.fuse(fingers=[scores[i], scores[j]]).score for i, j in persons])


def best_of_records(found: dict, enrolled: dict, pairs) -> np.ndarray:
    """The best raw score of each record pair, every view of one against every view of the other."""
    return np.array([max(cache.score(found[b], enrolled[a]) for a in clean for b in degraded)
                     for clean, degraded in pairs])


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
    rounds: dict = {}
    next_rounds: dict = {}
    dedup: dict = {}
    print(f"\n   learned, enrolled from one impression against the best of {ENROLLED} (the same probes and fingers): mean"
          f" EER [{' / '.join(db[:3] for db in sorted(DPI))}]")
    for name in ("clean probes",) + tuple(args.set or DEFAULT_SETS):
        probes = (robustness.clean_probes(databases, DPI) if name == "clean probes"
                  else robustness.probe_set(name, databases, DPI))
        eers = {impressions: [] for impressions in (1, ENROLLED)}
        booth[name] = {impressions: ([], []) for impressions in eers}
        dedup[name] = {impressions: ([], [], [], [], []) for impressions in eers}
        rounds[name] = {impressions: ([], []) for impressions in eers}
        next_rounds[name] = {impressions: ([], []) for impressions in eers}
        for db in sorted(DPI):
            found = {key: cache.cached(image, dpi, settings, extract)[0] for key, (image, dpi) in probes[db].items()}
            for impressions, per_db in eers.items():
                genuine, impostor = (best_of(found, enrolled[db], pairs) for pairs in enrolment_pairs(impressions))
                per_db.append(eer(genuine, impostor) * 100)
                booth[name][impressions][0].append(calibrated_best_of(genuine, impressions))
                booth[name][impressions][1].append(calibrated_best_of(impostor, impressions))
                for kind, pairs in ((rounds, round_pairs), (next_rounds, next_finger_round_pairs)):
                    for part, sessions in zip(kind[name][impressions], pairs(impressions)):
                        part.append(round_scores(found, enrolled[db], sessions, impressions))
                genuine, impostor = (best_of_records(found, enrolled[db], pairs) for pairs in dedup_pairs(impressions))
                genuine_score, impostor_score = (calibrated_best_of(raw, impressions ** 2) for raw in (genuine, impostor))
                same, other = chimeric_persons(impressions)
                for part, value in zip(dedup[name][impressions], (
                        eer(genuine, impostor) * 100, genuine_score, impostor_score,
                        fused_persons(genuine_score, same), fused_persons(impostor_score, other))):
                    part.append(value)
        row(name, "   ".join(f"{impressions} enrolled {np.mean(per_db):.2f} % [{' / '.join(f'{e:.2f}' for e in per_db)}]"
                             for impressions, per_db in eers.items()))
    print_booth(booth)
    print_rounds(rounds, "the same finger again, a fresh probe")
    print_rounds(next_rounds, "the other of two enrolled fingers, as the kiosk asks; chimeric persons")
    print_dedup(dedup)
    return 0


def print_rounds(rounds: dict, second: str) -> None:
    """The booth's second round, finger alone: genuine sessions not verified with one round at the booth's
    score and with two at the shared score; impostor sessions passing at the check score 30 either way."""
    two = best_of_threshold(BOOTH_SCORE, ROUNDS)
    print(f"\n   a second round at the booth, finger alone ({second}): genuine sessions"
          f" not verified, one round at {BOOTH_SCORE:.0f} -> {ROUNDS} rounds at {two:.1f} each; impostor sessions"
          f" passing one round at {CHECK_SCORES[0]:.0f} / {ROUNDS} at {best_of_threshold(CHECK_SCORES[0], ROUNDS):.1f}")
    pooled = {views: [] for views in (1, ENROLLED)}
    for name, by_views in rounds.items():
        cells = []
        for views, (genuine, impostor) in by_views.items():
            genuine = np.concatenate(genuine)
            pooled[views].append(np.concatenate(impostor))
            cells.append(f"{views_label(views)}: {np.mean(not_verified(genuine, BOOTH_SCORE, 1)):.2%} ->"
                         f" {np.mean(not_verified(genuine, BOOTH_SCORE, ROUNDS)):.2%}")
        row(name, "", "   ".join(cells))
    for views, impostors in pooled.items():
        scores = np.concatenate(impostors)
        passed = {r: int(np.sum(~not_verified(scores, CHECK_SCORES[0], r))) for r in (1, ROUNDS)}
        row(f"all sets, impostor sessions, {views_label(views)}", "",
            f"1 round {passed[1]} / {ROUNDS} rounds {passed[ROUNDS]} of {len(scores)}"
            f" (model {len(scores) * 10 ** (-CHECK_SCORES[0] / 10):.1f})")


def print_dedup(dedup: dict) -> None:
    """Registration's de-duplication: per set, one finger's EER and genuine record pairs missed at the
    station's threshold, and two fingers' (chimeric persons) missed at the nation's, 1 view a record ->
    3; impostors at the check scores against the model, and fused impostor persons at the station's."""
    print(f"\n   de-duplication: a person registered on clean captures and again on the set's sensor, 1 view a record"
          f" -> {ENROLLED} (best of {ENROLLED ** 2} calibrated as {ENROLLED ** 2} chances): one finger's mean EER"
          f" and genuine pairs missed at the station's {STATION_SCORE:.1f}; two fingers fused (chimeric persons)"
          f" missed at the nation's {NATION_SCORE:.1f}")
    pooled = {views: ([], []) for views in (1, ENROLLED)}
    for name, by_views in dedup.items():
        eers = {k: np.mean(parts[0]) for k, parts in by_views.items()}
        missed = {k: np.mean(np.concatenate(parts[1]) < STATION_SCORE) for k, parts in by_views.items()}
        fused_missed = {k: np.mean(np.concatenate(parts[3]) < NATION_SCORE) for k, parts in by_views.items()}
        for k, parts in by_views.items():
            pooled[k][0].append(np.concatenate(parts[2]))
            pooled[k][1].append(np.concatenate(parts[4]))
        row(name, f"EER {eers[1]:.2f} -> {eers[ENROLLED]:.2f} %",
            f"one finger missed {missed[1]:.1%} -> {missed[ENROLLED]:.1%}   two fingers missed"
            f" {fused_missed[1]:.1%} -> {fused_missed[ENROLLED]:.1%}")
    for k, (one, two) in pooled.items():
        one, two = np.concatenate(one), np.concatenate(two)
        row(f"all sets, impostors, {views_label(k)} a record", "",
            f"{impostor_counts('one finger', one)}   two fingers fused >= {STATION_SCORE:.1f}:"
            f" {int(np.sum(two >= STATION_SCORE))} of {two.size}")


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
            "   ".join(impostor_counts(views_label(k), scores) for k, scores in impostors.items()))
    row("all sets", "", "   ".join(impostor_counts(views_label(k), np.concatenate(s)) for k, s in pooled.items()))


def impostor_counts(label: str, scores: np.ndarray) -> str:
    counts = " / ".join(f"{int(np.sum(scores >= s))} ({scores.size * 10 ** (-s / 10):.1f})" for s in CHECK_SCORES)
    return f"{label}: {counts} of {scores.size}"


def views_label(views: int) -> str:
    return f"{views} view{'s' if views > 1 else ''}"


if __name__ == "__main__":
    raise SystemExit(main())
