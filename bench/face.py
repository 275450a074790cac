"""Face engine benchmark: accuracy on the labelled photos, capture speed, 1:N speed and exactness.

    python -m bench face                      # all figures
    python -m bench face --print-calibration  # also print a default_calibration.py built from the photos
"""
from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kiosk.datasets import datasets_dir

# fr-examples files -> person; multi-face pictures are left out (they are not one person's photo),
# and the 240p/480p/1080p copies of one photo are left out of calibration (near-duplicates).
FR_IDENTITIES = {
    "examples/knn_examples/train/alex_lacamoire/img1.jpg": "alex_lacamoire",
    "examples/knn_examples/test/alex_lacamoire1.jpg": "alex_lacamoire",
    "examples/alex-lacamoire.png": "alex_lacamoire",
    "examples/knn_examples/train/rose_leslie/img1.jpg": "rose_leslie",
    "examples/knn_examples/train/rose_leslie/img2.jpg": "rose_leslie",
    "examples/knn_examples/train/kit_harington/john1.jpeg": "kit_harington",
    "examples/knn_examples/train/kit_harington/john2.jpeg": "kit_harington",
    "examples/knn_examples/test/johnsnow_test1.jpg": "kit_harington",
    "examples/knn_examples/train/obama/obama.jpg": "obama",
    "examples/knn_examples/train/obama/obama2.jpg": "obama",
    "examples/knn_examples/test/obama1.jpg": "obama",
    "examples/obama-720p.jpg": "obama",
    "tests/test_images/obama3.jpg": "obama",
    "examples/knn_examples/train/biden/biden.jpg": "biden",
    "examples/knn_examples/train/biden/biden2.jpg": "biden",
    "examples/lin-manuel-miranda.png": "lin_manuel_miranda",
}


def load_rgb(path: Path) -> np.ndarray:
    """Read an image file as RGB uint8 (alpha dropped)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(path)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    identity: str


def labelled_photos(root: Path) -> list[LabelledPhoto]:
    """One-person photos of both face sets with their identity, byte-identical copies removed."""
    faces = root / "faces"
    out: list[LabelledPhoto] = []
    with open(faces / "deepface-13" / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            out.append(LabelledPhoto(faces / "deepface-13" / row["file"], "deepface:" + row["identity"]))
    for rel, who in FR_IDENTITIES.items():
        out.append(LabelledPhoto(faces / "fr-examples" / rel, "fr:" + who))
    seen: set[str] = set()
    unique = []
    for photo in out:
        digest = hashlib.sha256(photo.path.read_bytes()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            unique.append(photo)
    return unique


def pair_distances(vectors: np.ndarray, identities: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(genuine, impostor) distances over every unordered pair of photos."""
    ids = np.asarray(identities)
    i, j = np.triu_indices(len(ids), k=1)
    d = np.linalg.norm(vectors[i] - vectors[j], axis=1)
    same = ids[i] == ids[j]
    return d[same], d[~same]


# -- synthetic identities for the 1:N speed figure ----------------------------------------------------

# Shape of real dlib embeddings after unit normalisation, measured on the labelled photos above:
# mean embedding norm ~0.91 (all faces share a cone), residual norm ~0.40, per-identity spread ~0.18.
SYNTH_MEAN_NORM = 0.914
SYNTH_IDENTITY_SPREAD = 0.357
SYNTH_SAMPLE_SPREAD = 0.18
# Identity residuals with a decaying spectrum (a few directions dominate, as in real embeddings):
# this widens the impostor distance distribution toward the real one (1st percentile ~0.44).
SYNTH_SPECTRUM_DECAY = 40.0
SYNTH_CAPTURE_VARIATION = 0.2


@dataclass
class SyntheticPopulation:
    centres: np.ndarray
    rng: np.random.Generator
    sample_spread: float

    def sample(self, identities: np.ndarray) -> np.ndarray:
        """One unit embedding per identity index: centre plus isotropic capture noise of varying
        strength (log-normal per capture: some photos are much worse than others)."""
        d = self.centres.shape[1]
        strength = self.sample_spread * np.exp(SYNTH_CAPTURE_VARIATION * self.rng.standard_normal((len(identities), 1)))
        x = self.centres[identities] + self.rng.standard_normal((len(identities), d), dtype=np.float32) * (
            strength / np.sqrt(d)).astype(np.float32)
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def synthetic_population(n: int, rng: np.random.Generator, dimension: int = 128) -> SyntheticPopulation:
    axis = rng.standard_normal(dimension)
    axis /= np.linalg.norm(axis)
    basis = np.linalg.qr(rng.standard_normal((dimension, dimension)))[0]   # random orientation of the spectrum
    weights = np.exp(-np.arange(dimension) / SYNTH_SPECTRUM_DECAY)
    weights *= SYNTH_IDENTITY_SPREAD / np.sqrt(np.sum(weights ** 2))
    centres = np.empty((n, dimension), dtype=np.float32)
    for start in range(0, n, 1 << 17):
        stop = min(n, start + (1 << 17))
        r = (rng.standard_normal((stop - start, dimension)) * weights) @ basis.T
        r -= np.outer(r @ axis, axis)                                      # residuals orthogonal to the cone axis
        centres[start:stop] = SYNTH_MEAN_NORM * axis + r
    return SyntheticPopulation(centres, rng, SYNTH_SAMPLE_SPREAD)


