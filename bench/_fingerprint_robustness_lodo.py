"""The learned path's preprocessing (seam_repair.py, denoising.py, equalisation.py) on the robustness
sets, with its constants chosen leave-one-database-out.

    python -m bench._fingerprint_robustness_lodo [--scale 0.9 ...] [--variant "equalise 4" ...]
                                                 [--probes 2 | --probes all] [--thresholds 0.35,0.25,...]

A variant is the extractor with one preprocessing setting, applied to enrolments and probes alike
(as the engine does). Printed per variant: the clean LODO EER (threshold and cap chosen per fold, as
bench fingerprint's curve) and every robustness set's mean EER at the shipped threshold and cap
(protocol of bench/_fingerprint_robustness.py), with its ratio to clean probes and the refusals (FTE).
``--probes`` picks the probe impressions. The default is impression 2 only, as when the shipped
constants were chosen: every variant extracts its own templates of every probe, and all eight
impressions cost 8x. (Each probe is now degraded with its own seed, so even impression 2's degraded
images, and the figures, differ from that choice's by the random draw.) ``--probes all`` is the
bench's protocol. Then the choice: for each held-out database, the variant with the lowest mean EER
over the clean FVC protocol, the clean probes and all sets on the other three, among the variants no
worse than "none" on the clean FVC protocol there (ties: the earlier variant), and every set's figure
on the held-out database under its own fold's choice. The default variants are the grid the shipped
constants came from. ``--thresholds`` makes the same choice among detection thresholds (the cap as
shipped) for one preprocessing variant instead of among variants: each threshold restricts the same
cached low-threshold templates. Templates are cached at the variants' low detection threshold, keyed
by the image the extractor is given, the variant and that threshold, in the bench's template cache
(bench/_fingerprint_cache.py: ``$KIOSK_BENCH_CACHE``, default ~/.cache/kiosk-bench/fingerprint).
``--oracles``: the matcher-only bounds of the partial and sweep sets instead (bench/_fingerprint_oracles.py).
"""
from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from bench import _fingerprint_cache as cache
from bench import _fingerprint_robustness as robustness
from bench import _fingerprint_variants as variants
from bench.common import row
from bench.fingerprint import DPI, eer, load_database
from kiosk.datasets import datasets_dir
from matcher import fingerprint as fp
from matcher.fingerprint import learned_parameters as L
from matcher.fingerprint import thickening
from matcher.fingerprint.denoising import denoise
from matcher.fingerprint.learned import extract_learned
from matcher.fingerprint.parameters import at_dpi
from matcher.fingerprint.seam_repair import repair_seams
from matcher.fingerprint.template import Template

SETS = tuple(robustness.SETS)
DEFAULT_PROBES = (2,)       # the protocol the shipped constants were chosen with (see --probes)


def raw_template(image: np.ndarray, dpi: float, scale: float, tag: str = "", **kwargs) -> Template | None:
    """Low-threshold template of ``image`` (already preprocessed) at ``scale``, in the bench's template
    cache (keyed, as every learned template, by the extraction source files too)."""
    settings = f"learned robust|{scale}|{L.CROP_MARGIN}|{tag}|raw {variants.RAW_THRESHOLD:g}/{variants.RAW_CAP}"
    return cache.cached(image, dpi, settings, lambda im, d: extract_learned(
        im, d, scale=scale, threads=1, threshold=variants.RAW_THRESHOLD, max_minutiae=variants.RAW_CAP,
        **kwargs))[0]


def shipped(t, cut: tuple[float, int] | None = None):
    """The template at the shipped detection threshold and cap, or at ``cut`` (threshold, cap)."""
    return variants.restrict(t, *(cut or (L.QUALITY_THRESHOLD, L.MAX_MINUTIAE)))


