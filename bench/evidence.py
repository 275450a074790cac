"""The engine's evidence for the commission's report: every scored pair, as a CSV of scores only.

    python -m bench evidence [-o scores.csv] [--skip-face] [--skip-fingerprint]
    kiosk-audit report BUNDLE... -o report.html --evidence scores.csv

Fingerprint: FVC2002 DB1-4 B sets, per database every genuine pair (280) and every cross-finger
pair (2,880), scored by ``fingerprint.compare`` on templates from ``fingerprint.extract`` (the path the
kiosk enrols with). Face: deepface-13's 280 labelled pairs, ``face.compare`` on ``face.encode``.
Both are the engine's development sets (its constants and calibrations were chosen on them), so
the set names say "in-sample"; a deployment adds its own labelled calibration pairs, with a group
column, by appending rows in the same format. No template or image leaves: only scores.
"""
from __future__ import annotations

import argparse
import csv
import itertools
import sys
import time
from pathlib import Path

import cv2

from bench.common import header
from kiosk.datasets import datasets_dir

FVC_DPI = {"DB1_B": 500, "DB2_B": 569, "DB3_B": 500, "DB4_B": 500}


def fingerprint_rows(root: Path):
    from matcher import fingerprint

    for db, dpi in FVC_DPI.items():
        templates = {}
        t0 = time.perf_counter()
        for path in sorted((root / "fingerprints" / "fvc2002" / db).glob("1*_*.tif")):
            finger, impression = path.stem.split("_")
            try:
                templates[finger, impression] = fingerprint.extract(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), dpi=dpi)
            except fingerprint.FingerprintError:
                templates[finger, impression] = None     # a refused image matches nothing
        print(f"   {db}: {len(templates)} images extracted in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        for a, b in itertools.combinations(sorted(templates), 2):
            ta, tb = templates[a], templates[b]
            score = 0.0 if ta is None or tb is None else fingerprint.compare(ta, tb)
            yield "fingerprint", f"FVC2002 {db[:3]} (in-sample)", "", int(a[0] == b[0]), f"{score:.3f}"


def face_rows(root: Path):
    from matcher import face

    folder = root / "faces" / "deepface-13"
    encodings = {}

    def encode(name: str):
        if name not in encodings:
            bgr = cv2.imread(str(folder / name), cv2.IMREAD_COLOR)
            try:
                encodings[name] = face.encode(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            except face.FaceError:
                encodings[name] = None
        return encodings[name]

    with open(folder / "pairs.csv", newline="") as f:
        for row in csv.DictReader(f):
            a, b = encode(row["file_a"]), encode(row["file_b"])
            score = 0.0 if a is None or b is None else face.compare(a, b)
            yield "face", "deepface-13 (in-sample)", "", int(row["same"]), f"{score:.3f}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench evidence")
    parser.add_argument("-o", "--out", type=Path, default=Path("scores.csv"))
    parser.add_argument("--skip-face", action="store_true")
    parser.add_argument("--skip-fingerprint", action="store_true")
    args = parser.parse_args(argv)
    header("engine evidence: scored pairs for the commission report")
    root = datasets_dir()
    if root is None:
        print("bench evidence: ../shared/datasets is not here", file=sys.stderr)
        return 2
    counts = {}
    with open(args.out, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["modality", "set", "group", "genuine", "score"])
        sources = ([] if args.skip_fingerprint else [fingerprint_rows(root)]) + ([] if args.skip_face else [face_rows(root)])
        for row in itertools.chain(*sources):
            out.writerow(row)
            counts[row[1], row[3]] = counts.get((row[1], row[3]), 0) + 1
    for (name, genuine), n in sorted(counts.items()):
        print(f"   {name:<36} {'genuine' if genuine else 'impostor'} pairs {n:>6}")
    print(f"   wrote {args.out}")
    return 0
