"""UV ink check (hardware.ink) on frames rendered by simulators.scenes."""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra import numpy as hnp

from hardware import ink
from hardware.ink import InkCalibration, InkCalibrationError, InkInputError, calibrate, capture_ink_frames, detect_ink
from simulators.scenes import DEFAULT_SCENE, FingerScene, random_scene, render_finger

SIZE = (240, 320)   # half the camera's resolution keeps the suite quick; the method is scale-free


def frames(inked: bool, *, seed: int = 0, ambient=(1.0, 1.0), noise: float = 2.0, hue: str = "blue",
           ink_strength: float = 1.0, lamp_strength: float = 1.0, scene: FingerScene = DEFAULT_SCENE,
           size=SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(lamp off, lamp on) exposures of one finger held still."""
    rng = np.random.default_rng(seed)
    off = render_finger(False, inked, rng, ambient=ambient[0], noise=noise, ink_hue=hue, size=size, scene=scene)
    on = render_finger(True, inked, rng, ambient=ambient[1], noise=noise, ink_hue=hue, size=size, scene=scene,
                       ink_strength=ink_strength, lamp_strength=lamp_strength)
    return off, on


def jpeg(frame: np.ndarray, quality: int = 90) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


# ------------------------------------------------------------------ detection

@pytest.mark.parametrize("hue", ["blue", "yellow"])
def test_inked_finger_is_detected_in_its_hue(hue):
    result = detect_ink(*frames(True, hue=hue))
    assert result.decision == "ink"
    assert result.hue == hue
    assert result.score >= ink.DEFAULT_INK_AT_OR_ABOVE


def test_blank_finger_is_not_flagged():
    result = detect_ink(*frames(False))
    assert result.decision == "no_ink"
    assert result.score < ink.DEFAULT_NO_INK_BELOW


def test_violet_reflection_and_glare_alone_are_not_flagged():
    # A dark shroud and a strong lamp: the finger shows only in reflected violet, with a bright glint.
    off, on = frames(False, ambient=(0.05, 0.05), lamp_strength=1.5)
    assert (on.max(axis=2) >= 250).any(), "the scene should contain a saturated glint"
    assert detect_ink(off, on).decision == "no_ink"


@pytest.mark.parametrize("ambient", [(0.4, 1.0), (1.0, 0.4)])
def test_ambient_light_change_alone_is_not_flagged(ambient):
    assert detect_ink(*frames(False, ambient=ambient)).decision == "no_ink"


def test_ink_is_found_through_an_ambient_light_change():
    assert detect_ink(*frames(True, ambient=(0.4, 1.0))).decision == "ink"


@pytest.mark.parametrize("inked, expected", [(False, "no_ink"), (True, "ink")])
def test_a_finger_that_moved_a_few_pixels_between_the_frames_is_still_judged(inked, expected):
    moved = dataclasses.replace(DEFAULT_SCENE, tip_x=DEFAULT_SCENE.tip_x + 4 / SIZE[1],
                                tip_y=DEFAULT_SCENE.tip_y + 2 / SIZE[0])
    rng = np.random.default_rng(8)
    off = render_finger(False, inked, rng, size=SIZE, scene=DEFAULT_SCENE)
    on = render_finger(True, inked, rng, size=SIZE, scene=moved)
    assert detect_ink(off, on).decision == expected


def test_faint_glow_is_inconclusive():
    result = detect_ink(*frames(True, ink_strength=0.08, size=(480, 640)))
    assert result.decision == "inconclusive"
    assert ink.DEFAULT_NO_INK_BELOW <= result.score < ink.DEFAULT_INK_AT_OR_ABOVE
    assert "faint" in result.reason


def test_ink_in_a_dark_shroud_is_detected():
    assert detect_ink(*frames(True, ambient=(0.05, 0.05))).decision == "ink"


def test_ink_survives_noise_and_jpeg_compression():
    off, on = frames(True, noise=8.0, size=(480, 640))
    assert detect_ink(jpeg(off), jpeg(on)).decision == "ink"
    blank_off, blank_on = frames(False, noise=8.0, size=(480, 640))
    assert detect_ink(jpeg(blank_off), jpeg(blank_on)).decision == "no_ink"


def test_lamp_that_did_not_light_is_inconclusive_not_no_ink():
    result = detect_ink(*frames(True, lamp_strength=0.0))
    assert result.decision == "inconclusive"
    assert "lamp" in result.reason


def test_empty_cradle_is_inconclusive():
    rng = np.random.default_rng(3)
    off = np.clip(rng.normal(20, 2, size=SIZE + (3,)), 0, 255).astype(np.uint8)
    on = np.clip(rng.normal(26, 2, size=SIZE + (3,)), 0, 255).astype(np.uint8)
    result = detect_ink(off, on)
    assert result.decision == "inconclusive"
    assert "no finger" in result.reason


def test_over_exposed_frames_are_inconclusive():
    result = detect_ink(*frames(False, ambient=(2.2, 2.2)))
    assert result.decision == "inconclusive"
    assert "over-exposed" in result.reason


def test_a_given_finger_mask_limits_where_glow_counts():
    off, on = frames(True)
    whole = np.ones(SIZE, dtype=bool)
    behind_the_nail = np.zeros(SIZE, dtype=bool)
    behind_the_nail[:, : SIZE[1] // 3] = True   # the part of the finger nearest the hand
    assert detect_ink(off, on, finger_mask=whole).decision == "ink"
    assert detect_ink(off, on, finger_mask=behind_the_nail).decision != "ink"


def test_frames_of_different_sizes_are_rejected():
    off, on = frames(False)
    with pytest.raises(InkInputError, match="differ in size"):
        detect_ink(off, on[:-1])


def test_non_rgb_frames_are_rejected():
    off, on = frames(False)
    with pytest.raises(InkInputError, match="RGB uint8"):
        detect_ink(off[..., 0], on)
    with pytest.raises(InkInputError, match="RGB uint8"):
        detect_ink(off.astype(np.float32), on)


@given(hnp.arrays(np.uint8, (2, 24, 32, 3)))
@settings(max_examples=60, deadline=None)
def test_any_pair_of_frames_gets_a_decision(pair):
    result = detect_ink(pair[0], pair[1])
    assert result.decision in ("ink", "no_ink", "inconclusive")
    assert 0.0 <= result.score <= 1.0 and result.reason


def test_result_carries_no_image_data():
    result = detect_ink(*frames(True))
    assert all(isinstance(getattr(result, f.name), (str, float, type(None)))
               for f in dataclasses.fields(result))


# ------------------------------------------------------------------ calibration

@pytest.mark.parametrize("hue", ["blue", "yellow"])
def test_calibration_from_controls_learns_the_ink_hue_and_orders_thresholds(hue):
    calibration = calibrate(positive=frames(True, hue=hue, seed=1), negative=frames(False, seed=2))
    assert [band[0] for band in calibration.bands] == [hue]
    assert 0 < calibration.no_ink_below < calibration.ink_at_or_above
    assert calibration.min_rise >= ink.MIN_RISE and calibration.full_rise > calibration.min_rise


def test_calibrated_check_decides_other_fingers():
    calibration = calibrate(positive=frames(True, seed=1), negative=frames(False, seed=2))
    scene = random_scene(np.random.default_rng(42))
    assert detect_ink(*frames(True, seed=3, scene=scene), calibration=calibration).decision == "ink"
    assert detect_ink(*frames(False, seed=4, scene=scene), calibration=calibration).decision == "no_ink"


def test_calibration_for_blue_ink_does_not_call_a_yellow_glow_ink():
    calibration = calibrate(positive=frames(True, seed=1), negative=frames(False, seed=2))
    assert detect_ink(*frames(True, hue="yellow", seed=3), calibration=calibration).decision != "ink"


def test_calibration_adapts_to_a_weak_lamp():
    weak = 0.3
    calibration = calibrate(positive=frames(True, seed=1, lamp_strength=weak),
                            negative=frames(False, seed=2, lamp_strength=weak))
    assert calibration.full_rise < ink.FULL_RISE
    result = detect_ink(*frames(True, seed=3, lamp_strength=weak, ink_strength=0.5), calibration=calibration)
    assert result.decision == "ink"


def test_two_blank_controls_do_not_calibrate():
    with pytest.raises(InkCalibrationError, match="no ink glow"):
        calibrate(positive=frames(False, seed=1), negative=frames(False, seed=2))


def test_a_control_without_a_lit_lamp_does_not_calibrate():
    with pytest.raises(InkCalibrationError, match="lamp"):
        calibrate(positive=frames(True, seed=1, lamp_strength=0.0), negative=frames(False, seed=2))


def test_calibration_thresholds_must_be_ordered():
    with pytest.raises(InkCalibrationError):
        InkCalibration(no_ink_below=0.05, ink_at_or_above=0.01)


# ------------------------------------------------------------------ capture sequence

class RecordingLamp:
    """A lamp that records what it was told; ``fail_on`` makes ``on()`` raise like a dead relay."""

    def __init__(self, events: list, fail_on: bool = False):
        self.events, self.fail_on, self.is_on = events, fail_on, False

    def on(self) -> None:
        self.events.append("lamp on")
        if self.fail_on:
            raise OSError("relay did not answer")
        self.is_on = True

    def off(self) -> None:
        self.events.append("lamp off")
        self.is_on = False


class SceneCamera:
    """A camera that renders the finger as the lamp currently lights it; ``fail_at`` raises on that read."""

    def __init__(self, lamp: RecordingLamp, events: list, inked: bool, fail_at: int | None = None):
        self.lamp, self.events, self.inked, self.fail_at = lamp, events, inked, fail_at
        self.rng = np.random.default_rng(0)
        self.reads = 0

    def read_frame(self) -> np.ndarray:
        self.reads += 1
        self.events.append("lit frame" if self.lamp.is_on else "dark frame")
        if self.reads == self.fail_at:
            raise OSError("camera unplugged")
        return render_finger(self.lamp.is_on, self.inked, self.rng, size=SIZE)


def test_capture_takes_dark_frame_then_lit_frame_and_leaves_the_lamp_off():
    events: list = []
    lamp = RecordingLamp(events)
    camera = SceneCamera(lamp, events, inked=True)
    off, on = capture_ink_frames(lamp, camera, settle_s=0.15, sleep=lambda s: events.append(f"wait {s}"))
    assert events == ["lamp off", "dark frame", "lamp on", "wait 0.15", "lit frame", "lamp off"]
    assert not lamp.is_on
    assert detect_ink(off, on).decision == "ink"


@pytest.mark.parametrize("fail_at", [1, 2])
def test_lamp_is_off_after_the_camera_raises(fail_at):
    events: list = []
    lamp = RecordingLamp(events)
    camera = SceneCamera(lamp, events, inked=False, fail_at=fail_at)
    with pytest.raises(OSError, match="camera unplugged"):
        capture_ink_frames(lamp, camera, sleep=lambda s: None)
    assert events[-1] == "lamp off" and not lamp.is_on


def test_lamp_is_switched_off_when_switching_it_on_fails():
    events: list = []
    lamp = RecordingLamp(events, fail_on=True)
    with pytest.raises(OSError, match="relay"):
        capture_ink_frames(lamp, SceneCamera(lamp, events, inked=False), sleep=lambda s: None)
    assert events[-1] == "lamp off"


# ------------------------------------------------------------------ the renderer

def test_renderer_gives_an_rgb_frame_of_the_requested_size():
    frame = render_finger(True, True, np.random.default_rng(0), size=(120, 160))
    assert frame.dtype == np.uint8 and frame.shape == (120, 160, 3)


def test_ink_glows_only_when_the_lamp_is_on():
    dark_inked = render_finger(False, True, np.random.default_rng(5), size=SIZE)
    dark_blank = render_finger(False, False, np.random.default_rng(5), size=SIZE)
    assert np.array_equal(dark_inked, dark_blank)
    lit_inked = render_finger(True, True, np.random.default_rng(5), size=SIZE)
    lit_blank = render_finger(True, False, np.random.default_rng(5), size=SIZE)
    glow = lit_inked.astype(int) - lit_blank.astype(int)
    assert glow[..., 2].max() > 100 and glow[..., 0].max() < glow[..., 2].max()


def test_lamp_adds_violet_to_the_finger():
    off = render_finger(False, False, np.random.default_rng(1), size=SIZE, noise=0).astype(int)
    on = render_finger(True, False, np.random.default_rng(1), size=SIZE, noise=0).astype(int)
    centre = (SIZE[0] // 2, SIZE[1] // 3)
    rise = on[centre] - off[centre]
    assert rise[2] > rise[0] > rise[1] >= 0     # blue most, then red: violet


def test_same_scene_gives_the_same_finger_in_every_exposure():
    a = render_finger(False, False, np.random.default_rng(1), size=SIZE, noise=0)
    b = render_finger(False, False, np.random.default_rng(2), size=SIZE, noise=0)
    assert np.array_equal(a, b)


def test_unknown_ink_hue_is_rejected():
    with pytest.raises(ValueError, match="ink_hue"):
        render_finger(True, True, np.random.default_rng(0), ink_hue="red")
