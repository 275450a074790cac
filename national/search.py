"""Search one shard for a batch of probes; merge the shards' answers. Pure functions of their inputs.

Two orders are implemented so they can be measured against each other (bench/dedup.py):

* ``face`` (default), in two phases: (1) every shard scans its face sign codes (64 bytes, popcount) and
  returns its ``shortlist`` nearest by exact embedding distance; the lists are merged into one global
  short list; (2) each shard compares every enrolled finger (MCC) of the short-listed records it holds,
  and fuses. Cost per probe: N x 64-byte scan + shortlist x fingers comparisons, whatever the shard count.
* ``finger``: the fingerprint 1:N index (matcher.fingerprint.Gallery: pooled-cylinder pre-filter and
  exact re-ranking) proposes ``shortlist`` records per probe finger, then face and the other fingers are
  compared exactly. Needs the index's codes in memory (~0.85 KB per finger more) and costs a pre-filter
  scan of every finger's 32 pooled cylinders per probe.

Every candidate carries its per-modality calibrated scores and the fused score (matcher.fusion: Fisher's
combination of the per-modality false match rates); the operating threshold is applied by the caller
(national.operating), so one search serves any FPIR target.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numba
import numpy as np

from matcher import fusion
from matcher.face import codes as face_codes
from matcher.face.active import get_calibration
from matcher.fingerprint import compare_raw, prepare
from matcher.fingerprint.bits import popcount64
from matcher.fingerprint.calibration import best_of, calibrated_array
from matcher.fingerprint.template import Template

from .shards import Shard, views_of

SHORTLIST = 16      # records verified exactly per probe (the global face short list)
KEEP = 10           # candidates per probe returned by each shard


@functools.lru_cache(maxsize=1)
def _projection() -> np.ndarray:
    """The face-code projection, drawn once per process (drawing it took 16 ms a call: 4 ms of CPU per
    search when every shard encoded a batch of 32 with a fresh one)."""
    projection = face_codes.default_projection()
    projection.flags.writeable = False
    return projection


@dataclass
class Probes:
    """A batch of searches. ``records`` are the probes' own record ids (-1 for a booth probe): a record
    never matches itself. ``faces`` (b x 128 float32) has NaN rows where no face was captured;
    ``fingers`` holds, per probe, per finger position of the gallery: a template, a tuple of the views
    of a finger enrolled from several impressions, or None."""

    records: np.ndarray
    faces: np.ndarray
    fingers: list[list[Template | None]]
    centre: np.ndarray | None = None
    any_position: bool = False   # a booth finger of unknown position: compared with every enrolled finger


    def __len__(self) -> int:
        return int(self.records.size)

    def __getstate__(self) -> dict:
        """Sent to another worker without the templates' prepared cylinders (10 x the templates' size:
        52 KB vs 581 KB for 32 probes); the receiving worker prepares its own once."""
        state = dict(self.__dict__)
        state["fingers"] = [[_unprepared(t) for t in row] for row in self.fingers]
        return state


def _unprepared(finger):
    if finger is None:
        return None
    if isinstance(finger, Template):
        return Template(finger.minutiae, finger.width, finger.height, finger.dpi, finger.quality)
    return tuple(_unprepared(view) for view in finger)


@dataclass(frozen=True)
class Candidate:
    record: int
    fused_score: float
    fused_fmr: float
    face_score: float | None
    finger_scores: tuple[float | None, ...]


@dataclass
class SearchStats:
    face_scanned: int = 0
    finger_comparisons: int = 0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def _nearest_codes(codes, queries, keep):
    """Per query, the ``keep`` gallery columns with the smallest Hamming distance (ties go to the earlier
    column), nearest first, as a (queries, keep) int64 array padded with -1. A batch reads each column's
    code once for all its queries (one pass over memory per batch, not per query: the scan is memory-bound
    on a shared machine); a single query keeps its words in registers."""
    if queries.shape[0] == 1:
        return _nearest_codes_one(codes, queries, keep)
    return _nearest_codes_batch(codes, queries, keep)


@numba.njit(inline="always")
def _offer(best, filled, worst, p, keep, d, g, stride):
    """Insert column ``g`` at distance ``d`` into query ``p``'s sorted list of (distance, column)."""
    entry = np.int64(d) * stride + g
    j = filled[p] if filled[p] < keep else keep - 1
    while j > 0 and best[p, j - 1] > entry:
        if j < keep:
            best[p, j] = best[p, j - 1]
        j -= 1
    best[p, j] = entry
    if filled[p] < keep:
        filled[p] += 1
    if filled[p] == keep:
        worst[p] = best[p, keep - 1] // stride


