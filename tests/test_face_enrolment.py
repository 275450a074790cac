"""The two capture policies: the booth (face.CAPTURE) refuses what a registry photo (face.ENROLMENT) still
accepts, and `kiosk import` reports a refused photo per row with the policy's reason."""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.audit.note import Signer
from kiosk.registry import ImportRejected, Registry
from kiosk.registry.importer import import_export, write_export
from matcher import face

COMMISSION = Signer("commission-registry", Ed25519PrivateKey.generate())


def read_rgb(path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def portrait(tests_data) -> np.ndarray:
    return read_rgb(tests_data / "faces" / "img10.jpg")


@pytest.fixture(scope="module")
def enrolled(portrait) -> face.Template:
    return face.encode(portrait, policy=face.ENROLMENT)


def shrink_face_to(rgb: np.ndarray, face_px: float, now_px: float) -> np.ndarray:
    scale = face_px / now_px
    return cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def test_a_registry_photo_with_a_small_face_is_enrolled_where_the_booth_would_ask_to_move_closer(portrait, enrolled):
    small = shrink_face_to(portrait, 56, enrolled.quality.face_px)
    with pytest.raises(face.CaptureError) as booth:
        face.encode(small)
    assert booth.value.reason == "too_small" and "move closer" in str(booth.value)
    template = face.encode(small, policy=face.ENROLMENT)
    assert face.compare(template, enrolled) >= face.threshold_for_fmr(1e-4)


def test_a_face_below_the_floor_is_refused_with_its_size_for_the_operator(portrait, enrolled):
    stricter = dataclasses.replace(face.ENROLMENT, min_face_px=140.0)
    with pytest.raises(face.CaptureError) as caught:
        face.encode(shrink_face_to(portrait, 70, enrolled.quality.face_px), policy=stricter)
    assert caught.value.reason == "too_small"
    assert "px wide, needs 140" in str(caught.value) and "enrolment policy" in str(caught.value)
    assert "move closer" not in str(caught.value)


def test_a_photo_turned_40_degrees_is_found_by_the_enrolment_rotation_retry(portrait, enrolled):
    h, w = portrait.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 40, 1.0)
    turned = cv2.warpAffine(portrait, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    template = face.encode(turned, policy=face.ENROLMENT)
    assert face.compare(template, enrolled) >= face.threshold_for_fmr(1e-4)


def test_import_reports_a_refused_photo_on_its_row_with_the_reason(tmp_path, portrait, enrolled):
    registry = Registry(f"sqlite:///{tmp_path / 'r.sqlite3'}", bytes(range(32)))
    good = cv2.imencode(".jpg", cv2.cvtColor(shrink_face_to(portrait, 60, enrolled.quality.face_px),
                                             cv2.COLOR_RGB2BGR))[1].tobytes()
    canvas = np.full((240, 320, 3), 128, np.uint8)
    far = shrink_face_to(portrait, 12, enrolled.quality.face_px)              # found, but below the floor
    canvas[100:100 + far.shape[0], 150:150 + far.shape[1]] = far
    tiny = cv2.imencode(".jpg", cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))[1].tobytes()
    rows = [{"id_number": number, "id_check": check, "name": "SOK DARA", "birth_date": "1990-01-01", "sex": "M",
             "station_id": "PS-0001", "face": {"photo": photo}}
            for number, check, photo in (("123456789", "7", "photos/good.jpg"), ("987654321", "3", "photos/tiny.jpg"))]
    export = write_export(tmp_path / "x", rows, photos={"photos/good.jpg": good, "photos/tiny.jpg": tiny},
                          signer=COMMISSION)
    with pytest.raises(ImportRejected) as rejected:
        import_export(registry, export, commission_keys=[COMMISSION.verifier])
    problems = rejected.value.report.problems
    assert [(p.line, p.code) for p in problems] == [(2, "face_unusable")]
    assert "refused (too_small)" in problems[0].message and "px wide" in problems[0].message
    report = import_export(registry, export, commission_keys=[COMMISSION.verifier], skip_bad_rows=True)
    assert report.accepted == 1 and registry.count_voters() == 1


def test_the_public_api_is_small():
    assert sorted(face.__all__) == sorted(["encode", "compare", "threshold_for_fmr", "Template", "Gallery", "CAPTURE",
                                           "ENROLMENT", "FaceError", "CaptureError", "ImageFormatError"])
    from matcher.face.errors import CalibrationError, NoFaceError  # the rest stays importable from submodules
    assert issubclass(NoFaceError, face.CaptureError) and issubclass(CalibrationError, face.FaceError)
