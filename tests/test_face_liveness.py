"""Liveness: the blink + head-turn check, frames in, verdict out, on a clock the test drives.

The landmark sequences are made from the real landmarks of a test portrait: a blink moves the
upper lids onto the lower ones, a turn slides the nose and mouth sideways between the jaw ends, a
tilted photo squeezes every point vertically. One test at the end plays the camera simulator's
performers through the real landmark model.
"""
from __future__ import annotations

import random

import numpy as np
import pytest

from liveness_fixtures import blinked, turned
from matcher.face.liveness import LivenessCheck, eye_aspect_ratio, landmarks_in, plan_for

FPS = 15.0
LEFT_PLAN = ("blink", "turn_left")


@pytest.fixture
def portrait(liveness_portrait) -> np.ndarray:
    return liveness_portrait


@pytest.fixture
def points(liveness_landmarks) -> np.ndarray:
    return liveness_landmarks


def squeezed(points: np.ndarray, factor: float) -> np.ndarray:
    out = points.copy()
    centre = points[:, 1].mean()
    out[:, 1] = centre + (out[:, 1] - centre) * factor
    return out


def play(check: LivenessCheck, frames) -> tuple:
    """Feed ``frames(t, instruction)`` at FPS until a verdict; returns (verdict, instructions seen)."""
    seen, t, verdict = [], 0.0, None
    instruction = None
    for _ in range(int(10 * FPS)):
        verdict = check.observe(t, frames(t, instruction))
        if verdict.status != "pending":
            return verdict, seen
        if verdict.instruction != instruction:
            instruction = verdict.instruction
            seen.append((round(t, 3), instruction))
        t += 1 / FPS
    return verdict, seen


def obedient(points: np.ndarray, reaction: float = 0.4):
    """A voter who does what each cue asks, ``reaction`` seconds after it appears."""
    cue_times: dict[str, float] = {}

    def frames(t: float, instruction: str | None) -> np.ndarray:
        if instruction and instruction not in cue_times:
            cue_times[instruction] = t
        out = points
        if "blink" in cue_times:
            since = t - cue_times["blink"] - reaction
            if 0 <= since < 0.2:
                out = blinked(out, 0.9)
        for side, sign in (("turn_left", 1.0), ("turn_right", -1.0)):
            if side in cue_times and t - cue_times[side] >= reaction:
                out = turned(out, sign)
        return out
    return frames


def test_eye_aspect_ratio_falls_when_the_lids_close(points):
    assert eye_aspect_ratio(blinked(points, 0.9)[36:42]) < 0.3 * eye_aspect_ratio(points[36:42])


def test_a_voter_who_follows_the_cues_passes_within_two_seconds(points):
    verdict, seen = play(LivenessCheck(LEFT_PLAN), obedient(points))
    assert verdict.status == "passed" and verdict.reason is None
    assert [name for _, name in seen] == ["look_at_camera", "blink", "turn_left"]
    assert verdict.elapsed_s <= 2.0


def test_the_plan_is_a_blink_then_a_turn_either_way():
    plans = {plan_for(random.Random(seed)) for seed in range(40)}
    assert plans == {("blink", "turn_left"), ("blink", "turn_right")}


def test_a_still_photo_gets_no_response(points):
    verdict, _ = play(LivenessCheck(LEFT_PLAN), lambda t, _: points)
    assert verdict.status == "failed" and verdict.reason == "no_response"


def test_turning_the_wrong_way_fails_at_once(points):
    voter = obedient(points)

    def frames(t, instruction):
        out = voter(t, instruction)
        return turned(points, -1.0) if instruction == "turn_left" and out is not points else out
    verdict, _ = play(LivenessCheck(LEFT_PLAN), frames)
    assert verdict.reason == "wrong_direction"


def test_turning_when_a_blink_was_asked_fails(points):
    verdict, _ = play(LivenessCheck(LEFT_PLAN),
                      lambda t, instruction: turned(points, 1.0) if instruction == "blink" and t > 0.6 else points)
    assert verdict.reason == "moved_instead_of_blink"


def test_a_tilted_photo_squeezing_the_eyes_is_not_a_blink(points):
    def frames(t, instruction):
        return squeezed(points, 0.6) if instruction == "blink" and 0.6 < t < 0.8 else points
    verdict, _ = play(LivenessCheck(LEFT_PLAN), frames)
    assert verdict.reason == "no_response"


def test_a_blink_already_under_way_when_the_cue_appears_does_not_answer_it(points):
    check = LivenessCheck(LEFT_PLAN)
    for i in range(3):
        assert check.observe(i / FPS, points).instruction in ("look_at_camera", "blink")
    cue_at = 2 / FPS
    assert check.cue == "blink"
    check.observe(cue_at + 0.05, blinked(points, 0.9))     # 50 ms after the cue: too soon to be an answer
    check.observe(cue_at + 0.12, points)
    assert check.cue == "blink"


def test_a_face_that_leaves_the_frame_fails(points):
    verdict, _ = play(LivenessCheck(LEFT_PLAN), lambda t, _: points if t < 0.5 else None)
    assert verdict.reason == "face_lost"


def test_a_plan_with_unknown_cues_is_refused():
    with pytest.raises(ValueError):
        LivenessCheck(("wink",))


def test_the_simulator_live_voter_passes_and_its_printed_photo_is_caught(portrait, points):
    from simulators.face_motion import Face, performer

    face = Face(portrait, points)
    outcomes = {}
    for kind in ("live", "printed_photo"):
        actor, check = performer(kind, face, np.random.default_rng(3)), LivenessCheck(LEFT_PLAN)
        t, verdict = 0.0, check.observe(0.0, landmarks_in(actor.frame(0.0)))
        while verdict.status == "pending" and t < 6:
            actor.cue(t, verdict.instruction)
            t += 1 / FPS
            verdict = check.observe(t, landmarks_in(actor.frame(t)))
        outcomes[kind] = verdict.status
    assert outcomes == {"live": "passed", "printed_photo": "failed"}


def test_the_camera_simulator_plays_a_performer_on_its_clock_and_passes_it_the_cues(portrait, points):
    from simulators.camera import CameraSimulator
    from simulators.face_motion import Face, LiveVoter

    now = [100.0]
    camera = CameraSimulator(clock=lambda: now[0])
    voter = LiveVoter(Face(portrait, points), np.random.default_rng(1), spontaneous_blinks_per_s=0.0)
    camera.play(voter)
    still = camera.frame()
    camera.cue("turn_left")
    now[0] += 1.0                                             # reaction (<= 0.7 s) and half a turn later
    turned_frame = camera.frame()
    assert np.abs(turned_frame.astype(int) - still.astype(int)).mean() > 2
    camera.show_face(portrait)                                # a still face ends the performance
    assert np.abs(camera.frame().astype(int) - portrait.astype(int)).max() <= 1