@numba.njit(cache=True)
def _nearest_codes_batch(codes, queries, keep):
    words, n = codes.shape
    b = queries.shape[0]
    stride = n + 1
    best = np.empty((b, keep), np.int64)
    filled = np.zeros(b, np.int64)
    worst = np.full(b, 1 << 30, np.int64)
    for g in range(n):
        c0, c1, c2, c3 = codes[0, g], codes[1, g], codes[2, g], codes[3, g]
        c4, c5, c6, c7 = codes[4, g], codes[5, g], codes[6, g], codes[7, g]
        for p in range(b):
            d = (popcount64(c0 ^ queries[p, 0]) + popcount64(c1 ^ queries[p, 1]) + popcount64(c2 ^ queries[p, 2])
                 + popcount64(c3 ^ queries[p, 3]) + popcount64(c4 ^ queries[p, 4]) + popcount64(c5 ^ queries[p, 5])
                 + popcount64(c6 ^ queries[p, 6]) + popcount64(c7 ^ queries[p, 7]))
            if d < worst[p]:
                _offer(best, filled, worst, p, keep, d, g, stride)
    out = np.full((b, keep), -1, np.int64)
    for p in range(b):
        for j in range(filled[p]):
            out[p, j] = best[p, j] % stride
    return out


@numba.njit(cache=True)
def _nearest_codes_one(codes, queries, keep):
    """The single-query scan. One pass over the word-major codes per query: the query's 8 words stay in registers, each column
    costs 8 XOR + POPCNT and one comparison with the running keep-th distance; a column enters the small
    sorted list only when it beats that (rare after the first few thousand). No distance array is
    written and no second pass is made (the previous kernel did both: about twice the time)."""
    words, n = codes.shape
    b = queries.shape[0]
    out = np.full((b, keep), -1, np.int64)
    best = np.empty(keep, np.int64)
    stride = n + 1
    for p in range(b):
        q0, q1, q2, q3 = queries[p, 0], queries[p, 1], queries[p, 2], queries[p, 3]
        q4, q5, q6, q7 = queries[p, 4], queries[p, 5], queries[p, 6], queries[p, 7]
        filled = 0
        worst = 1 << 30
        for g in range(n):
            d = (popcount64(codes[0, g] ^ q0) + popcount64(codes[1, g] ^ q1) + popcount64(codes[2, g] ^ q2)
                 + popcount64(codes[3, g] ^ q3) + popcount64(codes[4, g] ^ q4) + popcount64(codes[5, g] ^ q5)
                 + popcount64(codes[6, g] ^ q6) + popcount64(codes[7, g] ^ q7))
            if d < worst or filled < keep:
                entry = np.int64(d) * stride + g           # ordered by (distance, column)
                j = filled if filled < keep else keep - 1
                while j > 0 and best[j - 1] > entry:
                    if j < keep:
                        best[j] = best[j - 1]
                    j -= 1
                best[j] = entry
                if filled < keep:
                    filled += 1
                if filled == keep:
                    worst = best[keep - 1] // stride
        for j in range(filled):
            out[p, j] = best[j] % stride
    return out


