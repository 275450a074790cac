"""1:N gallery: 64-byte sign codes scanned in parallel, exact float32 re-ranking of a short list.

Search = (1) Hamming scan of every code (8 x 64-bit words per template, ~64 MB for a million),
split into chunks over a small thread pool (numpy releases the GIL, so both cores work);
(2) the :data:`SHORTLIST` nearest codes (all codes tied at the cut are kept) are re-ranked by exact
float32 Euclidean distance on the stored embeddings, which are only touched for the short list and
so can stay on disk, memory-mapped. The true mate is therefore returned exactly as by exhaustive
float32 search whenever its code lands in the short list; bench/face.py measures how often that is.

Storage: a directory of .npy files (``vectors.npy`` n x 128 float32, ``codes.npy`` 8 x n uint64,
``centre.npy``, ``projection.npy``) plus ``meta.json``; :meth:`Gallery.load` can memory-map them.
Appended templates go to an in-memory tail segment, so appending to a mapped gallery copies nothing.
"""
from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from matcher.face import codes as codec
from matcher.face.active import get_calibration
from matcher.face.calibration import CalibrationTable
from matcher.face.errors import GalleryError
from matcher.face.template import DIMENSION, Template

SHORTLIST = 512            # codes re-ranked exactly; see bench/face.py for mate recall at 1M
PREFILTER_PER_CHUNK = 1024 # per chunk of 65,536 (1.6 %), survivors of the half-code first stage
CHUNK = 65536              # templates per scan task: each task's scratch stays in L2 cache
MIN_TEMPLATES_FOR_CENTRE = 32
FORMAT_VERSION = 1

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                       thread_name_prefix="face-gallery")
        return _pool


class _Segment:
    """A contiguous run of templates: embeddings (n x 128) and word-major codes (8 x capacity)."""

    def __init__(self, vectors: np.ndarray, codes: np.ndarray, count: int) -> None:
        self.vectors = vectors
        self.codes = codes
        self.count = count

    def append(self, vectors: np.ndarray, codes: np.ndarray) -> None:
        n = vectors.shape[0]
        need = self.count + n
        if need > self.vectors.shape[0]:
            capacity = max(need, 2 * self.vectors.shape[0], 1024)
            grown_v = np.empty((capacity, DIMENSION), dtype=np.float32)
            grown_c = np.zeros((codec.CODE_WORDS, capacity), dtype=np.uint64)
            grown_v[:self.count] = self.vectors[:self.count]
            grown_c[:, :self.count] = self.codes[:, :self.count]
            self.vectors, self.codes = grown_v, grown_c
        self.vectors[self.count:need] = vectors
        self.codes[:, self.count:need] = codes
        self.count = need


