"""How harsh a robustness set that stands for a real sensor should be, measured against that sensor.

    python -m bench._fingerprint_sensor_calibration [--sensor sweep|"small dry"] [--level 1 --level 0.5 ...]
                                                    [--learned] [--whole-sensor | --whole-sensor-only]
                                                    [--window 0.6 --window 0.9 ...]

The issue measured the classical engine on sensors we do not hold: 8.6 % EER on a thermal sweep sensor
and 15.6 % on a small optical sensor with many dry prints, against 2.8 % on FVC2002 (ratios 3.1 and 5.6).
Each such sensor has a family of degradations made from FVC2002 with one level of harshness
(``SENSORS``): the sweep's uneven finger speed (_fingerprint_robustness.sweep_at; 1 is the former "sweep
artefacts" set), the small sensor's dry skin on its on-print window (small_dry_at; 0 is the window
alone). Here the same engine's EER on each level's probes is divided by its EER on the clean probes (the
robustness protocol), and the level whose ratio comes nearest the real sensor's is the one its set
should use. Only the classical engine's figures choose it: the learned engine's (``--learned``) are
printed for each level but play no part. Every level's probes are drawn with the seeds of the sensor's
set, so the levels differ in harshness alone.

The small sensor's window is a second unknown: the issue does not give the real sensor's size, and the
set's window (WINDOW_SIDE, 0.6 of each side of an FVC2002 image) was set, not matched to it. ``--window``
repeats the small dry sensor's levels for each window side given, so every (window, dryness) that
reproduces the real sensor's figure can be read off with the learned engine's figure there.
"""
from __future__ import annotations

import argparse
from functools import partial
from typing import Callable, NamedTuple

import numpy as np

from bench import _fingerprint_cache as cache
from bench import _fingerprint_robustness as robustness
from bench.common import row
from bench.fingerprint import DPI, eer, load_database, robustness_extractor
from kiosk.datasets import datasets_dir

REAL_SENSOR_CLEAN_EER = 2.8    # %, the classical engine on FVC2002, as the issue measured it


class RealSensor(NamedTuple):
    eer: float                             # %, the classical engine on it (issue 16)
    set_name: str                          # the robustness set standing for it
    family: Callable[[float], Callable]    # level of harshness -> degradation
    levels: tuple[float, ...]              # measured by default, harshest first
    shipped: float                         # the level its set uses


SENSORS = {
    "sweep": RealSensor(8.6, "sweep, speed as the real sensor", robustness.sweep_at, (1.0, 0.5, 0.25, 0.0),
                        robustness.SWEEP_AS_SENSOR),
    "small dry": RealSensor(15.6, "small dry sensor", robustness.small_dry_at,
                            (1.0, 0.75, 0.5, 0.25, 0.0), robustness.DRY_AS_SENSOR),
}


def engine(databases, method: str) -> tuple[tuple, float]:
    """fp.extract(method=...)'s robustness_extractor and its mean EER on the clean probes, the
    denominator of every sensor's ratios (computed once per engine)."""
    extract, settings, enrolled = robustness_extractor(databases, method)
    clean = robustness.set_eer(enrolled, robustness.clean_probes(databases, DPI), extract, settings, cache.score, eer)
    return (extract, settings, enrolled), float(np.mean(list(clean.values())))


def ratios(databases, measured: tuple[tuple, float], sensor: RealSensor, levels) -> dict:
    """{level: (mean EER %, ratio to the clean probes' mean EER)} of an engine (``engine``'s result)."""
    (extract, settings, enrolled), clean = measured
    out = {}
    for level in levels:
        probes = robustness.probe_set(sensor.set_name, databases, DPI, degrade=sensor.family(level))
        mean = float(np.mean(list(robustness.set_eer(enrolled, probes, extract, settings, cache.score, eer).values())))
        out[level] = mean, mean / clean
    return out


