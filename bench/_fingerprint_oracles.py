"""What the matcher alone can do on the robustness sets' partial and both sweep sets' probes (python -m
bench._fingerprint_robustness_lodo --oracles): each clean probe's own minutiae, cut to the partial
window or moved as the sweep moves its rows, against the clean enrolments. The gap between these
figures and the extracted probes' is the extractor's share of the error. Whether any minutiae matcher
could close the partial sets' gap is bench/_fingerprint_shared_minutiae.py's question."""
from __future__ import annotations

import numpy as np

from bench import _fingerprint_cache as cache
from bench import _fingerprint_robustness as robustness
from bench._fingerprint_robustness_lodo import DEFAULT_PROBES, _set_eers, raw_template, shipped
from bench.fingerprint import DPI
from matcher.fingerprint import learned_parameters as L
from matcher.fingerprint.template import Template

SWEEP_AMPLITUDES = {"sweep artefacts": 1.0, "sweep, speed as the real sensor": robustness.SWEEP_AS_SENSOR}
PARTIAL_WINDOWS = {  # (image, rng, dpi) -> (y, x, height, width), as the partial sets draw them
    "partial, uniform placement (60 % window)": lambda image, rng, dpi: robustness.uniform_window(image.shape, rng),
    "partial, on the print (60 % window)": robustness.print_window}


def oracles(databases, scale: float, probes=DEFAULT_PROBES) -> None:
    """What the matcher alone can do on the partial and sweep sets: each clean probe's own minutiae
    (as extracted now), cut to the partial window or moved by the sweep's row mapping and jitter,
    against the clean enrolments (same protocol). The windows and row mappings are re-drawn from the
    probes' seeds (robustness.probe_rng) exactly as bench/_fingerprint_robustness.py draws them."""
    for name in tuple(PARTIAL_WINDOWS) + tuple(SWEEP_AMPLITUDES):
        eers = {}
        for db, images in sorted(databases.items()):
            enrolled = {k: shipped(raw_template(im, DPI[db], scale, "", equalise_sigma=0.0, seam_repair=False,
                                                   denoise_strength=0.0))
                        for k, im in images.items()}
            found = {}
            for f in range(1, 11):
                for k in probes:
                    rng = robustness.probe_rng(name, db, f, k)
                    h, w = images[f, k].shape
                    t = enrolled[f, k]
                    m = t.minutiae.copy()
                    if name in PARTIAL_WINDOWS:
                        y, x, ch, cw = PARTIAL_WINDOWS[name](images[f, k], rng, DPI[db])
                        m = m[(m["x"] >= x) & (m["x"] < x + cw) & (m["y"] >= y) & (m["y"] < y + ch)]
                    else:
                        speed, source, shifts = robustness.sweep_motion(h, rng, SWEEP_AMPLITUDES[name])
                        row = np.searchsorted(source, m["y"].astype(float))
                        m = m[row < h - 1]
                        row = row[row < h - 1]
                        stretch = 1.0 / speed[row]                      # observed rows per source row
                        m["x"] = m["x"] + np.array([shifts[r // robustness.SWEEP_STRIP] for r in row])
                        m["y"] = row
                        m["angle"] = np.mod(np.arctan2(np.sin(m["angle"]) * stretch, np.cos(m["angle"])), 2 * np.pi)
                    found[f, k] = Template(m, t.width, t.height, t.dpi, t.quality) if len(m) >= L.MIN_MINUTIAE else None
            eers[db] = _set_eers({db: enrolled}, {db: found}, cache.score)[db]
        print(f"   oracle {name} @ {scale} (clean minutiae, no preprocessing): {np.mean(list(eers.values())):.2f} % "
              f"({' / '.join(f'{v:.2f}' for v in eers.values())})", flush=True)
