"""Extractor variants on FVC2002: EER against extraction time, and constants chosen by
leave-one-database-out (choose on three databases, report the fourth, rotate).

The learned extractor's raw detections are cached once per input setting (resolution, crop) at a low
detection threshold; the detection threshold and the minutiae cap are then applied afterwards, so a
grid of them costs comparisons only.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from bench import _fingerprint_cache as cache
from bench import _fingerprint_int8 as int8
from bench.common import median, row
from matcher import fingerprint as fp
from matcher.fingerprint import learned_parameters as L
from matcher.fingerprint.learned import extract_learned, percent
from matcher.fingerprint.template import Template
from matcher.fingerprint.thickening import extract_thickening

FINGERS, IMPRESSIONS = 10, 8
RAW_THRESHOLD = 0.2           # cached detections go this low; thresholds above it are applied later
RAW_CAP = 250
# The grid went 0.35-0.55 until 2026-11-29 and every fold chose its lowest edge; 0.2-0.3 added then
# (learned_parameters.QUALITY_THRESHOLD says what the robustness sets chose).
THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55)
# Caps below 40 were tried (2026-11-29, at 0.8 x): 35 ties with 40 on every fold's FVC EER (whose
# 45 impostors cannot tell them apart), yet raised the in-sample FNMR at score 40 from 5.71 to 6.79 %
# for a compare-time gain within the noise (0.0976 vs 0.0988 ms median); 25 and 30 lose held out.
CAPS = (40, 60, 80)


@dataclass
class Variant:
    name: str
    extract: Callable[[np.ndarray, float], Template]
    learned: bool = True
    kwargs: dict = field(default_factory=dict)


def learned_variant(name: str, crop: bool = True, scale: float = L.SCALE, second_look: bool = False,
                    **kwargs) -> Variant:
    """``second_look``: fp.extract's two passes (thickening.py) instead of extract_learned's one."""
    settings = dict(crop=crop, scale=scale, **kwargs)
    extract = extract_thickening if second_look else extract_learned

    def run(image, dpi):
        return extract(image, dpi, threshold=RAW_THRESHOLD, max_minutiae=RAW_CAP, **settings)
    return Variant(name, run, True, dict(settings, second_look=second_look))


CLASSICAL = Variant("classical", lambda image, dpi: fp.extract(image, dpi=dpi, method="classical"), False)


def shipped() -> Variant:
    look = ", second look" if L.THICKENING else ""
    return learned_variant(f"learned as shipped ({L.SCALE:g} x resolution, cropped{look})", second_look=L.THICKENING)


@dataclass
class Row:
    """One point of the curve: the variant each database is extracted with (int8 models differ per
    held-out database; everything else is one variant for all four)."""
    name: str
    by_db: dict


def same_for_all(variant: Variant, dbs) -> Row:
    return Row(variant.name, {db: variant for db in dbs})


SCALES = (0.8, 0.9, 1.0)
THREADS = (2, 1)
FORMER_MARGIN = 16.0          # the crop margin before 2026-11-29 16:30 (learned_parameters.CROP_MARGIN)
FORMER_DEFAULT = f"learned fp32, 0.8 x, 2 threads, {FORMER_MARGIN:g} px margin, fusions only (default until 16:30)"


def rows(every: bool, databases: dict, dpis: dict) -> list[Row]:
    """The classical and the shipped learned extractor; with ``every``, the whole curve: internal
    resolution x precision (fp32, int8 calibrated without the held-out database) x intra-op threads."""
    dbs = sorted(databases)
    if not every:
        return [same_for_all(CLASSICAL, dbs), same_for_all(shipped(), dbs)]
    out = [same_for_all(CLASSICAL, dbs)]
    why_not_int8 = int8.available()
    if why_not_int8:
        print(f"   {why_not_int8}")
    models = {} if why_not_int8 else {db: str(int8.fold_model(db, databases, dpis)) for db in dbs}
    for scale in SCALES:
        for threads in THREADS:
            label = f"{scale:.1f} x, {threads} thread{'s' if threads > 1 else ''}"
            out.append(same_for_all(learned_variant(f"learned fp32, {label}", scale=scale, threads=threads), dbs))
            if models:
                out.append(Row(f"learned int8, {label}",
                               {db: learned_variant(f"learned int8, {label}", scale=scale, threads=threads,
                                                    model_file=models[db]) for db in dbs}))
    # What the shipped setting gained from each change (2 threads): the former crop margin, and the
    # graph with the normalisation / GELU fusions only (its detections are the rewritten graph's, so
    # its EER is the shipped one; its time is the point).
    label = f"{L.SCALE:.1f} x, 2 threads"
    out.append(same_for_all(learned_variant(f"learned fp32, {label}, {FORMER_MARGIN:g} px margin",
                                            scale=L.SCALE, crop_margin=FORMER_MARGIN), dbs))
    out.append(same_for_all(learned_variant(f"learned fp32, {label}, fusions only (no layout rewrites)",
                                            scale=L.SCALE, layout=False), dbs))
    out.append(same_for_all(learned_variant(FORMER_DEFAULT, scale=0.8, crop_margin=FORMER_MARGIN, layout=False), dbs))
    return out


def settings_key(variant: Variant) -> str:
    """Cache key of what changes a template (not threads, graph fusion, layout rewrites or
    optimisation level, which change the time only: the rewritten graphs give the same detections).
    Another model file (int8) is keyed by its bytes."""
    if not variant.learned:
        return "classical"
    changes = {k: v for k, v in sorted(variant.kwargs.items()) if k in ("crop", "scale")}
    margin = float(variant.kwargs.get("crop_margin", L.CROP_MARGIN))
    model = variant.kwargs.get("model_file")
    # The raw detection threshold and cap are in the key: a template cached at another raw threshold
    # would silently restrict to different minutiae.
    return (f"learned|{changes}|margin {margin:g}|raw {RAW_THRESHOLD:g}/{RAW_CAP}"
            + ("" if model is None else f"|model {int8.file_digest(model)}")
            + (f"|second look {cache.second_look_version()}" if variant.kwargs.get("second_look") else ""))


def extract_database(variant: Variant, images: dict, dpi: float) -> dict:
    out = {}
    for key, image in images.items():
        out[key], _ = cache.cached(image, dpi, settings_key(variant), variant.extract)
    return out


def restrict(template, threshold: float, cap: int):
    """The template the extractor gives at ``threshold`` and ``cap``, from a low-threshold one: the same
    minutiae (both compare thresholds in the stored percents, learned.detections), and the same quality
    at the shipped threshold or below (learned.learned_quality; above it, the low template's quality)."""
    if template is None:
        return None
    m = template.minutiae
    m = m[m["quality"] >= percent(threshold)][:cap]
    if len(m) < L.MIN_MINUTIAE:
        return None
    return Template(m, template.width, template.height, template.dpi, template.quality)


def fvc_eer(templates, score, eer) -> float:
    genuine = [score(templates[f, i], templates[f, j]) for f in range(1, FINGERS + 1)
               for i in range(1, IMPRESSIONS + 1) for j in range(i + 1, IMPRESSIONS + 1)]
    impostor = [score(templates[f, 1], templates[g, 1]) for f in range(1, FINGERS + 1)
                for g in range(f + 1, FINGERS + 1)]
    return eer(np.array(genuine), np.array(impostor))


def lodo(table: dict, dbs: list[str], tie_break=lambda setting: setting) -> tuple[dict, dict]:
    """table[setting][db] = EER. For each held-out db: the setting with the best mean EER on the
    others (equal means: the smallest ``tie_break(setting)``), and its EER on the held-out db.
    Returns (chosen setting by db, held-out EER by db)."""
    chosen, held_out = {}, {}
    for db in dbs:
        others = [d for d in dbs if d != db]
        best = min(table, key=lambda s: (np.mean([table[s][d] for d in others]), tie_break(s)))
        chosen[db], held_out[db] = best, table[best][db]
    return chosen, held_out


def time_variant(variant: Variant, images: list[tuple[np.ndarray, float]]) -> tuple[float, float]:
    """Median wall and CPU milliseconds per image (after one warm-up call)."""
    variant.extract(*images[0])
    wall, cpu = [], []
    for image, dpi in images:
        w, c = time.perf_counter(), time.process_time()
        try:
            variant.extract(image, dpi)
        except fp.LowQualityError:
            pass
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return median(wall) * 1000, median(cpu) * 1000


def time_rows(curve_rows: list[Row], sample: list[tuple[str, np.ndarray, float]],
              reference: int) -> list[tuple[float, float, float]]:
    """Per row: median wall and CPU milliseconds per image of ``sample`` ((db, image, dpi) triples),
    each image run by its database's variant, and the median ratio of its CPU time to row
    ``reference``'s on the same image. The rows take turns image by image (after one warm-up call per
    variant: session build excluded), so load on a shared machine falls on all of them alike."""
    for curve_row in curve_rows:
        for db, variant in curve_row.by_db.items():
            variant.extract(*next((image, dpi) for d, image, dpi in sample if d == db))
    wall = [[] for _ in curve_rows]
    cpu = [[] for _ in curve_rows]
    for db, image, dpi in sample:
        for i, curve_row in enumerate(curve_rows):
            w, c = time.perf_counter(), time.process_time()
            try:
                curve_row.by_db[db].extract(image, dpi)
            except fp.LowQualityError:
                pass
            wall[i].append(time.perf_counter() - w)
            cpu[i].append(time.process_time() - c)
    return [(median(w) * 1000, median(c) * 1000, median(list(np.array(c) / np.maximum(cpu[reference], 1e-9))))
            for w, c in zip(wall, cpu)]


def lodo_table(templates: dict, dbs, learned: bool, eer) -> dict:
    """table[(threshold, cap)][db] = FVC EER in percent (one setting for the classical extractor)."""
    settings = [(t, c) for t in THRESHOLDS for c in CAPS] if learned else [(None, None)]
    table = {}
    for t, c in settings:
        derived = templates if t is None else {db: {k: restrict(v, t, c) for k, v in templates[db].items()}
                                               for db in dbs}
        table[t, c] = {db: fvc_eer(derived[db], cache.score, eer) * 100 for db in dbs}
    return table


def report(databases: dict, dpis: dict, eer, every: bool = False, timing_images: int = 16,
           budget_ms: float = 200.0) -> dict:
    """Prints the EER-versus-time curve with LODO-chosen threshold and cap; returns the held-out
    figures of every variant (for the headline)."""
    dbs = sorted(databases)
    sample = [(db, databases[db][f, 1], dpis[db]) for db in dbs for f in range(1, timing_images // len(dbs) + 1)]
    results, tables = {}, {}
    print("\n   extractor variants: EER (FVC protocol) with threshold and cap chosen leave-one-database-out")
    print(f"   (held-out); time per image: median over {len(sample)} images (FVC impression 1), wall and process")
    print(f"   CPU, {os.cpu_count()} cores, measured in this run (a shared machine inflates wall time)")
    curve_rows = rows(every, databases, dpis)
    names = [r.name for r in curve_rows]
    reference = names.index(FORMER_DEFAULT) if FORMER_DEFAULT in names else next(
        i for i, r in enumerate(curve_rows) if r.by_db[dbs[0]].learned)
    for curve_row in curve_rows:
        templates = {db: extract_database(curve_row.by_db[db], databases[db], dpis[db]) for db in dbs}
        learned = curve_row.by_db[dbs[0]].learned
        key = tuple(settings_key(curve_row.by_db[db]) for db in dbs)
        if key not in tables:      # the thread counts share their templates
            tables[key] = lodo_table(templates, dbs, learned, eer)
        chosen, held = lodo(tables[key], dbs)
        results[curve_row.name] = dict(held=held, mean=float(np.mean(list(held.values()))), chosen=chosen,
                                       templates=templates, row=curve_row)
    print(f"   (rows timed in turns, image by image; CPU ratio: to '{names[reference]}' on the same image)")
    for curve_row, (wall, cpu, ratio) in zip(curve_rows, time_rows(curve_rows, sample, reference)):
        r = results[curve_row.name]
        r.update(wall=wall, cpu=cpu, cpu_ratio=ratio)
        held, chosen = r["held"], r["chosen"]
        per_db = " / ".join(f"{held[db]:.2f}" for db in dbs)
        picks = " ".join(f"{db[:3]}:{'-' if chosen[db][0] is None else f'{chosen[db][0]:.2f}/{chosen[db][1]}'}"
                         for db in dbs)
        row(f"{curve_row.name}: LODO EER", f"{r['mean']:.2f} % ({per_db})",
            f"{wall:.0f} ms wall, {cpu:.0f} ms CPU (x{ratio:.2f}); chosen {picks}")
    within = {name: r for name, r in results.items() if r["wall"] <= budget_ms and name != CLASSICAL.name}
    if every:
        best = min(within, key=lambda n: (round(within[n]["mean"], 2), within[n]["wall"])) if within else None
        row(f"most accurate learned variant within {budget_ms:.0f} ms wall (this run)", best or "none",
            "target: LODO mean EER <= 0.6 %, extraction <= 200 ms median")
    return results


def batching_figure(databases: dict, dpis: dict, fingers: int = 4, impressions: int = 3) -> None:
    """Enrolment captures several impressions: one session run on a batch (padded to the largest
    crop) against one run per image, network time only, CPU and wall per image."""
    from matcher.fingerprint import leader_model
    from matcher.fingerprint import parameters as P
    from matcher.fingerprint.learned import _crop_box, network_input
    from matcher.fingerprint.segmentation import segment

    db = sorted(databases)[0]
    dpi = float(dpis[db])
    one, batched = [], []
    for f in range(1, fingers + 1):
        crops = []
        for k in range(1, impressions + 1):
            image = databases[db][f, k]
            x0, y0, x1, y1 = _crop_box(segment(image, dpi), P.at_dpi(L.CROP_MARGIN, dpi))
            crops.append(network_input(image[y0:y1, x0:x1], L.NETWORK_DPI * L.SCALE / dpi)[0])
        h, w = max(c.shape[0] for c in crops), max(c.shape[1] for c in crops)
        batch = np.stack([np.pad(c, ((0, h - c.shape[0]), (0, w - c.shape[1])), mode="edge") for c in crops])
        leader_model.run(batch[:1, :, :, None])
        for runs, sink in (([c[None, :, :, None] for c in crops], one), ([batch[..., None]], batched)):
            w0, c0 = time.perf_counter(), time.process_time()
            for x in runs:
                leader_model.run(x)
            sink.append(((time.perf_counter() - w0) / len(crops), (time.process_time() - c0) / len(crops)))
    for label, values in (("one run per image", one), (f"one run per {impressions}-image batch", batched)):
        row(f"enrolment, {db} {fingers} fingers x {impressions}: {label}",
            f"{median([v[1] for v in values]) * 1000:.0f} ms CPU per image",
            f"wall {median([v[0] for v in values]) * 1000:.0f} ms per image")