# -- figures ------------------------------------------------------------------------------------------

@dataclass
class Encoded:
    ours: dict[str, np.ndarray]       # file path -> unit embedding (default capture path)
    mirrored: dict[str, np.ndarray]   # with mirror averaging
    stock: dict[str, np.ndarray]      # stock face_recognition encoding (raw, 5-point, same face box)


def encode_files(paths: list[Path]) -> tuple[Encoded, list[str]]:
    from matcher import face
    from matcher.face import encoder, models

    models.load()   # imports face_recognition_models quietly first (its pkg_resources warning)
    import face_recognition

    out = Encoded({}, {}, {})
    failures = []
    for path in paths:
        rgb = load_rgb(path)
        try:
            out.ours[str(path)] = face.encode(rgb).vector
            out.mirrored[str(path)] = face.encode(rgb, mirror=True).vector
        except face.FaceError as exc:
            failures.append(f"{path.name}: {getattr(exc, 'reason', type(exc).__name__)}")
            continue
        box = max(encoder.detect(rgb), key=lambda b: b.width)
        css = (int(box.top), int(box.right), int(box.bottom), int(box.left))
        out.stock[str(path)] = face_recognition.face_encodings(rgb, known_face_locations=[css])[0]
    return out, failures


def pairs_of(root: Path) -> list[tuple[str, str, bool]]:
    """The labelled pairs of deepface-13 as (path, path, same)."""
    folder = root / "faces" / "deepface-13"
    with open(folder / "pairs.csv", newline="") as f:
        return [(str(folder / r["file_a"]), str(folder / r["file_b"]), r["same"] == "1") for r in csv.DictReader(f)]


def split_distances(vectors: dict[str, np.ndarray], pairs: list[tuple[str, str, bool]]):
    gen, imp = [], []
    for a, b, same in pairs:
        if a in vectors and b in vectors:
            (gen if same else imp).append(float(np.linalg.norm(vectors[a] - vectors[b])))
    return np.array(gen), np.array(imp)


def rates_at(gen: np.ndarray, imp: np.ndarray, distance: float) -> tuple[float, float]:
    """(FMR, FNMR) when accepting distance <= threshold."""
    return float(np.mean(imp <= distance)), float(np.mean(gen > distance))