def _face_distances(shard: Shard, rows: np.ndarray, face: np.ndarray) -> np.ndarray:
    vectors = shard.face_vectors[rows].astype(np.float32)
    return np.linalg.norm(vectors - face, axis=1)


def face_shortlist(shard: Shard, probes: Probes, shortlist: int = SHORTLIST) -> list[tuple[np.ndarray, np.ndarray]]:
    """Phase 1, per shard: each probe's ``shortlist`` nearest records by face code, re-ranked by exact
    embedding distance: (records, distances) per probe; empty for probes without a face."""
    empty = (np.zeros(0, np.int64), np.zeros(0, np.float32))
    out = [empty] * len(probes)
    has_face = np.isfinite(probes.faces).all(axis=1)
    if len(shard) == 0 or not has_face.any():
        return out
    if probes.centre is None:
        raise ValueError("face probes need the gallery's code centre (Probes.centre)")
    queries = face_codes.encode_codes(probes.faces[has_face], probes.centre, _projection())
    nearest = _nearest_codes(shard.face_codes, np.ascontiguousarray(queries.T), min(shortlist + 1, len(shard)))
    for p, rows in zip(np.flatnonzero(has_face), nearest):
        rows = rows[rows >= 0]
        rows = rows[shard.records[rows] != probes.records[p]]
        distance = _face_distances(shard, rows, probes.faces[p])
        order = np.lexsort((shard.records[rows], distance))[:shortlist]
        out[p] = (shard.records[rows[order]], distance[order].astype(np.float32))
    return out


def merge_shortlists(parts: list[list[tuple[np.ndarray, np.ndarray]]], shortlist: int = SHORTLIST) -> list[np.ndarray]:
    """The global ``shortlist`` per probe from every shard's phase-1 answer: record ids, nearest first."""
    merged = []
    for lists in zip(*parts):
        records = np.concatenate([r for r, _ in lists])
        distance = np.concatenate([d for _, d in lists])
        ranked = records[np.lexsort((records, distance))]
        _, first = np.unique(ranked, return_index=True)        # a record proposed twice counts once
        merged.append(ranked[np.sort(first)][:shortlist])
    return merged


def _rows_of(shard: Shard, records: np.ndarray) -> np.ndarray:
    """Rows of this shard holding ``records`` (records held by other shards are dropped)."""
    if len(shard) == 0 or records.size == 0:
        return np.zeros(0, np.int64)
    index = getattr(shard, "_record_index", None)
    if index is None:     # built once per shard and kept (rebuilding it per probe cost 3 ms at 100 k)
        order = np.argsort(shard.records, kind="stable")
        index = shard._record_index = (order, shard.records[order])
    order, held = index
    at = np.clip(np.searchsorted(held, records), 0, len(shard) - 1)
    return order[at[held[at] == records]]


def finger_shortlist(shard: Shard, probes: Probes, shortlist: int = SHORTLIST) -> list[tuple[np.ndarray, np.ndarray]]:
    """Phase 1 in finger order: the fingerprint 1:N index (built on first use and kept with the shard)
    proposes records; "distance" is minus the best calibrated finger score, so the merge is shared."""
    from matcher.fingerprint import Gallery

    index = getattr(shard, "_finger_index", None)
    if index is None:
        owners, templates = [], []
        for row in range(len(shard)):
            for f in range(shard.fingers):
                for t in shard.finger_views(row, f):
                    owners.append(row)
                    templates.append(t)
        index = shard._finger_index = (Gallery(templates), np.asarray(owners, np.int64))
    gallery, owners = index
    out = []
    for p in range(len(probes)):
        best: dict[int, float] = {}
        for t in (view for finger in probes.fingers[p] for view in views_of(finger)):
            if not len(gallery):
                continue
            for i, score in gallery.search(t, top_k=shortlist + shard.fingers * shard.views):
                record = int(shard.records[owners[i]])
                if record != int(probes.records[p]):
                    best[record] = max(best.get(record, 0.0), score)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:shortlist]
        out.append((np.array([r for r, _ in ranked], np.int64), -np.array([v for _, v in ranked], np.float32)))
    return out


