"""The camera simulator's two-way replay: a looped "look left, look right" clip of the voter.

The check asks for the turn away from one the face made unprompted; a recording that holds a turn each
way has the other turn too. These tests pin down what the simulator plays (frames rendered from the
test portrait, landmarks from the real model), so the bench's figures against it mean what they say.
"""
from __future__ import annotations

import numpy as np
import pytest

from matcher.face.liveness import LandmarkTracker, features

FPS = 10.0


@pytest.fixture
def face(liveness_portrait, liveness_landmarks):
    from simulators.face_motion import Face

    return Face(liveness_portrait, liveness_landmarks)


def yaw_track(performer, seconds: float) -> list[tuple[float, float]]:
    """(t, yaw) of the performer's frames through the real landmark model."""
    tracker, track, t = LandmarkTracker(), [], 0.0
    while t < seconds:
        points = tracker.landmarks(performer.frame(t))
        assert points is not None
        track.append((t, features(points).yaw))
        t += 1 / FPS
    return track


def test_the_two_way_replay_turns_one_way_then_the_other_within_one_loop(face):
    from simulators.face_motion import TwoWayLoop

    replay = TwoWayLoop(face, np.random.default_rng(5))
    track = yaw_track(replay, replay.length_s)
    rest = float(np.median([yaw for _, yaw in track]))
    (t_high, high), (t_low, low) = max(track, key=lambda x: x[1]), min(track, key=lambda x: x[1])
    # Each turn moves the nose well past the check's turn threshold (0.09), one to each side.
    assert high - rest > 0.12 and rest - low > 0.12
    # The two turns are apart by one turn's length and the pause (modulo the loop, as it starts anywhere).
    apart = abs(t_high - t_low)
    assert min(apart, replay.length_s - apart) >= 0.9


def test_the_two_way_replay_holds_its_turns_in_the_clip_not_in_the_cues(face):
    from simulators.face_motion import TwoWayLoop

    replay = TwoWayLoop(face, np.random.default_rng(5))
    (first, sign1), (second, sign2) = replay._turns
    assert sign1 == -sign2
    assert replay.pause_s[0] <= second - (first + 1.0) <= replay.pause_s[1]
    assert second + 1.0 <= replay.length_s                     # both turns inside one loop
    before = replay.frame(1.0)
    replay.cue(0.5, "turn_left")
    assert np.array_equal(replay.frame(1.0), before)
    assert np.array_equal(replay.frame(1.0 + replay.length_s), before)   # a loop


def test_the_two_way_replay_is_reproducible_from_its_generator(face):
    from simulators.face_motion import TwoWayLoop

    times = np.arange(0.0, 3.5, 0.25)
    first = [TwoWayLoop(face, np.random.default_rng(11)).frame(t) for t in times]
    again = [TwoWayLoop(face, np.random.default_rng(11)).frame(t) for t in times]
    other = [TwoWayLoop(face, np.random.default_rng(12)).frame(t) for t in times]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_the_performer_table_lists_the_two_way_replay_as_an_attack(face):
    from simulators.face_motion import ATTACKS, KINDS, TwoWayLoop, VideoLoop, performer

    assert "two_way_loop" in KINDS and "two_way_loop" in ATTACKS
    assert isinstance(performer("two_way_loop", face, np.random.default_rng(0)), TwoWayLoop)
    assert isinstance(performer("video_loop", face, np.random.default_rng(0)), VideoLoop)
    with pytest.raises(ValueError, match="two_way_loop"):
        performer("three_way_loop", face, np.random.default_rng(0))


def test_the_liveness_bench_plays_the_two_way_replay_when_selected_by_name(capsys):
    from bench.liveness import main

    assert main(["--live", "0", "--attacks", "1", "--kinds", "two_way_loop"]) == 0
    printed = capsys.readouterr().out
    assert "two way loop caught (1)" in printed and "video loop" not in printed
    with pytest.raises(SystemExit, match="known: live, .*two_way_loop"):
        main(["--kinds", "live,four_way_loop"])
