"""Commission server: verified ingest rate, double-vote latency, storage per entry, national projection,
and the simulated election (``central demo``: 20 kiosk processes, 5 stations, link cuts, a server
restart, one rewritten log, 3 planted double voters).

    python -m bench central [--kiosks 4] [--voters 1200] [--trials 15] [--skip-demo]

The server runs as its own process (``python -m central serve`` under waitress, SQLite); the
benchmark only sends pre-built signed pushes, so the rate is the server's verify-and-store rate.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import header, median, percentile
from central.auth import hash_password
from central.demo import ServerProcess, _get, _post, free_port, run_demo
from central.demo_kiosk import voter_events
from central.store import Store
from kiosk.audit import AuditLog
from kiosk.sync.push import SIGNATURE_HEADER, build_push

STATIONS, VOTERS_PER_STATION = 10_000, 750


def _send(url: str, push) -> dict:
    request = urllib.request.Request(url + "/api/push", data=push.body, method="POST",
                                     headers={"Content-Type": "application/json", SIGNATURE_HEADER: push.signature})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def _kiosk_log(root: Path, station: str, kiosk: str, voters: int, rng: random.Random) -> tuple[AuditLog, object]:
    key = Ed25519PrivateKey.generate()
    log = AuditLog.open(root, key, f"kiosk-audit/{station}/{kiosk}", kiosk_id=kiosk, station_id=station)
    events = []
    for v in range(voters):
        events += voter_events(f"{rng.getrandbits(256):064x}", rng)
    for start in range(0, len(events), 100):     # a checkpoint every 100 entries, as on a kiosk
        log.append_many(events[start:start + 100])
    log.checkpoint()
    return log, key


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), so a loaded machine does not hide the server's cost."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_ingest(work: Path, kiosks: int, voters: int) -> dict:
    rng = random.Random(7)
    database_url = f"sqlite:///{work / 'ingest.sqlite3'}"
    store = Store.open(database_url)
    logs, chains = [], []
    for k in range(kiosks):
        log, key = _kiosk_log(work / f"k{k}", f"PS-{k:04d}", f"kiosk-{k:02d}", voters, rng)
        store.enrol_kiosk(log.kiosk_id, log.station_id, log.verifier.vkey, "2026-01-01T00:00:00.000000Z")
        pushes, size = [], 0
        while size < log.size:
            push = build_push(log.directory, key, log.verifier, size)
            pushes.append(push)
            size = push.size
        logs.append(log)
        chains.append(pushes)
    store.close()
    entries = sum(log.size for log in logs)
    server = ServerProcess(database_url, free_port(), work / "ingest-server.log").start()
    failures = []

    def push_all(pushes):
        for push in pushes:
            reply = _send(server.url, push)
            if reply.get("status") != "stored":
                failures.append(reply)

    threads = [threading.Thread(target=push_all, args=(c,)) for c in chains]
    cpu_before = _cpu_seconds(server.process.pid)
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds(server.process.pid) - cpu_before
    server.stop()
    store = Store.open(database_url)
    store.db.read("PRAGMA wal_checkpoint(TRUNCATE)")
    stored, size_bytes = store.counts()["entries"], store.storage_bytes()
    store.close()
    for log in logs:
        log.close()
    events_per_voter = statistics.mean(len(voter_events("0" * 64, random.Random(i))) for i in range(5000))
    return {"entries": entries, "stored": stored, "seconds": elapsed, "rate": entries / elapsed,
            "cpu_seconds": cpu, "cpu_rate": entries / max(cpu, 1e-9), "load": os.getloadavg()[0],
            "pushes": sum(len(c) for c in chains), "failures": failures, "bytes": size_bytes,
            "bytes_per_entry": size_bytes / max(stored, 1), "events_per_voter": events_per_voter}


def measure_latency(work: Path, trials: int) -> list[float]:
    """Seconds from the start of the second kiosk's push to the double vote in the officials' API."""
    database_url = f"sqlite:///{work / 'latency.sqlite3'}"
    store = Store.open(database_url)
    password = secrets.token_urlsafe(12)
    store.add_official("monitor", hash_password(password), "monitor", "bench")
    kiosks = []
    for k, station in enumerate(("PS-0001", "PS-0002")):
        key = Ed25519PrivateKey.generate()
        log = AuditLog.open(work / f"lat{k}", key, f"kiosk-audit/{station}/kiosk-{k}", kiosk_id=f"kiosk-{k}",
                            station_id=station)
        store.enrol_kiosk(log.kiosk_id, station, log.verifier.vkey, "2026-01-01T00:00:00.000000Z")
        kiosks.append([log, key, 0])
    store.close()
    server = ServerProcess(database_url, free_port(), work / "latency-server.log").start()
    token = _post(server.url + "/api/auth/sign-in", {"username": "monitor", "password": password})["token"]
    out = []
    rng = random.Random(3)
    for _ in range(trials):
        voter = f"{rng.getrandbits(256):064x}"
        times = []
        for kiosk in kiosks:
            log, key, size = kiosk
            log.append_many(voter_events(f"{rng.getrandbits(256):064x}", rng) * 5)   # other voters around it
            log.append({"event": "vote_marked", "official_id": "po-1", "voter": voter})
            log.checkpoint()
            push = build_push(log.directory, key, log.verifier, size)
            times.append(time.perf_counter())
            kiosk[2] = _send(server.url, push)["size"]
        while not any(d["voter"] == voter for d in _get(server.url + "/api/reports/alerts", token)["double_votes"]):
            time.sleep(0.01)
        out.append(time.perf_counter() - times[-1])
    server.stop()
    for log, _, _ in kiosks:
        log.close()
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench central")
    parser.add_argument("--kiosks", type=int, default=4, help="kiosks pushing at once in the ingest run")
    parser.add_argument("--voters", type=int, default=1200, help="voters per kiosk in the ingest run")
    parser.add_argument("--trials", type=int, default=15, help="double votes timed")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--demo-voters", type=int, default=40)
    args = parser.parse_args(argv)
    header("commission server (central): verified ingest, double-vote latency, storage, projection")
    print(f"   server: one waitress process (8 threads) on SQLite; {os.cpu_count()} cores shared with the client"
          " and with other work on this machine")
    with tempfile.TemporaryDirectory(prefix="bench-central-") as tmp:
        work = Path(tmp)
        ingest = measure_ingest(work, args.kiosks, args.voters)
        rate = ingest["rate"]
        print(f"verified ingest: {ingest['entries']:,} entries from {args.kiosks} kiosks in {ingest['pushes']} pushes, "
              f"{ingest['seconds']:.2f} s -> {rate:,.0f} entries/s (target >= 5,000) "
              f"{'PASS' if rate >= 5000 else 'MISS'}; stored {ingest['stored']:,}, refused {len(ingest['failures'])}")
        print(f"   server CPU: {ingest['cpu_seconds']:.2f} s -> {ingest['cpu_rate']:,.0f} entries per CPU-second "
              f"(one process; load average {ingest['load']:.1f} on {os.cpu_count()} cores during the run)")
        print(f"storage per entry (SQLite, entries + votes + checkpoints + indexes): "
              f"{ingest['bytes_per_entry']:,.0f} bytes ({ingest['bytes'] / 1e6:.1f} MB for {ingest['stored']:,})")
        latency = measure_latency(work, args.trials)
        print(f"double vote reported after the second push started: median {median(latency):.3f} s, "
              f"p95 {percentile(latency, 95):.3f} s, max {max(latency):.3f} s over {len(latency)} trials "
              f"(target <= 5 s) {'PASS' if max(latency) <= 5 else 'MISS'}")
        per_voter = ingest["events_per_voter"]
        total = STATIONS * VOTERS_PER_STATION * per_voter
        print(f"projection, {STATIONS:,} stations x {VOTERS_PER_STATION} voters x {per_voter:.2f} entries per voter "
              f"(the demo kiosk's event mix) = {total / 1e6:,.1f} M entries: ingest {total / rate / 3600:.2f} h "
              f"on one server process at the measured rate; storage {total * ingest['bytes_per_entry'] / 1e9:,.1f} GB")
        if not args.skip_demo:
            print("simulated election (central demo):", flush=True)
            result = run_demo(kiosks=20, stations=5, voters_per_kiosk=args.demo_voters, work_dir=str(work / "demo"))
            if not result["ok"]:
                return 1
    return 0 if rate >= 5000 else 1
