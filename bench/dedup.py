"""National de-duplication on Dask: synthetic registry checked against FVC2002, then scale figures.

    python -m bench dedup                          # 1,000,000 voters on a 2-worker LocalCluster
    python -m bench dedup --skip-fvc               # re-run: reuses the cached registry (same parameters)
    python -m bench dedup --size 200000 --probes 500
    python -m bench dedup --scheduler tcp://HOST:8786

Sections: (1) synthetic minutiae statistics and score distributions beside FVC2002 DB1-3 (DB4 is itself
synthetic, SFinGe, so it is left out of "real"); (2) the fused score's calibration checked on synthetic
voter pairs it was not fitted on; (3) which order wins, face codes first or the fingerprint index first;
(4) the registry built on the workers, memory per voter; (5) de-duplication searches: probes/s, FNIR at
FPIR 1 % on the planted duplicates; (6) projection to 9.71 M voters on 100 cores; (7) what enrolling every
finger from three impressions costs it; (8) no-card identification latency.
"""
from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np

from bench._dedup_profile import phase_breakdown, print_phases, task_breakdown, views_shard
from bench.common import header, percentile, row
from matcher import fingerprint as fp
from matcher import fusion
from matcher.face.active import get_calibration
from national import operating
from national.dedup import deduplicate
from national.gallery import NationalGallery, connect, dashboard_note
from national.search import Probes, SearchStats, face_shortlist, finger_shortlist, merge_shortlists, verify
from national.shards import Shard, build_shard
from national import sealing
from national.synthetic.build import GENERATOR_VERSION, generation_of, shard_set
from national.synthetic.registry import SyntheticRegistry
from national.synthetic.statistics import comparison_rows, ks_distance, statistics

NATIONAL_VOTERS = 9_710_000
PROJECTION_CORES = 100
FPIR = 0.01
DEFAULT_KEY_FILE = Path.home() / ".config" / "national" / "bench-shards.key"


def fvc_section(synthetic: SyntheticRegistry) -> None:
    from bench.fingerprint import DPI, extract_all, load_database
    from kiosk.datasets import datasets_dir

    root = datasets_dir()
    if root is None:
        print("   (FVC2002 not found: comparison skipped)")
        return
    real: dict = {}
    for db in ("DB1_B", "DB2_B", "DB3_B"):
        for key, t in extract_all(load_database(root / "fingerprints" / "fvc2002", db), DPI[db], []).items():
            if t is not None:
                real[db, *key] = t
    persons = 150
    syn = [synthetic.finger_templates(r)[0] for r in range(persons)]
    again = [synthetic.recapture(r, 2)[1][0] for r in range(persons)]
    print(f"\n-- synthetic fingers vs FVC2002 DB1-3 ({len(real)} real templates from matcher.fingerprint.extract, "
          f"{2 * persons} synthetic impressions); median [p10, p90], KS = two-sample Kolmogorov-Smirnov distance")
    print(f"   {'quantity':<36} {'FVC2002 DB1-3':>20} {'synthetic':>20} {'KS':>6}")
    for name, r, s, ks in comparison_rows(statistics(list(real.values())), statistics(syn + again)):
        print(f"   {name:<36} {r:>20} {s:>20} {ks:>6}")
    real_imp, real_gen = [], []
    for db in ("DB1_B", "DB2_B", "DB3_B"):
        for f in range(1, 11):
            for g in range(f + 1, 11):
                for i, j in ((1, 2), (3, 4), (5, 6)):
                    a, b = real.get((db, f, i)), real.get((db, g, j))
                    if a is not None and b is not None:
                        real_imp.append(fp.compare_raw(a, b))
            for i in range(1, 9):
                for j in range(i + 1, 9):
                    a, b = real.get((db, f, i)), real.get((db, f, j))
                    if a is not None and b is not None:
                        real_gen.append(fp.compare_raw(a, b))
    syn_imp = [fp.compare_raw(syn[i], again[(i + k) % persons]) for i in range(persons) for k in (1, 7, 31)]
    syn_gen = [fp.compare_raw(syn[i], again[i]) for i in range(persons)]
    qs = (0.1, 0.5, 0.9, 0.99)
    print(f"   raw MCC score quantiles {', '.join(f'p{int(q * 100)}' for q in qs)}:")
    for label, r, s in (("impostor", real_imp, syn_imp), ("genuine", real_gen, syn_gen)):
        fr = " ".join(f"{v:.4f}" for v in np.quantile(r, qs))
        fs = " ".join(f"{v:.4f}" for v in np.quantile(s, qs))
        print(f"   {label:<9} FVC ({len(r):>4} pairs) {fr}   synthetic ({len(s):>4}) {fs}   KS {ks_distance(r, s):.2f}")
    t30 = fp.calibration.TAIL_START
    print(f"   impostor share above the calibration's 1 % knot ({t30:.4f}): FVC {np.mean(np.array(real_imp) >= t30):.2%}, "
          f"synthetic {np.mean(np.array(syn_imp) >= t30):.2%}")


