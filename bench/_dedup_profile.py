"""Where a de-duplication search's time goes: Dask's own task records, and one shard's phases profiled.

``task_breakdown`` sums the per-task records Dask keeps (``distributed.get_task_stream``): compute,
transfer between workers and (de)serialisation, by task kind, so Dask's overhead is measured beside the
work. ``phase_breakdown`` runs both phases on one shard in this process under cProfile and splits
phase 2 into MCC cylinder building (matcher.fingerprint), cylinder comparison and everything else.
CPU seconds of the calling thread throughout (thread_time), so a loaded machine inflates nothing but the wall clock.
"""
from __future__ import annotations

import cProfile
import pstats
import time
from collections import defaultdict

import numpy as np

from national.gallery import probes_at_rows
from national.search import SearchStats, face_shortlist, merge_shortlists, verify

TASK_KINDS = {"_shortlist": "phase 1 (face-code scan + re-rank)", "_verify": "phase 2 (verify + fuse)",
              "probes_at_rows": "probe batch made on its worker", "probes_from_shard": "probe batch made on its worker",
              "_merge_shortlists": "merge short lists", "_merge": "merge candidates", "_summarise": "summarise",
              "_probe_records": "summarise"}


def task_breakdown(records: list[dict], probes: int, wall: float, workers: int) -> None:
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for task in records:
        key = task["key"] if isinstance(task["key"], str) else task["key"][0]
        kind = TASK_KINDS.get(key.split("-")[0], "other")
        for part in task["startstops"]:
            totals[kind][part["action"]] += part["stop"] - part["start"]
    busy = sum(v for parts in totals.values() for v in parts.values())
    print(f"   where the time went (Dask task records, worker seconds per search; {workers} workers x "
          f"{wall:,.1f} s wall = {workers * wall / probes * 1e3:,.1f} worker-ms per search, "
          f"{busy / (workers * wall):.0%} of it inside tasks)")
    for kind, parts in sorted(totals.items(), key=lambda kv: -sum(kv[1].values())):
        detail = ", ".join(f"{a} {1e3 * v / probes:,.2f} ms" for a, v in sorted(parts.items(), key=lambda kv: -kv[1]))
        print(f"     {kind:<38} {detail}")


def phase_breakdown(shard, centre: np.ndarray, rows: np.ndarray, shortlist: int = 16) -> dict:
    """Per-probe CPU ms of phase 1 and of phase 2's parts, on one in-process shard."""
    probes = probes_at_rows(shard, rows, centre)
    warm = probes_at_rows(shard, rows[:2], centre)
    verify(shard, warm, merge_shortlists([face_shortlist(shard, warm, shortlist)], shortlist))   # compiled
    t0 = time.thread_time()
    chosen = merge_shortlists([face_shortlist(shard, probes, shortlist)], shortlist)
    t1 = time.thread_time()
    counted = SearchStats()
    verify(shard, probes, chosen, counted)
    t2 = time.thread_time()
    profile = cProfile.Profile()
    profile.enable()
    verify(shard, probes, chosen)
    profile.disable()
    stats = pstats.Stats(profile).stats
    own = {fn[2]: (tt, ct) for fn, (_, _, tt, ct, _) in stats.items()}
    total = sum(tt for tt, _ in own.values()) or 1.0
    build = own.get("build_cylinders", (0.0, 0.0))[1] + own.get("to_reference_axes", (0.0, 0.0))[1]
    compare = own.get("raw_score_from_python", (0.0, 0.0))[1]
    n = len(rows)
    verify_ms = 1e3 * (t2 - t1) / n
    return {"scan_ms": 1e3 * (t1 - t0) / n, "verify_ms": verify_ms, "build_share": build / total,
            "compare_share": compare / total, "comparisons": counted.finger_comparisons / n}


def print_phases(p: dict, size: int) -> None:
    rest = 1.0 - p["build_share"] - p["compare_share"]
    print(f"   one shard of {size:,} on a worker (CPU per search): phase 1 {p['scan_ms']:.2f} ms, phase 2 "
          f"{p['verify_ms']:.2f} ms for {p['comparisons']:.0f} finger comparisons = MCC cylinder building "
          f"{p['build_share']:.0%}, cylinder comparison {p['compare_share']:.0%}, fusion/packing/Python {rest:.0%}")


def views_shard(registry, size: int, views: int):
    """An in-process shard of the registry's first ``size`` records, each finger enrolled from ``views``
    impressions (the record's own capture, then captures 10, 11, ...: new impressions of the same finger),
    and its face-code centre: what a registry enrolled from several impressions holds."""
    from matcher.face import codes as face_codes
    from national.shards import build_shard
    from national.synthetic.fingers import as_template, impression

    records = np.arange(size)
    persons, captures = registry.person(records), registry.capture(records)
    faces = registry.faces(records)
    centre = face_codes.fit_centre(faces)
    fingers = [[tuple(as_template(impression(registry.seed, int(p), f, capture))
                      for capture in (int(c), *range(10, 9 + views)))
                for f in range(registry.fingers)] for p, c in zip(persons, captures)]
    return build_shard(records, faces, fingers, centre), centre