def variant_template(preprocess, image: np.ndarray, dpi: float, scale: float, looks: list | None = None
                     ) -> Template | None:
    """Low-threshold template of ``image`` through a VARIANTS entry. With its ``thicken`` gate, as
    fp.extract's second look (thickening.py): the print's and, when the network is unsure of it, its
    thickened copy's (each cached), whichever thickening.surer keeps (rated at the shipped threshold,
    so the choice is the shipped extractor's whatever threshold the template is cut to later).
    ``looks`` gets whether the second look was taken."""
    image = preprocess(image, dpi)
    first = raw_template(image, dpi, scale, preprocess.tag, **preprocess.extract)
    second_look = preprocess.thicken is not None and thickening.unsure(first, preprocess.thicken)
    if looks is not None:
        looks.append(second_look)
    if not second_look:
        return first
    return thickening.surer(first, raw_template(thickening.thicken(image, dpi), dpi, scale, preprocess.tag,
                                                **preprocess.extract))


def shipped_extract(image: np.ndarray, dpi: float) -> Template:
    """fp.extract's template (learned, as shipped), cut from the shipped preprocessing's cached
    low-threshold one: the held-out headline extracts every robustness probe at the low threshold, so
    the in-sample rows cost no second extraction (the cut is exact: tests/test_fingerprint_learned_cut.py)."""
    template = shipped(variant_template(VARIANTS[SHIPPED_VARIANT], image, dpi, L.SCALE))
    if template is None:
        raise fp.LowQualityError("too_few_minutiae", "refused at the shipped threshold and cap")
    return template


def evaluate(databases, preprocess, scale: float, sets=SETS, clean_lodo: bool = True, score=cache.score,
             probes=DEFAULT_PROBES, cut: tuple[float, int] | None = None) -> dict:
    """``preprocess``: a VARIANTS entry (image, dpi -> image, with ``extract`` keywords and a cache ``tag``).
    Returns {'clean_lodo': {db: EER}, 'clean': {db: EER}, set: {db: EER}, set+' fte': count} in percent,
    and {'clean looks': share, set+' looks': share}: the share of prints given a second look."""
    dbs = sorted(databases)
    out = {}
    looks = []
    raw = {db: {k: variant_template(preprocess, im, DPI[db], scale, looks) for k, im in images.items()}
           for db, images in databases.items()}
    out["clean looks"] = float(np.mean(looks))
    if clean_lodo:
        table = variants.lodo_table(raw, dbs, True, eer)
        _, held = variants.lodo(table, dbs)
        out["clean_lodo"] = held
    enrolled = {db: {k: shipped(t, cut) for k, t in raw[db].items()} for db in dbs}
    out["clean FVC"] = {db: variants.fvc_eer(enrolled[db], score, eer) * 100 for db in dbs}
    probes_clean = {db: {(f, k): enrolled[db][f, k] for f in range(1, 11) for k in probes} for db in dbs}
    out["clean"] = _set_eers(enrolled, probes_clean, score)
    out["ratio floor"] = robustness.ratio_floor(len(robustness.pairs(probes)[0]), len(dbs))
    for name in sets:
        looks = []
        found = {db: {key: shipped(variant_template(preprocess, im, d, scale, looks), cut)
                      for key, (im, d) in items.items()}
                 for db, items in robustness.probe_set(name, databases, DPI, probes).items()}
        out[name] = _set_eers(enrolled, found, score)
        out[name + " fte"] = sum(t is None for items in found.values() for t in items.values())
        out[name + " looks"] = float(np.mean(looks))
    return out


def _set_eers(enrolled, found, score) -> dict:
    eers = {}
    for db, items in found.items():
        genuine, impostor = robustness.pairs(sorted({k for _, k in items}))
        eers[db] = eer(np.array([score(items[a], enrolled[db][b]) for a, b in genuine]),
                       np.array([score(items[a], enrolled[db][b]) for a, b in impostor])) * 100
    return eers


