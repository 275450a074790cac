"""UV ink check: false-positive, false-negative and inconclusive rates on rendered frames.

Every cell of the grid (ink hue x lighting x sensor noise) renders fingers in random poses and
skin tones (``simulators.scenes.random_scene``): positives with ink of ordinary strength
(0.3-1.0 of fresh ink), negatives without ink, and a few faint positives (0.05-0.15) reported on
their own. Frames go through JPEG at quality 90, as from the camera simulator. Each frame pair is
decided twice: with the default thresholds and with thresholds calibrated for the cell (a session)
from one inked and one blank control finger under the same light.

Rates: FP = blank fingers called "ink"; FN = inked fingers called "no_ink"; an "inconclusive"
sends the official to look under the lamp, so it is a cost but not an error.

The frames come from our own renderer, which the detector was developed against: these rates
say the method holds together under the modelled variations, not how it does on a real camera.
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

import cv2
import numpy as np

from bench.common import header, row
from hardware.ink import InkCalibrationError, calibrate, detect_ink
from simulators.scenes import INK_HUES, random_scene, render_finger

LIGHTING = {                      # (ambient in frame A, ambient in frame B)
    "dark shroud": (0.05, 0.05),
    "dim": (0.4, 0.4),
    "room light": (1.0, 1.0),
    "bright": (1.4, 1.4),
    "light switched on": (0.4, 1.0),
    "light switched off": (1.0, 0.4),
}
NOISE_LEVELS = (2.0, 6.0, 12.0)   # sensor noise, standard deviation in levels
TARGETS = {"fp": 0.01, "fn": 0.05, "inconclusive": 0.10}   # ours: the issue sets none


def jpeg(frame: np.ndarray) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def pair(rng, *, inked, hue, lighting, noise, strength, scene, size):
    off = render_finger(False, inked, rng, ambient=lighting[0], noise=noise, ink_hue=hue, size=size, scene=scene)
    on = render_finger(True, inked, rng, ambient=lighting[1], noise=noise, ink_hue=hue, size=size, scene=scene,
                       ink_strength=strength)
    return jpeg(off), jpeg(on)


class Tally:
    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, kind: str, decision: str) -> None:
        self.counts[(kind, decision)] += 1
        self.counts[kind] += 1

    def rate(self, kind: str, decision: str) -> float:
        return self.counts[(kind, decision)] / self.counts[kind] if self.counts[kind] else float("nan")

    def merge(self, other: "Tally") -> None:
        for key, value in other.counts.items():
            self.counts[key] += value


def upper_95(errors: int, n: int) -> float:
    """One-sided 95 % upper bound of a rate (Wilson score; 3/n, the rule of three, at zero errors)."""
    if n == 0:
        return float("nan")
    if errors == 0:
        return 3.0 / n
    z, p = 1.645, errors / n
    centre = p + z * z / (2 * n)
    spread = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5)
    return (centre + spread) / (1 + z * z / n)


def summary(t: Tally) -> str:
    inconclusive = (t.counts[("pos", "inconclusive")] + t.counts[("neg", "inconclusive")]) / max(
        1, t.counts["pos"] + t.counts["neg"])
    return (f"FP {100 * t.rate('neg', 'ink'):5.1f}%  FN {100 * t.rate('pos', 'no_ink'):5.1f}%  "
            f"inconcl {100 * inconclusive:5.1f}%  faint: ink {100 * t.rate('faint', 'ink'):5.1f}% "
            f"inconcl {100 * t.rate('faint', 'inconclusive'):5.1f}% no_ink {100 * t.rate('faint', 'no_ink'):5.1f}%")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ink", description=__doc__.splitlines()[0])
    parser.add_argument("--per-cell", type=int, default=6, help="positives and negatives per grid cell (each)")
    parser.add_argument("--faint-per-cell", type=int, default=2)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    size = (args.height, args.width)
    header("UV ink check on rendered frames (hardware.ink, simulators.scenes)")
    print(f"   grid: {len(INK_HUES)} hues x {len(LIGHTING)} lightings x {len(NOISE_LEVELS)} noise levels; "
          f"per cell {args.per_cell} inked + {args.per_cell} blank + {args.faint_per_cell} faint; "
          f"{size[1]}x{size[0]} JPEG q90; seed {args.seed}")
    rng = np.random.default_rng(args.seed)
    totals = {"default": Tally(), "calibrated": Tally()}
    by_hue = {(mode, hue): Tally() for mode in totals for hue in INK_HUES}
    by_light = {(mode, light): Tally() for mode in totals for light in LIGHTING}
    by_noise = {(mode, noise): Tally() for mode in totals for noise in NOISE_LEVELS}
    calibration_failures: list[str] = []
    seconds: list[float] = []
    for hue in INK_HUES:
        for light_name, lighting in LIGHTING.items():
            for noise in NOISE_LEVELS:
                controls = [pair(rng, inked=inked, hue=hue, lighting=lighting, noise=noise, strength=1.0,
                                 scene=random_scene(rng), size=size) for inked in (True, False)]
                try:
                    calibration = calibrate(positive=controls[0], negative=controls[1])
                except InkCalibrationError as error:
                    calibration = None    # the session falls back to the default thresholds
                    calibration_failures.append(f"{hue}/{light_name}/noise {noise:g}: {error}")
                cells = {"default": Tally(), "calibrated": Tally()}
                jobs = ([("pos", float(rng.uniform(0.3, 1.0))) for _ in range(args.per_cell)]
                        + [("neg", 0.0) for _ in range(args.per_cell)]
                        + [("faint", float(rng.uniform(0.05, 0.15))) for _ in range(args.faint_per_cell)])
                for kind, strength in jobs:
                    off, on = pair(rng, inked=kind != "neg", hue=hue, lighting=lighting, noise=noise,
                                   strength=strength, scene=random_scene(rng), size=size)
                    t0 = time.perf_counter()
                    cells["default"].add(kind, detect_ink(off, on).decision)
                    seconds.append(time.perf_counter() - t0)
                    cells["calibrated"].add(kind, detect_ink(off, on, calibration).decision)
                for mode, tally in cells.items():
                    totals[mode].merge(tally)
                    by_hue[(mode, hue)].merge(tally)
                    by_light[(mode, light_name)].merge(tally)
                    by_noise[(mode, noise)].merge(tally)

    for mode in totals:
        print(f"-- {mode} thresholds")
        for hue in INK_HUES:
            row(f"{hue} ink, all conditions", "", summary(by_hue[(mode, hue)]))
        for light in LIGHTING:
            row(f"lighting: {light}", "", summary(by_light[(mode, light)]))
        for noise in NOISE_LEVELS:
            row(f"sensor noise sigma {noise:g}", "", summary(by_noise[(mode, noise)]))
        t = totals[mode]
        inconclusive = (t.counts[("pos", "inconclusive")] + t.counts[("neg", "inconclusive")]) / (t.counts["pos"] + t.counts["neg"])
        fp_bound = upper_95(t.counts[("neg", "ink")], t.counts["neg"])
        fn_bound = upper_95(t.counts[("pos", "no_ink")], t.counts["pos"])
        row("false-positive rate (blank called ink)", f"{100 * t.rate('neg', 'ink'):.2f}%",
            f"target <= {100 * TARGETS['fp']:.0f}%  (n={t.counts['neg']}, 95% upper bound {100 * fp_bound:.1f}%)")
        row("false-negative rate (inked called no_ink)", f"{100 * t.rate('pos', 'no_ink'):.2f}%",
            f"target <= {100 * TARGETS['fn']:.0f}%  (n={t.counts['pos']}, 95% upper bound {100 * fn_bound:.1f}%)")
        row("inconclusive rate (inked and blank)", f"{100 * inconclusive:.2f}%",
            f"target <= {100 * TARGETS['inconclusive']:.0f}%")
        row("faint ink (0.05-0.15): ink / inconclusive / no_ink",
            f"{100 * t.rate('faint', 'ink'):.0f}/{100 * t.rate('faint', 'inconclusive'):.0f}/"
            f"{100 * t.rate('faint', 'no_ink'):.0f}%", f"(n={t.counts['faint']})")
    row("sessions whose controls did not calibrate", f"{len(calibration_failures)}",
        f"of {len(INK_HUES) * len(LIGHTING) * len(NOISE_LEVELS)} (default thresholds used)")
    for failure in calibration_failures:
        print(f"      {failure}")
    row("detect_ink median time per frame pair", f"{1000 * statistics.median(seconds):.0f} ms",
        f"{size[1]}x{size[0]}, one core")
    return 0
