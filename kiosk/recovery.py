"""Start-up recovery of the one window a crash can leave between the registry and the audit log.

Confirming a vote commits it in the registry, then appends its ``vote_marked`` entry. A crash between
the two (power cut, kill -9) leaves a vote the log does not show: the kiosk's end-of-day summary would
be one vote ahead of its log and every later bundle of that kiosk would fail verification. At start,
before any new session, every vote of this kiosk without its entry gets one, marked ``recovered``
(with the vote's own time and official), so the log tells what happened and the counts reconcile.

Votes are matched to entries by the voter's pseudonym; a vote whose pseudonym cannot be known (a
voter without a commission pseudonym) is matched by count.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Callable

log = logging.getLogger("kiosk.recovery")


def logged_votes(entries: list[bytes]) -> Counter:
    """How many ``vote_marked`` entries name each pseudonym (``None``: an entry without one)."""
    seen: Counter = Counter()
    for raw in entries:
        entry = json.loads(raw)
        if entry.get("event") == "vote_marked":
            seen[entry.get("voter")] += 1
    return seen


def unlogged_votes(votes: list[dict], logged: Counter) -> list[dict]:
    """The votes (oldest first) that no ``vote_marked`` entry accounts for."""
    remaining = Counter(logged)
    missing = []
    for vote in votes:
        if vote["pseudonym"] is not None and remaining[vote["pseudonym"]] > 0:
            remaining[vote["pseudonym"]] -= 1
        else:
            missing.append(vote)
    # entries whose pseudonym matched no vote by name (run-key pseudonyms) account for the rest by count
    spare = sum(n for name, n in remaining.items() if n > 0)
    unnamed = [v for v in missing if v["pseudonym"] is None]
    for vote in unnamed[:spare]:
        missing.remove(vote)
    return missing


def recover_unlogged_votes(registry, entries: list[bytes], record: Callable[..., int], kiosk_id: str) -> int:
    """Append a recovered ``vote_marked`` entry for each vote of ``kiosk_id`` the log lacks; return how many."""
    missing = unlogged_votes(registry.kiosk_votes(kiosk_id), logged_votes(entries))
    for vote in missing:
        record("vote_marked", outcome="marked", recovered=True, reason="entry_missing_after_crash",
               voter=vote["pseudonym"], method=vote["method"], official_id=vote["official_id"],
               voted_at=str(vote["voted_at"])[:19])   # to the second: a longer digit run is refused
    if missing:
        log.warning("votes without their audit entry were recovered", extra={"votes": len(missing)})
    return len(missing)
