"""What one kiosk's verified log says about its day: pure functions over the entries.

Every figure here is a count of entries the booth workflow writes (docs/audit.md): ``vote_marked``
for turnout, ``session_ended`` for decisions, ``refusal`` for refusals and their reasons,
``fallback`` and ``override`` for fallbacks and who approved them, the fused ``match`` for score
bands, ``ink_check`` for ink findings. Times are UTC in the log; ``utc_offset_hours`` shifts the
hours shown to the station's local time.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
FALLBACK_KINDS = {"fallback_face_only": "face only", "fallback_no_card": "no card",
                  "fallback_no_card_face_only": "no card, face only"}
EYE_CHECK = "ink checked by eye"
BAND_ORDER = ["0-10", "10-20", "20-30", "30-40", "40-50", "50-60", "60-70", "70-80", "80-90", "90-100", "100+"]


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Gap:
    start: str          # time of the last entry before the silence (UTC)
    end: str            # time of the first entry after it
    minutes: int


@dataclass
class KioskFacts:
    station_id: str
    kiosk_id: str
    entries: int = 0
    first_time: str | None = None
    last_time: str | None = None
    sessions: int = 0
    votes_by_hour: Counter = field(default_factory=Counter)         # local hour -> votes marked
    decisions_by_hour: Counter = field(default_factory=Counter)     # local hour -> sessions ended (not cancelled)
    refusals_by_hour: Counter = field(default_factory=Counter)
    decisions: Counter = field(default_factory=Counter)             # session_ended outcome
    refusal_reasons: Counter = field(default_factory=Counter)
    fallbacks: Counter = field(default_factory=Counter)             # fallback kind (words) incl. eye checks
    approvals: Counter = field(default_factory=Counter)             # (kind, approver) -> count
    bands_accepted: Counter = field(default_factory=Counter)
    bands_rejected: Counter = field(default_factory=Counter)
    second_vote_attempts: int = 0
    ink_found: int = 0
    gaps: list[Gap] = field(default_factory=list)

    @property
    def votes(self) -> int:
        return sum(self.votes_by_hour.values())

    @property
    def decided(self) -> int:
        return sum(self.decisions_by_hour.values())

    @property
    def fallback_count(self) -> int:
        return sum(n for kind, n in self.fallbacks.items() if kind != EYE_CHECK)


def kiosk_facts(entries: list[dict], *, gap_minutes: int = 30, utc_offset_hours: int = 0) -> KioskFacts:
    """Summarise one kiosk's entries (already verified, in log order)."""
    first = entries[0] if entries else {}
    facts = KioskFacts(station_id=str(first.get("station_id", "?")), kiosk_id=str(first.get("kiosk_id", "?")))
    facts.entries = len(entries)
    if not entries:
        return facts
    facts.first_time, facts.last_time = entries[0]["time"], entries[-1]["time"]
    shift = timedelta(hours=utc_offset_hours)
    for entry in entries:
        event = entry.get("event")
        hour = (parse_time(entry["time"]) + shift).hour
        if event == "session_started":
            facts.sessions += 1
        elif event == "vote_marked":
            facts.votes_by_hour[hour] += 1
        elif event == "session_ended":
            outcome = str(entry.get("outcome"))
            facts.decisions[outcome] += 1
            if outcome != "cancelled":
                facts.decisions_by_hour[hour] += 1
            if outcome == "already_voted":
                facts.second_vote_attempts += 1
        elif event == "refusal":
            facts.refusal_reasons[str(entry.get("reason"))] += 1
            facts.refusals_by_hour[hour] += 1
        elif event == "fallback":
            kind = FALLBACK_KINDS.get(str(entry.get("kind")), str(entry.get("kind")))
            facts.fallbacks[kind] += 1
            facts.approvals[(kind, str(entry.get("supervisor_id") or "(none)"))] += 1
        elif event == "override" and entry.get("kind") == "ink_checked_by_eye":
            facts.fallbacks[EYE_CHECK] += 1
            facts.approvals[(EYE_CHECK, str(entry.get("official_id") or "(none)"))] += 1
        elif event == "match" and entry.get("modality") == "fused" and entry.get("score_band"):
            target = facts.bands_accepted if entry.get("outcome") == "accepted" else facts.bands_rejected
            target[str(entry["score_band"])] += 1
        elif event == "ink_check" and entry.get("outcome") == "ink":
            facts.ink_found += 1
    facts.gaps = find_gaps(entries, gap_minutes)
    return facts


def find_gaps(entries: list[dict], gap_minutes: int) -> list[Gap]:
    """Silences longer than ``gap_minutes`` while the kiosk was up (not from a shutdown to the next boot)."""
    gaps = []
    limit = timedelta(minutes=gap_minutes)
    for before, after in zip(entries, entries[1:]):
        if before.get("event") == "shutdown" or after.get("event") == "boot":
            continue
        silence = parse_time(after["time"]) - parse_time(before["time"])
        if silence > limit:
            gaps.append(Gap(before["time"], after["time"], int(silence.total_seconds() // 60)))
    return gaps


def merge(facts: list[KioskFacts], station_id: str) -> KioskFacts:
    """One station's figures: the sum of its kiosks' (gaps stay per kiosk)."""
    total = KioskFacts(station_id=station_id, kiosk_id="(all kiosks)")
    for one in facts:
        total.entries += one.entries
        total.sessions += one.sessions
        total.second_vote_attempts += one.second_vote_attempts
        total.ink_found += one.ink_found
        for name in ("votes_by_hour", "decisions_by_hour", "refusals_by_hour", "decisions", "refusal_reasons",
                     "fallbacks", "approvals", "bands_accepted", "bands_rejected"):
            getattr(total, name).update(getattr(one, name))
        times = [t for t in (one.first_time, one.last_time) if t]
        if times:
            total.first_time = min([total.first_time or times[0], *times])
            total.last_time = max([total.last_time or times[-1], *times])
    return total
