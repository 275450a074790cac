"""kill -9 at random moments never loses an acknowledged entry, and the log always verifies after restart.

The writer is this file run as a script: two threads append (single entries and batches) and print
"<seq> <event>" only after append returned, i.e. after fsync. The test kills it with SIGKILL at a
random moment (during start-up and recovery, mid-append, mid-checkpoint), reopens the log, and
checks every acknowledged entry is there with the right content and the whole log verifies.
"""
from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from pathlib import Path

ORIGIN = "kiosk-audit/PS-0009/kiosk-crash"
KIOSK = {"kiosk_id": "kiosk-crash", "station_id": "PS-0009"}


def _load_key(path: Path):
    from cryptography.hazmat.primitives import serialization
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def writer(directory: str, key_path: str, seed: int) -> None:
    from kiosk.audit import AuditLog
    log = AuditLog.open(directory, _load_key(Path(key_path)), ORIGIN, checkpoint_every=7, **KIOSK)
    print("ready", flush=True)
    out = threading.Lock()

    def run(rng: random.Random) -> None:
        while True:
            if rng.random() < 0.3:
                events = [rng.choice(["capture", "ink_check", "lamp_on"]) for _ in range(rng.randint(2, 6))]
                seqs = log.append_many([{"event": e} for e in events])
                lines = "".join(f"{s} {e}\n" for s, e in zip(seqs, events))
            else:
                event = rng.choice(["match", "fallback", "vote_marked"])
                lines = f"{log.append({'event': event})} {event}\n"
            with out:
                sys.stdout.write(lines)
                sys.stdout.flush()

    threads = [threading.Thread(target=run, args=(random.Random(seed * 10 + i),), daemon=True) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _run_and_kill(directory: Path, key_path: Path, seed: int, rng: random.Random) -> dict[int, str]:
    """Start a writer, SIGKILL it at a random moment, return the entries it acknowledged."""
    proc = subprocess.Popen([sys.executable, __file__, str(directory), str(key_path), str(seed)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: list[bytes] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            if line == b"ready\n":
                ready.set()
            else:
                lines.append(line)
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if rng.random() < 0.2:
        time.sleep(rng.uniform(0.0, 1.5))  # during start-up or recovery
    else:
        ready.wait(30)
        time.sleep(rng.uniform(0.0, 0.25))  # mid-append, mid-fsync or mid-checkpoint
    proc.kill()  # SIGKILL: no handlers, no flushing, no closing
    proc.wait()
    reader.join()
    acknowledged = {}
    for line in lines:
        if line.endswith(b"\n"):  # a line cut short by the kill was never complete
            seq, event = line.decode().split()
            acknowledged[int(seq)] = event
    return acknowledged


def test_sigkill_at_random_moments_never_loses_an_acknowledged_entry(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kiosk.audit import AuditLog, export_bundle, verify_bundle
    from kiosk.audit import canonical, layout, records

    key = Ed25519PrivateKey.generate()
    key_path = tmp_path / "signing.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    directory = tmp_path / "audit"
    rng = random.Random(20260503)
    acknowledged: dict[int, str] = {}
    runs, writes_seen, started = 0, 0, time.monotonic()
    while runs < 40 and (runs < 10 or time.monotonic() - started < 35):
        got = _run_and_kill(directory, key_path, runs, rng)
        writes_seen += bool(got)
        acknowledged.update(got)
        runs += 1
        # restart: recovery must succeed and keep every acknowledged entry
        with AuditLog.open(directory, key, ORIGIN, **KIOSK) as log:
            assert log.size > max(acknowledged, default=-1)
        entries = [canonical.decode(e) for e in
                   records.scan((directory / layout.ENTRIES_LOG).read_bytes()).entries]
        for seq, event in acknowledged.items():
            assert entries[seq]["seq"] == seq and entries[seq]["event"] == event, f"run {runs}: lost entry {seq}"
        report = verify_bundle(export_bundle(directory, tmp_path / f"bundle-{runs}"))
        assert report.ok, f"run {runs}: {report.error}"
    print(f"{runs} SIGKILLs, {writes_seen} mid-write, {len(acknowledged)} acknowledged entries all kept")
    assert writes_seen >= runs // 2, "the writer rarely got to append before being killed; test proves little"
    assert len(acknowledged) > 100


if __name__ == "__main__":
    writer(sys.argv[1], sys.argv[2], int(sys.argv[3]))
