"""The robustness sets as whole sensors: every capture, enrolment and probe alike, from the imitated
sensor, measured by bench sensor_accuracy as a commission would measure a real one.

    python -m bench._fingerprint_whole_sensor [--set NAME ...] [--db DB1_B ...]
    python -m bench._fingerprint_whole_sensor --write FOLDER --set NAME --db DB1_B

The robustness protocol (bench/_fingerprint_robustness.py) meets a degraded probe with clean
enrolments: a voter enrolled at registration on a good sensor and verified at a booth on another. A
commission testing one sensor, as the issue's hidden sensors were tested, enrols and verifies on that
sensor, so both sides are degraded. Here every impression of every finger of an FVC2002 database is
degraded as the set degrades its probes, with the same seeds (the same images the robustness figures
use), written as a folder of captures (``write_folder``: 1FF_K.png, FVC's names) and measured by
``bench.sensor_accuracy.measure`` at the set's stated resolution. ``--write`` only writes one such
folder, to rehearse ``python -m bench sensor_accuracy`` on it.

The images derive from FVC2002, on which the engine's constants were chosen, and the learned engine's
detection threshold was chosen with these sets in view (bench/_fingerprint_robustness_lodo.py): these
figures are in-sample, not held out.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np

from bench import _fingerprint_robustness as robustness
from bench import sensor_accuracy as sensor
from bench.common import header, row
from bench.fingerprint import DPI, load_database
from kiosk.datasets import datasets_dir

CLEAN = "clean"


def write_folder(name: str, db: str, images: dict, dpi: float, folder: Path) -> float:
    """Every image of ``images`` ({(finger, impression): image} of FVC2002 ``db``) degraded as set
    ``name`` degrades its probes (``clean``: as it is), written to ``folder`` as 1FF_K.png. Returns the
    resolution the captures are at."""
    if name == CLEAN:
        captures, at = images, dpi
    else:
        degraded = robustness.probe_set(name, {db: images}, {db: dpi}, probes=sorted({k for _, k in images}))[db]
        captures = {key: image for key, (image, _) in degraded.items()}
        at = next(iter(degraded.values()))[1]
    folder.mkdir(parents=True, exist_ok=True)
    for (f, k), image in captures.items():
        if not cv2.imwrite(str(folder / f"1{f:02d}_{k}.png"), image):
            raise OSError(f"cannot write {folder / f'1{f:02d}_{k}.png'}")
    return at


def measure_set(name: str, databases: dict) -> dict:
    """{db: sensor_accuracy.measure's report} of set ``name`` as a whole sensor, one database each."""
    out = {}
    for db, images in databases.items():
        with tempfile.TemporaryDirectory(prefix="whole-sensor-") as tmp:
            dpi = write_folder(name, db, images, DPI[db], Path(tmp))
            out[db] = sensor.measure(sensor.read_captures(Path(tmp)), dpi)
    return out


def print_set(name: str, reports: dict) -> None:
    def mean(figure):
        return float(np.mean([figure(r) for r in reports.values()]))
    impostors = sum(r["impostor pairs"] for r in reports.values())
    passing = sum(r["impostors at or above"][30.0] for r in reports.values())
    booth = [r["booth"][sensor.ENROLLED]["genuine rejected %"] for r in reports.values()]
    row(name, f"EER {mean(lambda r: r['EER fvc %']):.2f} %",
        f"all-pairs {mean(lambda r: r['EER %']):.2f} % [" + " / ".join(f"{r['EER %']:.2f}" for r in reports.values())
        + f"]   FMR at 30: {passing} of {impostors:,} (model {impostors * 1e-3:.1f})"
        f"   booth, 3 enrolled, rejected at 40: {np.mean(booth):.2f} %"
        f"   refused {sum(r['refused'] for r in reports.values())}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._fingerprint_whole_sensor")
    parser.add_argument("--set", action="append", choices=(CLEAN,) + tuple(robustness.SETS))
    parser.add_argument("--db", action="append", choices=sorted(DPI))
    parser.add_argument("--write", type=Path, help="only write the set's folder of one database here")
    args = parser.parse_args(argv)
    root = datasets_dir()
    if root is None:
        print("   ../shared/datasets is absent: nothing to measure")
        return 0
    dbs = args.db or sorted(DPI)
    names = args.set or [CLEAN] + list(robustness.SETS)
    databases = {db: load_database(root / "fingerprints" / "fvc2002", db) for db in dbs}
    if args.write:
        if len(names) != 1 or len(dbs) != 1:
            parser.error("--write takes one --set and one --db")
        dpi = write_folder(names[0], dbs[0], databases[dbs[0]], DPI[dbs[0]], args.write)
        print(f"wrote {args.write}: run python -m bench sensor_accuracy {args.write} --dpi {dpi:g}")
        return 0
    header("the robustness sets as whole sensors (enrolment and probe both degraded), learned engine")
    print("   IN-SAMPLE: derived from FVC2002, on which the constants were chosen. Mean over "
          + ", ".join(dbs) + "; EER FVC protocol, then all-pairs [per database]")
    for name in names:
        print_set(name, measure_set(name, databases))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
