"""How many minutiae a genuine partial pair truly shares, and where the partial sets' errors sit
(python -m bench._fingerprint_shared_minutiae, about a minute with the bench's template cache warm).

The oracles (bench/_fingerprint_oracles.py) showed the partial sets are matcher-bound: the clean
print's own minutiae cut to the window do no better than the extracted ones. This asks whether any
minutiae matcher could do better. Ground truth for a genuine pair comes from the two *full* clean
impressions, aligned by a rigid transform (``matched_pairs``: Hough voting over rotation and
translation, then least-squares refits); the pair's shared minutiae are the matched ones whose probe
minutia lies in the probe's partial window, under that alignment or under one refitted near the
window (``shared_in_window``: a finger pressed differently is distorted). Only pairs whose full
impressions align far above any impostor (``CONFIDENT``, above the impostors' 99th percentile) are
counted as confident ground truth.

The yardstick for "could be told apart" is what an impostor's window finds by chance: the same
alignment of an impostor probe's window minutiae against the other finger's full print, best
over every rotation and translation, as a matcher searches. A genuine pair sharing no more minutiae
than a median impostor finds is beyond what the minutiae can show.

Measured 2026-11-30 (the shipped learned engine, every probe impression, 2,240 genuine pairs a set):
87 % of the uniform set's 133 failures and 73 % of the on-print set's 37 share fewer than 7 minutiae
with their enrolment, where an impostor's window finds 5-6 by chance (median). A matcher that accepted
every pair sharing 7 or more would still miss 5.18 % and 1.21 % of genuine pairs, 20x and 4.7x the
clean probes' 0.26 %: one enrolled impression cannot bring these sets within 1.5x of clean, whatever
the matcher. Enrolling three (bench/_fingerprint_enrolment.py) gives a window more print to meet.
"""
from __future__ import annotations

import math

import numpy as np

from bench import _fingerprint_cache as cache
from bench import _fingerprint_robustness as robustness
from bench.fingerprint import DPI, eer
from matcher import fingerprint as fp

TOLERANCE_PX = 15.0          # at 500 dpi: a matched minutia within this distance ...
TOLERANCE_ANGLE = math.radians(30)   # ... and this direction difference
ROTATIONS = np.radians(np.arange(-60, 61, 4))   # FVC2002's impressions turn by up to about 45 degrees
VOTE_CELL_PX = 10.0          # translation bins of the Hough vote, at 500 dpi
REFITS = 2
LOCAL_MARGIN_PX = 40.0       # shared_in_window refits on the pairs within this of the window, at 500 dpi
CONFIDENT = 15               # full impressions matched on at least this many minutiae (impostors' p99: 14.0)
BINS = ((0, 2), (3, 4), (5, 6), (7, 9), (10, 14), (15, 10_000))
MATCHABLE = 7                # "a matcher that accepted every pair sharing at least this many"
WINDOWS = {  # (image, rng, dpi) -> (y, x, height, width), as the partial sets draw them
    "partial, uniform placement (60 % window)": lambda image, rng, dpi: robustness.uniform_window(image.shape, rng),
    "partial, on the print (60 % window)": robustness.print_window}


def _wrap(angle):
    return (angle + np.pi) % (2 * np.pi) - np.pi


def _paired(ax, ay, at, bx, by, bt, scale: float) -> list[tuple[int, int]]:
    """One-to-one pairs (i in a, j in b) within the tolerances, nearest first."""
    distance = np.hypot(ax[:, None] - bx[None, :], ay[:, None] - by[None, :])
    turn = np.abs(_wrap(at[:, None] - bt[None, :]))
    cost = np.where((distance < TOLERANCE_PX * scale) & (turn < TOLERANCE_ANGLE), distance, np.inf)
    out = []
    while cost.size:
        i, j = np.unravel_index(np.argmin(cost), cost.shape)
        if not np.isfinite(cost[i, j]):
            break
        out.append((int(i), int(j)))
        cost[i, :] = np.inf
        cost[:, j] = np.inf
    return out


