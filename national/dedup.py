"""National de-duplication: every enrolled record searched against every shard, on the Dask workers.

Probe batches are made on the worker that holds their records (nothing is shipped from here), each batch
is searched on every shard and the lists merged, all as Dask tasks; at most ``in_flight`` batches are
outstanding so the client's memory stays flat. Per probe only a compact summary comes back (the best
``keep`` candidates' records and fused FMRs) plus the full per-modality candidate lists of the probes
whose best candidate passes ``report_fmr``: those become adjudication cases (national.cases).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np

from .gallery import NationalGallery
from .search import KEEP, SHORTLIST, Candidate


@dataclass
class DedupRun:
    probes: np.ndarray                 # (n,) record ids, in completion order
    top_records: np.ndarray            # (n, keep) int64, -1 where fewer candidates
    top_fmr: np.ndarray                # (n, keep) fused FMR, 1.0 where none
    suspects: dict[int, list[Candidate]] = field(default_factory=dict)
    seconds: float = 0.0

    def best_fmr_of(self, probe: int, record: int) -> float:
        """The fused FMR the search of ``probe`` gave ``record`` (1.0 when not in its list)."""
        row = self.row(probe)
        hit = np.flatnonzero(self.top_records[row] == record)
        return float(self.top_fmr[row, hit[0]]) if hit.size else 1.0

    def row(self, probe: int) -> int:
        if not hasattr(self, "_rows"):
            self._rows = {int(r): i for i, r in enumerate(self.probes)}
        return self._rows[int(probe)]


def _summarise(lists: list[list[Candidate]], probes_records: np.ndarray, keep: int, report_fmr: float):
    records = np.full((len(lists), keep), -1, np.int64)
    fmr = np.ones((len(lists), keep))
    suspects = {}
    for i, cands in enumerate(lists):
        for j, c in enumerate(cands[:keep]):
            records[i, j], fmr[i, j] = c.record, c.fused_fmr
        passing = [c for c in cands if c.fused_fmr <= report_fmr]
        if passing:
            suspects[int(probes_records[i])] = passing
    return np.asarray(probes_records, np.int64), records, fmr, suspects


def _probe_records(probes) -> np.ndarray:
    return probes.records


def deduplicate(gallery: NationalGallery, *, report_fmr: float, batch: int = 32, shortlist: int = SHORTLIST,
                keep: int = KEEP, in_flight: int | None = None, progress: bool = True, out=sys.stderr,
                records: np.ndarray | None = None, order: str = "face") -> DedupRun:
    """Search every enrolled record (or only ``records``) against the whole gallery."""
    from distributed import as_completed
    from tqdm import tqdm

    client = gallery.client
    workers = max(1, len(client.scheduler_info()["workers"]))
    in_flight = in_flight or 3 * workers
    total = len(gallery) if records is None else len(np.unique(records))
    batches = gallery.probe_batches(batch, records)
    bar = tqdm(total=total, unit="probe", desc="dedup", file=out, disable=not progress, smoothing=0.05)
    parts, submitted, started = [], 0, time.perf_counter()
    pending = as_completed()

    def submit_next() -> bool:
        nonlocal submitted
        if submitted >= total:
            return False
        try:
            _, count, probes = next(batches)
        except StopIteration:
            return False
        merged = gallery.submit_search(probes, shortlist, keep, order)
        pending.add(client.submit(_summarise, merged, client.submit(_probe_records, probes), keep, report_fmr,
                                  pure=False))
        submitted += count
        return True

    for _ in range(in_flight):
        if not submit_next():
            break
    for future in pending:
        part = future.result()
        parts.append(part)
        bar.update(len(part[0]))
        submit_next()
    bar.close()
    suspects: dict[int, list[Candidate]] = {}
    for part in parts:
        suspects.update(part[3])
    if not parts:
        return DedupRun(np.zeros(0, np.int64), np.zeros((0, keep), np.int64), np.ones((0, keep)), {}, 0.0)
    return DedupRun(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                    np.concatenate([p[2] for p in parts]), suspects, time.perf_counter() - started)