def fused_scores(face_a, face_b, fingers_a, fingers_b) -> fusion.FusedScore:
    face = float(get_calibration().score(np.linalg.norm(face_a - face_b)))
    fingers = [fp.calibration.calibrated(fp.compare_raw(a, b)) for a, b in zip(fingers_a, fingers_b)]
    return fusion.fuse(face=face, fingers=fingers)


def calibration_section(registry: SyntheticRegistry, pairs: int) -> None:
    rng = np.random.default_rng(5)
    left = rng.choice(registry.size, pairs)
    right = (left + 1 + rng.choice(registry.size - 1, pairs)) % registry.size
    keep = registry.person(left) != registry.person(right)
    left, right = left[keep], right[keep]
    faces_l, faces_r = registry.faces(left), registry.faces(right)
    fused, finger_fmr = [], []
    for i, (a, b) in enumerate(zip(left, right)):
        fa, fb = registry.finger_templates(int(a)), registry.finger_templates(int(b))
        f = fused_scores(faces_l[i], faces_r[i], fa, fb)
        fused.append(f.fmr)
        finger_fmr.append(10 ** (-fp.calibration.calibrated(fp.compare_raw(fa[0], fb[0])) / 10))
    fused, finger_fmr = np.array(fused), np.array(finger_fmr)
    print(f"\n-- calibration on {len(fused)} synthetic impostor voter pairs (2 fingers + face; not fitted on): "
          f"share of pairs at or below a nominal FMR")
    print(f"   {'nominal FMR':>12} {'one finger':>12} {'fused 2 fingers + face':>24}")
    for t in (1e-1, 1e-2, 1e-3):
        print(f"   {t:>12.0e} {np.mean(finger_fmr <= t):>12.4f} {np.mean(fused <= t):>24.4f}")


