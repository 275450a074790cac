"""Capture: face.encode accepts the image layouts a camera or file gives and refuses bad captures with a reason."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from matcher import face
from matcher.face.detection import detect
from matcher.face.errors import REASONS, LowQualityError, MultipleFacesError, NoFaceError
from matcher.face.quality import Box, choose_subject


def read_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def faces_dir(tests_data: Path) -> Path:
    return tests_data / "faces"


@pytest.fixture(scope="module")
def portrait(faces_dir: Path) -> np.ndarray:
    return read_rgb(faces_dir / "img10.jpg")


@pytest.fixture(scope="module")
def portrait_template(portrait: np.ndarray) -> face.Template:
    return face.encode(portrait)


def reason_of(image: np.ndarray) -> str:
    with pytest.raises(face.CaptureError) as caught:
        face.encode(image)
    return caught.value.reason


# -- accepted captures ---------------------------------------------------------------------------------

def test_a_portrait_gives_a_unit_128_float32_template_with_its_quality(portrait_template):
    assert portrait_template.vector.shape == (128,)
    assert portrait_template.vector.dtype == np.float32
    assert np.linalg.norm(portrait_template.vector) == pytest.approx(1.0, abs=1e-5)
    assert portrait_template.quality.face_px >= face.CAPTURE.min_face_px
    assert 0 < portrait_template.quality_score <= 100


def test_a_32_bit_png_is_accepted_and_matches_its_rgb_copy(faces_dir):
    rgba = cv2.cvtColor(cv2.imread(str(faces_dir / "32bit_small.png"), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    assert rgba.shape[2] == 4
    from_rgba = face.encode(rgba)
    from_rgb = face.encode(np.ascontiguousarray(rgba[:, :, :3]))
    assert np.allclose(from_rgba.vector, from_rgb.vector, atol=1e-6)


def test_a_greyscale_frame_is_accepted_and_still_matches_the_colour_photo(portrait, portrait_template):
    grey = cv2.cvtColor(portrait, cv2.COLOR_RGB2GRAY)
    tpl = face.encode(grey)
    assert face.compare(tpl, portrait_template) >= face.threshold_for_fmr(1e-4)


def test_a_single_channel_frame_is_treated_as_greyscale(portrait):
    grey = cv2.cvtColor(portrait, cv2.COLOR_RGB2GRAY)
    assert np.array_equal(face.encode(grey[:, :, None]).vector, face.encode(grey).vector)


def test_the_same_person_scores_above_a_different_person(faces_dir, portrait_template):
    same = face.encode(read_rgb(faces_dir / "img5.jpg"))
    other = face.encode(read_rgb(faces_dir / "img46.jpg"))
    genuine, impostor = face.compare(portrait_template, same), face.compare(portrait_template, other)
    assert genuine > impostor
    assert genuine >= face.threshold_for_fmr(1e-3)
    assert impostor < face.threshold_for_fmr(1e-2)


# -- refused captures, each with its reason -------------------------------------------------------------

def test_no_face_in_the_frame(faces_dir):
    with pytest.raises(NoFaceError) as caught:
        face.encode(read_rgb(faces_dir / "no_face.jpg"))
    assert caught.value.reason == "no_face"


@pytest.mark.parametrize("name", ["couple_small.jpg", "selfie-many-people.jpg"])
def test_several_faces_of_similar_size(faces_dir, name):
    with pytest.raises(MultipleFacesError) as caught:
        face.encode(read_rgb(faces_dir / name))
    assert caught.value.reason == "several_faces"
    assert caught.value.count >= 2


def test_a_tiny_face_asks_the_voter_to_move_closer(faces_dir):
    with pytest.raises(LowQualityError) as caught:
        face.encode(read_rgb(faces_dir / "obama-240p.jpg"))
    assert caught.value.reason == "too_small"
    assert "move closer" in str(caught.value)


def test_a_face_shrunk_below_the_detector_window_is_too_small_not_absent(portrait):
    small = cv2.resize(portrait, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)  # face ~65 px
    assert reason_of(small) == "too_small"


def test_an_underexposed_face_is_too_dark(portrait):
    assert reason_of((portrait * 0.15).astype(np.uint8)) == "too_dark"


def test_an_overexposed_face_is_too_bright(portrait):
    assert reason_of(np.clip(portrait.astype(np.int32) * 3 + 60, 0, 255).astype(np.uint8)) == "too_bright"


def test_a_defocused_face_is_blurred(portrait, portrait_template):
    sigma = portrait_template.quality.face_px / 40
    assert reason_of(cv2.GaussianBlur(portrait, (0, 0), sigma)) == "blurred"


def test_a_half_turned_face_is_not_frontal(faces_dir):
    selfie = read_rgb(faces_dir / "selfie-many-people.jpg")
    turned = max(detect(selfie), key=lambda b: b.width)      # the selfie-taker, looking aside
    margin = int(0.35 * turned.width)
    crop = selfie[int(turned.top) - margin:int(turned.bottom) + margin,
                  int(turned.left) - margin:int(turned.right) + margin]
    assert reason_of(np.ascontiguousarray(crop)) == "not_frontal"


def test_every_reason_is_one_the_booth_knows():
    assert set(REASONS) == {"no_face", "several_faces", "too_small", "too_dark", "too_bright",
                                 "blurred", "not_frontal"}
    with pytest.raises(ValueError):
        LowQualityError("sunglasses", "not a reason the booth knows")


# -- the bystander rule (pure) ---------------------------------------------------------------------------

def test_a_clearly_smaller_bystander_is_ignored_and_the_largest_face_chosen():
    voter, bystander = Box(100, 100, 300, 300), Box(400, 50, 510, 160)   # 110 px <= 0.6 * 200 px
    assert choose_subject([bystander, voter]) == voter


def test_a_bystander_nearly_as_large_as_the_voter_makes_the_capture_ambiguous():
    with pytest.raises(MultipleFacesError):
        choose_subject([Box(100, 100, 300, 300), Box(400, 50, 530, 180)])   # 130 px > 0.6 * 200 px


# -- bad input arrays ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [
    np.zeros((480, 640, 3), dtype=np.float32),
    np.zeros((480, 640, 3), dtype=np.uint16),
    np.zeros((480, 640, 2), dtype=np.uint8),
    np.zeros((480,), dtype=np.uint8),
    np.zeros((8, 8, 3), dtype=np.uint8),
    [[0, 1], [2, 3]],
])
def test_arrays_that_are_not_images_are_refused_with_a_format_error(bad):
    with pytest.raises(face.ImageFormatError):
        face.encode(bad)


def test_an_empty_grey_frame_has_no_face():
    assert reason_of(np.full((480, 640, 3), 128, dtype=np.uint8)) == "no_face"


# -- the shared datasets --------------------------------------------------------------------------------------

@pytest.mark.dataset
def test_dataset_multi_face_pictures_are_refused(datasets):
    for name in ("deepface-13/couple.jpg", "deepface-13/selfie-many-people.jpg",
                 "fr-examples/examples/two_people.jpg", "fr-examples/examples/knn_examples/test/obama_and_biden.jpg"):
        with pytest.raises(MultipleFacesError):
            face.encode(read_rgb(datasets / "faces" / name))


@pytest.mark.dataset
def test_dataset_32_bit_png_is_accepted(datasets):
    path = datasets / "faces" / "fr-examples" / "tests" / "test_images" / "32bit.png"
    rgba = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    assert face.encode(rgba).quality.face_px > 200


@pytest.mark.dataset
def test_dataset_tiny_face_is_too_small(datasets):
    with pytest.raises(LowQualityError) as caught:
        face.encode(read_rgb(datasets / "faces" / "fr-examples" / "examples" / "obama-240p.jpg"))
    assert caught.value.reason == "too_small"


@pytest.mark.dataset
@pytest.mark.slow
def test_dataset_every_labelled_portrait_passes_the_gate(datasets):
    folder = datasets / "faces" / "deepface-13"
    names = [line.split(",")[0] for line in (folder / "labels.csv").read_text().splitlines()[1:]]
    for name in names:
        face.encode(read_rgb(folder / name))
