"""The learned path's preprocessing (seam_repair.py, equalisation.py) on the robustness sets, with its
constants chosen leave-one-database-out.

    python -m bench._fingerprint_robustness_lodo [--scale 0.9 ...] [--variant "equalise 4" ...]

A variant is the extractor with one preprocessing setting, applied to enrolments and probes alike
(as the engine does). Printed per variant: the clean LODO EER (threshold and cap chosen per fold, as
bench fingerprint's curve) and every robustness set's mean EER at the shipped threshold and cap
(protocol of bench/_fingerprint_robustness.py), with its ratio to clean probes and the refusals
(FTE). Then the choice: for each held-out database, the variant with the lowest mean EER over the
clean FVC protocol, the clean probes and all sets on the other three, among the variants no worse than
"none" on the clean FVC protocol there (ties: the earlier variant), and every set's figure on the
held-out database under its own fold's choice. The default variants are the grid
the shipped constants came from. Templates are cached at the variants' low detection threshold, keyed
by the image the extractor is given and the variant, in the bench's template cache
(bench/_fingerprint_cache.py: ``$KIOSK_BENCH_CACHE``, default ~/.cache/kiosk-bench/fingerprint).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from bench import _fingerprint_cache as cache
from bench import _fingerprint_robustness as robustness
from bench import _fingerprint_variants as variants
from bench.fingerprint import DPI, eer, load_database
from kiosk.datasets import datasets_dir
from matcher import fingerprint as fp
from matcher.fingerprint import learned_parameters as L
from matcher.fingerprint.learned import extract_learned
from matcher.fingerprint.seam_repair import repair_seams
from matcher.fingerprint.template import Template

SETS = tuple(robustness.SETS)


def raw_template(image: np.ndarray, dpi: float, scale: float, tag: str = "", **kwargs) -> Template | None:
    """Low-threshold template of ``image`` (already preprocessed) at ``scale``, in the bench's template
    cache (keyed, as every learned template, by the extraction source files too)."""
    settings = f"learned robust|{scale}|{L.CROP_MARGIN}|{tag}"
    return cache.cached(image, dpi, settings, lambda im, d: extract_learned(
        im, d, scale=scale, threads=1, threshold=variants.RAW_THRESHOLD, max_minutiae=variants.RAW_CAP,
        **kwargs))[0]


def _score(a, b) -> float:
    return -1.0 if a is None or b is None else fp.compare_raw(a, b)


def shipped(t):
    return variants.restrict(t, L.QUALITY_THRESHOLD, L.MAX_MINUTIAE)


def evaluate(databases, preprocess, scale: float, sets=SETS, clean_lodo: bool = True, score=_score) -> dict:
    """``preprocess``: a VARIANTS entry (image, dpi -> image, with ``extract`` keywords and a cache ``tag``).
    Returns {'clean_lodo': {db: EER}, 'clean': {db: EER}, set: {db: EER}, set+' fte': count} in percent."""
    dbs = sorted(databases)
    out = {}
    extract, tag = preprocess.extract, preprocess.tag
    raw = {db: {k: raw_template(preprocess(im, DPI[db]), DPI[db], scale, tag, **extract) for k, im in images.items()}
           for db, images in databases.items()}
    if clean_lodo:
        table = variants.lodo_table(raw, dbs, True, eer)
        _, held = variants.lodo(table, dbs)
        out["clean_lodo"] = held
    enrolled = {db: {k: shipped(t) for k, t in raw[db].items()} for db in dbs}
    out["clean FVC"] = {db: variants.fvc_eer(enrolled[db], score, eer) * 100 for db in dbs}
    probes_clean = {db: {(f, k): enrolled[db][f, k] for f in range(1, 11) for k in robustness.PROBES} for db in dbs}
    out["clean"] = _set_eers(enrolled, probes_clean, score)
    for name in sets:
        probes = robustness.probe_set(name, databases, DPI)
        found = {db: {key: shipped(raw_template(preprocess(im, d), d, scale, tag, **extract))
                      for key, (im, d) in items.items()}
                 for db, items in probes.items()}
        out[name] = _set_eers(enrolled, found, score)
        out[name + " fte"] = sum(t is None for items in found.values() for t in items.values())
    return out


def _set_eers(enrolled, found, score) -> dict:
    eers = {}
    for db, items in found.items():
        genuine = [score(items[f, k], enrolled[db][f, e]) for (f, k) in items for e in robustness.ENROLMENTS if e != k]
        impostor = [score(items[f, k], enrolled[db][g, 1]) for (f, k) in items for g in range(1, 11) if g != f]
        eers[db] = eer(np.array(genuine), np.array(impostor)) * 100
    return eers


def summary(label: str, result: dict) -> None:
    dbs = sorted(result["clean"])
    clean = float(np.mean(list(result["clean"].values())))
    line = f"{label}: clean probes {clean:.2f} %; clean FVC protocol {np.mean(list(result['clean FVC'].values())):.2f} %"
    if "clean_lodo" in result:
        held = result["clean_lodo"]
        line += f"; clean LODO {np.mean(list(held.values())):.2f} % ({' / '.join(f'{held[d]:.2f}' for d in dbs)})"
    print(line, flush=True)
    for name in SETS:
        if name in result:
            v = result[name]
            mean = float(np.mean(list(v.values())))
            print(f"   {name:28s} {mean:5.2f} % ({mean / max(clean, 0.1):4.1f}x)  "
                  f"[{' / '.join(f'{v[d]:.2f}' for d in dbs)}]  fte {result[name + ' fte']}", flush=True)


def _equalised(sigma: float, seams: bool = False):
    """Extraction with equalisation over ``sigma`` (0: none), after seam repair when ``seams`` (done
    here: it is extraction's first stage, and its output's hash keys the cache)."""
    def apply(image, dpi):
        return repair_seams(image) if seams else image
    apply.extract = {"equalise_sigma": sigma, "seam_repair": False}
    apply.tag = f"equalise_sigma={sigma:g}" if sigma else ""
    return apply


VARIANTS = {"none": _equalised(0.0), "seams": _equalised(0.0, True)}
VARIANTS.update({f"equalise {s:g}": _equalised(s) for s in (2, 3, 4, 6, 8)})
VARIANTS.update({f"seams + equalise {s:g}": _equalised(s, True) for s in (3, 4)})
# The grid the shipped constants were chosen from (learned_parameters.py: SEAM_REPAIR, EQUALISE_SIGMA).
SHIPPED_GRID = ("none", "seams", "equalise 3", "equalise 4", "seams + equalise 3", "seams + equalise 4")


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


def overall(results: dict, sets, scale) -> None:
    """The variant chosen per held-out database by the mean EER over the clean FVC protocol, the clean
    probes and every set on the other three, among the variants no worse than "none" on the clean FVC
    protocol there (ties: the earlier variant), and each set's figure on the held-out database under
    its fold's choice; then the choice made on each set alone (unguarded)."""
    for result in results.values():
        dbs = sorted(result["clean"])
        result["all"] = {db: float(np.mean([result[k][db] for k in ("clean FVC", "clean") + tuple(sets)]))
                         for db in dbs}
    chosen, _ = lodo_choice(results, "all", guard="clean FVC")
    dbs = sorted(chosen)
    print(f"   LODO choice on the mean of clean (FVC protocol and probes) + all sets, among the variants no "
          f"worse than none on the clean FVC protocol @ {scale}: "
          + ", ".join(f"{d[:3]}:{chosen[d]}" for d in dbs), flush=True)
    for target in ("clean FVC", "clean") + tuple(sets):
        held = {d: results[chosen[d]][target][d] for d in dbs}
        print(f"      held out {target:28s} {np.mean(list(held.values())):5.2f} % "
              f"({' / '.join(f'{held[d]:.2f}' for d in dbs)})", flush=True)
    if "clean_lodo" in results[chosen[dbs[0]]]:
        held = {d: results[chosen[d]]["clean_lodo"][d] for d in dbs}
        print(f"      held out {'clean LODO (thr/cap per fold)':28s} {np.mean(list(held.values())):5.2f} %", flush=True)
    for target in sets:
        own, held = lodo_choice(results, target)
        print(f"   LODO choice on {target} alone: held-out {np.mean(list(held.values())):.2f} % "
              f"({' / '.join(f'{held[d]:.2f}' for d in dbs)}); chosen " + ", ".join(f"{d[:3]}:{own[d]}" for d in dbs),
              flush=True)


