"""The workflow's decision rules: pure functions of their arguments (no I/O, no clock, no session).

The steps in :mod:`kiosk.workflow.steps` ask these what to do; each is specified on its own in
tests/test_workflow.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

MAX_FACE_ATTEMPTS = 3
MAX_INK_INCONCLUSIVE = 2
IDENTIFICATION_TOP_K = 10


@dataclass(frozen=True)
class Rules:
    """The configured numbers the decision rules use (from :class:`kiosk.config.Settings`)."""

    station_id: str
    kiosk_id: str
    target_fmr: float = 1e-4
    verification_rounds: int = 2
    identification_fpir: float = 0.01
    max_finger_attempts: int = 3
    max_fingers: int = 3
    min_finger_quality: int = 20
    liveness: bool = False
    """Run the active liveness check (blink, then a head turn on cue) before the face capture."""
    liveness_deadline_s: float = 6.0

    @classmethod
    def from_settings(cls, settings) -> "Rules":
        return cls(station_id=settings.station_id, kiosk_id=settings.kiosk_id, target_fmr=settings.target_fmr,
                   verification_rounds=settings.verification_rounds,
                   identification_fpir=settings.identification_fpir,
                   max_finger_attempts=settings.max_finger_attempts, max_fingers=settings.max_fingers,
                   min_finger_quality=settings.min_finger_quality, liveness=settings.liveness_check,
                   liveness_deadline_s=settings.liveness_deadline_seconds)


def score_band(score: float | None) -> str | None:
    """A calibrated score as a band of ten for the audit log and the screen ("40-50", "100+")."""
    if score is None or math.isnan(score):
        return None
    if score >= 100:
        return "100+"
    low = max(0, int(score // 10) * 10)
    return f"{low}-{low + 10}"


def lookup_outcome(voter, station_id: str) -> str:
    """What a registry lookup means at this station: ``not_found``, ``wrong_station``,
    ``already_voted`` or ``found``. Wrong station wins over already voted: the voter must go there."""
    if voter is None:
        return "not_found"
    if voter.station_id != station_id:
        return "wrong_station"
    if voter.has_voted:
        return "already_voted"
    return "found"


def fingers_to_try(enrolled: tuple[str, ...] | list[str], max_fingers: int) -> list[str]:
    """The enrolled fingers the booth asks for, in the registry's order (ISO position), at most
    ``max_fingers``."""
    return list(enrolled)[:max(0, max_fingers)]


def after_finger_failure(attempts_on_finger: int, finger_index: int, fingers: int, rules: Rules) -> str:
    """After a failed capture: ``retry`` the same finger, try the ``next_finger`` or the fingers
    are ``unusable`` (offer the face-only fallback)."""
    if attempts_on_finger < rules.max_finger_attempts:
        return "retry"
    if finger_index + 1 < min(fingers, rules.max_fingers):
        return "next_finger"
    return "unusable"


def session_fmr(rules: Rules, not_verified_before: int = 0) -> float:
    """The false match rate a 1:1 session may cost an impostor: ``target_fmr`` for a card's first
    session, halved for each session of the same voter refused as not verified before (at any kiosk
    sharing the registry), so however often a borrowed card is tried, its sessions together cost at most
    twice ``target_fmr`` (the sum of target / 2^k). A genuine voter refused once needs 3 points more."""
    return rules.target_fmr / 2.0 ** max(0, not_verified_before)


def round_fmr(rules: Rules, not_verified_before: int = 0) -> float:
    """The false match rate each fused 1:1 decision is taken at: an impostor gets one chance per round,
    so ``verification_rounds`` decisions at this rate keep the session's at :func:`session_fmr` (the
    union bound: a round is decided on its own captures, never on an earlier round's)."""
    return session_fmr(rules, not_verified_before) / rules.verification_rounds


def after_rejection(rounds_taken: int, rules: Rules) -> str:
    """After a fused 1:1 decision rejected the voter: ``another_round`` (capture again, decide again)
    while rounds are left, else ``refuse``."""
    return "another_round" if rounds_taken < rules.verification_rounds else "refuse"


def after_face_failure(attempts: int) -> str:
    """After a face capture the matcher refused: ``retry``, or ``decide`` without the face once
    :data:`MAX_FACE_ATTEMPTS` captures have failed (the fingers may still carry the decision)."""
    return "retry" if attempts < MAX_FACE_ATTEMPTS else "decide"


def ink_next(decision: str, inconclusive_so_far: int) -> str:
    """After an ink check: ``refuse`` (ink found), ``confirm`` (no ink), ``retry`` or, after
    repeated inconclusive checks, ``check_by_eye`` (the official looks under the lamp)."""
    if decision == "ink":
        return "refuse"
    if decision == "no_ink":
        return "confirm"
    return "check_by_eye" if inconclusive_so_far >= MAX_INK_INCONCLUSIVE else "retry"


def pick_identified(candidates: dict[str, dict[str, float]], fuse: Callable, decide: Callable, fmr: float):
    """The one voter whose fused scores pass ``fmr`` in 1:N identification, or None.

    ``candidates`` maps voter_id -> {"finger": score, "face": score} (either may be missing). When
    more than one voter passes, the identification is ambiguous and nobody is picked: a booth must
    never guess between two people."""
    passing = []
    for voter_id, scores in candidates.items():
        fingers = [scores["finger"]] if "finger" in scores else []
        if not fingers and "face" not in scores:
            continue
        fused = fuse(face=scores.get("face"), fingers=fingers)
        if decide(fused, fmr):
            passing.append((fused.score, voter_id, fused))
    if len(passing) != 1:
        return None, len(passing)
    _, voter_id, fused = passing[0]
    return (voter_id, fused), 1


def identification_outcome(picked, passing: int) -> str:
    """How one scope's search ended, for the audit log: ``identified``, ``ambiguous`` (several voters
    passed: stop, never widen the search) or ``not_identified`` (try the next scope)."""
    if picked is not None:
        return "identified"
    return "ambiguous" if passing > 1 else "not_identified"


def snake(text: str) -> str:
    """``text`` as a short snake_case code (reasons from exceptions and officials become audit codes)."""
    out = "".join(c.lower() if c.isalnum() else "_" for c in text)
    return "_".join(part for part in out.split("_") if part)[:60] or "unknown"


def identification_fmr(rules: Rules, enrolled: int) -> float:
    """The per-comparison fused FMR one 1:N search over ``enrolled`` voters must reach for its
    false-positive identification rate to be ``rules.identification_fpir`` (national.operating), and
    never looser than the 1:1 acceptance ``target_fmr``: naming someone without a card must not be
    easier than verifying a card holder."""
    from national.operating import per_comparison_fmr

    return min(per_comparison_fmr(rules.identification_fpir, max(1, enrolled)), rules.target_fmr)
