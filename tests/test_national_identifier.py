"""The booth's no-card identification on the national search: station shard here, nation on Dask."""
from __future__ import annotations

import cv2
import pytest

from kiosk.registry import Registry
from kiosk.registry.demo import PACKAGED, build_demo_registry
from kiosk.workflow.national_identifier import ShardedIdentifier
from national.gallery import SearchTimeout

KEY = bytes(range(32))
STATION = "PS-0001"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from matcher import face, fingerprint

    data_dir = tmp_path_factory.mktemp("ident")
    registry = Registry(f"sqlite:///{data_dir / 'registry.sqlite3'}", KEY)
    content = build_demo_registry(registry, data_dir, station_id=STATION, source="packaged")
    probes = {}
    for voter in content["voters"]:
        image = cv2.imread(voter["probe_fingers"]["right_index"], cv2.IMREAD_GRAYSCALE)
        photo = cv2.cvtColor(cv2.imread(voter["probe_face"]), cv2.COLOR_BGR2RGB)
        probes[voter["role"], voter.get("registry_voter_id")] = (fingerprint.extract(image, dpi=500), face.encode(photo))
    identifier = ShardedIdentifier(registry, deadline_s=60)
    yield registry, probes, identifier
    identifier.close()


def test_a_station_voter_is_found_first_in_the_station_shard(demo):
    _, probes, identifier = demo
    (role, voter_id), (finger, face) = next(item for item in probes.items() if item[0][0] == "registered")
    found = identifier.identify(finger, face, STATION)
    assert found[0].voter_id == voter_id and found[0].finger is not None and found[0].face is not None


def test_a_voter_of_another_station_is_found_only_nationally_on_dask(demo):
    _, probes, identifier = demo
    (role, voter_id), (finger, face) = next(item for item in probes.items() if item[0][0] == "other_station")
    assert voter_id not in [c.voter_id for c in identifier.identify(finger, face, STATION)]
    assert identifier.identify(finger, face, None)[0].voter_id == voter_id
    assert identifier.identify(finger, None, None)[0].voter_id == voter_id       # no face: fingerprint index


def test_a_national_search_past_its_deadline_raises_instead_of_answering_partly(demo):
    _, probes, identifier = demo
    finger, face = next(v for k, v in probes.items() if k[0] == "registered")
    identifier.identify(finger, face, None)
    with pytest.raises(SearchTimeout):
        identifier.identify(finger, face, None, deadline=identifier.clock() - 1.0)


def test_the_operating_point_counts_the_voters_searched(demo):
    registry, _, identifier = demo
    assert identifier.enrolled(None) == registry.count_voters() == 4
    assert identifier.enrolled(STATION) == 3


def test_kiosk_dedup_opens_a_case_for_a_double_registration_and_exports_it(tmp_path, capsys, monkeypatch):
    import json
    from datetime import date

    from kiosk.cli import main
    from kiosk.registry.demo import PACKAGED
    from matcher import face, fingerprint

    data_dir, key_dir = tmp_path / "kiosk", tmp_path / "kiosk" / "keys"
    settings = type("S", (), {"key_dir": key_dir, "effective_database_url": f"sqlite:///{data_dir / 'registry.sqlite3'}"})
    registry = Registry.open(settings, create_keys=True)
    build_demo_registry(registry, data_dir, station_id=STATION, source="packaged")
    finger = fingerprint.extract(cv2.imread(str(PACKAGED / "finger1_3.png"), cv2.IMREAD_GRAYSCALE), dpi=500)
    photo = face.encode(cv2.cvtColor(cv2.imread(str(PACKAGED / "face1_probe.jpg")), cv2.COLOR_BGR2RGB))
    twin = registry.add_voter(id_number="987654321", name="SOK DARA-2", birth_date=date(1991, 2, 2), sex="M",
                              station_id=STATION, fingers={"right_index": finger.to_iso()}, face=photo.to_bytes())
    registry.close()
    monkeypatch.setenv("KIOSK_DATA_DIR", str(data_dir))
    monkeypatch.setenv("KIOSK_KEY_DIR", str(key_dir))
    assert main(["dedup", "--csv", str(tmp_path / "cases.csv")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cases_added"] == 1 and len(out["suspects"]) == 1 and twin in (out["suspects"][0]["voter_a"],
                                                                            out["suspects"][0]["voter_b"])
    assert (tmp_path / "cases.csv").read_text().count("case-00001") == 1
    assert main(["dedup"]) == 0 and json.loads(capsys.readouterr().out)["cases_added"] == 0   # not reopened


def test_a_finger_of_unknown_position_counts_each_enrolled_finger_of_a_record_as_a_chance():
    import numpy as np

    from matcher import fingerprint
    from matcher.fingerprint.calibration import best_of, calibrated
    from national.search import SearchStats, _finger_scores
    from national.shards import build_shard

    read = lambda name: cv2.imread(str(PACKAGED / name), cv2.IMREAD_GRAYSCALE)  # noqa: E731
    enrolled = [fingerprint.extract(read(name), dpi=500) for name in ("finger2_1.png", "finger1_1.png", "finger3_1.png")]
    probe = fingerprint.extract(read("finger1_3.png"), dpi=500)
    shard = build_shard(np.arange(1), np.zeros((1, 128), np.float32), [enrolled], np.zeros(128, np.float32))
    stored = [shard.finger(0, f) for f in range(3)]
    best = max(fingerprint.compare_raw(probe, t) for t in stored)
    anywhere = _finger_scores(shard, np.arange(1), [probe], True, SearchStats())[0, 0]
    assert anywhere == pytest.approx(best_of(calibrated(best), 3))
    assert anywhere == pytest.approx(calibrated(best) - 10 * np.log10(3))
    # at a known position (registration's de-duplication) a finger has one try: no correction
    in_place = _finger_scores(shard, np.arange(1), [None, probe], False, SearchStats())[0, 1]
    assert in_place == pytest.approx(calibrated(fingerprint.compare_raw(probe, stored[1])))
