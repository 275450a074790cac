"""Many templates, memory-compact and appendable, searched 1:N with a pre-filter and exact re-ranking.

Per template the gallery keeps only its minutiae (x, y, angle at 500 dpi, 12 bytes each) and a
fixed-length pre-filter code (:mod:`.index`). A search scores every code (a popcount scan on both
cores), checks the geometry of the best GEOMETRY_FRACTION, keeps the RERANK_CANDIDATES best of
those, rebuilds their cylinders and compares them exactly with the probe in parallel, and returns
the best ``top_k`` with calibrated scores. Cylinders are not stored: at ~9 KB per template they
would take about 1 GB per 100,000 templates.

A template below the comparison floor (P.MIN_MINUTIAE, as ``compare`` applies it) is stored, so
indices stay positions, but scores 0 against every probe; a probe below it finds nothing (no hits).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from . import parameters as P
from ._kernels import POOLED_WORDS, codes_batch, exhaustive, geometric_scores, prefilter_scores, rerank
from .calibration import calibrated_array
from .comparison import CONSOLIDATION
from .cylinders import CYLINDER, DIRECTION_TABLE, Cylinders, to_reference_axes
from .index import probe_code
from .template import Template


class Gallery:
    """An appendable list of templates searchable 1:N; indices are positions in insertion order."""

    def __init__(self, templates: Iterable[Template] = ()) -> None:
        self._count = 0
        self._minutiae_used = 0
        self._xyt = np.zeros((3, 1024), np.float32)
        self._offsets = np.zeros(1025, np.int64)
        self._codes = np.zeros((1024, P.INDEX_CYLINDERS, POOLED_WORDS), np.uint64)
        self._anchors = np.full((1024, P.INDEX_CYLINDERS), -1, np.int16)
        self.extend(templates)

    def __len__(self) -> int:
        return self._count

    def _reserve(self, templates: int, minutiae: int) -> None:
        if self._count + templates > self._codes.shape[0]:
            size = max(self._count + templates, 2 * self._codes.shape[0])
            codes = np.zeros((size, P.INDEX_CYLINDERS, POOLED_WORDS), np.uint64)
            codes[:self._count] = self._codes[:self._count]
            anchors = np.full((size, P.INDEX_CYLINDERS), -1, np.int16)
            anchors[:self._count] = self._anchors[:self._count]
            offsets = np.zeros(size + 1, np.int64)
            offsets[:self._count + 1] = self._offsets[:self._count + 1]
            self._codes, self._anchors, self._offsets = codes, anchors, offsets
        if self._minutiae_used + minutiae > self._xyt.shape[1]:
            size = max(self._minutiae_used + minutiae, 2 * self._xyt.shape[1])
            xyt = np.zeros((3, size), np.float32)
            xyt[:, :self._minutiae_used] = self._xyt[:, :self._minutiae_used]
            self._xyt = xyt

    def append(self, template: Template) -> int:
        """Add one template; returns its index."""
        self.extend([template])
        return self._count - 1

    def extend(self, templates: Iterable[Template]) -> None:
        """Add templates (codes computed in parallel). The templates themselves are not kept."""
        axes = [to_reference_axes(t.minutiae, t.dpi) for t in templates]
        if not axes:
            return
        sizes = np.array([a[0].size for a in axes], np.int64)
        self._reserve(len(axes), int(sizes.sum()))
        lo = self._minutiae_used
        for row in range(3):
            chunk = np.concatenate([a[row] for a in axes]).astype(np.float32)
            self._xyt[row, lo:lo + chunk.size] = chunk
        first = self._count
        self._offsets[first + 1:first + 1 + sizes.size] = lo + np.cumsum(sizes)
        self._count += sizes.size
        self._minutiae_used += int(sizes.sum())
        codes_batch(self._xyt[0], self._xyt[1], self._xyt[2], self._offsets, first, self._count, self._codes,
                    self._anchors, CYLINDER, DIRECTION_TABLE)

    def nbytes(self) -> int:
        """Memory held per stored template data (minutiae and codes), in bytes."""
        return int(self._minutiae_used * 12 + self._count * (P.INDEX_CYLINDERS * (POOLED_WORDS * 8 + 2) + 8))

    def _comparable(self, indices: np.ndarray) -> np.ndarray:
        """Whether each stored template has at least P.MIN_MINUTIAE minutiae."""
        return self._offsets[indices + 1] - self._offsets[indices] >= P.MIN_MINUTIAE

    def _exact(self, probe: Cylinders, candidates: np.ndarray) -> np.ndarray:
        raw = rerank(probe.x, probe.y, probe.angle, probe.bits, probe.mask, probe.valid,
                     self._xyt[0], self._xyt[1], self._xyt[2], self._offsets, candidates.astype(np.int64),
                     CYLINDER, CONSOLIDATION, DIRECTION_TABLE)
        return np.where(self._comparable(candidates.astype(np.int64)), raw, 0.0)

    def prefilter_scores(self, probe: Template) -> np.ndarray:
        """Stage-1 pre-filter similarity of the probe with every template."""
        from . import prepare

        cyl = prepare(probe)
        return prefilter_scores(probe_code(cyl.bits, cyl.valid)[0], self._codes, self._count, P.INDEX_TOP)

    def candidate_scores(self, probe: Template) -> tuple[np.ndarray, np.ndarray]:
        """The templates passing stage 1 (the best GEOMETRY_FRACTION) and their stage-2 scores."""
        from . import prepare

        cyl = prepare(probe)
        pooled, sources = probe_code(cyl.bits, cyl.valid)
        first = prefilter_scores(pooled, self._codes, self._count, P.INDEX_TOP)
        passing = max(P.RERANK_CANDIDATES, int(np.ceil(P.GEOMETRY_FRACTION * self._count)))
        if passing >= self._count:
            kept = np.arange(self._count, dtype=np.int64)
        else:
            kept = np.argpartition(-first, passing)[:passing].astype(np.int64)
        second = geometric_scores(pooled, cyl.x[sources], cyl.y[sources], cyl.angle[sources], self._codes,
                                  self._anchors, self._xyt[0], self._xyt[1], self._xyt[2], self._offsets, kept,
                                  CONSOLIDATION)
        return kept, second

    def prefilter(self, probe: Template, candidates: int) -> np.ndarray:
        """Indices of the ``candidates`` templates the two pre-filter stages rank first."""
        if candidates >= self._count:
            return np.arange(self._count)
        kept, second = self.candidate_scores(probe)
        if candidates >= kept.size:
            return kept
        return kept[np.argpartition(-second, candidates)[:candidates]]

    def search(self, probe: Template, top_k: int = 10,
               candidates: int = P.RERANK_CANDIDATES) -> list[tuple[int, float]]:
        """Best ``top_k`` (index, calibrated score), best first: pre-filter, then exact re-ranking."""
        from . import comparable, prepare

        if self._count == 0 or top_k <= 0 or not comparable(probe):
            return []
        chosen = self.prefilter(probe, candidates)
        return self._ranked(prepare(probe), chosen, top_k)

    def search_exhaustive(self, probes: Sequence[Template], top_k: int = 10) -> list[list[tuple[int, float]]]:
        """Exact comparison of each probe with every template, building each template's cylinders once
        for all probes (the reference the pre-filter is measured against). One hit list per probe."""
        from . import comparable, prepare

        hits: list[list[tuple[int, float]]] = [[] for _ in probes]
        # A probe below the comparison floor finds nothing: it is not compared at all.
        live = [i for i, p in enumerate(probes) if comparable(p)]
        if self._count == 0 or top_k <= 0 or not live:
            return hits
        cyls = [prepare(probes[i]) for i in live]
        offsets = np.concatenate([[0], np.cumsum([c.x.size for c in cyls])]).astype(np.int64)
        join = lambda field: np.concatenate([getattr(c, field) for c in cyls])
        raw = exhaustive(join("x"), join("y"), join("angle"), join("bits"), join("mask"), join("valid"),
                         offsets, self._xyt[0], self._xyt[1], self._xyt[2], self._offsets, self._count,
                         CYLINDER, CONSOLIDATION, DIRECTION_TABLE)
        everyone = np.arange(self._count)
        raw = np.where(self._comparable(everyone)[None, :], raw, 0.0)
        for slot, row in zip(live, raw):
            order = np.lexsort((everyone, -row))[:top_k]
            hits[slot] = [(int(i), float(s)) for i, s in zip(order, calibrated_array(row[order]))]
        return hits

    def _ranked(self, probe: Cylinders, chosen: np.ndarray, top_k: int) -> list[tuple[int, float]]:
        raw = self._exact(probe, chosen)
        order = np.lexsort((chosen, -raw))[:top_k]
        scores = calibrated_array(raw[order])
        return [(int(chosen[i]), float(s)) for i, s in zip(order, scores)]
