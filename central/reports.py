"""What the commission's pages and JSON API show, computed from the store (one function per view)."""
from __future__ import annotations

from datetime import datetime, timedelta


def silent_kiosks(kiosks: list[dict], now: str, minutes: int) -> list[dict]:
    """Kiosks whose last successful push is older than ``minutes`` (or that never pushed)."""
    limit = (datetime.strptime(now, "%Y-%m-%dT%H:%M:%S.%fZ") - timedelta(minutes=minutes)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    return [k for k in kiosks if k["last_push_at"] is None or k["last_push_at"] < limit]


def report(store, name: str, *, now: str, minutes: int) -> dict:
    if name == "turnout":
        return {"turnout": store.turnout()}
    if name == "refusals":
        return {"refusals_and_fallbacks": store.refusals_and_fallbacks()}
    if name == "silent":
        return {"minutes": minutes, "silent": silent_kiosks(store.kiosks(), now, minutes)}
    if name == "alerts":
        return {"forks": store.forks(), "double_votes": store.double_votes()}
    if name == "kiosks":
        return {"kiosks": store.kiosks()}
    raise KeyError(name)


REPORTS = ("turnout", "refusals", "silent", "alerts", "kiosks")