def summary(label: str, result: dict) -> None:
    dbs = sorted(result["clean"])
    clean = float(np.mean(list(result["clean"].values())))
    line = f"{label}: clean probes {clean:.2f} %; clean FVC protocol {np.mean(list(result['clean FVC'].values())):.2f} %"
    if "clean_lodo" in result:
        held = result["clean_lodo"]
        line += f"; clean LODO {np.mean(list(held.values())):.2f} % ({' / '.join(f'{held[d]:.2f}' for d in dbs)})"
    # The ratio divides by the clean probes' mean EER; only when that is exactly 0 by the floor of one
    # failing genuine pair in one database (robustness.ratio_floor), and the line says so.
    denominator = clean if clean > 0 else result["ratio floor"]
    line += "" if clean > 0 else f"; ratios divide by the floor {denominator:.3f} % (clean probes score 0)"
    looks = result.get("clean looks", 0.0)
    print(line + (f"; second look on {looks:.0%} of the clean prints" if looks else ""), flush=True)
    for name in SETS:
        if name in result:
            v = result[name]
            mean = float(np.mean(list(v.values())))
            looks = result.get(name + " looks", 0.0)
            print(f"   {name:40s} {mean:5.2f} % ({mean / denominator:4.1f}x)  "
                  f"[{' / '.join(f'{v[d]:.2f}' for d in dbs)}]  fte {result[name + ' fte']}"
                  + (f"  second look {looks:.0%}" if looks else ""), flush=True)


def _equalised(sigma: float, seams: bool = False, blur: float = 0.0, strips: float | None = None,
               noise: float = 0.0, thicken: int | None = None):
    """Extraction with equalisation over ``sigma`` (0: none), after seam repair when ``seams`` (with
    strip alignment at minimum gain ``strips``, none when None), non-local means of strength ``noise``
    on grainy prints (denoising.py; 0: none) and a Gaussian pre-blur of ``blur`` pixels at 500 dpi when
    ``blur`` (all done here: they come before extraction's first stages, and their output's hash keys
    the cache); with ``thicken``, the second look (thickening.py) at prints of assurance below it
    (variant_template)."""
    def apply(image, dpi):
        image = repair_seams(image, align=strips is not None, min_gain=strips or 0.0) if seams else image
        image = denoise(image, dpi, noise) if noise else image
        return cv2.GaussianBlur(image, (0, 0), at_dpi(blur, dpi)) if blur else image
    apply.extract = {"equalise_sigma": sigma, "seam_repair": False, "denoise_strength": 0.0}
    apply.thicken = thicken
    apply.tag = f"equalise_sigma={sigma:g}" if sigma else ""
    return apply


VARIANTS = {"none": _equalised(0.0), "seams": _equalised(0.0, True)}
VARIANTS.update({f"equalise {s:g}": _equalised(s) for s in (2, 3, 4, 6, 8)})
VARIANTS.update({f"seams + equalise {s:g}": _equalised(s, True) for s in (3, 4)})
# A pre-blur against sensor noise and broken (dry) ridges, before the shipped seams + equalise 3.
VARIANTS.update({f"seams + blur {b:g} + equalise 3": _equalised(3, True, b) for b in (0.7, 1.0, 1.4)})
# Strip alignment at the seams (strip_alignment.py) before seam repair, by its minimum gain.
STRIP_GAINS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
VARIANTS.update({f"seams + strips {g:g} + equalise 3": _equalised(3, True, strips=g) for g in STRIP_GAINS})
# Non-local means on grainy prints (denoising.py) after the shipped seam repair and strip alignment, by
# its strength (learned_parameters.DENOISE_STRENGTH, from this grid against no denoising).
DENOISE_STRENGTHS = (0.6, 0.85, 1.0)
VARIANTS.update({f"seams + strips {L.STRIP_MIN_GAIN:g} + denoise {k:g} + equalise 3":
                 _equalised(3, True, strips=L.STRIP_MIN_GAIN, noise=k) for k in DENOISE_STRENGTHS})
