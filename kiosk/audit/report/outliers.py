"""Patterns worth a human's look: pure tests on counts, each flag saying why.

A flag is raised only when the pattern is both large (a rate several times the rest of the
station's) and unlikely by chance (an exact one-sided binomial tail below ``ALPHA``, Bonferroni
corrected for the number of places looked at). Flags are prompts for review, never verdicts: a
kiosk at a station for the elderly may rightly need more face-only fallbacks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from kiosk.audit.report.facts import EYE_CHECK, KioskFacts

ALPHA = 0.001          # family-wise chance of a flag on an ordinary day, per test family
RATE_RATIO = 2.0       # a kiosk's fallback rate must be at least this multiple of the rest of its station's
MIN_EVENTS = 5         # fewer events than this never raise a flag


@dataclass(frozen=True)
class Flag:
    station_id: str
    subject: str       # "kiosk kiosk-03", "supervisor sup-b", "hour 12:00"
    what: str          # one sentence for the reader
    observed: int
    expected: float
    p_value: float


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), exact (log space, no overflow for n in the thousands)."""
    if k <= 0:
        return 1.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0 or k > n:
        return 1.0 if p >= 1.0 else 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
             for i in range(k, n + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def fallback_outliers(station_id: str, kiosks: list[KioskFacts]) -> list[Flag]:
    """Kiosks whose fallback rate (fallbacks per decided session) is far above the rest of the station's."""
    flags = []
    tests = max(1, len(kiosks))
    for kiosk in kiosks:
        rest = [k for k in kiosks if k is not kiosk]
        rest_n = sum(k.decided for k in rest)
        rest_x = sum(k.fallback_count for k in rest)
        x, n = kiosk.fallback_count, kiosk.decided
        if n == 0 or x < MIN_EVENTS or rest_n == 0:
            continue
        baseline = max(rest_x / rest_n, 0.5 / rest_n)   # a station with none elsewhere: half an event
        p_value = binomial_tail(x, n, baseline)
        if x / n >= RATE_RATIO * baseline and p_value * tests < ALPHA:
            flags.append(Flag(station_id, f"kiosk {kiosk.kiosk_id}",
                              f"fallback rate {x / n:.1%} against {rest_x / rest_n:.1%} at the station's other kiosks",
                              x, n * baseline, p_value))
    return flags


def supervisor_outliers(station_id: str, station: KioskFacts) -> list[Flag]:
    """Supervisors who approved far more of the station's fallbacks than an even share among its approvers."""
    per_approver: dict[str, int] = {}
    for (kind, approver), n in station.approvals.items():
        if kind != EYE_CHECK:
            per_approver[approver] = per_approver.get(approver, 0) + n
    if len(per_approver) < 2:
        return []
    total = sum(per_approver.values())
    share = 1.0 / len(per_approver)
    flags = []
    for approver, x in sorted(per_approver.items()):
        p_value = binomial_tail(x, total, share)
        if x >= MIN_EVENTS and x / total >= RATE_RATIO * share and p_value * len(per_approver) < ALPHA:
            flags.append(Flag(station_id, f"supervisor {approver}",
                              f"approved {x} of the station's {total} fallbacks ({x / total:.0%}; "
                              f"an even share among {len(per_approver)} approvers is {share:.0%})",
                              x, total * share, p_value))
    return flags


def refusal_hour_outliers(station_id: str, station: KioskFacts) -> list[Flag]:
    """Hours in which the station's refusals cluster beyond what that hour's sessions explain."""
    refusals, decided = sum(station.refusals_by_hour.values()), station.decided
    if refusals < MIN_EVENTS or decided == 0:
        return []
    rate = refusals / decided
    hours = sorted(station.decisions_by_hour)
    flags = []
    for hour in hours:
        x, n = station.refusals_by_hour.get(hour, 0), station.decisions_by_hour[hour]
        others_n = decided - n
        others_rate = (refusals - x) / others_n if others_n else rate
        baseline = max(others_rate, 0.5 / max(others_n, 1))
        p_value = binomial_tail(x, n, baseline)
        if x >= MIN_EVENTS and x / n >= RATE_RATIO * baseline and p_value * len(hours) < ALPHA:
            flags.append(Flag(station_id, f"hour {hour:02d}:00",
                              f"{x} refusals in {n} sessions ({x / n:.0%}) against {others_rate:.1%} in the "
                              "station's other hours", x, n * baseline, p_value))
    return flags