def order_section(registry: SyntheticRegistry, size: int, probes: int) -> None:
    """Face codes first vs the fingerprint index first, on one in-process shard of ``size`` records."""
    records = np.arange(size)
    faces = registry.faces(records)
    from matcher.face import codes as face_codes

    centre = face_codes.fit_centre(faces)
    shard = build_shard(records, faces, [registry.finger_templates(int(r)) for r in records], centre)
    planted = registry.planted[registry.planted.max(axis=1) < size][:probes]
    if planted.size == 0:
        print("   (no planted duplicate inside the order-test shard)")
        return
    mates = dict(zip(planted[:, 0].tolist(), planted[:, 1].tolist()))
    rows = planted[:, 0]
    probe = Probes(rows, faces[rows], [[shard.finger(int(r), f) for f in range(shard.fingers)] for r in rows], centre)
    print(f"\n-- which order wins: one shard of {size:,} records in-process, {len(rows)} planted-duplicate searches, "
          f"short list 16")
    built = time.perf_counter()
    finger_shortlist(shard, Probes(rows[:1], faces[rows[:1]], probe.fingers[:1], centre), 1)   # builds the index
    index_seconds = time.perf_counter() - built
    gallery = shard._finger_index[0]
    face_shortlist(shard, Probes(rows[:1], faces[rows[:1]], probe.fingers[:1], centre), 1)   # compiles the scan
    for order, first in (("face codes first", face_shortlist), ("fingerprint index first", finger_shortlist)):
        stats = SearchStats()
        t0 = time.perf_counter()
        chosen = merge_shortlists([first(shard, probe, 16)], 16)
        t1 = time.perf_counter()
        found = verify(shard, probe, chosen, stats)
        t2 = time.perf_counter()
        recall = np.mean([mates[int(p)] in set(c.tolist()) for p, c in zip(rows, chosen)])
        rank1 = np.mean([bool(f) and f[0].record == mates[int(p)] for p, f in zip(rows, found)])
        print(f"   {order:<26} phase 1 {1e3 * (t1 - t0) / len(rows):8.1f} ms/probe, verify "
              f"{1e3 * (t2 - t1) / len(rows):6.1f} ms/probe, mate in short list {recall:.1%}, rank 1 {rank1:.1%}")
    print(f"   fingerprint index: {gallery.nbytes() / size:,.0f} B per voter more in memory, built in "
          f"{index_seconds:.1f} s ({1e3 * index_seconds / size:.2f} ms per voter); face codes: 64 B per voter")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench dedup")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--duplicates", type=int, default=500)
    parser.add_argument("--shard-size", type=int, default=125_000)
    parser.add_argument("--probes", type=int, default=1000, help="non-mated de-duplication searches sampled")
    parser.add_argument("--identifications", type=int, default=40)
    parser.add_argument("--order-size", type=int, default=3000)
    parser.add_argument("--order-probes", type=int, default=100)
    parser.add_argument("--calibration-pairs", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scheduler", help="tcp://HOST:8786 of an existing Dask cluster")
    parser.add_argument("--root", default=os.environ.get("NATIONAL_BENCH_DIR", "/tmp/national-bench"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-fvc", action="store_true")
    parser.add_argument("--key-file", default=os.environ.get("NATIONAL_SHARD_KEY_FILE", str(DEFAULT_KEY_FILE)),
                        help="the shards' AES-256 key (base64), kept away from --root; made when missing")
    args = parser.parse_args(argv)
    header("bench dedup: national de-duplication on Dask")
    print(f"   load average at start {os.getloadavg()[0]:.1f} (machine shared with other work)")
    registry = SyntheticRegistry(args.size, args.duplicates, seed=args.seed)
    if not args.skip_fvc:
        fvc_section(SyntheticRegistry(1000, 0, seed=args.seed + 100))
    calibration_section(SyntheticRegistry(20000, 0, seed=args.seed + 200), args.calibration_pairs)
    order_section(SyntheticRegistry(args.order_size, args.order_size // 20, seed=args.seed + 300), args.order_size,
                  args.order_probes)

    client = connect(args.scheduler, workers=args.workers)
    workers = len(client.scheduler_info()["workers"])
    threads = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
    print(f"\n-- registry of {args.size:,} synthetic voters ({args.duplicates:,} planted duplicates), "
          f"{workers} Dask workers x {threads // max(workers, 1)} thread")
    print(f"   {dashboard_note(client)}")
    key = sealing.key_from_file(args.key_file, create=True)
    cache = Path(args.root) / f"n{args.size}-d{args.duplicates}-s{args.seed}-shard{args.shard_size}-v{GENERATOR_VERSION}"
    from national.gallery import current

    reused = current(cache, generation_of(registry)) is not None
    t0 = time.perf_counter()
    shards = shard_set(registry, cache, args.shard_size, key, client=client)
    build_seconds = time.perf_counter() - t0
    client.restart()            # fresh worker processes: the memory figure is the loaded gallery's, not the build's
    memory_before = client.run(_rss)
    t0 = time.perf_counter()
    gallery = NationalGallery(client, shards, key=key)
    load_seconds = time.perf_counter() - t0
    memory_after = client.run(_rss)
    held = sum(client.gather(client.map(Shard.nbytes, gallery.shards)))
    rss_delta = sum(memory_after.values()) - sum(memory_before.values())
    row("registry cache", str(cache), "reused" if reused else "built now")
    row("build (generate + seal + persist)" if not reused else "build (reused: manifest check only)",
        f"{build_seconds:,.1f} s", f"{len(shards.shards)} shards on {workers} workers")
    row("load (read + decrypt, kept by the workers)", f"{load_seconds:,.1f} s")
    row("shard arrays per voter", f"{held / len(gallery):,.0f} B", "goal <= 2 KB")
    row("worker RSS growth per voter (load)", f"{rss_delta / len(gallery):,.0f} B", "fresh workers, decrypted shards kept")

    rng = np.random.default_rng(args.seed)
    mated = np.unique(registry.planted.ravel())
    everyone_mated = set(mated.tolist())
    candidates = rng.choice(args.size, min(args.size, args.probes + len(mated)), replace=False)
    nonmated = np.array([r for r in candidates if r not in everyone_mated][:args.probes], np.int64)
    probes = np.concatenate([mated, nonmated])
    report = operating.per_comparison_fmr(FPIR, len(gallery))
    from distributed import get_task_stream

    cpu_before = client.run(_cpu)
    with get_task_stream(client) as stream:
        run = deduplicate(gallery, report_fmr=report, records=probes, batch=32)
    cpu_seconds = sum(client.run(_cpu).values()) - sum(cpu_before.values())
    rate = len(probes) / run.seconds
    mates = registry.mates()
    mate_fmr = np.array([run.best_fmr_of(int(p), mates[int(p)]) for p in mated])
    best_nonmated = np.array([run.top_fmr[run.row(int(p)), 0] for p in nonmated])
    fpir, fnir = operating.fpir_fnir(mate_fmr, best_nonmated, report)
    print(f"\n-- de-duplication searches over {len(gallery):,} enrolled ({len(mated)} mated + {len(nonmated)} non-mated "
          f"searches, each against every shard)")
    row("probes/s", f"{rate:,.2f}", f"{workers} workers, {run.seconds:,.1f} s wall")
    row("worker CPU per search", f"{1e3 * cpu_seconds / len(probes):,.1f} ms",
        f"{len(probes) / cpu_seconds * workers:,.2f} probes/s on {workers} idle cores")
    task_breakdown(stream.data, len(probes), run.seconds, workers)
    row("operating point: fused FMR per comparison", f"{report:.3g}", f"FPIR {FPIR:.0%} over {len(gallery):,}")
    row("FNIR at that point (calibrated, not fitted)", f"{fnir:.2%}", f"{int(round(fnir * len(mated)))} of {len(mated)} mates missed")
    row("FPIR measured there (non-mated searches)", f"{fpir:.2%}", f"target {FPIR:.0%}")
    cut = np.quantile(best_nonmated, FPIR) if len(best_nonmated) else report
    e_fpir, e_fnir = operating.fpir_fnir(mate_fmr, best_nonmated, min(cut, 1.0))
    row("FNIR at measured FPIR 1 % (in-sample threshold)", f"{e_fnir:.2%}", f"threshold FMR {cut:.3g}")
    in_list = np.mean(mate_fmr < 1.0)
    row("mate returned at all (face short list recall)", f"{in_list:.2%}")

    at_national = projection_section(gallery, cpu_seconds / len(probes))
    views_section(SyntheticRegistry(args.order_size, 0, seed=args.seed + 400), at_national)
    identification_section(gallery, registry, args.identifications, everyone_mated)
    gallery.close()
    client.close()
    return 0


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _cpu() -> float:
    import psutil

    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


def projection_section(gallery: NationalGallery, per_probe: float) -> None:
    """De-duplication is N searches against N enrolled: the scan part of a search grows with N, the
    verification part (a fixed short list) does not, so the whole run costs N^2 x scan + N x rest."""
    # timed on a worker (one thread, thread CPU time): the same process settings as the searches (Dask's
    # workers run single-threaded BLAS; here OpenBLAS's idle threads doubled a small matmul's CPU time)
    scan_per_entry, phases, size = gallery.client.submit(_timings, gallery.shards[0], gallery.centre,
                                                         pure=False).result()
    n = len(gallery)
    fixed = max(per_probe - scan_per_entry * n, 0.0)
    at_national = scan_per_entry * NATIONAL_VOTERS + fixed
    wall = NATIONAL_VOTERS * at_national / PROJECTION_CORES
    print(f"\n-- projection to {NATIONAL_VOTERS:,} voters on {PROJECTION_CORES} cores (CPU time, so the shared "
          f"machine's load does not enter it)")
    print_phases(phases, size)
    print(f"   measured: {per_probe * 1e3:,.1f} worker CPU-ms per search at N = {n:,} (all tasks, Dask included)")
    print(f"   face-code scan: {scan_per_entry * 1e9:.2f} ns CPU per enrolled voter per search (one shard on a worker, batch of 32, median of 5)")
    print(f"   => scan {scan_per_entry * n * 1e3:,.1f} ms + verification/overhead {fixed * 1e3:,.1f} ms per search at N")
    print(f"   dedup = N searches x (N x scan + rest): the scan term grows as N^2, the rest as N")
    print(f"   one search at 9.71 M: {scan_per_entry * 1e9:.2f} ns x {NATIONAL_VOTERS:,} + {fixed * 1e3:,.1f} ms = "
          f"{at_national * 1e3:,.1f} CPU-ms")
    print(f"   wall = {NATIONAL_VOTERS:,} searches x {at_national:.4f} s / {PROJECTION_CORES} cores = "
          f"{wall:,.0f} s = {wall / 3600:.1f} h   (goal <= 24 h; "
          f"scan share {scan_per_entry * NATIONAL_VOTERS / at_national:.0%})")
    return at_national


VIEWS = (1, 3)


def views_section(registry: SyntheticRegistry, at_national: float) -> None:
    """What enrolling every finger from three impressions costs de-duplication: phase 2 compares every
    view of the probe's finger with every view of the candidate's (9 comparisons a finger instead of 1)
    and builds three times the cylinders; phase 1 (the face-code scan) is unchanged. Measured in this
    process on shards of the same records at 1 and 3 views, and added to the projection."""
    size = registry.size
    rows = np.arange(0, size, max(1, size // 64))[:64]
    phases = {}
    for views in VIEWS:
        shard, centre = views_shard(registry, size, views)
        phases[views] = phase_breakdown(shard, centre, rows)
    one, many = phases[VIEWS[0]], phases[VIEWS[-1]]
    extra = (many["verify_ms"] - one["verify_ms"]) / 1e3
    wall = NATIONAL_VOTERS * (at_national + extra) / PROJECTION_CORES
    print(f"\n-- every finger enrolled from {VIEWS[-1]} impressions (shards of {size:,} records in this process, CPU per search)")
    for views, p in phases.items():
        row(f"phase 2 at {views} view{'s' if views > 1 else ''} a finger", f"{p['verify_ms']:.2f} ms",
            f"{p['comparisons']:.0f} finger comparisons; cylinder building {p['build_share']:.0%}")
    row(f"phase 2 cost, {VIEWS[-1]} views against {VIEWS[0]}", f"x {many['verify_ms'] / max(one['verify_ms'], 1e-9):.1f}")
    print(f"   projection with {VIEWS[-1]} views: ({at_national * 1e3:,.1f} + {extra * 1e3:,.1f}) CPU-ms x "
          f"{NATIONAL_VOTERS:,} / {PROJECTION_CORES} cores = {wall / 3600:.1f} h   (goal <= 24 h)")


def _timings(shard: Shard, centre: np.ndarray):
    """On a worker: CPU per code of the face-code scan (median of five batches of 32) and the phases."""
    rows = np.arange(min(32, len(shard)))
    probe = Probes(shard.records[rows], shard.face_vectors[rows].astype(np.float32),
                   [[None] * shard.fingers for _ in rows], centre)
    face_shortlist(shard, probe, 16)
    repeats = []
    for _ in range(5):          # the median of five: one timing of a memory-bound scan swings with the load
        t0 = time.thread_time()
        face_shortlist(shard, probe, 16)
        repeats.append(time.thread_time() - t0)
    scan = float(np.median(repeats)) / (len(rows) * len(shard))
    phases = phase_breakdown(shard, centre, np.arange(0, len(shard), max(1, len(shard) // 64))[:64])
    return scan, phases, len(shard)


def identification_section(gallery: NationalGallery, registry: SyntheticRegistry, count: int, mated: set) -> None:
    rng = np.random.default_rng(77)
    voters = [int(v) for v in rng.choice(registry.size, count * 2, replace=False) if int(v) not in mated][:count]
    threshold = operating.per_comparison_fmr(FPIR, len(gallery))
    times, hits = [], 0
    for v in voters:
        face, fingers = registry.recapture(v, capture=2)
        probe = Probes(np.array([-1]), face[None, :], [[fingers[0]] + [None] * (len(fingers) - 1)], gallery.centre)
        t0 = time.perf_counter()
        found = gallery.search(probe, timeout=30)[0]
        times.append(time.perf_counter() - t0)
        hits += bool(found) and found[0].record == v and found[0].fused_fmr <= threshold
    print(f"\n-- no-card identification over {len(gallery):,}: {len(voters)} booth probes (one finger + face, "
          f"a new capture), one at a time")
    row("latency p50 / p95", f"{percentile(times, 50):.2f} / {percentile(times, 95):.2f} s", "goal p95 <= 2 s")
    row("identified at FPIR 1 %", f"{hits / max(1, len(voters)):.1%}")
