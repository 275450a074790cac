"""The booth's liveness run: frames from the camera's stream through the liveness check, with a deadline.

Pure orchestration: the stream (``next_frame(after)`` returning the next frame of its short backlog with
its arrival time, and a ``dropped`` count), the check (:class:`matcher.face.liveness.LivenessCheck`), the
landmark function and ``show(instruction)`` (the booth screen) are passed in. Time is the frames'
arrival time, so the check judges reaction times as the voter lived them even when this machine
is slow: a frame that could not be processed in time is skipped by the stream, not queued.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

OUTCOMES = ("passed", "failed", "no_face")


@dataclass(frozen=True)
class LivenessRun:
    outcome: str                # one of OUTCOMES; ``no_face``: nobody was seen before the deadline
    reason: str | None          # why it failed (matcher.face.liveness.FAILURES, or "timeout")
    elapsed_s: float            # first frame to verdict, on the frames' clock
    frames: int                 # frames the check looked at
    dropped: int                # frames the stream skipped because the check was still busy
    live_frame: Any = None      # a frontal, eyes-open frame seen during the check (for the face capture)


def run_liveness(stream, check, landmarks: Callable[[Any], Any], *, deadline_s: float,
                 show: Callable[[str | None], None], clock: Callable[[], float]) -> LivenessRun:
    """Feed the stream's frames to ``check`` until it decides or ``deadline_s`` has passed since the first
    frame. ``clock`` is the stream's clock: a cue's response window starts when it was shown."""
    first: float | None = None
    seen_face = False
    frames = last = 0
    live_frame = None
    shown: str | None = "look_at_camera"
    show(shown)
    while True:
        frame = stream.next_frame(last)
        last = frame.seq
        first = frame.t if first is None else first
        points = landmarks(frame.rgb)
        frames += 1
        seen_face = seen_face or points is not None
        waiting_for_baseline = check.cue is None
        verdict = check.observe(frame.t, points)
        if waiting_for_baseline and check.cue is not None:
            live_frame = frame.rgb      # the frame that completed a still, frontal, open-eyed baseline
        if verdict.status != "pending":
            return LivenessRun(verdict.status, verdict.reason, frame.t - first, frames, stream.dropped,
                               live_frame if verdict.status == "passed" else None)
        if verdict.instruction != shown:
            shown = verdict.instruction
            show(shown)
            check.shown(clock())
        if frame.t - first > deadline_s:
            outcome, reason = ("failed", "timeout") if seen_face else ("no_face", None)
            return LivenessRun(outcome, reason, frame.t - first, frames, stream.dropped)
