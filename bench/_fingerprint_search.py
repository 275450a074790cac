"""1:N section of the fingerprint benchmark: enrolled FVC fingers among synthetic distractors."""
from __future__ import annotations

import math
import time

import numpy as np

from bench.common import median, row
from matcher import fingerprint as fp
from matcher.fingerprint import parameters
from matcher.fingerprint.template import MINUTIA_DTYPE, Template

IMPRESSIONS = 8


def distort(template: Template, rng: np.random.Generator) -> Template:
    """A new 'person' made from a real template: rotated, shifted, 10-30 % minutiae dropped (never below
    the enrolment floor, parameters.MIN_MINUTIAE: enrolment refuses such a print, and a 4-minutia
    distractor out-scored a true mate at 20,000 templates), jittered."""
    m = template.minutiae
    keep = rng.random(m.size) >= rng.uniform(0.1, 0.3)
    if keep.sum() < parameters.MIN_MINUTIAE:
        keep[:] = True          # the same random draws either way: every other distractor is unchanged
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
        gallery.search_exhaustive([subset[0][0]], top_k=1)     # JIT warm-up (numba loads or compiles the kernel)
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
