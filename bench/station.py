"""Polling station: several kiosk processes marking votes on one PostgreSQL registry, then the same
load with kiosks killed (``kill -9``) and the database server restarted underneath it.

    python -m bench station [--kiosks 8] [--concurrency 100] [--voters 1000] [--kills 20] [--restarts 3]
                            [--pool-size 10] [--seed 13] [--skip-faults] [--skip-fsync-off]

A throw-away PostgreSQL cluster (kiosk/registry/pgcluster.py; Debian's binaries, Unix socket) holds
``--voters`` voters. It is durable as a station server must be (fsync on, full_page_writes on,
synchronous_commit on): every figure is measured so, except one labelled comparison of the clean run
on a cluster with fsync off (what the previous version of this benchmark measured; a power cut could
lose acknowledged votes there, so it is not a configuration to run a station on).
Every voter is tried by 2-8 different kiosks (deliberate overlaps); each kiosk process runs its
attempts ``--concurrency`` at a time (bench/_station_kiosk.py). Figures: marks/s, lookup and
confirmation (mark + audit entry) median and p95, where an attempt's time goes (waiting for a pooled
connection, holding it for the SQL, the audit entry, the rest: Python and the GIL of 100 threads), the
CPU time per attempt of the kiosk processes and of PostgreSQL, and a Little's-law check (attempts in
flight = attempts/s x mean attempt time); then the correctness checks:

* exactly one mark per voter, every other attempt refused and recorded once;
* lost acknowledged marks: an answered ``vote_marked`` audit entry whose vote is not in the database;
* duplicates: a voter answered "marked" for two sessions;
* every kiosk's audit bundle verifies (signed by its trusted key, counts reconciled with its summary).
"""
from __future__ import annotations

import argparse
from argparse import Namespace
import json
import multiprocessing
import os
import random
import secrets
import string
import tempfile
import threading
import time
from pathlib import Path

from bench.common import header, median, percentile, row

STATION = "PS-0001"
GOAL_LOOKUP_MS, GOAL_CONFIRM_MS = 20.0, 50.0     # p95 goals of issue 13


def _session_id(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(16))


def plan(voters: int, kiosks: int, seed: int) -> dict[str, list[tuple[str, str, str, str]]]:
    """Per kiosk, its attempts (voter_id, id_number, session_id, pseudonym), shuffled: each voter is
    tried by between 2 and min(8, kiosks) distinct kiosks."""
    from kiosk.audit import pseudonym

    rng = random.Random(seed)
    names = [f"kiosk-{k + 1:02d}" for k in range(kiosks)]
    work: dict[str, list] = {name: [] for name in names}
    for n in range(voters):
        voter_id, id_number = f"V{n:06d}", f"{100000000 + n}"
        for name in rng.sample(names, rng.randint(2, min(8, kiosks))):
            work[name].append((voter_id, id_number, _session_id(rng), pseudonym(id_number, b"s" * 32)))
    for attempts in work.values():
        rng.shuffle(attempts)
    return work


def populate(url: str, voters: int) -> None:
    from kiosk.registry import Registry

    registry = Registry(url, bytes(32))
    with registry.transaction():
        for n in range(voters):
            registry.add_voter(voter_id=f"V{n:06d}", id_number=f"{100000000 + n}", name="BENCH VOTER",
                               birth_date=None, sex="F", station_id=STATION)
    registry.close()


def _spawn(ctx, url, name, work_dir: Path, key: bytes, attempts, concurrency: int, incarnation: int, ready, go,
           pool_size: int):
    from bench._station_kiosk import run_kiosk

    process = ctx.Process(target=run_kiosk, name=f"{name}#{incarnation}", daemon=True,
                          args=(url, name, STATION, str(work_dir / name / "audit"), key, attempts, concurrency,
                                str(work_dir / name / "timings.jsonl"), str(work_dir / name / "bundle"),
                                ready, go, pool_size))
    process.start()
    return process


def _server_cpu_s(cluster) -> float | None:
    """CPU seconds of the postmaster and of its exited children (the kiosks' backends), from /proc."""
    pid = cluster.postmaster_pid()
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return None
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")    # utime stime cutime cstime


