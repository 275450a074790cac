"""The demo registry is built from real sample images, and a double registration is caught."""
from __future__ import annotations

import json

import cv2
import pytest

from kiosk.registry import Registry
from kiosk.registry.dedup import find_duplicates
from kiosk.registry.demo import PACKAGED, _id_number, build_demo_registry

KEY = bytes(range(32))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo")
    registry = Registry(f"sqlite:///{data_dir / 'registry.sqlite3'}", KEY)
    content = build_demo_registry(registry, data_dir, source="packaged")
    return registry, data_dir, content


def test_demo_registers_everyone_but_the_impostor(demo):
    registry, data_dir, content = demo
    roles = [v["role"] for v in content["voters"]]
    assert roles == ["registered", "registered", "registered", "other_station", "impostor"]
    assert registry.count_voters() == 4
    assert json.loads((data_dir / "demo" / "voters.json").read_text())["voters"][4]["carries_card_of"] == "DEMO02"


def test_demo_voters_file_points_at_existing_probe_images(demo):
    _, _, content = demo
    from pathlib import Path

    for voter in content["voters"]:
        assert Path(voter["probe_face"]).is_file() and Path(voter["probe_fingers"]["right_index"]).is_file()


def test_registered_demo_voter_matches_their_probe_images_better_than_others(demo):
    from matcher import face, fingerprint

    registry, _, content = demo
    first = content["voters"][0]
    enrolment = registry.enrolment(first["registry_voter_id"])
    probe = fingerprint.extract(cv2.imread(first["probe_fingers"]["right_index"], cv2.IMREAD_GRAYSCALE), dpi=500)
    impostor = content["voters"][4]
    other = fingerprint.extract(cv2.imread(impostor["probe_fingers"]["right_index"], cv2.IMREAD_GRAYSCALE), dpi=500)
    assert fingerprint.compare(probe, enrolment.fingers["right_index"]) > \
        fingerprint.compare(other, enrolment.fingers["right_index"])
    rgb = cv2.cvtColor(cv2.imread(first["probe_face"]), cv2.COLOR_BGR2RGB)
    assert face.compare(face.encode(rgb), enrolment.face) > face.threshold_for_fmr(1e-4)


def test_demo_voters_enrolled_their_finger_from_two_impressions(demo):
    registry, _, content = demo
    for voter in content["voters"][:4]:
        assert len(registry.enrolment(voter["registry_voter_id"]).fingers["right_index"]) == 2


def test_clean_demo_registry_has_no_suspected_duplicates(demo):
    registry, _, _ = demo
    assert find_duplicates(registry).suspects == []


def test_same_person_registered_twice_is_reported(tmp_path):
    from datetime import date

    from matcher import face, fingerprint

    registry = Registry(f"sqlite:///{tmp_path / 'r.sqlite3'}", KEY)
    build_demo_registry(registry, tmp_path, source="packaged")
    # person 1 registers again under another name and number, with another impression and photo
    finger = fingerprint.extract(cv2.imread(str(PACKAGED / "finger1_3.png"), cv2.IMREAD_GRAYSCALE), dpi=500)
    photo = face.encode(cv2.cvtColor(cv2.imread(str(PACKAGED / "face1_probe.jpg")), cv2.COLOR_BGR2RGB))
    twin = registry.add_voter(id_number="987654321", name="SOK DARA-2", birth_date=date(1991, 2, 2), sex="M",
                              station_id="PS-0003", fingers={"right_index": finger.to_iso()}, face=photo.to_bytes())
    original = registry.find_voter(_id_number(1)).voter_id
    report = find_duplicates(registry, probe_voter_ids=[twin], fmr=1e-6)
    assert [(s.voter_a, s.voter_b) for s in report.suspects] == [tuple(sorted((twin, original)))]