# The grid the shipped constants were chosen from (learned_parameters.py: SEAM_REPAIR, EQUALISE_SIGMA).
SHIPPED_GRID = ("none", "seams", "equalise 3", "equalise 4", "seams + equalise 3", "seams + equalise 4")
# The preprocessing as shipped: that grid's choice, then strip alignment at its chosen gain
# (learned_parameters.STRIP_MIN_GAIN, from the STRIP_GAINS grid against "seams + equalise 3"), then
# denoising at its chosen strength (DENOISE_STRENGTHS against "seams + strips 0.3 + equalise 3").
PREPROCESSING = f"seams + strips {L.STRIP_MIN_GAIN:g} + denoise {L.DENOISE_STRENGTH:g} + equalise 3"
# The second look at prints the network is unsure of (thickening.py) after that preprocessing, by the
# assurance below which it is taken (learned_parameters.THICKEN_BELOW, from this grid against none and
# against other rules of which reading to keep; 4001 is above any template's: always).
THICKEN_GATES = (4001, 3000, 2500, 2000)
VARIANTS.update({f"{PREPROCESSING} + second look below {g}": _equalised(
    3, True, strips=L.STRIP_MIN_GAIN, noise=L.DENOISE_STRENGTH, thicken=g) for g in THICKEN_GATES})
SHIPPED_VARIANT = PREPROCESSING + (f" + second look below {L.THICKEN_BELOW}" if L.THICKENING else "")
# The grid learned_parameters.QUALITY_THRESHOLD was chosen from (--thresholds 0.35,0.2,0.25,0.3); the
# first is the guard's reference: a threshold must be no worse than it on the clean FVC protocol.
SHIPPED_THRESHOLDS = (0.35, 0.2, 0.25, 0.3)


def lodo_choice(results: dict, target: str, guard: str | None = None) -> tuple[dict, dict]:
    """results[variant] = evaluate(...). For each held-out database: the variant with the best mean EER
    of ``target`` on the other three (ties: the earlier variant), and its held-out EER there. With
    ``guard``, only variants whose mean ``guard`` EER on those three is no worse than the first
    variant's ("none") compete: a stage must not cost clean accuracy where it was chosen."""
    order = list(results)
    dbs = sorted(results[order[0]][target])
    chosen, held = {}, {}
    for db in dbs:
        others = [d for d in dbs if d != db]

        def mean(v, key):
            return round(float(np.mean([results[v][key][d] for d in others])), 6)
        allowed = [v for v in order if guard is None or mean(v, guard) <= mean(order[0], guard)]
        best = min(allowed, key=lambda v: (mean(v, target), order.index(v)))
        chosen[db], held[db] = best, results[best][target][db]
    return chosen, held


def held_out_choice(results: dict, sets) -> tuple[dict, dict]:
    """The setting chosen per held-out database by the mean EER over the clean FVC protocol, the clean
    probes and every set on the other three, among the settings no worse than the first on the clean
    FVC protocol there (ties: the earlier setting). Returns (chosen setting by db, {target: {db: EER}}:
    every target's figure on each held-out database under its own fold's choice)."""
    for result in results.values():
        dbs = sorted(result["clean"])
        result["all"] = {db: float(np.mean([result[k][db] for k in ("clean FVC", "clean") + tuple(sets)]))
                         for db in dbs}
    chosen, _ = lodo_choice(results, "all", guard="clean FVC")
    dbs = sorted(chosen)
    held = {target: {d: results[chosen[d]][target][d] for d in dbs} for target in ("clean FVC", "clean") + tuple(sets)}
    if "clean_lodo" in results[chosen[dbs[0]]]:
        held["clean_lodo"] = {d: results[chosen[d]]["clean_lodo"][d] for d in dbs}
    return chosen, held


