"""The national gallery on Dask: shards persisted on disk, loaded once by the workers and kept there.

``connect()`` gives a ``distributed.Client``: a LocalCluster on this machine by default, or an existing
cluster unchanged (``connect("tcp://HOST:8786")``). Scheduling, data placement, transfer and retries are
Dask's; this module only says what runs where:

* a :class:`ShardSet` is a directory of shards plus ``manifest.json`` naming the enrolment generation it
  was built from; :func:`open_or_build` reuses it while the generation matches and rebuilds it otherwise;
* :class:`NationalGallery` submits one ``Shard.load`` per shard (spread over the workers) and holds the
  futures, so each worker keeps its shards in memory for the gallery's lifetime; every search task takes
  a shard future as input, so Dask runs it where that shard already is;
* a search sends the probe batch to every shard (phase 1: face-code short list), merges one global short
  list, has the shards holding those records compare fingers and faces exactly (phase 2) and merges.

On a real cluster the shard directory must be readable by the workers (a shared filesystem path).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .search import KEEP, SHORTLIST, Candidate, Probes, face_shortlist, finger_shortlist, merge, merge_shortlists, verify
from . import sealing
from .shards import Shard, ShardError

MANIFEST = "manifest.json"


class SearchTimeout(TimeoutError):
    """The shards did not all answer before the deadline."""


def connect(scheduler: str | None = None, *, workers: int = 2, threads_per_worker: int = 1,
            processes: bool = True, memory_limit: str | float | None = "auto"):
    """A Dask client: to ``scheduler`` when given (a real cluster, used unchanged), else to a new
    LocalCluster of ``workers`` worker processes (``processes=False``: threads in this process)."""
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker, processes=processes,
                           memory_limit=memory_limit, dashboard_address=":0")
    return Client(cluster)


def dashboard_note(client) -> str:
    """Where the Dask dashboard is served (it needs ``bokeh`` on the scheduler)."""
    try:
        import bokeh  # noqa: F401
        served = ""
    except ImportError:
        served = " (bokeh is not installed here, so the page is not served)"
    return f"Dask dashboard: {client.dashboard_link}{served}"


@dataclass(frozen=True)
class ShardSet:
    root: Path
    generation: str
    shards: tuple[str, ...]
    fingers: int
    count: int

    @property
    def centre(self) -> np.ndarray:
        return np.load(self.root / "centre.npy", allow_pickle=False)

    def paths(self) -> list[str]:
        return [str(self.root / name) for name in self.shards]

    @classmethod
    def open(cls, root: str | os.PathLike) -> "ShardSet":
        root = Path(root)
        try:
            meta = json.loads((root / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise ShardError(f"no shard set at {root} ({type(exc).__name__})") from exc
        return cls(root, str(meta["generation"]), tuple(meta["shards"]), int(meta["fingers"]), int(meta["count"]))


def _write_manifest(root: Path, generation: str, names: list[str], fingers: int, count: int) -> None:
    tmp = root / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps({"format": "national-shards", "generation": generation, "shards": names,
                               "fingers": fingers, "count": count}))
    os.replace(tmp, root / MANIFEST)


def current(root: str | os.PathLike, generation: str) -> ShardSet | None:
    """The shard set at ``root`` when it was built from ``generation`` and is complete, else None."""
    try:
        found = ShardSet.open(root)
    except ShardError:
        return None
    complete = all((Path(p) / "meta.json").exists() for p in found.paths())
    return found if found.generation == generation and complete else None


def build(root: str | os.PathLike, generation: str, centre: np.ndarray, fingers: int,
          shard_builders: list[Callable[[], Shard]], key: bytes, client=None) -> ShardSet:
    """Write a new shard set sealed under ``key``: each builder returns one shard (national.shards).
    With a ``client`` the builders run on the workers (the synthetic generator); without, here (an
    enrolment export decrypted by its owner). The manifest is written last."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MANIFEST).unlink(missing_ok=True)
    np.save(root / "centre.npy", np.asarray(centre, np.float32), allow_pickle=False)
    names = [f"shard-{i:04d}" for i in range(len(shard_builders))]
    key = sealing.checked_key(key)
    jobs = [(builder, str(root / name), generation, key) for builder, name in zip(shard_builders, names)]
    if client is None:
        counts = [_build_one(*job) for job in jobs]
    else:
        counts = client.gather(client.map(lambda job: _build_one(*job), jobs, pure=False))
    _write_manifest(root, generation, names, fingers, int(sum(counts)))
    return ShardSet.open(root)


def _build_one(builder, folder: str, generation: str, key: bytes) -> int:
    shard = builder()
    shard.generation = generation
    shard.save(folder, key)
    return len(shard)


def probes_from_shard(shard: Shard, lo: int, hi: int, centre: np.ndarray) -> Probes:
    """The enrolled records at rows [lo, hi) of a shard as probes (de-duplication searches)."""
    return probes_at_rows(shard, np.arange(lo, min(hi, len(shard))), centre)


def probes_at_rows(shard: Shard, rows: np.ndarray, centre: np.ndarray) -> Probes:
    fingers = [[shard.finger_views(int(r), f) or None for f in range(shard.fingers)] for r in rows]
    return Probes(shard.records[rows].copy(), shard.face_vectors[rows].astype(np.float32), fingers, centre)


def _rows_holding(shard: Shard, records: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.isin(shard.records, records))