class Gallery:
    """Compact, appendable 1:N index of face templates; indices are insertion order.

    Searches may run concurrently; appending while searching needs the caller's lock.
    """

    def __init__(self, templates: Iterable[Template] = (), *, calibration: CalibrationTable | None = None,
                 centre: np.ndarray | None = None, projection: np.ndarray | None = None,
                 shortlist: int = SHORTLIST) -> None:
        vectors = _vectors_of(templates)
        self._projection = (codec.default_projection(DIMENSION) if projection is None
                            else np.ascontiguousarray(projection, dtype=np.float32))
        if centre is None:
            # The centre is fitted once, on the initial templates, and then fixed (codes depend on it).
            centre = (codec.fit_centre(vectors) if len(vectors) >= MIN_TEMPLATES_FOR_CENTRE
                      else np.zeros(DIMENSION, np.float32))
        self._centre = np.ascontiguousarray(centre, dtype=np.float32)
        if self._projection.shape != (DIMENSION, codec.CODE_BITS) or self._centre.shape != (DIMENSION,):
            raise GalleryError("gallery projection or centre has the wrong shape")
        self._calibration = calibration
        self.shortlist = int(shortlist)
        self._segments: list[_Segment] = []
        self._tail = _Segment(np.empty((0, DIMENSION), np.float32),
                              np.zeros((codec.CODE_WORDS, 0), np.uint64), 0)
        if len(vectors):
            self._tail.append(vectors, codec.encode_codes(vectors, self._centre, self._projection))

    # -- building -------------------------------------------------------------------------------

    @classmethod
    def from_vectors(cls, vectors: np.ndarray, *, calibration: CalibrationTable | None = None,
                     centre: np.ndarray | None = None, shortlist: int = SHORTLIST) -> "Gallery":
        """A gallery over raw unit embeddings (n x 128 float32), e.g. from a registry export or a benchmark."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if centre is None and len(vectors) >= MIN_TEMPLATES_FOR_CENTRE:
            centre = codec.fit_centre(vectors)
        gallery = cls(calibration=calibration, centre=centre, shortlist=shortlist)
        gallery.append_vectors(vectors)
        return gallery

    def append(self, template: Template) -> int:
        """Add one template; returns its index."""
        if not isinstance(template, Template):
            raise GalleryError("Gallery.append takes a face.Template")
        self.append_vectors(template.vector[None, :])
        return len(self) - 1

    def append_vectors(self, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != DIMENSION:
            raise GalleryError(f"gallery vectors must be n x {DIMENSION}")
        for start in range(0, len(vectors), 1 << 18):  # bound the projection's temporary memory
            part = vectors[start:start + (1 << 18)]
            self._tail.append(part, codec.encode_codes(part, self._centre, self._projection))

    def __len__(self) -> int:
        return sum(s.count for s in self._segments) + self._tail.count

    @property
    def code_bytes(self) -> int:
        """Bytes scanned per template."""
        return codec.CODE_WORDS * 8

    def vector(self, index: int) -> np.ndarray:
        segment, local = self._locate(index)
        return np.array(segment.vectors[local], dtype=np.float32)

    # -- search ---------------------------------------------------------------------------------

    def search(self, probe: Template | np.ndarray, top_k: int = 10) -> list[tuple[int, float]]:
        """The ``top_k`` most similar templates as (index, calibrated score), best first."""
        query = probe.vector if isinstance(probe, Template) else np.asarray(probe, dtype=np.float32)
        if query.shape != (DIMENSION,):
            raise GalleryError(f"a probe is a face.Template or a {DIMENSION}-vector")
        calibration = self._calibration or get_calibration()
        return [(i, float(calibration.score(d))) for i, d in self.nearest(query, top_k)]

    def nearest(self, query: np.ndarray, top_k: int = 10) -> list[tuple[int, float]]:
        """(index, exact float32 distance) of the ``top_k`` nearest after the code scan, nearest first."""
        total = len(self)
        if total == 0 or top_k <= 0:
            return []
        query = np.ascontiguousarray(query, dtype=np.float32)
        qcode = codec.encode_codes(query[None, :], self._centre, self._projection)[:, 0]
        candidates = self._shortlist(qcode, max(self.shortlist, top_k))
        vectors = self._gather(candidates)
        dist = np.linalg.norm(vectors - query, axis=1)
        order = np.lexsort((candidates, dist))[:top_k]     # ties: lower index first, like argsort
        return [(int(candidates[i]), float(dist[i])) for i in order]

    def exhaustive_nearest(self, query: np.ndarray, top_k: int = 10) -> list[tuple[int, float]]:
        """Reference: exact float32 distances to every template (slow; for tests and benchmarks)."""
        query = np.asarray(query, dtype=np.float32)
        parts = [np.linalg.norm(s.vectors[:s.count] - query, axis=1) for s in self._all_segments()]
        if not parts:
            return []
        dist = np.concatenate(parts)
        order = np.argsort(dist, kind="stable")[:top_k]
        return [(int(i), float(dist[i])) for i in order]

    def _all_segments(self) -> list[_Segment]:
        return [*self._segments, self._tail] if self._tail.count else list(self._segments)

    def _shortlist(self, qcode: np.ndarray, size: int) -> np.ndarray:
        """Global indices of the ``size`` nearest codes by 512-bit Hamming distance (plus ties at the cut).

        Each chunk is scanned by one worker in two stages: the first half of every code (256 bits)
        for the whole chunk, then the full 512 bits for the chunk's :data:`PREFILTER_PER_CHUNK`
        nearest only. Any code in the global top ``size`` (<= PREFILTER_PER_CHUNK) is in its own
        chunk's top, so the union of the chunks' survivors contains it; the first stage halves the
        memory read, and a mate (~50 bits closer than the nearest impostors) is never cut there.
        """
        tasks, offset = [], 0
        for segment in self._all_segments():
            for start in range(0, segment.count, CHUNK):
                tasks.append((segment.codes, start, min(start + CHUNK, segment.count), offset))
            offset += segment.count
        keep = max(PREFILTER_PER_CHUNK, size)

        def scan(task):
            codes, start, stop, base = task
            local, dist = _scan_chunk(codes, start, stop, qcode, keep)
            return local + (base + start), dist

        results = list(_executor().map(scan, tasks)) if len(tasks) > 1 else [scan(tasks[0])]
        indices = np.concatenate([r[0] for r in results])
        dist = np.concatenate([r[1] for r in results])
        cut = _radius_holding(dist, min(size, len(dist)), codec.CODE_BITS)
        return indices[dist <= cut]

    def _gather(self, indices: np.ndarray) -> np.ndarray:
        out = np.empty((len(indices), DIMENSION), dtype=np.float32)
        start = 0
        for segment in self._all_segments():
            mask = (indices >= start) & (indices < start + segment.count)
            if mask.any():
                out[mask] = segment.vectors[indices[mask] - start]
            start += segment.count
        return out

    def _locate(self, index: int) -> tuple[_Segment, int]:
        if not 0 <= index < len(self):
            raise IndexError(f"gallery index {index} out of range (size {len(self)})")
        for segment in self._all_segments():
            if index < segment.count:
                return segment, index
            index -= segment.count
        raise IndexError(index)  # unreachable

    # -- files ----------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write the gallery as .npy files in directory ``path`` (created; existing files replaced)."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        segments = self._all_segments()
        vectors = np.concatenate([s.vectors[:s.count] for s in segments]) if segments \
            else np.empty((0, DIMENSION), np.float32)
        codes = np.concatenate([s.codes[:, :s.count] for s in segments], axis=1) if segments \
            else np.zeros((codec.CODE_WORDS, 0), np.uint64)
        for name, array in (("vectors", vectors), ("codes", codes), ("centre", self._centre),
                            ("projection", self._projection)):
            _atomic_save(folder / f"{name}.npy", np.ascontiguousarray(array))
        meta = {"version": FORMAT_VERSION, "kind": "face-gallery", "count": int(len(vectors)),
                "dimension": DIMENSION, "code_bits": codec.CODE_BITS}
        tmp = folder / "meta.json.tmp"
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, folder / "meta.json")   # written last: a gallery without it is incomplete
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike, mmap: bool = True, *,
             calibration: CalibrationTable | None = None) -> "Gallery":
        """Open a saved gallery; with ``mmap`` the embeddings and codes stay on disk, paged in on use."""
        folder = Path(path)
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except (OSError, ValueError) as exc:
            raise GalleryError(f"no readable gallery at {folder} ({type(exc).__name__})") from exc
        if meta.get("kind") != "face-gallery" or meta.get("version") != FORMAT_VERSION:
            raise GalleryError(f"{folder} is not a version-{FORMAT_VERSION} face gallery")
        mode = "r" if mmap else None
        try:
            vectors = np.load(folder / "vectors.npy", mmap_mode=mode, allow_pickle=False)
            codes = np.load(folder / "codes.npy", mmap_mode=mode, allow_pickle=False)
            centre = np.load(folder / "centre.npy", allow_pickle=False)
            projection = np.load(folder / "projection.npy", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise GalleryError(f"gallery files in {folder} are unreadable ({type(exc).__name__})") from exc
        count = int(meta.get("count", -1))
        if (vectors.dtype != np.float32 or vectors.shape != (count, DIMENSION) or codes.dtype != np.uint64
                or codes.shape != (codec.CODE_WORDS, count)):
            raise GalleryError(f"gallery files in {folder} do not match meta.json (count {count})")
        gallery = cls(calibration=calibration, centre=centre, projection=projection)
        if count:
            gallery._segments.append(_Segment(vectors, codes, count))
        return gallery


def _radius_holding(distances: np.ndarray, size: int, max_distance: int) -> int:
    """Smallest Hamming radius that holds at least ``size`` of ``distances``."""
    return int(np.searchsorted(np.cumsum(np.bincount(distances, minlength=max_distance + 1)), size))


def _scan_chunk(codes: np.ndarray, start: int, stop: int, qcode: np.ndarray,
                keep: int) -> tuple[np.ndarray, np.ndarray]:
    """(chunk-local indices, full 512-bit distances) of the ``keep`` nearest codes in columns start:stop."""
    if stop - start <= 2 * keep:
        return np.arange(stop - start), codec.hamming(codes[:, start:stop], qcode)
    half = codec.CODE_WORDS // 2
    first = codec.hamming(codes[:half, start:stop], qcode[:half])
    local = np.flatnonzero(first <= _radius_holding(first, keep, 64 * half))
    rest = codec.hamming(codes[half:, start + local], qcode[half:])
    return local, first[local] + rest


def _vectors_of(templates: Iterable[Template]) -> np.ndarray:
    items: Sequence[Template] = list(templates)
    for t in items:
        if not isinstance(t, Template):
            raise GalleryError("a Gallery is built from face.Template objects")
    if not items:
        return np.empty((0, DIMENSION), np.float32)
    return np.stack([t.vector for t in items]).astype(np.float32)


def _atomic_save(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.save(f, array, allow_pickle=False)
    os.replace(tmp, path)
