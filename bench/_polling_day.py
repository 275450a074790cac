"""Synthetic polling days written as real audit logs: the input of the report benchmark and tests.

Each kiosk gets its own signed log (``kiosk.audit.AuditLog``, the kiosk's real writer) holding the
events the booth workflow writes for each voter session, exported as a bundle whose end-of-day
summary reconciles. Seeded, so a figure or a test can be reproduced. Planted, so a report can be
checked: ``Planted`` says which kiosk's fallback rate is inflated, which supervisor approves most
fallbacks and in which hour one station's refusals cluster.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.audit import AuditLog, default_origin, export_bundle
from kiosk.audit.note import Signer

OPENING = datetime(2026, 7, 26, 0, 0, tzinfo=timezone.utc)   # 07:00 in Phnom Penh
HOURS_OPEN = 8
BANDS_ACCEPTED = ["40-50", "50-60", "60-70", "70-80", "80-90", "90-100", "100+"]
BANDS_REJECTED = ["0-10", "10-20", "20-30", "30-40"]


@dataclass
class Planted:
    """What a generated day hides, for a report to find."""
    high_fallback_kiosk: tuple[str, str] | None = None       # (station, kiosk)
    busy_supervisor: tuple[str, str] | None = None            # (station, supervisor)
    refusal_hour: tuple[str, int] | None = None               # (station, hour offset from opening)


@dataclass
class Day:
    bundles: list[Path] = field(default_factory=list)
    trusted_keys: list[str] = field(default_factory=list)
    planted: Planted = field(default_factory=Planted)
    entries: int = 0


class _Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _voter(station: int, n: int) -> str:
    return hashlib.sha256(f"synthetic-voter/{station}/{n}".encode()).hexdigest()


def _session(rng: random.Random, *, sid: str, official: str, supervisors: list[str], voter: str,
             fallback_rate: float, refusal_rate: float, busy_supervisor: str | None) -> tuple[list[dict], dict]:
    """One voter session's events and its tallies."""
    def supervisor() -> str:
        if busy_supervisor and rng.random() < 0.8:
            return busy_supervisor
        return rng.choice(supervisors)

    base = {"session": sid, "official_id": official}
    events = [{"event": "session_started", **base}]
    tally = {"votes_marked": 0, "fallbacks": 0, "refused": 0}
    if rng.random() < 0.01:
        events.append({"event": "card_read", **base, "voter": voter, "outcome": "read"})
        events.append({"event": "session_ended", **base, "voter": voter, "outcome": "already_voted",
                       "reason": "vote_already_marked", "method": "biometric", "flagged": True})
        return events, tally
    method, fallback_reason, approver = "biometric", None, None
    if rng.random() < fallback_rate:
        method = rng.choice(["fallback_face_only", "fallback_no_card"])
        fallback_reason, approver = rng.choice(["worn_fingerprints", "injured_hand", "card_lost"]), supervisor()
        kind = "face_only_approved" if method == "fallback_face_only" else "no_card_approved"
        events.append({"event": "override", **base, "voter": voter, "kind": kind, "reason": fallback_reason,
                       "supervisor_id": approver})
    else:
        events.append({"event": "card_read", **base, "voter": voter, "outcome": "read"})
        events.append({"event": "capture", **base, "voter": voter, "modality": "finger", "outcome": "ok"})
    refused = rng.random() < refusal_rate
    ink = refused and rng.random() < 0.3
    accepted = not refused or ink
    band = rng.choice(BANDS_ACCEPTED if accepted else BANDS_REJECTED)
    events.append({"event": "match", **base, "voter": voter, "modality": "fused",
                   "outcome": "accepted" if accepted else "rejected", "score_band": band})
    outcome, reason = "verified", None
    if accepted:
        events.append({"event": "ink_check", **base, "voter": voter, "outcome": "ink" if ink else "no_ink"})
        if not ink and rng.random() < 0.02:
            events.append({"event": "override", **base, "voter": voter, "kind": "ink_checked_by_eye",
                           "outcome": "no_ink"})
    if refused:
        outcome, reason = "refused", "ink_detected" if ink else "not_verified"
    else:
        events.append({"event": "vote_marked", **base, "voter": voter, "outcome": "marked", "method": method,
                       "confirmed_by": official})
        tally["votes_marked"] = 1
    if method != "biometric":
        events.append({"event": "fallback", **base, "voter": voter, "kind": method, "outcome": outcome,
                       "reason": fallback_reason, "supervisor_id": approver})
        tally["fallbacks"] = 1
    if refused:
        events.append({"event": "refusal", **base, "voter": voter, "outcome": "refused", "reason": reason,
                       "method": method})
        tally["refused"] = 1
    events.append({"event": "session_ended", **base, "voter": voter, "outcome": outcome, "reason": reason,
                   "method": method, "flagged": True if ink else None})
    return events, tally