def verify(shard: Shard, probes: Probes, chosen: list[np.ndarray], stats: SearchStats | None = None,
           keep: int = KEEP) -> list[list[Candidate]]:
    """Phase 2, per shard: the chosen records this shard holds, compared exactly on every finger and the
    face and fused; each probe's best ``keep``."""
    stats = stats if stats is not None else SearchStats()
    out = []
    for p in range(len(probes)):
        rows = _rows_of(shard, np.asarray(chosen[p], np.int64))
        face = probes.faces[p]
        if np.isfinite(face).all() and rows.size:
            scores = np.asarray(get_calibration().score(_face_distances(shard, rows, face)), np.float64)
        else:
            scores = np.full(rows.size, np.nan)
        keep_rows = shard.records[rows] != probes.records[p]
        rows, scores = rows[keep_rows], scores[keep_rows]
        finger_scores = _finger_scores(shard, rows, probes.fingers[p], probes.any_position, stats)
        found = []
        for i, row in enumerate(rows):
            fingers = tuple(None if np.isnan(v) else float(v) for v in finger_scores[i])
            face_value = None if np.isnan(scores[i]) else float(scores[i])
            fused = fusion.fuse(face=face_value, fingers=[v for v in fingers if v is not None])
            found.append(Candidate(int(shard.records[row]), fused.score, fused.fmr, face_value, fingers))
        found.sort(key=lambda c: (-c.fused_score, c.record))
        out.append(found[:keep])
    return out


def _finger_scores(shard: Shard, rows: np.ndarray, probe_fingers: list, any_position: bool,
                   stats: SearchStats) -> np.ndarray:
    """Calibrated score of each probe finger against each row's enrolled finger at the same position (the
    best over every position for ``any_position``), NaN where either is missing. Every view of the probe
    finger meets every enrolled view, and the best is calibrated as that many chances: an impostor's
    finger compared with three enrolled fingers, or three impressions of one, has three tries to pass.
    Calibrated in one call (the per-comparison Python calibration and its float round trips were a
    tenth of phase 2)."""
    raw = np.full((rows.size, len(probe_fingers)), np.nan)
    chances = np.zeros(raw.shape, np.int64)
    for i, row in enumerate(rows):
        for f, probe_finger in enumerate(probe_fingers):
            probe_views = views_of(probe_finger)
            if not probe_views:
                continue
            for g in (range(shard.fingers) if any_position else (f,)):
                for enrolled in (shard.finger_views(int(row), g) if g < shard.fingers else ()):
                    for probe_view in probe_views:
                        stats.finger_comparisons += 1
                        chances[i, f] += 1
                        score = compare_raw(probe_view, enrolled)
                        if not score <= raw[i, f]:           # NaN (first) or higher: calibration is monotone
                            raw[i, f] = score
    out = np.full(raw.shape, np.nan)
    seen = ~np.isnan(raw)
    out[seen] = best_of(calibrated_array(raw[seen]), chances[seen])
    return out


def face_first(shard: Shard, probes: Probes, shortlist: int = SHORTLIST, keep: int = KEEP,
               stats: SearchStats | None = None) -> list[list[Candidate]]:
    """Both phases on one shard (a station's own voters, searched in-process)."""
    chosen = merge_shortlists([face_shortlist(shard, probes, shortlist)], shortlist)
    return verify(shard, probes, chosen, stats, keep)


def merge(per_shard: list[list[list[Candidate]]], keep: int = KEEP) -> list[list[Candidate]]:
    """Merge the shards' per-probe lists into one ranked list per probe."""
    if not per_shard:
        return []
    merged = []
    for lists in zip(*per_shard):
        everyone = [c for part in lists for c in part]
        everyone.sort(key=lambda c: (-c.fused_score, c.record))
        merged.append(everyone[:keep])
    return merged