def overall(results: dict, sets, scale) -> None:
    """Prints held_out_choice (the first setting, "none" or the first threshold, is the guard's
    reference), then the choice made on each set alone (unguarded)."""
    chosen, held = held_out_choice(results, sets)
    dbs = sorted(chosen)
    print(f"   LODO choice on the mean of clean (FVC protocol and probes) + all sets, among the settings no "
          f"worse than {list(results)[0]} on the clean FVC protocol @ {scale}: "
          + ", ".join(f"{d[:3]}:{chosen[d]}" for d in dbs), flush=True)
    for target in ("clean FVC", "clean") + tuple(sets):
        print(f"      held out {target:28s} {np.mean(list(held[target].values())):5.2f} % "
              f"({' / '.join(f'{held[target][d]:.2f}' for d in dbs)})", flush=True)
    if "clean_lodo" in held:
        print(f"      held out {'clean LODO (thr/cap per fold)':28s} {np.mean(list(held['clean_lodo'].values())):5.2f} %",
              flush=True)
    for target in sets:
        own, alone = lodo_choice(results, target)
        print(f"   LODO choice on {target} alone: held-out {np.mean(list(alone.values())):.2f} % "
              f"({' / '.join(f'{alone[d]:.2f}' for d in dbs)}); chosen " + ", ".join(f"{d[:3]}:{own[d]}" for d in dbs),
              flush=True)


def threshold_results(databases, thresholds, scale: float = L.SCALE, sets=SETS, probes=robustness.IMPRESSIONS,
                      variant: str = SHIPPED_VARIANT, show: bool = True) -> dict:
    """{label: evaluate(...)} for each detection threshold (cap as shipped), restricting the same cached
    low-threshold templates of preprocessing ``variant``; ``show`` prints each one's summary."""
    results = {}
    for threshold in thresholds:
        label = f"{variant}, threshold {threshold:g}"
        results[label] = evaluate(databases, VARIANTS[variant], scale, sets, clean_lodo=False, probes=probes,
                                  cut=(threshold, L.MAX_MINUTIAE))
        if show:
            summary(f"{label} @ {scale}", results[label])
    return results


def shipped_headline(databases) -> dict:
    """bench fingerprint's held-out robustness figures: the procedure that chose the shipped detection
    threshold (SHIPPED_THRESHOLDS, cap as shipped, the shipped preprocessing), re-run on every probe
    impression, and each database's figures under the threshold chosen on the other three. Returns
    {target: {db: held-out EER %}}."""
    results = threshold_results(databases, SHIPPED_THRESHOLDS, show=False)
    chosen, held = held_out_choice(results, SETS)
    threshold = dict(zip(results, SHIPPED_THRESHOLDS))
    dbs = sorted(chosen)
    picks = ", ".join(f"{d[:3]} {threshold[chosen[d]]:g}" for d in dbs)
    genuine, impostor = robustness.pairs(robustness.IMPRESSIONS)
    print(f"\n   robustness HELD OUT, the learned engine as shipped ({SHIPPED_VARIANT}, cap {L.MAX_MINUTIAE}): for each"
          f" database the detection\n   threshold ({' / '.join(f'{t:g}' for t in SHIPPED_THRESHOLDS)}) is chosen on the"
          f" other three by the mean EER over the clean FVC protocol, the clean\n   probes and every set, among"
          f" thresholds no worse than {SHIPPED_THRESHOLDS[0]:g} there on the clean FVC protocol; chosen: {picks};"
          f" shipped {L.QUALITY_THRESHOLD:g}.\n   Only the threshold is held out here: the preprocessing stages and the"
          " second look were each chosen leave-one-database-out\n   by this harness, and their own held-out figures are"
          " in learned_parameters.py (the second look, for one, is a wash there).\n"
          f"   {len(genuine)} genuine / {len(impostor)} impostor pairs per database;"
          " mean EER of the held-out databases [per database]; ratio to the held-out clean probes")
    clean = float(np.mean(list(held["clean"].values())))
    denominator = clean if clean > 0 else robustness.ratio_floor(len(genuine), len(dbs))
    for target, label in [("clean FVC", "clean, FVC protocol"), ("clean", "clean probes")] + [(s, s) for s in SETS]:
        mean = float(np.mean(list(held[target].values())))
        ratio = "" if target in ("clean FVC", "clean") else f"{mean / denominator:.1f}x clean   target <= 1.5x clean"
        row(label, f"{mean:.2f} % [{' / '.join(f'{held[target][d]:.2f}' for d in dbs)}]", ratio)
    return held


