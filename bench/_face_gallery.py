"""Face 1:N figures for ``python -m bench face``: a synthetic population shaped like dlib embeddings, gallery speed."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
