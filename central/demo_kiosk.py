"""One simulated kiosk process of ``central demo``: a real AuditLog and a real kiosk.sync Pusher.

    python -m central.demo_kiosk PLAN.json

The plan names the kiosk, its log directory and key, the commission URL, the voters (pseudonyms)
it serves and, optionally, a link cut (seconds after start, during which pushes go to a dead
address) or a rewrite (after half its voters the log is deleted and written again with the same
key, as someone covering up would). Voters walk through the booth's audit events; a few are refused
or fall back. Every acknowledged push is appended to ``acks.jsonl`` (for the latency figure).
"""
from __future__ import annotations

import json
import random
import shutil
import sys
import threading
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from kiosk.audit import AuditLog
from kiosk.sync import Pusher

REFUSALS = ("wrong_station", "not_registered", "already_voted")
FALLBACKS = ("fingers_unusable", "face_mismatch_supervisor")


def voter_events(voter: str, rng: random.Random, *, may_refuse: bool = True) -> list[dict]:
    official = f"po-{rng.randint(1, 3)}"
    events = [{"event": "session_started", "official_id": official},
              {"event": "card_read", "official_id": official, "outcome": "read", "voter": voter}]
    roll = rng.random() if may_refuse else max(rng.random(), 0.05)
    if roll < 0.05:
        return events + [{"event": "refusal", "official_id": official, "voter": voter,
                          "reason": rng.choice(REFUSALS)}, {"event": "session_ended", "official_id": official}]
    if roll < 0.13:
        events.append({"event": "fallback", "official_id": official, "voter": voter, "reason": rng.choice(FALLBACKS)})
    return events + [{"event": "match", "official_id": official, "voter": voter, "outcome": "accepted",
                      "score_band": "40-50"},
                     {"event": "ink_check", "official_id": official, "outcome": "clean"},
                     {"event": "vote_marked", "official_id": official, "voter": voter},
                     {"event": "session_ended", "official_id": official}]


def run(plan: dict) -> int:
    root = Path(plan["dir"])
    key = serialization.load_pem_private_key((root / "key.pem").read_bytes(), password=None)
    origin = f"kiosk-audit/{plan['station_id']}/{plan['kiosk_id']}"
    rng = random.Random(plan["seed"])
    acks = open(root / "acks.jsonl", "a", encoding="utf-8")

    def on_ack(first: int, size: int, started: float, ended: float) -> None:
        acks.write(json.dumps({"from": first, "size": size, "started": started, "ended": ended}) + "\n")
        acks.flush()

    def open_log() -> AuditLog:
        return AuditLog.open(root / "audit", key, origin, kiosk_id=plan["kiosk_id"], station_id=plan["station_id"],
                             checkpoint_every=25, checkpoint_interval_s=1.0)

    def start_pusher(log: AuditLog) -> tuple[Pusher, threading.Event, threading.Thread]:
        pusher = Pusher(plan["url"], log.directory, key, log.verifier, root / "sync" / "state.json",
                        before_push=log.checkpoint, timeout_s=10, backoff_cap_s=4, on_ack=on_ack)
        stop = threading.Event()
        thread = threading.Thread(target=pusher.run, args=(stop, plan["push_seconds"]), daemon=True)
        thread.start()
        return pusher, stop, thread

    log = open_log()
    pusher, stop, thread = start_pusher(log)
    started, cut = time.monotonic(), plan.get("link_cut")
    voters, planted = plan["voters"], set(plan.get("planted", ()))   # planted double voters are never refused
    for index, voter in enumerate(voters):
        now = time.monotonic() - started
        pusher.url = plan["dead_url"] + "/api/push" if cut and cut[0] <= now < cut[1] else plan["url"] + "/api/push"
        for event in voter_events(voter, rng, may_refuse=voter not in planted):
            log.append(event)
        if plan.get("rewrite") and index == len(voters) // 2:
            stop.set(), thread.join()
            pusher.url = plan["url"] + "/api/push"
            deadline = time.monotonic() + 60
            while not pusher.sync() and time.monotonic() < deadline:   # the honest half reaches the commission
                time.sleep(0.5)
            log.close()
            shutil.rmtree(root / "audit")             # the log is rewritten from scratch with the same key,
            shutil.rmtree(root / "sync", ignore_errors=True)   # leaving out the first voter's vote
            log = open_log()
            for earlier in voters[1:index + 1]:
                log.append_many(voter_events(earlier, random.Random(earlier)))
            pusher, stop, thread = start_pusher(log)
        time.sleep(plan["pace_seconds"] * rng.uniform(0.5, 1.5))
    pusher.url = plan["url"] + "/api/push"
    stop.set(), thread.join()
    deadline = time.monotonic() + plan.get("final_seconds", 60)
    while not pusher.sync() and time.monotonic() < deadline and not plan.get("rewrite"):
        time.sleep(0.5)
    log.close()
    pusher.before_push = None
    pusher.sync()                                     # the closing checkpoint
    acks.close()
    return 0


if __name__ == "__main__":
    sys.exit(run(json.loads(Path(sys.argv[1]).read_text())))