def run(cluster, url: str, work: dict, work_dir: Path, concurrency: int, *, kills: int = 0, restarts: int = 0,
        fault_every_s: float = 1.0, seed: int = 0, pool_size: int = 10) -> dict:
    """Run every kiosk to the end of its attempts; kill kiosks and restart the server meanwhile."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    ctx = multiprocessing.get_context("spawn")
    keys = {name: Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()) for name in work}
    for name in work:
        (work_dir / name).mkdir(parents=True)
    rng = random.Random(seed)
    ready, go = ctx.Semaphore(0), ctx.Event()
    processes = {name: _spawn(ctx, url, name, work_dir, keys[name], work[name], concurrency, 0, ready, go,
                              pool_size) for name in work}
    for _ in work:                       # every kiosk has opened its registry pool and audit log
        if not ready.acquire(timeout=300):
            raise RuntimeError("a kiosk process did not start within 300 s")
    server_cpu = _server_cpu_s(cluster)
    started, started_at = time.perf_counter(), time.time()
    go.set()
    incarnations = {name: 0 for name in work}
    faults = ["kill"] * kills + ["restart"] * restarts
    rng.shuffle(faults)
    done_faults = {"kill": 0, "restart": 0}
    next_fault = time.perf_counter() + fault_every_s
    while any(p.is_alive() for p in processes.values()) or any(p.exitcode not in (0, None) for p in processes.values()):
        for name, process in processes.items():
            if not process.is_alive() and process.exitcode != 0:   # killed: start the kiosk again
                process.join()
                if process.exitcode != -9:
                    raise RuntimeError(f"{process.name} failed on its own (exit code {process.exitcode})")
                incarnations[name] += 1
                processes[name] = _spawn(ctx, url, name, work_dir, keys[name], work[name], concurrency,
                                         incarnations[name], None, None, pool_size)
        if faults and time.perf_counter() >= next_fault:
            fault = faults.pop()
            alive = [p for p in processes.values() if p.is_alive()]
            if fault == "kill" and alive:
                rng.choice(alive).kill()
                done_faults["kill"] += 1
            elif fault == "restart":
                cluster.restart("immediate")      # crash-like: no shutdown checkpoint, recovery on start
                done_faults["restart"] += 1
            next_fault = time.perf_counter() + fault_every_s
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    after = _server_cpu_s(cluster)     # the kiosks have closed their pools: their backends were reaped
    server_cpu_s = after - server_cpu if None not in (after, server_cpu) and not done_faults["restart"] else None
    return {"elapsed": elapsed, "started_at": started_at, "faults": done_faults, "keys": keys,
            "server_cpu_s": server_cpu_s}


def check(url: str, work: dict, work_dir: Path, keys: dict) -> dict:
    """Compare what the kiosks answered (their audit logs) with what the database holds."""
    from kiosk.audit import canonical, default_origin, read_bundle, verify_bundle
    from kiosk.audit.note import Signer
    from kiosk.registry import Registry
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    registry = Registry(url, bytes(32))
    votes = {vote.voter_id: vote.session_id for vote in registry.station_votes(STATION)}
    refusals = registry.count_vote_refusals(STATION)
    registry.close()
    session_voter = {s: v for attempts in work.values() for v, _, s, _ in attempts}
    marked_sessions: dict[str, set] = {}
    bundles_ok, timings, stats = 0, [], []
    for name in work:
        vkey = Signer(default_origin(name, STATION), Ed25519PrivateKey.from_private_bytes(keys[name])).verifier.vkey
        report = verify_bundle(work_dir / name / "bundle", trusted_keys=[vkey])
        bundles_ok += report.ok and bool(report.reconciled)
        for raw in read_bundle(work_dir / name / "bundle").entries.splitlines():
            entry = canonical.decode(raw)
            if entry.get("event") == "vote_marked":
                marked_sessions.setdefault(session_voter[entry["session"]], set()).add(entry["session"])
        path = work_dir / name / "timings.jsonl"
        timings += [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]
        stats_path = work_dir / name / "stats.jsonl"
        if stats_path.exists():
            stats += [json.loads(line) for line in stats_path.read_text().splitlines() if line.endswith("}")]
    attempts = sum(len(a) for a in work.values())
    lost = sum(1 for voter, sessions in marked_sessions.items() if votes.get(voter) not in sessions)
    return {"attempts": attempts, "voters": len(set(session_voter.values())),
            "votes": len(votes), "refusals": refusals, "lost": lost,
            "duplicates": sum(1 for sessions in marked_sessions.values() if len(sessions) > 1),
            "unanswered_votes": len(set(votes) - set(marked_sessions)), "bundles_ok": bundles_ok,
            "timings": timings, "stats": stats}


def _mean(values: list) -> float:
    return sum(values) / len(values) if values else float("nan")


def report(title: str, result: dict, checked: dict, kiosks: int, concurrency: int) -> None:
    t = checked["timings"]
    lookups, confirms, marks, audits = ([x["lookup_ms"] for x in t], [x["confirm_ms"] for x in t],
                                        [x["mark_ms"] for x in t], [x.get("audit_ms", 0.0) for x in t])
    # the load's time: from the start signal to the last answer (each kiosk's end-of-run export after
    # it is not part of the load)
    elapsed = max(x["end"] for x in t) - result["started_at"] if t else result["elapsed"]
    print(f"-- {title}: {kiosks} kiosk processes x {concurrency} concurrent, {checked['attempts']} attempts on "
          f"{checked['voters']} voters, {elapsed:.1f} s from the start signal to the last answer "
          f"({result['elapsed']:.1f} s to the last kiosk's exit)")
    if any(result["faults"].values()):
        row("faults injected", f"{result['faults']['kill']} kill -9, {result['faults']['restart']} restarts")
        row("attempts that waited for the server", f"{sum(1 for x in t if x['waits'])}")
    throughput = checked["attempts"] / elapsed
    row("marks/s (votes marked / wall time)", f"{checked['votes'] / elapsed:.0f}")
    row("attempts/s (marked + refused)", f"{throughput:.0f}")
    row("lookup median / p95 (ms)", f"{median(lookups):.1f} / {percentile(lookups, 95):.1f}", "goal p95 <= 20 ms")
    row("confirmation median / p95 (ms)", f"{median(confirms):.1f} / {percentile(confirms, 95):.1f}",
        "goal p95 <= 50 ms (mark + audit entry)")
    row("  of which marking in the database, median / p95", f"{median(marks):.1f} / {percentile(marks, 95):.1f}")
    row("  of which the audit entry (fsynced), median / p95", f"{median(audits):.1f} / {percentile(audits, 95):.1f}")
    if not any(result["faults"].values()):     # with kills and restarts the queue is not a steady one
        _breakdown(result, checked, kiosks * concurrency, throughput)
    row("voters marked exactly once", f"{checked['votes']} / {checked['voters']}")
    row("second attempts refused and recorded", f"{checked['refusals']} / {checked['attempts'] - checked['voters']}")
    row("lost acknowledged marks", f"{checked['lost']}", "goal 0")
    row("duplicates (voter answered 'marked' twice)", f"{checked['duplicates']}", "goal 0")
    row("votes never answered by any kiosk", f"{checked['unanswered_votes']}", "goal 0")
    row("audit bundles verified + reconciled", f"{checked['bundles_ok']} / {kiosks}")


def _breakdown(result: dict, checked: dict, in_flight: int, throughput: float) -> None:
    """Where an attempt's time goes, the CPU it costs, and Little's law (L = throughput x mean time)."""
    t = [x for x in checked["timings"] if "pool_wait_ms" in x and not x["waits"]]
    if not t:
        return
    total = _mean([x["lookup_ms"] + x["confirm_ms"] for x in t])
    wait, held = _mean([x["pool_wait_ms"] for x in t]), _mean([x["connection_ms"] for x in t])
    audit = _mean([x["audit_ms"] for x in t])
    row("attempts in flight (kiosks x concurrency)", f"{in_flight}")
    row("Little's law: attempts/s x mean attempt time", f"{throughput:.0f}/s x {total:.1f} ms = "
        f"{throughput * total / 1e3:.0f} in flight on average", f"vs {in_flight} offered (fewer at each kiosk's end)")
    goal_s = (GOAL_LOOKUP_MS + GOAL_CONFIRM_MS) / 1e3
    row("attempts/s the goals need with this many in flight", f"{in_flight / goal_s:.0f}",
        f"{in_flight} / ({GOAL_LOOKUP_MS:.0f} + {GOAL_CONFIRM_MS:.0f} ms)")
    row("mean attempt (lookup + confirmation), ms", f"{total:.1f} = pool wait {wait:.1f} + connection held "
        f"{held:.1f} + audit entry {audit:.1f} + rest {total - wait - held - audit:.1f}",
        f"{_mean([x['registry_calls'] for x in t]):.1f} registry calls per attempt")
    row("  (held: SQL and round trips; rest: Python work and waiting for the GIL among the threads)", "")
    stats = checked["stats"]
    attempts = sum(s["attempts"] for s in stats)
    if attempts:
        kiosk_cpu = sum(s["cpu_s"] for s in stats) / attempts * 1e3
        cores = os.cpu_count() or 1
        server = result.get("server_cpu_s")
        server_cpu = server / attempts * 1e3 if server is not None else None
        both = kiosk_cpu + (server_cpu or 0.0)
        bound = cores / both * 1e3
        row("CPU per attempt: kiosk processes / PostgreSQL (ms)",
            f"{kiosk_cpu:.2f} / {server_cpu:.2f}" if server_cpu is not None else f"{kiosk_cpu:.2f} / n/a",
            f"at {cores} cores at most {bound:.0f} attempts/s")
        row("  so with this many in flight an attempt takes at least", f"{in_flight / bound * 1e3:.0f} ms",
            "in flight / CPU-bound attempts/s (Little's law)")


def station_run(cluster, database: str, args, *, kills: int, restarts: int, fault_every_s: float = 1.0) -> dict:
    url = cluster.create_database(database)
    populate(url, args.voters)
    work = plan(args.voters, args.kiosks, args.seed)
    with tempfile.TemporaryDirectory(prefix=f"bench-station-{database}-") as tmp:
        result = run(cluster, url, work, Path(tmp), args.concurrency, kills=kills, restarts=restarts,
                     fault_every_s=fault_every_s, seed=args.seed, pool_size=getattr(args, "pool_size", 10))
        checked = check(url, work, Path(tmp), result["keys"])
    return {"result": result, "checked": checked}


def _correct(checked: dict) -> bool:
    return checked["lost"] == 0 and checked["duplicates"] == 0 and checked["votes"] == checked["voters"] \
        and checked["refusals"] == checked["attempts"] - checked["voters"]


def main(argv: list[str]) -> int:
    from kiosk.registry.pgcluster import PostgresCluster

    parser = argparse.ArgumentParser(prog="python -m bench station")
    parser.add_argument("--kiosks", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--voters", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--pool-size", type=int, default=10, help="connections per kiosk process")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--skip-faults", action="store_true")
    parser.add_argument("--skip-fsync-off", action="store_true", help="skip the fsync-off comparison run")
    args = parser.parse_args(argv)
    header("station: kiosk processes on one PostgreSQL registry")
    print(f"cores: {os.cpu_count()}; load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"pool {args.pool_size} connections per kiosk")
    ok = True
    with PostgresCluster(max_connections=300, durable=True) as cluster:
        print("cluster: durable (fsync on, full_page_writes on, synchronous_commit on)")
        clean = station_run(cluster, "clean", args, kills=0, restarts=0)
        report("clean run", clean["result"], clean["checked"], args.kiosks, args.concurrency)
        ok &= _correct(clean["checked"])
        # Little's law: with kiosks x concurrency attempts always in flight, latency = in flight / throughput,
        # so the saturated run's p95 measures the queue. One attempt in flight per kiosk measures the service.
        light = Namespace(**{**vars(args), "concurrency": 1, "voters": min(args.voters, 200)})
        service = station_run(cluster, "service", light, kills=0, restarts=0)
        report("service time (one attempt in flight per kiosk)", service["result"], service["checked"],
               args.kiosks, 1)
        ok &= _correct(service["checked"])
        if not args.skip_faults:
            # spread the faults over about the clean run's duration, so they land while the load runs
            every = max(0.3, clean["result"]["elapsed"] / (args.kills + args.restarts + 1))
            faulty = station_run(cluster, "faults", args, kills=args.kills, restarts=args.restarts,
                                 fault_every_s=every)
            report("fault run", faulty["result"], faulty["checked"], args.kiosks, args.concurrency)
            ok &= _correct(faulty["checked"]) and faulty["checked"]["bundles_ok"] == args.kiosks
    if not args.skip_fsync_off:
        with PostgresCluster(max_connections=300, durable=False) as cluster:
            print("comparison only, NOT a station configuration: the clean run on a cluster with fsync off "
                  "(a power cut may lose acknowledged votes)")
            fast = station_run(cluster, "clean", args, kills=0, restarts=0)
            report("clean run, fsync off (comparison)", fast["result"], fast["checked"], args.kiosks, args.concurrency)
    return 0 if ok else 1
