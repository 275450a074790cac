"""The numba kernels of fingerprint matching and 1:N search, public to the modules of this package.

``cylinders.py``, ``comparison.py``, ``index.py`` and ``gallery.py`` hold the Python side (what a
template becomes, the arrays a gallery keeps) and call these. Every kernel takes the engine's tuning
constants as arguments (the named tuples of :mod:`matcher.fingerprint.parameters`), never as module
globals: numba folds globals into compiled code, and its on-disk cache is invalidated only when the
kernel's own file changes, so a constant read from ``parameters.py`` could stay stale in the cache.

The same cache limit applies to code: a cached kernel keeps the compiled body of the kernels it calls
in other files, and numba checks only the kernel's own file. So this package drops its compiled cache
(the ``*.nbi``/``*.nbc`` files under ``__pycache__``) whenever the digest of its sources, and of the
``bits.py`` they call, differs from the one recorded there: an edited or updated kernel can never run
as its old compiled code.
"""
from __future__ import annotations

import hashlib
from pathlib import Path


def _drop_stale_compiled_kernels(package: Path) -> None:
    sources = sorted([*package.glob("*.py"), package.parent / "bits.py"])
    digest = hashlib.sha1(b"".join(p.name.encode() + p.read_bytes() for p in sources)).hexdigest()
    cache = package / "__pycache__"
    stamp = cache / "kernel-sources.sha1"
    try:
        if stamp.read_text() == digest:
            return
    except OSError:
        pass
    try:
        for compiled in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
            compiled.unlink(missing_ok=True)    # a process loading it meanwhile recompiles (numba allows it)
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        pass    # a read-only install: numba caches elsewhere, or compiles every time


_drop_stale_compiled_kernels(Path(__file__).parent)

from .batch import codes_batch, exhaustive, rerank, template_cylinders
from .consolidation import consolidate, raw_score, raw_score_from_python, relaxed_score
from .cylinders import build_cylinders, convex_hull, hull_edges, near_hull
from .geometry import ROTATION_BINS, angle_diff, dominant_rotation, sigmoid
from .pooled import (POOLED_WORDS, best_match, gallery_code_into, geometric_score, geometric_scores, pool,
                     popcount_roots, prefilter_scores)
from .similarity import local_similarities, rotation_gated_pairs

__all__ = [
    "codes_batch", "exhaustive", "rerank", "template_cylinders", "consolidate", "raw_score", "raw_score_from_python",
    "relaxed_score",
    "build_cylinders", "convex_hull", "hull_edges", "near_hull", "ROTATION_BINS", "angle_diff",
    "dominant_rotation", "sigmoid", "POOLED_WORDS", "best_match", "gallery_code_into", "geometric_score",
    "geometric_scores", "pool", "popcount_roots", "prefilter_scores", "local_similarities",
    "rotation_gated_pairs",
]