def matched_pairs(a: np.ndarray, b: np.ndarray, scale: float = 1.0) -> list[tuple[int, int]]:
    """Minutiae of ``a`` and ``b`` (MINUTIA_DTYPE, same image axes) paired under the rigid transform
    of b onto a that pairs the most: the Hough vote's best translation at every rotation in ROTATIONS,
    then REFITS least-squares refits on the pairs found. ``scale`` is dpi / 500."""
    if len(a) == 0 or len(b) == 0:
        return []
    ax, ay, at = (a[k].astype(float) for k in ("x", "y", "angle"))
    bx, by, bt = (b[k].astype(float) for k in ("x", "y", "angle"))
    edges = np.arange(-1000, 1001, VOTE_CELL_PX * scale)
    best: list[tuple[int, int]] = []
    for rotation in ROTATIONS:
        c, s = math.cos(rotation), math.sin(rotation)
        rx, ry = c * bx - s * by, s * bx + c * by
        agree = np.abs(_wrap(at[:, None] - (bt[None, :] + rotation))) < TOLERANCE_ANGLE
        tx, ty = (ax[:, None] - rx[None, :])[agree], (ay[:, None] - ry[None, :])[agree]
        if tx.size == 0:
            continue
        votes, xe, ye = np.histogram2d(tx, ty, bins=[edges, edges])
        i, j = np.unravel_index(votes.argmax(), votes.shape)
        dx, dy = (xe[i] + xe[i + 1]) / 2, (ye[j] + ye[j + 1]) / 2
        found = _paired(ax, ay, at, rx + dx, ry + dy, bt + rotation, scale)
        if len(found) > len(best):
            best = found
    for _ in range(REFITS):
        found = _refit(a, b, best, scale)
        if found is None or len(found) <= len(best):
            break
        best = found
    return best


def _refit(a: np.ndarray, b: np.ndarray, pairs, scale: float) -> list[tuple[int, int]] | None:
    """The pairs under the rigid transform of b onto a fitted to ``pairs`` by least squares (None
    below 3 pairs, or for a reflection)."""
    if len(pairs) < 3:
        return None
    ax, ay, at = (a[k].astype(float) for k in ("x", "y", "angle"))
    bx, by, bt = (b[k].astype(float) for k in ("x", "y", "angle"))
    p = np.array([(bx[j], by[j]) for _, j in pairs])
    q = np.array([(ax[i], ay[i]) for i, _ in pairs])
    u, _, vt = np.linalg.svd((p - p.mean(0)).T @ (q - q.mean(0)))
    r = (u @ vt).T
    if np.linalg.det(r) < 0:
        return None
    moved = (r @ np.vstack([bx, by])).T + (q.mean(0) - r @ p.mean(0))
    return _paired(ax, ay, at, moved[:, 0], moved[:, 1], bt + math.atan2(r[1, 0], r[0, 0]), scale)


def shared_in_window(a: np.ndarray, b: np.ndarray, pairs, window, scale: float = 1.0) -> int:
    """Minutiae of ``a`` inside ``window`` that pair with ``b``: under the whole prints' alignment
    (``pairs``, matched_pairs), or under the same pairs refitted near the window (those within
    LOCAL_MARGIN_PX of it), whichever pairs more, since a finger pressed differently is distorted and
    one rigid transform for the whole print can leave a window's true pairs beyond the tolerance."""
    inside = in_window(a, window)
    y, x, height, width = window
    margin = LOCAL_MARGIN_PX * scale
    near = in_window(a, (y - margin, x - margin, height + 2 * margin, width + 2 * margin))
    local = _refit(a, b, [(i, j) for i, j in pairs if near[i]], scale) or []
    return max(sum(1 for i, _ in found if inside[i]) for found in (pairs, local))


def in_window(minutiae: np.ndarray, window) -> np.ndarray:
    y, x, height, width = window
    return (minutiae["x"] >= x) & (minutiae["x"] < x + width) & (minutiae["y"] >= y) & (minutiae["y"] < y + height)