PHASE_ONE = {"face": face_shortlist, "finger": finger_shortlist}


def _shortlist(order: str, shard: Shard, probes: Probes, shortlist: int):
    return PHASE_ONE[order](shard, probes, shortlist)


def _merge_shortlists(shortlist: int, *parts):
    return merge_shortlists(list(parts), shortlist)


def _verify(shard: Shard, probes: Probes, chosen, keep: int) -> list[list[Candidate]]:
    return verify(shard, probes, chosen, keep=keep)


def _merge(keep: int, *parts: list[list[Candidate]]) -> list[list[Candidate]]:
    return merge(list(parts), keep)


class NationalGallery:
    """A shard set held in the workers' memory; searched by probe batches."""

    def __init__(self, client, shard_set: ShardSet | None = None, *, key: bytes | None = None,
                 shards: list[Shard] | None = None, centre: np.ndarray | None = None) -> None:
        """From a persisted ``shard_set`` opened with ``key`` (each worker loads and decrypts its shards
        once and keeps them decoded), or from in-memory
        ``shards`` scattered to the workers (nothing written to disk: templates never rest unencrypted)."""
        self.client = client
        self.shard_set = shard_set
        workers = sorted(client.scheduler_info()["workers"])
        if shard_set is not None:
            if key is None:
                raise ValueError("a persisted shard set is sealed: pass its key")
            key = sealing.checked_key(key)
            # the task key names the key too (a one-way tag): a gallery opened with another key must not
            # be handed shards another gallery already decrypted under the same name
            tag = hashlib.sha256(b"national-shard-task|" + key).hexdigest()[:12]
            self.centre = shard_set.centre
            self.count = shard_set.count
            self.shards = [client.submit(Shard.load, path, key, key=f"national-shard-{shard_set.generation}-{tag}-{i}",
                                         workers=[workers[i % len(workers)]], allow_other_workers=True)
                           for i, path in enumerate(shard_set.paths())]
        else:
            if shards is None or centre is None:
                raise ValueError("a NationalGallery needs a shard set, or shards and their face-code centre")
            self.centre = np.asarray(centre, np.float32)
            self.count = sum(len(s) for s in shards)
            self.shards = [client.scatter(shard, workers=[workers[i % len(workers)]])
                           for i, shard in enumerate(shards)]
        client.gather(client.map(len, self.shards))   # loaded (errors surface here), and kept

    def __len__(self) -> int:
        return self.count

    def shard_sizes(self) -> list[int]:
        return self.client.gather(self.client.map(len, self.shards))

    def submit_search(self, probes, shortlist: int = SHORTLIST, keep: int = KEEP, order: str = "face"):
        """A future of the merged candidate lists (one per probe) of ``probes`` (Probes or a future):
        phase 1 on every shard, one global short list, phase 2 on the shards holding its records.
        ``order="both"``: the union of the face and fingerprint short lists (small registries, and probes
        without a face)."""
        submit = self.client.submit
        orders = ("face", "finger") if order == "both" else (order,)
        firsts = [submit(_shortlist, o, shard, probes, shortlist, pure=False) for o in orders for shard in self.shards]
        chosen = submit(_merge_shortlists, shortlist * len(orders), *firsts, pure=False)
        seconds = [submit(_verify, shard, probes, chosen, keep, pure=False) for shard in self.shards]
        return submit(_merge, keep, *seconds, pure=False)

    def search(self, probes: Probes, *, shortlist: int = SHORTLIST, keep: int = KEEP, order: str = "face",
               timeout: float | None = None) -> list[list[Candidate]]:
        """Candidates of each probe over every shard, best first; SearchTimeout after ``timeout`` s."""
        from distributed import wait

        if probes.centre is None:
            probes.centre = self.centre
        future = self.submit_search(probes, shortlist, keep, order)
        try:
            done, _ = wait([future], timeout=timeout)
        except TimeoutError:
            done = ()
        if not done:
            future.cancel()
            raise SearchTimeout(f"national search did not finish within {timeout} s")
        return future.result()

    def probe_batches(self, batch: int, records: np.ndarray | None = None) -> Iterable[tuple[int, int, object]]:
        """(shard index, probe count, future of Probes) covering every enrolled record once, or only
        ``records`` (each batch is made on the worker holding its records)."""
        sizes = self.shard_sizes()
        wanted = None if records is None else np.unique(np.asarray(records, np.int64))
        for index, (shard, size) in enumerate(zip(self.shards, sizes)):
            if wanted is None:
                for lo in range(0, size, batch):
                    yield index, min(size, lo + batch) - lo, self.client.submit(
                        probes_from_shard, shard, lo, lo + batch, self.centre, pure=False)
                continue
            rows = self.client.submit(_rows_holding, shard, wanted, pure=False).result()
            for lo in range(0, rows.size, batch):
                part = rows[lo:lo + batch]
                yield index, part.size, self.client.submit(probes_at_rows, shard, part, self.centre, pure=False)

    def worker_memory(self) -> dict[str, int]:
        """Resident memory of each worker process, bytes."""
        def rss() -> int:
            import psutil

            return int(psutil.Process().memory_info().rss)
        return self.client.run(rss)

    def close(self) -> None:
        for future in self.shards:
            future.release()
        self.shards = []


def elapsed(since: float) -> float:
    return time.perf_counter() - since
