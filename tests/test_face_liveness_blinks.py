"""Liveness: a voter's own blinks around the check (frames rendered by the camera simulator, landmarks
from the real model), and what the check still refuses.

At the booth the check starts while the voter is already facing the camera, so its first frames can
catch one of the voter's own blinks under way, and a voter may blink of their own accord just before
answering the cue. Both used to fail live voters (``no_response``): a baseline set on eyes still
re-opening is too low for the cued blink to fall below (the model's EAR of a shut eye is ~half the
open one, not zero), and two blinks merged into one looked too early.
"""
from __future__ import annotations

import numpy as np
import pytest

from liveness_fixtures import blinked
from matcher.face.liveness import LandmarkTracker, LivenessCheck

FPS = 15.0
LEFT_PLAN = ("blink", "turn_left")


@pytest.fixture
def face(liveness_portrait, liveness_landmarks):
    from simulators.face_motion import Face

    return Face(liveness_portrait, liveness_landmarks)


def closure(since: float) -> float:
    """Lids over one 0.25 s blink from ``since`` = 0 (80 ms closing, 60 ms shut, 110 ms opening), the
    simulated voters' blink."""
    if since < 0 or since > 0.25:
        return 0.0
    return since / 0.08 if since < 0.08 else 1.0 if since < 0.14 else 1.0 - (since - 0.14) / 0.11


class Voter:
    """Blinks of their own accord at ``own_blinks`` (simulated seconds) and answers each cue
    ``reaction`` seconds after it is first shown (a turn: 0.35 s out, then held)."""

    def __init__(self, face, own_blinks=(), reaction=0.4):
        self.face, self.blinks, self.reaction, self.turns, self.last = face, list(own_blinks), reaction, [], None

    def cue(self, t: float, name: str | None) -> None:
        if name == self.last:
            return
        self.last = name
        if name == "blink":
            self.blinks.append(t + self.reaction)
        elif name in ("turn_left", "turn_right"):
            self.turns.append((t + self.reaction, 1.0 if name == "turn_left" else -1.0))

    def frame(self, t: float) -> np.ndarray:
        from simulators.face_motion import blink, turn

        amount = sum(sign * min(1.0, max(0.0, (t - at) / 0.35)) for at, sign in self.turns)
        return turn(self.face, amount, blink(self.face, max([closure(t - at) for at in self.blinks] + [0.0])))


def play(performer, start: float = 0.0, plan=LEFT_PLAN):
    """The performer's frames from ``start`` through the landmark tracker and the check, cues shown back."""
    check, tracker, t = LivenessCheck(plan), LandmarkTracker(), start
    verdict = check.observe(t, tracker.landmarks(performer.frame(t)))
    while verdict.status == "pending" and t < start + 6:
        performer.cue(t, verdict.instruction)
        t += 1 / FPS
        verdict = check.observe(t, tracker.landmarks(performer.frame(t)))
    return verdict


@pytest.mark.parametrize("into_blink", [0.02, 0.08, 0.10, 0.14])
def test_a_voter_whose_check_starts_during_their_own_blink_passes(face, into_blink):
    verdict = play(Voter(face, own_blinks=[1.0]), start=1.0 + into_blink)
    assert (verdict.status, verdict.reason) == ("passed", None)


@pytest.mark.parametrize("before_answer", [0.16, 0.19, 0.22])
def test_a_voter_who_blinks_of_their_own_accord_just_before_answering_the_cue_passes(face, before_answer):
    cue_at = 2 / FPS                   # three steady frames from t = 0 set the baseline; the cue follows
    verdict = play(Voter(face, own_blinks=[cue_at + 0.3 - before_answer], reaction=0.3))
    assert (verdict.status, verdict.reason) == ("passed", None)


def cued(points: np.ndarray) -> tuple[LivenessCheck, float]:
    """A check given three steady open-eyed frames: the blink is asked at the time returned."""
    check = LivenessCheck(LEFT_PLAN)
    for i in range(3):
        check.observe(i / FPS, points)
    assert check.cue == "blink"
    return check, 2 / FPS


def test_eyes_still_reopening_do_not_set_the_baseline(face):
    check = LivenessCheck(LEFT_PLAN)
    for i, shut in enumerate([0.4, 0.2, 0.0, 0.0]):     # each frame wider open than the last
        assert check.observe(i / FPS, blinked(face.points, shut)).instruction == "look_at_camera"
    assert check.observe(4 / FPS, face.points).instruction == "blink"   # three open frames in a row


def test_eyes_shut_steadily_right_after_open_ones_do_not_set_the_baseline(face):
    check = LivenessCheck(LEFT_PLAN)
    for i, shut in enumerate([0.0, 0.0, 0.5, 0.5, 0.5]):  # the model may see a blink's shut eyes as steady
        assert check.observe(i / FPS, blinked(face.points, shut)).instruction == "look_at_camera"
    for i in range(5, 7):
        assert check.observe(i / FPS, face.points).instruction == "look_at_camera"
    assert check.observe(7 / FPS, face.points).instruction == "blink"


def test_lids_that_close_again_before_fully_open_answer_from_the_second_closing(face):
    check, cue_at = cued(face.points)
    # shut 0.1 s after the cue (too soon to answer it), back between shut and open, shut again 0.35 s after
    for dt, shut in [(0.1, 0.9), (0.2, 0.15), (0.35, 0.9), (0.45, 0.0)]:
        check.observe(cue_at + dt, blinked(face.points, shut))
    assert check.cue == "turn_left"


def test_a_second_closing_still_too_soon_after_the_cue_does_not_answer_it(face):
    check, cue_at = cued(face.points)
    for dt, shut in [(0.05, 0.9), (0.10, 0.15), (0.15, 0.9), (0.22, 0.0)]:
        check.observe(cue_at + dt, blinked(face.points, shut))
    assert check.cue == "blink"


def test_a_photo_tilted_twice_in_quick_succession_is_not_a_blink(face):
    from simulators.face_motion import affine, printed

    class TiltedTwice:
        def cue(self, t, name):
            pass

        def frame(self, t):
            squeeze = 0.6 if 0.6 < t < 0.75 or 0.8 < t < 0.95 else 0.85 if 0.75 <= t <= 0.8 else 1.0
            return affine(printed(face.rgb), 0.0, 0.0, 0.0, 1.0, squeeze)
    verdict = play(TiltedTwice())
    assert (verdict.status, verdict.reason) == ("failed", "no_response")


@pytest.mark.parametrize("kind", ["printed_photo", "moved_photo"])
def test_the_simulator_photo_attacks_are_still_caught(face, kind):
    from simulators.face_motion import performer

    for seed in range(3):
        verdict = play(performer(kind, face, np.random.default_rng(seed)))
        assert verdict.status == "failed", (seed, verdict)
