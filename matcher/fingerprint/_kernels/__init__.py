"""The numba kernels of fingerprint matching and 1:N search, public to the modules of this package.

``cylinders.py``, ``comparison.py``, ``index.py`` and ``gallery.py`` hold the Python side (what a
template becomes, the arrays a gallery keeps) and call these. Every kernel takes the engine's tuning
constants as arguments (the named tuples of :mod:`matcher.fingerprint.parameters`), never as module
globals: numba folds globals into compiled code, and its on-disk cache is invalidated only when the
kernel's own file changes, so a constant read from ``parameters.py`` could stay stale in the cache.

The same cache limit applies to code: a cached kernel keeps the compiled body of the kernels it calls
in other files. After editing a kernel here, delete the ``*.nbi``/``*.nbc`` files under
``__pycache__`` (or set ``NUMBA_CACHE_DIR`` to a fresh directory) before measuring.
"""
from __future__ import annotations

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
