"""The camera adapter reads the simulator's HTTP camera (snapshot and MJPEG), files, and reports faults as typed errors."""
from __future__ import annotations

import socket

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.camera import (BLANK_MAX_LEVEL, BadFrame, BlankFrame, Camera, CameraError, CameraTimeout, CameraUnavailable, FrozenFrame,
                             classify_source, decode_image, is_blank)
from hardware.errors import DeviceUnavailable
from simulators.camera import CameraServer, CameraSimulator, booth_background, encode_jpeg


def pattern_image(height: int = 240, width: int = 320) -> np.ndarray:
    """A colourful, smooth test card (JPEG keeps smooth images close to the original)."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([(x * 255 // width), (y * 255 // height), ((x + y) * 255 // (width + height))],
                    axis=-1).astype(np.uint8)


@pytest.fixture
def camera_server():
    sim = CameraSimulator(rng=np.random.default_rng(1))
    server = CameraServer(sim)
    yield server
    server.close()


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_snapshot_url_returns_the_face_shown_as_rgb(camera_server):
    shown = pattern_image()
    camera_server.camera.show_face(shown)
    with Camera(camera_server.snapshot_url) as cam:
        frame = cam.read_frame()
        assert cam.kind == "http-snapshot"
    assert frame.dtype == np.uint8 and frame.shape == shown.shape
    assert mean_abs_diff(frame, shown) < 3.0  # JPEG + sensor noise, same picture, same channel order


def test_mjpeg_stream_url_returns_the_face_shown(camera_server):
    shown = pattern_image()
    camera_server.camera.show_face(shown)
    with Camera(camera_server.stream_url + "?fps=20") as cam:
        assert cam.kind == "http-stream"
        frame = cam.read_frame()
    assert frame.shape == shown.shape
    assert mean_abs_diff(frame, shown) < 3.0


def test_empty_booth_shows_the_background(camera_server):
    with Camera(camera_server.snapshot_url) as cam:
        frame = cam.read_frame()
    assert mean_abs_diff(frame, booth_background()) < 3.0


def test_consecutive_snapshots_differ_like_a_real_sensor(camera_server):
    camera_server.camera.show_face(pattern_image())
    with Camera(camera_server.snapshot_url) as cam:
        first, second = cam.read_frame(), cam.read_frame()
    assert not np.array_equal(first, second)


def test_unplugged_camera_refuses_connections(camera_server):
    url = camera_server.snapshot_url
    camera_server.unplug()
    with pytest.raises(CameraUnavailable) as info:
        Camera(url)
    assert isinstance(info.value, DeviceUnavailable)


def test_camera_unplugged_after_opening_raises_unavailable_then_recovers_on_replug(camera_server):
    cam = Camera(camera_server.snapshot_url)
    cam.read_frame()
    camera_server.unplug()
    with pytest.raises(CameraUnavailable):
        cam.read_frame()
    camera_server.replug()
    assert cam.read_frame().ndim == 3
    cam.close()


def test_frozen_camera_raises_frozen_frame(camera_server):
    camera_server.camera.show_face(pattern_image())
    with Camera(camera_server.snapshot_url) as cam:
        cam.read_frame()
        camera_server.camera.inject("frozen")
        with pytest.raises(FrozenFrame):  # the camera repeats the exposure the adapter already has
            cam.read_frame()
        camera_server.camera.clear_faults()
        cam.read_frame()


def test_black_camera_raises_blank_frame(camera_server):
    camera_server.camera.show_face(pattern_image())
    camera_server.camera.inject("black")
    with Camera(camera_server.snapshot_url) as cam:
        with pytest.raises(BlankFrame):
            cam.read_frame()
        camera_server.camera.clear_faults()
        assert not is_blank(cam.read_frame())


def test_camera_that_accepts_but_never_answers_times_out():
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/snapshot.jpg"
        with pytest.raises(CameraTimeout):
            Camera(url, timeout_s=0.3, http_mode="snapshot").read_frame()
    finally:
        silent.close()


def test_image_file_source_reads_rgb_and_repeats_without_being_frozen(tmp_path):
    shown = pattern_image()
    path = tmp_path / "card.png"
    cv2.imwrite(str(path), cv2.cvtColor(shown, cv2.COLOR_RGB2BGR))
    with Camera(str(path)) as cam:
        assert np.array_equal(cam.read_frame(), shown)
        assert np.array_equal(cam.read_frame(), shown)
        assert cam.settings.manual_exposure is None  # a file has no exposure to fix


def test_missing_image_file_is_unavailable(tmp_path):
    with pytest.raises(CameraUnavailable):
        Camera(str(tmp_path / "nothing.jpg"))


def test_video_file_source_reads_frames_and_rewinds(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (320, 240))
    for shade in (60, 120, 180):
        writer.write(np.full((240, 320, 3), shade, dtype=np.uint8))
    writer.release()
    with Camera(str(path)) as cam:
        levels = [int(cam.read_frame().mean()) for _ in range(4)]
    assert abs(levels[0] - 60) < 5 and abs(levels[2] - 180) < 5
    assert abs(levels[3] - 60) < 5  # rewound at the end


def test_missing_device_index_is_unavailable():
    with pytest.raises(CameraUnavailable):
        Camera(97, timeout_s=0.5)


def test_closed_camera_refuses_reads(camera_server):
    cam = Camera(camera_server.snapshot_url)
    cam.close()
    with pytest.raises(CameraError):
        cam.read_frame()


def test_error_messages_name_the_source_kind_not_the_picture(camera_server):
    camera_server.camera.show_face(pattern_image())
    camera_server.camera.inject("black")
    with Camera(camera_server.snapshot_url) as cam:
        with pytest.raises(BlankFrame) as info:
            cam.read_frame()
    assert "snapshot" in str(info.value) and len(str(info.value)) < 120


@pytest.mark.parametrize("source, kind", [(0, "device"), ("2", "device"), ("a/b.jpg", "image"), ("x.TIF", "image"),
                                          ("clip.mp4", "video"), ("http://h/snap.jpg", "http"),
                                          ("rtsp://h/live", "url")])
def test_sources_are_classified_by_form(source, kind):
    assert classify_source(source) == kind


def test_undecodable_bytes_are_a_bad_frame():
    with pytest.raises(CameraError):
        decode_image(b"not a jpeg")
    assert decode_image(encode_jpeg(pattern_image())).shape == (240, 320, 3)


@given(st.binary(max_size=512))
@settings(max_examples=200)
def test_random_bytes_from_a_camera_are_a_bad_frame_or_an_image(data):
    try:
        frame = decode_image(data)
    except BadFrame:
        return
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3


@given(st.integers(0, 255), st.integers(1, 40), st.integers(1, 40))
def test_blank_means_no_pixel_above_the_black_level(level, height, width):
    frame = np.full((height, width, 3), level, dtype=np.uint8)
    assert is_blank(frame) == (level <= BLANK_MAX_LEVEL)


def test_a_backend_that_refuses_manual_exposure_says_so(tmp_path):
    from hardware.camera import _OpenCvCapture

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (64, 48))
    writer.write(np.full((48, 64, 3), 90, dtype=np.uint8))
    writer.release()
    capture = _OpenCvCapture(str(path), api=cv2.CAP_FFMPEG, description="video file", timeout_s=1.0)
    try:
        report = capture.fix_settings(exposure_value=50, white_balance_k=4500)
    finally:
        capture.close()
    assert report.manual_exposure is False and report.manual_white_balance is False
    assert "FFMPEG backend did not accept manual exposure and white balance" in report.note


def test_mjpeg_stream_after_a_stall_hands_over_its_short_backlog_in_order(camera_server):
    """A reader that stalled (one slow frame) gets the last few frames in order, not only the newest:
    a blink is visible in two or three frames; older frames are dropped and counted."""
    import time

    from hardware.mjpeg import BACKLOG_FRAMES, MjpegStream

    camera_server.camera.show_face(pattern_image())
    stream = MjpegStream(camera_server.stream_url + "?fps=20")
    try:
        first = stream.next_frame()
        time.sleep(0.6)                                      # about 12 frames arrive meanwhile
        behind = [stream.next_frame(first.seq)]
        for _ in range(BACKLOG_FRAMES - 1):
            behind.append(stream.next_frame(behind[-1].seq))
        seqs = [frame.seq for frame in behind]
        assert seqs == list(range(seqs[0], seqs[0] + BACKLOG_FRAMES))     # consecutive: nothing skipped
        assert stream.dropped == seqs[0] - first.seq - 1 > 0              # the older ones, counted
        assert all(a.t <= b.t for a, b in zip(behind, behind[1:]))
    finally:
        stream.close()
