"""Find suspected double registrations with the national search (``national``, on Dask).

The registry's enrolments are decrypted here, packed into shards in memory and scattered to the Dask
workers (nothing is written to disk unencrypted); every probe voter is searched on every shard (face
codes and the fingerprint index propose; every finger both voters enrolled, each impression of one
against each of the other's, and the face are compared exactly and fused) and a pair is reported
when its fused false match rate meets the operating point of one search: ``fpir`` over the registry's
size (national.operating), unless an explicit per-comparison ``fmr`` is given. The report names
registry record ids only: the commission resolves them to people.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from kiosk.registry.storage import Registry

SHARD_SIZE = 50_000


@dataclass(frozen=True)
class SuspectedDuplicate:
    voter_a: str
    voter_b: str
    fused_score: float
    fused_fmr: float
    finger_scores: dict
    face_score: float | None


@dataclass
class DuplicateReport:
    probes: int = 0
    candidates_checked: int = 0
    threshold_fmr: float = 1e-6
    fpir: float | None = None
    suspects: list[SuspectedDuplicate] = field(default_factory=list)
    raw: dict = field(default_factory=dict, repr=False)     # national's suspects, for adjudication cases
    labels: list[str] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict:
        return {"probes": self.probes, "candidates_checked": self.candidates_checked,
                "threshold_fmr": self.threshold_fmr, "fpir": self.fpir,
                "suspects": [{"voter_a": s.voter_a, "voter_b": s.voter_b, "fused_score": round(s.fused_score, 2),
                              "fused_fmr": s.fused_fmr,
                              "finger_scores": {k: round(v, 2) for k, v in s.finger_scores.items()},
                              "face_score": None if s.face_score is None else round(s.face_score, 2)}
                             for s in self.suspects]}


def registry_shards(registry: Registry, shard_size: int = SHARD_SIZE, station_id: str | None = None):
    """(shards, face-code centre, voter ids by record number, finger names by position) of the registry
    (or of one station's voters)."""
    from matcher.face import codes as face_codes
    from national.shards import build_shard

    from matcher import face as face_engine
    from matcher import fingerprint
    from matcher.face.template import DIMENSION

    voter_ids = sorted(registry.all_voter_ids(station_id))
    enrolled = [registry.enrolment_bytes(v) for v in voter_ids]
    positions = sorted({name for fingers, _ in enrolled for name in fingers})
    faces = np.full((len(voter_ids), DIMENSION), np.nan, np.float32)
    fingers = []
    for i, (by_name, face) in enumerate(enrolled):
        if face is not None:
            faces[i] = face_engine.Template.from_bytes(face).vector
        fingers.append([fingerprint.views_from_iso(by_name[n]) if n in by_name else None for n in positions])
    present = np.isfinite(faces).all(axis=1)
    centre = face_codes.fit_centre(faces[present]) if present.sum() >= 32 else np.zeros(faces.shape[1], np.float32)
    shards = [build_shard(np.arange(lo, min(lo + shard_size, len(voter_ids))), faces[lo:lo + shard_size],
                          fingers[lo:lo + shard_size], centre)
              for lo in range(0, max(len(voter_ids), 1), shard_size)] if voter_ids else []
    return shards, centre, voter_ids, positions


def find_duplicates(registry: Registry, *, probe_voter_ids: Iterable[str] | None = None, fpir: float = 0.01,
                    fmr: float | None = None, top_k: int = 5, scheduler: str | None = None, client=None,
                    progress: bool = False, out=sys.stderr) -> DuplicateReport:
    from national import operating
    from national.dedup import deduplicate
    from national.gallery import NationalGallery, connect, dashboard_note

    shards, centre, voter_ids, positions = registry_shards(registry)
    if not voter_ids:
        return DuplicateReport(threshold_fmr=fmr or 1.0, fpir=fpir)
    threshold = fmr if fmr is not None else operating.per_comparison_fmr(fpir, len(voter_ids))
    number = {v: i for i, v in enumerate(voter_ids)}
    probes = list(probe_voter_ids) if probe_voter_ids is not None else voter_ids
    own = client is None
    if own:   # a small registry is searched by threads in this process; a big one on a real cluster
        client = connect(scheduler, workers=1, threads_per_worker=2, processes=False, memory_limit=None) \
            if scheduler is None else connect(scheduler)
    try:
        if progress:
            print(dashboard_note(client), file=out)
        gallery = NationalGallery(client, shards=shards, centre=centre)
        run = deduplicate(gallery, report_fmr=threshold, records=np.array([number[v] for v in probes], np.int64),
                          keep=top_k, order="both", progress=progress, out=out)
        gallery.close()
    finally:
        if own:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    report = DuplicateReport(probes=len(probes), candidates_checked=int((run.top_records >= 0).sum()),
                             threshold_fmr=threshold, fpir=None if fmr is not None else fpir,
                             raw=run.suspects, labels=voter_ids)
    seen: set[tuple[str, str]] = set()
    for probe, candidates in run.suspects.items():
        for c in candidates:
            pair = tuple(sorted((voter_ids[probe], voter_ids[c.record])))
            if pair in seen:
                continue
            seen.add(pair)
            report.suspects.append(SuspectedDuplicate(
                pair[0], pair[1], c.fused_score, c.fused_fmr,
                {name: s for name, s in zip(positions, c.finger_scores) if s is not None}, c.face_score))
    report.suspects.sort(key=lambda s: -s.fused_score)
    return report
