"""The robustness sets as whole sensors: every capture, enrolment and probe alike, from the imitated
sensor, measured by bench sensor_accuracy as a commission would measure a real one.

    python -m bench._fingerprint_whole_sensor [--set NAME ...] [--db DB1_B ...] [--method classical]
                                              [--small-window SIDE]
    python -m bench._fingerprint_whole_sensor --write FOLDER --set NAME --db DB1_B

The robustness protocol (bench/_fingerprint_robustness.py) meets a degraded probe with clean
enrolments: a voter enrolled at registration on a good sensor and verified at a booth on another. A
commission testing one sensor, as the issue's hidden sensors were tested, enrols and verifies on that
sensor, so both sides are degraded. Here every impression of every finger of an FVC2002 database is
degraded as the set degrades its probes, with the same seeds (the same images the robustness figures
use), written as a folder of captures (``write_folder``: 1FF_K.png, FVC's names) and measured by
``bench.sensor_accuracy.measure`` at the set's stated resolution, each set's mean EER against the clean
folders' (FVC2002 as it is). ``--write`` only writes one such folder, to rehearse ``python -m bench
sensor_accuracy`` on it.

Whether these imitations behave like the real sensors can be checked on the two the issue measured
with the classical engine (a thermal sweep sensor, 8.6 % EER; a small optical sensor with many dry
prints, 15.6 %; FVC2002 2.8 %): ``--method classical`` prints their figures beside the sets standing for
them. Those sets' harshness was chosen on the robustness protocol's ratio, not on these.
``--small-window`` cuts the small dry sensor's captures at another window side (a share of each side of
the image; the set's is 0.6), its dryness and draws unchanged: how the figures depend on the sensor's size.

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
from bench._fingerprint_sensor_calibration import REAL_SENSOR_CLEAN_EER, SENSORS
from bench.common import header, row
from bench.fingerprint import DPI, load_database
from kiosk.datasets import datasets_dir
from matcher.fingerprint.extraction import DEFAULT_METHOD

CLEAN = "clean"
SMALL_DRY = SENSORS["small dry"].set_name


def write_folder(name: str, db: str, images: dict, dpi: float, folder: Path, degrade=None) -> float:
    """Every image of ``images`` ({(finger, impression): image} of FVC2002 ``db``) degraded as set
    ``name`` degrades its probes (``clean``: as it is), or by ``degrade`` drawn with that set's seeds,
    written to ``folder`` as 1FF_K.png. Returns the resolution the captures are at."""
    if name == CLEAN:
        captures, at = images, dpi
    else:
        degraded = robustness.probe_set(name, {db: images}, {db: dpi}, probes=sorted({k for _, k in images}),
                                        degrade=degrade)[db]
        captures = {key: image for key, (image, _) in degraded.items()}
        at = next(iter(degraded.values()))[1]
    folder.mkdir(parents=True, exist_ok=True)
    for (f, k), image in captures.items():
        if not cv2.imwrite(str(folder / f"1{f:02d}_{k}.png"), image):
            raise OSError(f"cannot write {folder / f'1{f:02d}_{k}.png'}")
    return at


def measure_set(name: str, databases: dict, method: str, degrade=None, brief: bool = False) -> dict:
    """{db: sensor_accuracy.measure's report} of set ``name`` (or ``degrade`` with its seeds) as a whole
    sensor, one database each (``brief``: its error rates only)."""
    out = {}
    for db, images in databases.items():
        with tempfile.TemporaryDirectory(prefix="whole-sensor-") as tmp:
            dpi = write_folder(name, db, images, DPI[db], Path(tmp), degrade)
            out[db] = sensor.measure(sensor.read_captures(Path(tmp)), dpi, method, brief=brief)
    return out


def mean_eer(reports: dict) -> float:
    """The mean over databases of the EER by FVC's protocol (percent)."""
    return float(np.mean([r["EER fvc %"] for r in reports.values()]))


def print_set(name: str, reports: dict, clean: dict, set_name: str | None = None) -> None:
    """One set's row: mean EER (FVC protocol) and its ratio to the clean folders', the all-pairs EER per
    database, the impostors at 30 against the model, the booth's protocol enrolled from 3 and from 5
    impressions (probes from the 4th and from the 6th); for a set standing for a
    sensor the issue measured (``set_name``, when ``name`` is a label of it), that sensor's classical
    EER and ratio beside."""
    impostors = sum(r["impostor pairs"] for r in reports.values())
    passing = sum(r["impostors at or above"][30.0] for r in reports.values())
    gated = sum(r["quality gate"]["impostor pairs"] for r in reports.values())
    gated_passing = sum(r["quality gate"]["impostors at or above"][30.0] for r in reports.values())
    booth = {count: np.mean([r["booth"][count]["views"][count]["genuine rejected %"] for r in reports.values()])
             for count in sensor.ENROLMENTS}
    floor = robustness.ratio_floor(reports[next(iter(reports))]["genuine pairs"], len(reports))
    ratio = mean_eer(reports) / max(mean_eer(clean), floor)
    real = next((f"   real sensor, classical: {s.eer:.1f} % ({s.eer / REAL_SENSOR_CLEAN_EER:.1f}x)"
                 for s in SENSORS.values() if s.set_name == (set_name or name)), "")
    row(name, f"EER {mean_eer(reports):.2f} % ({ratio:.1f}x)",
        "all-pairs [" + " / ".join(f"{r['EER %']:.2f}" for r in reports.values()) + "] %"
        f"   FMR at 30: {passing} of {impostors:,} (model {impostors * 1e-3:.1f}), past the quality gate"
        f" {gated_passing} of {gated:,} ({gated * 1e-3:.1f})"
        "   booth, rejected at 40 enrolled from " + " / ".join(f"{n}: {share:.2f} %" for n, share in booth.items())
        + f"   refused {sum(r['refused'] for r in reports.values())}" + real)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._fingerprint_whole_sensor")
    parser.add_argument("--set", action="append", choices=(CLEAN,) + tuple(robustness.SETS))
    parser.add_argument("--db", action="append", choices=sorted(DPI))
    parser.add_argument("--method", choices=("learned", "classical"), default=DEFAULT_METHOD)
    parser.add_argument("--write", type=Path, help="only write the set's folder of one database here")
    parser.add_argument("--small-window", type=float,
                        help=f"the small dry sensor's window side (default {robustness.WINDOW_SIDE:g})")
    args = parser.parse_args(argv)
    if args.small_window is not None and not 0.2 <= args.small_window <= 1.0:
        parser.error("--small-window takes a share of the image's side between 0.2 and 1")
    small = None if args.small_window is None else robustness.small_dry_at(robustness.DRY_AS_SENSOR,
                                                                           window=args.small_window)
    root = datasets_dir()
    if root is None:
        print("   ../shared/datasets is absent: nothing to measure")
        return 0
    dbs = args.db or sorted(DPI)
    names = args.set or list(robustness.SETS)
    databases = {db: load_database(root / "fingerprints" / "fvc2002", db) for db in dbs}
    if args.write:
        if len(names) != 1 or len(dbs) != 1:
            parser.error("--write takes one --set and one --db")
        dpi = write_folder(names[0], dbs[0], databases[dbs[0]], DPI[dbs[0]], args.write,
                           degradation_for(names[0], small))
        print(f"wrote {args.write}: run python -m bench sensor_accuracy {args.write} --dpi {dpi:g}")
        return 0
    header(f"the robustness sets as whole sensors (enrolment and probe both degraded), {args.method} engine")
    print("   IN-SAMPLE: derived from FVC2002, on which the constants were chosen. Mean over " + ", ".join(dbs)
          + "; EER by FVC's protocol and its ratio to the clean folders', then all-pairs EER [per database]")
    clean = measure_set(CLEAN, databases, args.method)
    print_set(CLEAN, clean, clean)
    for name in names:
        if name != CLEAN:
            replaced = degradation_for(name, small)
            label = name if replaced is None else f"{name}, window {args.small_window:g}"
            print_set(label, measure_set(name, databases, args.method, replaced), clean, name)
    return 0


def degradation_for(name: str, small_dry):
    """The degradation replacing set ``name``'s own (None: the set's): ``small_dry`` (the small dry
    sensor at another window, when one was asked for) for that set."""
    return small_dry if name == SMALL_DRY else None


if __name__ == "__main__":
    raise SystemExit(main())
