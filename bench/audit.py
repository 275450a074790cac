"""Audit log: append throughput (fsync per entry, batched, group commit across threads) and verify speed.

    python -m bench audit [--entries N] [--verify-entries N] [--dir PATH]

Runs in a temporary directory on the same file system as --dir (default: the system temp dir);
fsync figures are only meaningful on a real disk, not on tmpfs.
"""
from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import header, median, percentile, row
from kiosk.audit import AuditLog, export_bundle, pseudonym, verify_bundle
from kiosk.audit.prove import inclusion_proof_document, verify_proof_document

ORIGIN = "kiosk-audit/PS-0001/bench"
VOTER = pseudonym("123456789", b"k" * 32)


def _event(i: int) -> dict:
    return {"event": "match", "official_id": f"po-{i % 3}", "voter": VOTER, "outcome": "accepted",
            "score_band": "40-50", "reason": "none"}


def _open(directory: Path, key) -> AuditLog:
    return AuditLog.open(directory, key, ORIGIN, kiosk_id="bench", station_id="PS-0001", checkpoint_every=100)


def _single(directory: Path, key, n: int) -> tuple[float, list[float]]:
    latencies = []
    with _open(directory, key) as log:
        t0 = time.perf_counter()
        for i in range(n):
            s = time.perf_counter()
            log.append(_event(i))
            latencies.append(time.perf_counter() - s)
        elapsed = time.perf_counter() - t0
    return n / elapsed, latencies


def _batched(directory: Path, key, n: int, batch: int) -> float:
    with _open(directory, key) as log:
        t0 = time.perf_counter()
        for start in range(0, n, batch):
            log.append_many([_event(i) for i in range(start, min(n, start + batch))])
        return n / (time.perf_counter() - t0)


def _threads(directory: Path, key, n: int, threads: int) -> float:
    with _open(directory, key) as log:
        per = n // threads
        workers = [threading.Thread(target=lambda: [log.append(_event(i)) for i in range(per)])
                   for _ in range(threads)]
        t0 = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return per * threads / (time.perf_counter() - t0)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench audit")
    parser.add_argument("--entries", type=int, default=400, help="appends timed with fsync per entry")
    parser.add_argument("--verify-entries", type=int, default=20000, help="size of the bundle verified")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    header("audit log: append throughput and offline verify speed")
    key = Ed25519PrivateKey.generate()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        print(f"   directory: {root}")
        rate, lat = _single(root / "single", key, args.entries)
        row("append, fsync per entry (entries/s)", f"{rate:,.0f}", "target >= 50/s (a booth makes < 1/s)")
        row("append latency median / p95 (ms)",
            f"{median(lat) * 1e3:.2f} / {percentile(lat, 95) * 1e3:.2f}", "target p95 < 50 ms")
        for batch in (10, 100):
            rate_b = _batched(root / f"batch{batch}", key, args.entries * 10, batch)
            row(f"append_many, batches of {batch} (entries/s)", f"{rate_b:,.0f}",
                f"{rate_b / rate:.1f}x fsync-per-entry")
        rate_t = _threads(root / "threads", key, args.entries * 2, 8)
        row("append, 8 threads, group commit (entries/s)", f"{rate_t:,.0f}", f"{rate_t / rate:.1f}x one thread")

        with _open(root / "big", key) as log:
            for start in range(0, args.verify_entries, 1000):
                log.append_many([_event(i) for i in range(start, min(args.verify_entries, start + 1000))])
            bundle = export_bundle(log, root / "bundle.kab")
        times, cpu = [], []
        for _ in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            report = verify_bundle(bundle)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            assert report.ok, report.error
        best = median(times)
        row("entry size in the bundle (bytes, canonical JSON)",
            f"{bundle.stat().st_size / report.entries:,.0f}", "")
        row(f"verify bundle of {report.entries:,} entries, {report.checkpoints} checkpoints (s)",
            f"{best:.2f}", "target < 10 s for a polling day (~15,000 entries)")
        row("verify speed (entries/s, wall clock)", f"{report.entries / best:,.0f}", "target >= 1,500/s")
        row("verify speed (entries/s, CPU time of this process)", f"{report.entries / median(cpu):,.0f}",
            "differs from wall clock when the machine is shared")
        t0 = time.perf_counter()
        document = inclusion_proof_document(bundle, report.entries // 2)
        verify_proof_document(document)
        row("prove + check one entry, incl. bundle verify (s)", f"{time.perf_counter() - t0:.2f}",
            f"proof has {len(document['proof'])} hashes")
    return 0
