"""The national search (``national``, on Dask) as the booth's 1:N :class:`Identifier` back end.

Station scope: the station's voters are one shard searched in this process (a few hundred voters: no
round trip). National scope: the whole registry's shards live on the Dask workers (a LocalCluster of
threads here, or the commission's cluster at ``scheduler``) and each booth probe is one sharded search
with a deadline; past it :class:`national.gallery.SearchTimeout` is raised, never a partial list.
Shards are built from the registry on first use and rebuilt when its enrolment generation changes; they
are held in memory only (scattered to the workers), never written to disk unencrypted.

The booth's finger is compared with every finger each candidate enrolled (its position is not known),
every impression of each, and the best score kept, calibrated as that many chances, as the in-process
galleries do; the workflow fuses and decides.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

import numpy as np

from kiosk.workflow.identifier import Candidate, ranked
from kiosk.workflow.rules import IDENTIFICATION_TOP_K


class ShardedIdentifier:
    def __init__(self, registry, *, scheduler: str | None = None, client=None, deadline_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic, top_k: int = IDENTIFICATION_TOP_K) -> None:
        self.registry = registry
        self.scheduler = scheduler
        self.deadline_s = deadline_s
        self.clock = clock
        self.top_k = top_k
        self._client = client
        self._owns_client = client is None
        self._lock = threading.Lock()
        self._built: dict[str | None, tuple[int, Any, list[str], Any]] = {}

    def enrolled(self, scope: str | None) -> int:
        return self.registry.count_voters() if scope is None else len(self.registry.all_voter_ids(scope))

    def identify(self, finger_probe: Any, face_probe: Any, scope: str | None,
                 deadline: float | None = None) -> list[Candidate]:
        from national.search import Probes, face_first, finger_shortlist, merge_shortlists, verify

        searcher, labels, centre = self._searcher(scope)
        if not labels or (finger_probe is None and face_probe is None):
            return []
        face = (np.asarray(face_probe.vector, np.float32) if face_probe is not None
                else np.full(128, np.nan, np.float32))
        probes = Probes(np.array([-1]), face[None, :], [[finger_probe]], centre, any_position=True)
        if scope is not None:      # the station's own shard, here
            shard = searcher
            chosen = merge_shortlists([*([] if face_probe is None else [_face(shard, probes)]),
                                       *([] if finger_probe is None else [finger_shortlist(shard, probes, 16)])],
                                      32)
            found = verify(shard, probes, chosen, keep=self.top_k)[0]
        else:
            timeout = self.deadline_s if deadline is None else max(0.0, deadline - self.clock())
            found = searcher.search(probes, keep=self.top_k, order="face" if face_probe is not None else "finger",
                                    timeout=timeout)[0]
        return ranked([Candidate(labels[c.record], c.finger_scores[0], c.face_score) for c in found])

    def _searcher(self, scope: str | None):
        from kiosk.registry.dedup import registry_shards
        from national.gallery import NationalGallery, connect

        generation = self.registry.enrolment_generation()
        with self._lock:
            built = self._built.get(scope)
            if built is not None and built[0] == generation:
                return built[1], built[2], built[3]
            shards, centre, voter_ids, _ = registry_shards(self.registry, station_id=scope)
            if scope is not None:
                searcher = shards[0] if shards else None
            else:
                if self._client is None:
                    self._client = (connect(self.scheduler) if self.scheduler else
                                    connect(workers=1, threads_per_worker=2, processes=False, memory_limit=None))
                if built is not None and hasattr(built[1], "close"):
                    built[1].close()
                searcher = NationalGallery(self._client, shards=shards, centre=centre) if shards else None
            self._built[scope] = (generation, searcher, voter_ids, centre)
            return searcher, voter_ids, centre

    def close(self) -> None:
        with self._lock:
            for _, searcher, _, _ in self._built.values():
                if hasattr(searcher, "close"):
                    searcher.close()
            self._built.clear()
            if self._owns_client and self._client is not None:
                cluster = getattr(self._client, "cluster", None)
                self._client.close()
                if cluster is not None:
                    cluster.close()
                self._client = None


def _face(shard, probes):
    from national.search import face_shortlist

    return face_shortlist(shard, probes, 16)