def oracles(databases, scale: float) -> None:
    """What the matcher alone can do on the partial and sweep sets: the clean impression 2's own
    minutiae (as extracted now), cut to the partial window or moved by the sweep's row mapping and
    jitter, against the clean enrolments (same protocol). The windows and row mappings are re-drawn
    from the sets' seeds exactly as bench/_fingerprint_robustness.py draws them."""
    from matcher.fingerprint.template import Template

    for name in ("partial (60 % window)", "sweep artefacts"):
        eers = {}
        for db, images in sorted(databases.items()):
            rng = np.random.default_rng([ord(c) for c in name + db])
            enrolled = {k: shipped(raw_template(im, DPI[db], scale, "", equalise_sigma=0.0, seam_repair=False))
                        for k, im in images.items()}
            genuine, impostor = [], []
            for f in range(1, 11):
                h, w = images[f, 2].shape
                m = enrolled[f, 2].minutiae.copy()
                if name.startswith("partial"):
                    ch, cw = int(h * 0.6), int(w * 0.6)
                    y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
                    m = m[(m["x"] >= x) & (m["x"] < x + cw) & (m["y"] >= y) & (m["y"] < y + ch)]
                else:
                    speed = np.clip(1 + np.cumsum(rng.normal(0, 0.03, h)), 0.7, 1.3)
                    source = np.clip(np.cumsum(speed) - speed[0], 0, h - 1)
                    shifts = [int(rng.integers(-2, 3)) for _ in range(0, h, 16)]
                    row = np.searchsorted(source, m["y"].astype(float))
                    m = m[row < h - 1]
                    row = row[row < h - 1]
                    stretch = 1.0 / speed[row]                      # observed rows per source row
                    m["x"] = m["x"] + np.array([shifts[r // 16] for r in row])
                    m["y"] = row
                    m["angle"] = np.mod(np.arctan2(np.sin(m["angle"]) * stretch, np.cos(m["angle"])), 2 * np.pi)
                t = enrolled[f, 2]
                probe = Template(m, t.width, t.height, t.dpi, t.quality) if len(m) >= L.MIN_MINUTIAE else None
                genuine += [_score(probe, enrolled[f, e]) for e in robustness.ENROLMENTS if e != 2]
                impostor += [_score(probe, enrolled[g, 1]) for g in range(1, 11) if g != f]
            eers[db] = eer(np.array(genuine), np.array(impostor)) * 100
        print(f"   oracle {name} @ {scale} (clean minutiae, no preprocessing): {np.mean(list(eers.values())):.2f} % "
              f"({' / '.join(f'{v:.2f}' for v in eers.values())})", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._fingerprint_robustness_lodo")
    parser.add_argument("--scale", type=float, action="append", help=f"internal scale(s); default {L.SCALE:g}")
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS),
                        help="preprocessing variant(s); default the grid the shipped constants came from")
    parser.add_argument("--set", action="append", choices=SETS)
    parser.add_argument("--no-lodo", action="store_true", help="skip the clean LODO (threshold/cap grid)")
    parser.add_argument("--oracles", action="store_true", help="only the partial and sweep sets' matcher-only bounds")
    args = parser.parse_args(argv)
    root = datasets_dir() / "fingerprints" / "fvc2002"
    databases = {db: load_database(root, db) for db in sorted(DPI)}
    sets = tuple(args.set or SETS)
    for scale in args.scale or [L.SCALE]:
        if args.oracles:
            oracles(databases, scale)
            continue
        results = {}
        for name in args.variant or SHIPPED_GRID:
            t0 = time.time()
            results[name] = evaluate(databases, VARIANTS[name], scale, sets, clean_lodo=not args.no_lodo)
            summary(f"{name} @ {scale}", results[name])
            print(f"   ({time.time() - t0:.0f} s)", flush=True)
        if len(results) > 1:
            overall(results, sets, scale)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
