"""Experiment harness for the learned path's robustness: preprocessing variants and scales, with the
constants of a stage chosen leave-one-database-out on the robustness sets.

    python -m bench._fingerprint_robustness_lodo [--scale 0.8 --scale 0.9] [--variant none ...]

A variant is a function image, dpi -> image applied before extraction (to enrolments and probes
alike, as the engine would). Templates are cached at the variants' low detection threshold by the
hash of the image the network path sees (so a stage that leaves an image unchanged reuses its
template), under ``$KIOSK_BENCH_CACHE/robust``. Printed per variant and scale: the clean LODO EER
(threshold and cap chosen per fold, as bench fingerprint's curve) and every robustness set's mean EER
at the shipped threshold and cap, with its ratio to clean probes and the refusals (FTE).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import time
from pathlib import Path

import numpy as np

from bench import _fingerprint_robustness as robustness
from bench import _fingerprint_variants as variants
from bench.fingerprint import DPI, eer, load_database
from kiosk.datasets import datasets_dir
from matcher import fingerprint as fp
from matcher.fingerprint import learned_parameters as L
from matcher.fingerprint.learned import extract_learned
from matcher.fingerprint.template import Template

SETS = tuple(robustness.SETS)


def _root() -> Path:
    return Path(os.environ.get("KIOSK_BENCH_CACHE", "/tmp/cache-robust")) / "robust"


def raw_template(image: np.ndarray, dpi: float, scale: float, tag: str = "", **kwargs) -> Template | None:
    """Low-threshold template of ``image`` (already preprocessed) at ``scale``, cached."""
    digest = hashlib.sha1(np.ascontiguousarray(image).tobytes())
    digest.update(f"{image.shape}|{dpi:.3f}|{scale}|{L.CROP_MARGIN}|{tag}".encode())
    key = digest.hexdigest()
    path = _root() / key[:2] / f"{key}.npz"
    if path.exists():
        with np.load(path) as data:
            if int(data["refused"]):
                return None
            w, h, q = (int(v) for v in data["meta"])
            return Template(data["minutiae"], w, h, float(data["dpi"]), q)
    try:
        t = extract_learned(image, dpi, scale=scale, threads=1, threshold=variants.RAW_THRESHOLD,
                            max_minutiae=variants.RAW_CAP, **kwargs)
    except fp.LowQualityError:
        t = None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    if t is None:
        np.savez(tmp, refused=1)
    else:
        np.savez(tmp, refused=0, minutiae=t.minutiae, dpi=t.dpi, meta=np.array([t.width, t.height, t.quality]))
    os.replace(tmp, path)
    return t


def _score(a, b) -> float:
    return -1.0 if a is None or b is None else fp.compare_raw(a, b)


def shipped(t):
    return variants.restrict(t, L.QUALITY_THRESHOLD, L.MAX_MINUTIAE)


def evaluate(databases, preprocess, scale: float, sets=SETS, clean_lodo: bool = True, score=_score) -> dict:
    """{'clean_lodo': {db: EER}, 'clean': {db: EER}, set: {db: EER}, set+' fte': count} in percent."""
    dbs = sorted(databases)
    out = {}
    extract = getattr(preprocess, "extract", {})
    tag = ",".join(f"{k}={v}" for k, v in sorted(extract.items()))
    raw = {db: {k: raw_template(preprocess(im, DPI[db]), DPI[db], scale, tag, **extract) for k, im in images.items()}
           for db, images in databases.items()}
    if clean_lodo:
        table = variants.lodo_table(raw, dbs, True, eer)
        _, held = variants.lodo(table, dbs)
        out["clean_lodo"] = held
    enrolled = {db: {k: shipped(t) for k, t in raw[db].items()} for db in dbs}
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
    line = f"{label}: clean probes {clean:.2f} %"
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


def identity(image, dpi):
    return image


def _equalised(sigma, noise=0.0):
    def apply(image, dpi):
        return image
    apply.extract = {"equalise_sigma": sigma} if noise == 0 else {"equalise_sigma": sigma, "equalise_noise": noise}
    return apply


def _seams_equalised(sigma):
    def apply(image, dpi):
        from matcher.fingerprint.seam_repair import repair_seams
        return repair_seams(image)
    apply.extract = {"equalise_sigma": sigma}
    return apply


def _eroded(image, dpi):
    import cv2
    return cv2.erode(image, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))


VARIANTS = {"none": identity, "erode": _eroded}
VARIANTS.update({f"equalise {s:g}": _equalised(s) for s in (2, 3, 4, 6, 8, 12)})
VARIANTS.update({f"seams + equalise {s:g}": _seams_equalised(s) for s in (3, 4, 6)})
VARIANTS.update({f"equalise {s:g} noise {k:g}": _equalised(s, k) for s in (2, 3, 4, 6) for k in (1, 2, 3)})


def lodo_choice(results: dict, target: str, order=None) -> tuple[dict, dict]:
    """results[variant] = evaluate(...). For each held-out database: the variant with the best mean EER
    of ``target`` on the other three (ties: the earlier in ``order``), and its held-out EER there."""
    order = list(order or results)
    dbs = sorted(results[order[0]][target])
    chosen, held = {}, {}
    for db in dbs:
        others = [d for d in dbs if d != db]
        best = min(order, key=lambda v: (round(float(np.mean([results[v][target][d] for d in others])), 6),
                                         order.index(v)))
        chosen[db], held[db] = best, results[best][target][db]
    return chosen, held


def overall(results: dict, sets, scale) -> None:
    """The variant chosen per held-out database by the mean EER over the clean probes and every set
    on the other three (ties: the earlier variant), and each set's figure on the held-out database
    under its fold's choice; then the same choice made on each set alone."""
    for result in results.values():
        dbs = sorted(result["clean"])
        result["all"] = {db: float(np.mean([result[k][db] for k in ("clean",) + tuple(sets)])) for db in dbs}
    chosen, _ = lodo_choice(results, "all")
    dbs = sorted(chosen)
    print(f"   LODO choice on the mean of clean + all sets @ {scale}: "
          + ", ".join(f"{d[:3]}:{chosen[d]}" for d in dbs), flush=True)
    for target in ("clean",) + tuple(sets):
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, action="append")
    parser.add_argument("--variant", action="append")
    parser.add_argument("--set", action="append", choices=SETS)
    parser.add_argument("--no-lodo", action="store_true", help="skip the clean LODO (threshold/cap grid)")
    args = parser.parse_args(argv)
    root = datasets_dir() / "fingerprints" / "fvc2002"
    databases = {db: load_database(root, db) for db in sorted(DPI)}
    sets = tuple(args.set or SETS)
    for scale in args.scale or [L.SCALE]:
        results = {}
        for name in args.variant or ["none"]:
            t0 = time.time()
            results[name] = evaluate(databases, VARIANTS[name], scale, sets, clean_lodo=not args.no_lodo)
            summary(f"{name} @ {scale}", results[name])
            print(f"   ({time.time() - t0:.0f} s)", flush=True)
        if len(results) > 1:
            overall(results, sets, scale)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
