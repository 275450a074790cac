"""One kiosk process of ``python -m bench station``: confirmations against the shared registry.

For each attempt (voter, session) it does what a booth does at the two registry moments of a
session: the lookup by ID number (card read) and the confirmation (mark the vote, then write the
audit entry the booth's answer waits for). ``concurrency`` attempts run at once on threads sharing
one Registry (one connection pool), as a kiosk's API threads do.

Crash-safety as a real kiosk needs it: the audit log is this kiosk's memory of what it answered. A
process started again after ``kill -9`` reopens the log (which repairs a torn tail), skips the
sessions it already answered, and retries the others with the SAME session id, so a vote that
committed just before the kill comes back as the same vote, not a second-vote attempt. While the
registry server is away (RegistryUnavailable) the attempt waits and retries, as an official
pressing the button again would; nothing is answered until the database has committed.
"""
from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RETRY_PAUSE_S = 0.2
GIVE_UP_AFTER_S = 120.0


def _answered_sessions(log) -> set[str]:
    from kiosk.audit import canonical

    entries, _, _ = log.snapshot()
    done = set()
    for raw in entries:
        entry = canonical.decode(raw)
        if entry.get("event") in ("vote_marked", "session_ended") and "session" in entry:
            done.add(entry["session"])
    return done


def run_kiosk(url: str, kiosk_id: str, station_id: str, audit_dir: str, key_bytes: bytes,
              attempts: list[tuple[str, str, str, str]], concurrency: int, timings_path: str,
              export_to: str | None, ready=None, go=None, pool_size: int = 10) -> None:
    """``attempts``: (voter_id, id_number, session_id, voter_pseudonym). Appends one JSON line per
    answered attempt to ``timings_path``, and at the end one line to ``stats.jsonl`` beside it (the
    pool's counters and this process's CPU time for the attempts); exports a bundle with the kiosk's
    summary at the end."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kiosk.audit import AuditLog, default_origin, export_bundle
    from kiosk.registry import AlreadyVoted, Registry, RegistryUnavailable

    key = Ed25519PrivateKey.from_private_bytes(key_bytes)
    log = AuditLog.open(audit_dir, key, default_origin(kiosk_id, station_id), kiosk_id=kiosk_id,
                        station_id=station_id, checkpoint_every=200)
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)   # a reconnect warning per outage per connection
    spent = threading.local()      # per attempt (one thread each): connection waits and holds, summed

    def trace(waited: float, held: float) -> None:
        spent.wait, spent.held, spent.calls = (getattr(spent, "wait", 0.0) + waited,
                                               getattr(spent, "held", 0.0) + held, getattr(spent, "calls", 0) + 1)
    registry = None
    while registry is None:        # started while the server is down: wait for it, as a supervisor restarting
        try:                       # the kiosk service would
            registry = Registry(url, bytes(32), pool_max_size=pool_size, connection_trace=trace)
        except RegistryUnavailable:
            time.sleep(RETRY_PAUSE_S)
    done = _answered_sessions(log)
    timings = open(timings_path, "a", buffering=1, encoding="utf-8")   # line-buffered: survives kill -9
    official = f"po-{kiosk_id[-2:]}"

    def patiently(call):
        deadline, waited = time.monotonic() + GIVE_UP_AFTER_S, 0
        while True:
            try:
                return call(), waited
            except RegistryUnavailable:
                if time.monotonic() > deadline:
                    raise
                waited += 1
                time.sleep(RETRY_PAUSE_S)

    def attempt(item) -> None:
        voter_id, id_number, session, voter = item
        spent.wait, spent.held, spent.calls = 0.0, 0.0, 0
        t0 = time.perf_counter()
        _, waits_lookup = patiently(lambda: registry.find_voter(id_number))
        t1 = time.perf_counter()

        def confirm():
            try:
                return registry.mark_voted(voter_id, kiosk_id=kiosk_id, station_id=station_id, official_id=official,
                                           method="biometric", session_id=session)
            except AlreadyVoted:
                return None
        vote, waits_confirm = patiently(confirm)
        t_mark = time.perf_counter()
        if vote is not None:
            log.append({"event": "vote_marked", "session": session, "voter": voter, "official_id": official,
                        "outcome": "marked", "method": "biometric", "confirmed_by": official})
        else:
            log.append({"event": "session_ended", "session": session, "voter": voter, "official_id": official,
                        "outcome": "already_voted", "reason": "second_attempt", "method": "biometric",
                        "flagged": True})
        t2 = time.perf_counter()
        timings.write(json.dumps({"kiosk": kiosk_id, "voter": voter_id, "session": session,
                                  "outcome": "marked" if vote is not None else "refused",
                                  "lookup_ms": (t1 - t0) * 1e3, "confirm_ms": (t2 - t1) * 1e3,
                                  "mark_ms": (t_mark - t1) * 1e3, "audit_ms": (t2 - t_mark) * 1e3,
                                  "pool_wait_ms": spent.wait * 1e3, "connection_ms": spent.held * 1e3,
                                  "registry_calls": spent.calls,
                                  "end": time.time(), "waits": waits_lookup + waits_confirm}) + "\n")

    todo = [a for a in attempts if a[2] not in done]
    if ready is not None:      # all kiosks start together, after their start-up, so marks/s is the load's
        ready.release()
        go.wait()
    cpu_before, stats_before = time.process_time(), registry.pool_stats()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(attempt, todo))
    stats_after = registry.pool_stats()
    with open(Path(timings_path).with_name("stats.jsonl"), "a", encoding="utf-8") as out:
        out.write(json.dumps({"attempts": len(todo), "cpu_s": time.process_time() - cpu_before,
                              "pool_size": pool_size, "threads": concurrency,
                              **{key: stats_after.get(key, 0) - stats_before.get(key, 0)
                                 for key in ("requests_num", "requests_queued", "requests_wait_ms", "usage_ms")}})
                  + "\n")
    if export_to:
        shutil.rmtree(export_to, ignore_errors=True)    # half written by an incarnation killed while exporting
        summary, _ = patiently(lambda: registry.summary(station_id, kiosk_id=kiosk_id))  # a restart may be under way
        export_bundle(log, Path(export_to), official_id=official, summary=summary)
    log.close()
    registry.close()
    timings.close()