def frame_640x480(rgb: np.ndarray) -> np.ndarray:
    """A 640 x 480 booth-like frame from a portrait: centre crop to 4:3, then resize."""
    h, w = rgb.shape[:2]
    if w * 3 > h * 4:
        cw = h * 4 // 3
        rgb = rgb[:, (w - cw) // 2:(w - cw) // 2 + cw]
    else:
        ch = w * 3 // 4
        top = max(0, (h - ch) // 3)   # keep the upper part: faces sit above the middle in portraits
        rgb = rgb[top:top + ch]
    return cv2.resize(rgb, (640, 480), interpolation=cv2.INTER_AREA)


# The booth's 1:1 operating point: a face-only decision at FMR 1e-4 (score 40); fused decisions go lower.
OPERATING_FMR = 1e-4


def accuracy_section(root: Path) -> tuple[Encoded, list[LabelledPhoto]]:
    from matcher import face
    from bench.common import row

    photos = labelled_photos(root)
    pairs = pairs_of(root)
    encoded, failures = encode_files([p.path for p in photos])
    print("-- 1:1 accuracy, deepface-13 pairs.csv (140 genuine, 140 impostor pairs)")
    if failures:
        print(f"   refused by the quality gate: {', '.join(failures)}")
    target = "target <= 0.7 %; stock reference 0.71 %"
    gen, imp = split_distances(encoded.ours, pairs)
    rate, at = face.eer(gen, imp)
    row("EER ours (single pass, unit-normalised)", f"{100 * rate:.2f} % @ {at:.3f}", target)
    row("  margin: min impostor - max genuine distance", f"{imp.min() - gen.max():+.4f}", "")
    gen_m, imp_m = split_distances(encoded.mirrored, pairs)
    rate_m, at_m = face.eer(gen_m, imp_m)
    row("EER ours, mirror-averaged (2 encoder passes)", f"{100 * rate_m:.2f} % @ {at_m:.3f}", target)
    row("  margin: min impostor - max genuine distance", f"{imp_m.min() - gen_m.max():+.4f}", "")
    gen_s, imp_s = split_distances(encoded.stock, pairs)
    rate_s, at_s = face.eer(gen_s, imp_s)
    row("EER stock face_recognition (raw distance)", f"{100 * rate_s:.2f} % @ {at_s:.3f}", target)
    fmr, fnmr = rates_at(gen_s, imp_s, 0.6)
    row("stock threshold 0.6: FMR / FNMR", f"{100 * fmr:.2f} / {100 * fnmr:.2f} %", "reference FMR 1.43 %, FNMR 0 %")
    table = face.get_calibration()
    for fmr_target in (1e-2, 1e-3, OPERATING_FMR, 1e-5):
        d = table.distance_for_fmr(fmr_target)
        fmr, fnmr = rates_at(gen, imp, d)
        chosen = "  <- chosen booth threshold" if fmr_target == OPERATING_FMR else ""
        row(f"threshold for FMR {fmr_target:g}: score {face.threshold_for_fmr(fmr_target):.0f}, dist {d:.3f}",
            f"FMR {100 * fmr:.2f} / FNMR {100 * fnmr:.2f} %", "measured on the 280 pairs" + chosen)
    vecs, labels = _stack(encoded.ours, photos)
    gen_all, imp_all = pair_distances(vecs, labels)
    rate, at = face.eer(gen_all, imp_all)
    row(f"EER all pairs, both sets ({len(gen_all)} gen / {len(imp_all)} imp)", f"{100 * rate:.2f} % @ {at:.3f}",
        "calibration data")
    return encoded, photos


def _stack(vectors: dict[str, np.ndarray], photos: list[LabelledPhoto]) -> tuple[np.ndarray, list[str]]:
    kept = [p for p in photos if str(p.path) in vectors]
    return np.stack([vectors[str(p.path)] for p in kept]), [p.identity for p in kept]


def capture_section(root: Path, repeat: int) -> None:
    import time

    from matcher import face
    from matcher.face import encoder
    from bench.common import median, percentile, row, time_calls

    names = ["img1.jpg", "img10.jpg", "img17.jpg", "img22.jpg", "img30.jpg", "img38.jpg", "img47.jpg", "img54.jpg"]
    frames = [frame_640x480(load_rgb(root / "faces" / "deepface-13" / n)) for n in names]
    totals, cpu, mirrored, detects = [], [], [], []
    for frame in frames:
        face.encode(frame)   # warm-up (model load on the first frame)
        for _ in range(repeat):
            wall0, cpu0 = time.perf_counter(), time.process_time()
            face.encode(frame)
            totals.append(time.perf_counter() - wall0)
            cpu.append(time.process_time() - cpu0)
        mirrored += time_calls(lambda: face.encode(frame, mirror=True), repeat=repeat)
        detects += time_calls(lambda: encoder.detect(frame), repeat=repeat)
    print(f"-- capture to template, {len(frames)} frames of 640 x 480, {repeat} runs each")
    row("capture-to-template median (p90), single pass",
        f"{1000 * median(totals):.0f} ms ({1000 * percentile(totals, 90):.0f})", "target <= 250 ms")
    row("  same, CPU time of this process (median)", f"{1000 * median(cpu):.0f} ms",
        "= wall time on an unshared core")
    row("capture-to-template median (p90), mirror-averaged",
        f"{1000 * median(mirrored):.0f} ms ({1000 * percentile(mirrored, 90):.0f})", "target <= 250 ms")
    row("of which HOG detection median", f"{1000 * median(detects):.0f} ms", "stock ~50 ms")


def gallery_section(size: int, queries: int, exhaustive_checks: int, seed: int) -> None:
    from matcher.face import Gallery
    from bench.common import median, percentile, row, time_calls
    import time

    rng = np.random.default_rng(seed)
    population = synthetic_population(size, rng)
    enrolled = population.sample(np.arange(size))
    mates = rng.choice(size, size=queries, replace=False)
    probes = population.sample(mates)
    t0 = time.perf_counter()
    gallery = Gallery.from_vectors(enrolled)
    build_s = time.perf_counter() - t0
    print(f"-- 1:N, {size:,} synthetic templates (cone-shaped like dlib embeddings), {queries} single queries")
    gen_d = np.linalg.norm(enrolled[mates] - probes, axis=1)
    imp_d = np.linalg.norm(enrolled[(mates + 1) % size] - probes, axis=1)
    row("synthetic genuine / impostor median distance", f"{np.median(gen_d):.3f} / {np.median(imp_d):.3f}",
        "real photos: 0.253 / 0.592")
    times, found, agree = [], 0, 0
    for k, probe in enumerate(probes):
        times += time_calls(lambda: gallery.nearest(probe, top_k=10), repeat=1, warmup=1 if k == 0 else 0)
        hits = gallery.nearest(probe, top_k=10)
        found += hits[0][0] == mates[k]
        if k < exhaustive_checks:
            agree += hits[0][0] == gallery.exhaustive_nearest(probe, top_k=1)[0][0]
    row("single query median (p90)", f"{1000 * median(times):.1f} ms ({1000 * percentile(times, 90):.1f})",
        "target <= 20 ms on 2 cores")
    row("top-1 equals exhaustive float32 top-1", f"{agree}/{min(exhaustive_checks, queries)}", "target: all")
    row("true mate ranked first", f"{found}/{queries}", "")
    row("bytes per scanned code", f"{gallery.code_bytes} B", "target <= 64 B; float32 = 512 B")
    row("gallery build (projection + packing)", f"{build_s:.1f} s", "")
    mv = time_calls(lambda: enrolled @ probes[0], repeat=5)
    row("reference: numpy float32 mat-vec, all templates", f"{1000 * median(mv):.1f} ms", "anchor 60-154 ms")
    row("speed-up over the mat-vec (same machine, same load)", f"{median(mv) / median(times):.1f} x", "")


def print_calibration(encoded: Encoded, photos: list[LabelledPhoto]) -> None:
    from matcher.face.calibration import build_table, fit_tail

    vecs, labels = _stack(encoded.ours, photos)
    gen, imp = pair_distances(vecs, labels)
    tail = fit_tail(imp)
    source = (f"deepface-13 + fr-examples, {len(vecs)} photos of {len(set(labels))} people, {len(gen)} genuine / "
              f"{len(imp)} impostor pairs; Gaussian tail mean {tail.mean:.4f} sd {tail.sd:.4f}")
    table = build_table(gen, imp, source=source)
    print('"""Default face calibration table (distance between unit embeddings -> log10 FMR).')
    print("")
    print("Generated by `python -m bench face --print-calibration` from public photos of mostly adult,")
    print("European and North-American faces: at a given distance it under-states FMR for East-Asian faces")
    print("and children, so a deployment builds and swaps in its own table (see calibration.py).")
    print('"""')
    print("from matcher.face.calibration import CalibrationTable")
    print("")
    print(f"SOURCE = {source!r}")
    print("DISTANCES = (")
    for i in range(0, len(table.distances), 10):
        print("    " + ", ".join(f"{x:.2f}" for x in table.distances[i:i + 10]) + ",")
    print(")")
    print("LOG10_FMR = (")
    for i in range(0, len(table.log10_fmr), 8):
        print("    " + ", ".join(f"{x:.4f}" for x in table.log10_fmr[i:i + 8]) + ",")
    print(")")
    print("")
    print("TABLE = CalibrationTable(DISTANCES, LOG10_FMR, SOURCE)")


def main(argv: list[str]) -> int:
    import argparse

    from bench.common import header

    parser = argparse.ArgumentParser(prog="python -m bench face")
    parser.add_argument("--gallery-size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--exhaustive-checks", type=int, default=20)
    parser.add_argument("--capture-repeat", type=int, default=3)
    parser.add_argument("--print-calibration", action="store_true",
                        help="print a default_calibration.py module built from the labelled photos")
    args = parser.parse_args(argv)

    header("face engine: accuracy, capture speed, 1:N")
    load = os.getloadavg()
    print(f"   load average at start: {load[0]:.1f} (1 min), {load[1]:.1f} (5 min); "
          "timings are wall-clock and inflate when other work shares the cores")
    root = datasets_dir()
    if root is None:
        print("   ../shared/datasets is absent: accuracy and capture figures skipped")
    else:
        encoded, photos = accuracy_section(root)
        capture_section(root, args.capture_repeat)
    gallery_section(args.gallery_size, args.queries, args.exhaustive_checks, seed=20261122)
    if args.print_calibration and root is not None:
        print("-- calibration module")
        print_calibration(encoded, photos)
    return 0