def write_day(out: str | Path, *, stations: int = 5, kiosks_per_station: int = 4, voters_per_station: int = 750,
              seed: int = 0, plant: bool = True, cosign: bool = True) -> Day:
    """Write one polling day: a log directory and a ``.kab`` bundle per kiosk under ``out``."""
    rng = random.Random(seed)
    out = Path(out)
    day = Day()
    if plant:   # each at its own station, so one cannot explain another
        name = lambda n: f"PS-{min(n, stations):04d}"  # noqa: E731
        day.planted = Planted(high_fallback_kiosk=(name(2), f"kiosk-{kiosks_per_station:02d}"),
                              busy_supervisor=(name(3), f"sup-{name(3)}-b"), refusal_hour=(name(4), 5))
    officer = Signer("presiding-officer", Ed25519PrivateKey.generate())
    for s in range(1, stations + 1):
        station = f"PS-{s:04d}"
        supervisors = [f"sup-{station}-a", f"sup-{station}-b", f"sup-{station}-c"]
        busy = day.planted.busy_supervisor[1] if day.planted.busy_supervisor and day.planted.busy_supervisor[0] == station else None
        voters = list(range(voters_per_station))
        rng.shuffle(voters)
        for k in range(1, kiosks_per_station + 1):
            kiosk = f"kiosk-{k:02d}"
            key = Ed25519PrivateKey.generate()
            clock = _Clock(OPENING - timedelta(minutes=10))
            log = AuditLog.open(out / station / kiosk, key, default_origin(kiosk, station), kiosk_id=kiosk,
                                station_id=station, clock=clock, checkpoint_every=200, checkpoint_interval_s=1800)
            day.trusted_keys.append(log.verifier.vkey)
            log.append({"event": "boot", "reason": "service_start"})
            mine = voters[k - 1::kiosks_per_station]
            fallback_rate = 0.25 if (station, kiosk) == day.planted.high_fallback_kiosk else 0.15 if busy else 0.03
            totals = {"votes_marked": 0, "fallbacks": 0, "refused": 0}
            step = timedelta(hours=HOURS_OPEN) / max(1, len(mine))
            for n, voter in enumerate(mine):
                clock.now = OPENING + step * n + timedelta(seconds=rng.randint(0, 30))
                hour = int((clock.now - OPENING).total_seconds() // 3600)
                refusal_rate = 0.35 if day.planted.refusal_hour == (station, hour) else 0.02
                events, tally = _session(rng, sid=f"{kiosk}-{n:05d}", official=f"po-{station}-{k}",
                                         supervisors=supervisors, voter=_voter(s, voter),
                                         fallback_rate=fallback_rate, refusal_rate=refusal_rate, busy_supervisor=busy)
                log.append_many([{key_: v for key_, v in e.items() if v is not None} for e in events])
                day.entries += len(events)
                for name, value in tally.items():
                    totals[name] += value
            clock.now = OPENING + timedelta(hours=HOURS_OPEN, minutes=5)
            bundle = export_bundle(log, out / f"{station}-{kiosk}.kab", official_id=f"po-{station}-{k}",
                                   summary=totals)
            log.close()
            day.entries += 3
            if cosign:
                from kiosk.audit import cosign_bundle
                cosign_bundle(bundle, officer)
            day.bundles.append(Path(bundle))
    return day