def whole_sensor_ratios(databases, sensor: RealSensor, levels, method: str, clean: dict | None = None) -> dict:
    """{level: (mean EER %, ratio to clean)} of an engine with every capture from the imitated
    sensor, enrolment and probe alike (bench/_fingerprint_whole_sensor.py, FVC's protocol): how the issue's
    real sensors were measured, where the robustness protocol meets degraded probes with clean prints.
    ``clean`` ({method: the clean folders' mean EER}) is filled on first use, so calls sharing it measure
    the clean folders once."""
    # Imported here: the whole-sensor bench imports this module's real sensors.
    from bench import _fingerprint_whole_sensor as whole

    clean = {} if clean is None else clean
    if method not in clean:
        clean[method] = whole.mean_eer(whole.measure_set(whole.CLEAN, databases, method, brief=True))
    out = {}
    for level in levels:
        mean = whole.mean_eer(whole.measure_set(sensor.set_name, databases, method, sensor.family(level), brief=True))
        out[level] = mean, mean / clean[method]
    return out


def nearest(found: dict, target: float) -> float:
    """The level whose ratio is nearest ``target`` (ties: the larger level, the harsher set)."""
    return min(found, key=lambda a: (abs(found[a][1] - target), -a))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._fingerprint_sensor_calibration")
    parser.add_argument("--sensor", action="append", choices=sorted(SENSORS), help="default: every sensor")
    parser.add_argument("--level", type=float, action="append", help="default: the sensor's levels")
    parser.add_argument("--learned", action="store_true", help="also print the learned engine's figures")
    parser.add_argument("--whole-sensor", action="store_true",
                        help="also each engine's ratio with enrolment and probe both degraded")
    parser.add_argument("--whole-sensor-only", action="store_true",
                        help="only the ratios with enrolment and probe both degraded")
    parser.add_argument("--window", type=float, action="append",
                        help="the small dry sensor's window side(s), a share of each side of the image "
                             f"(default: the set's, {robustness.WINDOW_SIDE:g})")
    args = parser.parse_args(argv)
    if args.window and not all(0.2 <= w <= 1.0 for w in args.window):
        parser.error("--window takes shares of the image's side between 0.2 and 1")
    whole_sensor = args.whole_sensor or args.whole_sensor_only
    root = datasets_dir() / "fingerprints" / "fvc2002"
    databases = {db: load_database(root, db) for db in sorted(DPI)}
    methods = ("classical", "learned") if args.learned else ("classical",)
    engines = {method: None if args.whole_sensor_only else engine(databases, method) for method in methods}
    clean_folders: dict = {}      # each engine's whole-sensor clean figure, measured once
    for name in args.sensor or SENSORS:
        for sensor, window in variants(SENSORS[name], args.window):
            levels = tuple(args.level or sensor.levels)
            target = sensor.eer / REAL_SENSOR_CLEAN_EER
            print(f"\n   {name} sensor{window}: harshness against the real one (classical {sensor.eer} % there, "
                  f"{REAL_SENSOR_CLEAN_EER} % on FVC2002: {target:.2f}x); set '{sensor.set_name}'")
            found = {} if args.whole_sensor_only else {
                method: ratios(databases, measured, sensor, levels) for method, measured in engines.items()}
            if whole_sensor:
                for method in engines:
                    found[f"{method}, whole sensor"] = whole_sensor_ratios(databases, sensor, levels, method,
                                                                           clean_folders)
            for level in levels:
                row(f"level {level:g}", "   ".join(f"{m} {found[m][level][0]:.2f} % ({found[m][level][1]:.2f}x)"
                                                  for m in found))
            if "classical" in found:
                row("nearest the real sensor's ratio", f"level {nearest(found['classical'], target):g}",
                    f"shipped: {sensor.shipped:g}")
            if whole_sensor:
                whole = nearest(found["classical, whole sensor"], target)
                row("   ... with enrolment and probe both degraded", f"level {whole:g}")
    return 0


def variants(sensor: RealSensor, windows) -> list[tuple[RealSensor, str]]:
    """(sensor, label) for each window side asked for: the small dry sensor's family at that window (the
    same seeds), any other sensor as it is."""
    if not windows or sensor.family is not robustness.small_dry_at:
        return [(sensor, "")]
    return [(sensor._replace(family=partial(robustness.small_dry_at, window=w)), f", window {w:g}")
            for w in windows]


if __name__ == "__main__":
    raise SystemExit(main())