def shared_minutiae(databases, extract, score, name: str) -> dict:
    """Per genuine pair of set ``name`` (robustness.pairs, every impression a probe): the full clean
    impressions' matched count, the shared minutiae in the probe's window, and whether the extracted
    partial probe passed its database's EER threshold; with the impostor windows' chance counts.
    ``extract(image, dpi)`` is a template or None; ``score`` the raw comparison."""
    full_counts, shared, passed, chance, full_impostor, clean_eers = [], [], [], [], [], []
    genuine, impostor = robustness.pairs()
    degrade = robustness.SETS[name]
    for db, images in sorted(databases.items()):
        dpi, scale = DPI[db], DPI[db] / 500
        clean = {key: extract(image, dpi) for key, image in images.items()}
        windows, probes = {}, {}
        for (f, k), image in images.items():
            windows[f, k] = WINDOWS[name](image, robustness.probe_rng(name, db, f, k), dpi)
            args = (dpi,) if getattr(degrade, "needs_dpi", False) else ()
            probes[f, k] = extract(degrade(image, robustness.probe_rng(name, db, f, k), *args), dpi)
        clean_eers.append(100 * eer(np.array([score(clean[a], clean[b]) for a, b in genuine]),
                                    np.array([score(clean[a], clean[b]) for a, b in impostor])))
        g = np.array([score(probes[a], clean[b]) for a, b in genuine])
        i = np.array([score(probes[a], clean[b]) for a, b in impostor])
        rate = eer(g, i)
        threshold = np.sort(i)[min(len(i) - 1, int(len(i) * (1 - rate)))]
        for (a, b), s in zip(genuine, g):
            pairs, common = [], 0           # a refused clean impression (none on FVC2002) shares nothing
            if clean[a] is not None and clean[b] is not None:
                pairs = matched_pairs(clean[a].minutiae, clean[b].minutiae, scale)
                common = shared_in_window(clean[a].minutiae, clean[b].minutiae, pairs, windows[a], scale)
            full_counts.append(len(pairs))
            shared.append(common)
            passed.append(s > threshold)
        for a, b in impostor[::4]:
            if clean[a] is not None and clean[b] is not None:
                full_impostor.append(len(matched_pairs(clean[a].minutiae, clean[b].minutiae, scale)))
                window_minutiae = clean[a].minutiae[in_window(clean[a].minutiae, windows[a])]
                chance.append(len(matched_pairs(window_minutiae, clean[b].minutiae, scale)))
    return {"full": np.array(full_counts), "shared": np.array(shared), "passed": np.array(passed),
            "chance": np.array(chance), "full impostor": np.array(full_impostor), "clean EER": float(np.mean(clean_eers))}


def report(name: str, found: dict) -> None:
    full, shared, passed = found["full"], found["shared"], found["passed"]
    confident = full >= CONFIDENT
    print(f"\n   {name}: genuine pairs by the minutiae they truly share (every probe impression; "
          f"failed = below its database's EER threshold)")
    print(f"   full impressions aligned: genuine median {np.median(full):.0f}, impostors p50 / p99 "
          f"{np.percentile(found['full impostor'], 50):.0f} / {np.percentile(found['full impostor'], 99):.1f}; "
          f"confident ground truth (>= {CONFIDENT}): {confident.sum()} of {len(full)} pairs")
    print(f"   an impostor's window finds by chance, best alignment (p50 / p95 / p99): "
          f"{' / '.join(f'{v:.0f}' for v in np.percentile(found['chance'], [50, 95, 99]))} minutiae "
          f"({len(found['chance'])} impostor pairs)")
    print(f"   {'shared':>8} | {'pairs':>6} {'failed':>7} | {'confident':>9} {'failed':>7}")
    for low, high in BINS:
        sel = (shared >= low) & (shared <= high)
        label = f"{low}-{high}" if high < 1000 else f">= {low}"
        print(f"   {label:>8} | {sel.sum():6d} {np.sum(sel & ~passed):7d} | {np.sum(sel & confident):9d} "
              f"{np.sum(sel & confident & ~passed):7d}")
    below = shared < MATCHABLE
    floor = 100 * np.sum(below & ~passed) / len(passed)
    print(f"   failed {np.sum(~passed)} of {len(passed)}; sharing fewer than {MATCHABLE}: {np.sum(below & ~passed)} "
          f"({100 * np.sum(below & ~passed) / max(1, np.sum(~passed)):.0f} % of the failures). A matcher accepting every pair "
          f"sharing >= {MATCHABLE} would still fail {floor:.2f} % of genuine pairs, {floor / found['clean EER']:.1f}x the "
          f"clean probes' EER ({found['clean EER']:.2f} %)")


def main() -> int:
    from bench._fingerprint_robustness_lodo import shipped_extract
    from bench.fingerprint import load_database
    from kiosk.datasets import datasets_dir

    def extract(image, dpi):
        try:
            return shipped_extract(image, dpi)
        except fp.LowQualityError:
            return None

    root = datasets_dir() / "fingerprints" / "fvc2002"
    databases = {db: load_database(root, db) for db in sorted(DPI)}
    for name in WINDOWS:
        report(name, shared_minutiae(databases, extract, cache.score, name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
