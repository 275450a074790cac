"""Extractor variants on FVC2002: EER against extraction time, and constants chosen by
leave-one-database-out (choose on three databases, report the fourth, rotate).

The learned extractor's raw detections are cached once per input setting (resolution, crop) at a low
detection threshold; the detection threshold and the minutiae cap are then applied afterwards, so a
grid of them costs comparisons only.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from bench import _fingerprint_cache as cache
from bench.common import median, row
from matcher import fingerprint as fp
from matcher.fingerprint import learned_parameters as L
from matcher.fingerprint.learned import extract_learned
from matcher.fingerprint.template import Template

FINGERS, IMPRESSIONS = 10, 8
RAW_THRESHOLD = 0.35          # cached detections go this low; thresholds above it are applied later
RAW_CAP = 250
THRESHOLDS = (0.35, 0.4, 0.45, 0.5, 0.55)
CAPS = (40, 60, 80)


@dataclass
class Variant:
    name: str
    extract: Callable[[np.ndarray, float], Template]
    learned: bool = True
    kwargs: dict = field(default_factory=dict)


def learned_variant(name: str, crop: bool = True, scale: float = L.SCALE, **kwargs) -> Variant:
    settings = dict(crop=crop, scale=scale, **kwargs)

    def run(image, dpi):
        return extract_learned(image, dpi, threshold=RAW_THRESHOLD, max_minutiae=RAW_CAP, **settings)
    return Variant(name, run, True, settings)


CLASSICAL = Variant("classical", lambda image, dpi: fp.extract(image, dpi=dpi, method="classical"), False)


def shipped() -> Variant:
    return learned_variant(f"learned as shipped ({L.SCALE:g} x resolution, cropped)")


def variants(every: bool) -> list[Variant]:
    """The classical and the shipped learned extractor; with ``every``, the whole curve."""
    if not every:
        return [CLASSICAL, shipped()]
    return [CLASSICAL,
            learned_variant("learned, unfused graph, full image", crop=False, scale=1.0, fused=False,
                            optimisation="basic"),
            learned_variant("learned, fused graph, full image", crop=False, scale=1.0),
            learned_variant("learned, fused, cropped", scale=1.0),
            learned_variant("learned, fused, cropped, 1 thread", scale=1.0, threads=1),
            learned_variant("learned, fused, cropped, 0.8 x resolution", scale=0.8),
            learned_variant("learned, fused, cropped, 0.7 x resolution", scale=0.7),
            learned_variant("learned, fused, cropped, 0.6 x resolution", scale=0.6)]


def settings_key(variant: Variant) -> str:
    """Cache key of what changes a template (not threads, graph fusion or optimisation level, which
    change the time only: the fused graph gives the same detections)."""
    if not variant.learned:
        return "classical"
    changes = {k: v for k, v in sorted(variant.kwargs.items()) if k in ("crop", "scale")}
    return f"learned|{changes}" + ("" if L.CROP_MARGIN == 16.0 else f"|margin {L.CROP_MARGIN}")


def extract_database(variant: Variant, images: dict, dpi: float) -> dict:
    out = {}
    for key, image in images.items():
        out[key], _ = cache.cached(image, dpi, settings_key(variant), variant.extract)
    return out


def restrict(template, threshold: float, cap: int):
    """The template the extractor gives at ``threshold`` and ``cap`` (from a low-threshold one)."""
    if template is None:
        return None
    m = template.minutiae
    m = m[m["quality"] >= int(round(threshold * 100))][:cap]
    if len(m) < L.MIN_MINUTIAE:
        return None
    return Template(m, template.width, template.height, template.dpi, template.quality)


def fvc_eer(templates, score, eer) -> float:
    genuine = [score(templates[f, i], templates[f, j]) for f in range(1, FINGERS + 1)
               for i in range(1, IMPRESSIONS + 1) for j in range(i + 1, IMPRESSIONS + 1)]
    impostor = [score(templates[f, 1], templates[g, 1]) for f in range(1, FINGERS + 1)
                for g in range(f + 1, FINGERS + 1)]
    return eer(np.array(genuine), np.array(impostor))


def lodo(table: dict, dbs: list[str]) -> tuple[dict, dict]:
    """table[setting][db] = EER. For each held-out db: the setting with the best mean EER on the
    others, and its EER on the held-out db. Returns (chosen setting by db, held-out EER by db)."""
    chosen, held_out = {}, {}
    for db in dbs:
        others = [d for d in dbs if d != db]
        best = min(table, key=lambda s: (np.mean([table[s][d] for d in others]), s))
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


def report(databases: dict, dpis: dict, eer, every: bool = False, timing_images: int = 12) -> dict:
    """Prints the EER-versus-time curve with LODO-chosen threshold and cap; returns the held-out
    figures of every variant (for the headline)."""
    dbs = sorted(databases)
    sample = [(databases[db][f, 1], dpis[db]) for db in dbs for f in range(1, timing_images // len(dbs) + 2)]
    results = {}
    print("\n   extractor variants: EER (FVC protocol) with threshold and cap chosen leave-one-database-out;")
    print("   time per image measured on the same run (wall and process CPU; the machine was shared)")
    for variant in variants(every):
        templates = {db: extract_database(variant, databases[db], dpis[db]) for db in dbs}
        wall, cpu = time_variant(variant, sample)
        settings = [(t, c) for t in THRESHOLDS for c in CAPS] if variant.learned else [(None, None)]
        table = {}
        for t, c in settings:
            derived = templates if t is None else {db: {k: restrict(v, t, c) for k, v in templates[db].items()}
                                                   for db in dbs}
            table[t, c] = {db: fvc_eer(derived[db], _score, eer) * 100 for db in dbs}
        chosen, held = lodo(table, dbs)
        results[variant.name] = dict(held=held, chosen=chosen, wall=wall, cpu=cpu, templates=templates,
                                     variant=variant)
        per_db = " / ".join(f"{held[db]:.2f}" for db in dbs)
        picks = " ".join(f"{db[:3]}:{'-' if chosen[db][0] is None else f'{chosen[db][0]:.2f}/{chosen[db][1]}'}"
                         for db in dbs)
        row(f"{variant.name}: LODO EER", f"{np.mean(list(held.values())):.2f} % ({per_db})",
            f"{wall:.0f} ms wall, {cpu:.0f} ms CPU; chosen {picks}; target mean <= 0.6 %")
    return results


def _score(a, b) -> float:
    return -1.0 if a is None or b is None else fp.compare_raw(a, b)
