"""Liveness against a replayed video: the turn asked away from what the face did unprompted, and each
response within its window after the cue.

A looped recording of the voter blinks and turns on its own clock; it passes only when its own blink
and turn happen to fall in the two response windows, the turn the way asked. A recording shows its
turn whether asked or not, often while the check is still settling: the check then asks for the turn
the other way. A voter turns when asked, so asking them the other way costs them nothing.
Landmark sequences are made from the real landmarks of a test portrait, on a clock the test drives:
the turn slides the nose and mouth sideways between the jaw ends (liveness_fixtures.turned).
"""
from __future__ import annotations

import numpy as np
import pytest

from liveness_fixtures import blinked, turned
from matcher.face.liveness import LivenessCheck, LivenessParameters

FPS = 15.0
LEFT_PLAN = ("blink", "turn_left")
PARAMS = LivenessParameters()


@pytest.fixture
def points(liveness_landmarks) -> np.ndarray:
    return liveness_landmarks


def shut(points: np.ndarray) -> np.ndarray:
    return blinked(points, 0.9)


def at_turn_cue(points: np.ndarray, unprompted=(), plan=LEFT_PLAN) -> tuple[LivenessCheck, float]:
    """A check that has set its baseline and seen its blink answered; returns it and the turn cue's time.
    ``unprompted``: frames the face shows before it keeps still (a recording's own turns)."""
    check, t = LivenessCheck(plan), 0.0
    for frame in unprompted:
        check.observe(t, frame)
        t += 1 / FPS
    for _ in range(3):                                   # the baseline
        check.observe(t, points)
        t += 1 / FPS
    blink_cue = t - 1 / FPS
    while t < blink_cue + 0.4:                           # a reaction time
        check.observe(t, points)
        t += 1 / FPS
    for frame in (shut(points), shut(points), points):
        check.observe(t, frame)
        t += 1 / FPS
    assert check.cue in ("turn_left", "turn_right")
    return check, t - 1 / FPS


def turn_ramp(check: LivenessCheck, points: np.ndarray, cue_at: float, starts_after: float, per_s: float):
    """Frames of a turn to the left starting ``starts_after`` seconds after the cue, the amount growing
    ``per_s`` a second (1.0 = a fifth of the jaw width); returns the verdict and when it came."""
    t = cue_at + 1 / FPS
    while t < cue_at + 3:
        verdict = check.observe(t, turned(points, max(0.0, per_s * (t - cue_at - starts_after))))
        if verdict.status != "pending":
            return verdict, t - cue_at
        t += 1 / FPS
    return verdict, t - cue_at


def test_a_turn_that_starts_a_reaction_time_after_the_cue_answers_it_even_when_it_builds_slowly(points):
    check, cue_at = at_turn_cue(points)
    verdict, _ = turn_ramp(check, points, cue_at, starts_after=0.3, per_s=1.5)
    assert verdict.status == "passed"


def test_a_turn_seen_just_inside_the_turn_window_answers_it(points):
    far_end = PARAMS.turn_window_s + PARAMS.latency_allowance_s
    check, cue_at = at_turn_cue(points)
    verdict, seen = turn_ramp(check, points, cue_at, starts_after=far_end - 0.1, per_s=10.0)
    assert verdict.status == "passed" and seen <= far_end


def test_a_turn_first_seen_after_the_turn_window_is_no_answer(points):
    # What the narrower window costs: a voter (or a replay) turning this late is not taken as answering.
    far_end = PARAMS.turn_window_s + PARAMS.latency_allowance_s
    check, cue_at = at_turn_cue(points)
    verdict, _ = turn_ramp(check, points, cue_at, starts_after=far_end + 0.05, per_s=10.0)
    assert verdict.status == "failed" and verdict.reason == "no_response"


def test_a_blink_closing_before_the_minimum_reaction_time_does_not_answer_the_cue(points):
    check, t = LivenessCheck(LEFT_PLAN), 0.0
    for _ in range(3):
        check.observe(t, points)
        t += 1 / FPS
    cue_at = t - 1 / FPS
    t = cue_at + PARAMS.min_reaction_s - 0.02              # shut just before a voter could have reacted
    for frame in (shut(points), points, points):
        check.observe(t, frame)
        t += 1 / FPS
    assert check.cue == "blink"


def test_a_face_that_turned_left_unprompted_is_asked_to_turn_right(points):
    left_turn = [turned(points, a) for a in (0.3, 0.7, 1.0, 1.0, 0.7, 0.3)]
    check, _ = at_turn_cue(points, unprompted=left_turn, plan=LEFT_PLAN)
    assert check.cue == "turn_right"


def test_a_face_that_turned_right_unprompted_is_asked_to_turn_left(points):
    right_turn = [turned(points, -a) for a in (0.3, 0.7, 1.0, 1.0, 0.7, 0.3)]
    check, _ = at_turn_cue(points, unprompted=right_turn, plan=("blink", "turn_right"))
    assert check.cue == "turn_left"


def test_a_face_seen_turning_both_ways_unprompted_is_asked_the_plans_way(points):
    both = [turned(points, a) for a in (0.7, 1.0, 0.3, -0.3, -1.0, -0.7)]
    check, _ = at_turn_cue(points, unprompted=both, plan=LEFT_PLAN)
    assert check.cue == "turn_left"


def test_a_face_that_kept_still_is_asked_the_plans_way(points):
    for plan in (LEFT_PLAN, ("blink", "turn_right")):
        check, _ = at_turn_cue(points, plan=plan)
        assert check.cue == plan[1]


def test_a_voter_asked_the_other_way_after_glancing_aside_passes(points):
    glance = [turned(points, a) for a in (0.5, 1.0, 0.5)]
    check, cue_at = at_turn_cue(points, unprompted=glance, plan=LEFT_PLAN)
    t, verdict = cue_at + 1 / FPS, None
    while t < cue_at + 2:
        verdict = check.observe(t, turned(points, -1.0) if t - cue_at >= 0.4 else points)
        if verdict.status != "pending":
            break
        t += 1 / FPS
    assert verdict.status == "passed"