def probe_impressions(text: str) -> tuple[int, ...]:
    """--probes: 'all' or a comma-separated list of impressions 1-8."""
    if text == "all":
        return robustness.IMPRESSIONS
    try:
        probes = tuple(sorted({int(k) for k in text.split(",")}))
    except ValueError:
        probes = ()
    if not probes or not set(probes) <= set(robustness.IMPRESSIONS):
        raise argparse.ArgumentTypeError(f"{text!r}: expected 'all' or impressions 1-8 separated by commas")
    return probes


def thresholds(text: str) -> tuple[float, ...]:
    """--thresholds: detection thresholds separated by commas, each at least the raw one."""
    try:
        found = tuple(float(v) for v in text.split(","))
    except ValueError:
        found = ()
    if not found or any(not variants.RAW_THRESHOLD <= v < 1 for v in found):
        raise argparse.ArgumentTypeError(f"{text!r}: expected thresholds in [{variants.RAW_THRESHOLD:g}, 1) separated "
                                         "by commas")
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._fingerprint_robustness_lodo")
    parser.add_argument("--scale", type=float, action="append", help=f"internal scale(s); default {L.SCALE:g}")
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS),
                        help="preprocessing variant(s); default the grid the shipped constants came from")
    parser.add_argument("--set", action="append", choices=SETS)
    parser.add_argument("--no-lodo", action="store_true", help="skip the clean LODO (threshold/cap grid)")
    parser.add_argument("--oracles", action="store_true", help="only the partial and sweep sets' matcher-only bounds")
    parser.add_argument("--thresholds", type=thresholds,
                        help="instead of preprocessing variants: these detection thresholds (cap as shipped) with the "
                        "first --variant (default the shipped preprocessing), the first one the guard's reference")
    parser.add_argument("--probes", type=probe_impressions, default=DEFAULT_PROBES,
                        help="probe impressions: 'all' (1-8, the bench's protocol) or a comma-separated list; "
                        "default 2, the protocol the shipped constants were chosen with")
    args = parser.parse_args(argv)
    root = datasets_dir() / "fingerprints" / "fvc2002"
    databases = {db: load_database(root, db) for db in sorted(DPI)}
    sets = tuple(args.set or SETS)
    probes = args.probes
    genuine, impostor = robustness.pairs(probes)
    print(f"probe impressions {', '.join(map(str, probes))}: {len(genuine)} genuine / {len(impostor)} impostor pairs "
          "per database", flush=True)
    for scale in args.scale or [L.SCALE]:
        if args.oracles:
            from bench._fingerprint_oracles import oracles      # here: it imports this module

            oracles(databases, scale, probes)
            continue
        if args.thresholds:
            results = threshold_results(databases, args.thresholds, scale, sets, probes,
                                        (args.variant or [SHIPPED_VARIANT])[0])
            overall(results, sets, scale)
            continue
        results = {}
        for name in args.variant or SHIPPED_GRID:
            t0 = time.time()
            results[name] = evaluate(databases, VARIANTS[name], scale, sets, clean_lodo=not args.no_lodo,
                                     probes=probes)
            summary(f"{name} @ {scale}", results[name])
            print(f"   ({time.time() - t0:.0f} s)", flush=True)
        if len(results) > 1:
            overall(results, sets, scale)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
