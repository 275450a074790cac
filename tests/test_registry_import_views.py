"""A commission export may enrol a finger from several impressions: the import keeps every one."""
from __future__ import annotations

import base64

import cv2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.audit.note import Signer
from kiosk.registry import ImportRejected, Registry
from kiosk.registry import export_format as fmt
from kiosk.registry.demo import PACKAGED
from kiosk.registry.importer import import_export, write_export
from matcher import fingerprint
from matcher.fingerprint import iso

KEY = bytes(range(32))
COMMISSION = Signer("commission-registry", Ed25519PrivateKey.generate())


@pytest.fixture(scope="module")
def impressions() -> list[fingerprint.Template]:
    """Three real templates at one resolution (the packaged prints; only their number matters here)."""
    read = lambda name: cv2.imread(str(PACKAGED / name), cv2.IMREAD_GRAYSCALE)  # noqa: E731
    return [fingerprint.extract(read(name), dpi=500) for name in ("finger1_1.png", "finger1_3.png", "finger2_1.png")]


@pytest.fixture
def registry(tmp_path):
    reg = Registry(f"sqlite:///{tmp_path / 'r.sqlite3'}", KEY)
    yield reg
    reg.close()


def imported(registry, tmp_path, record: bytes):
    row = {"id_number": "123456789", "id_check": "7", "name": "SOK DARA", "birth_date": "1990-01-01", "sex": "M",
           "station_id": "PS-0001", "fingers": {"right_index": base64.b64encode(record).decode()}}
    export = write_export(tmp_path / "export", [row], signer=COMMISSION)
    import_export(registry, export, commission_keys=[COMMISSION.verifier])
    return registry.find_voter("123456789").voter_id


def refusal(registry, tmp_path, record: bytes):
    with pytest.raises(ImportRejected) as rejected:
        imported(registry, tmp_path, record)
    [problem] = rejected.value.report.problems
    assert registry.count_voters() == 0
    return problem


def test_every_impression_is_enrolled_best_quality_first(registry, tmp_path, impressions):
    voter = imported(registry, tmp_path, fingerprint.views_to_iso(impressions))
    views = registry.enrolment(voter).fingers["right_index"]
    assert len(views) == 3
    assert sorted((v.quality for v in views), reverse=True) == [v.quality for v in views]
    assert sorted(len(v.minutiae) for v in views) == sorted(len(t.minutiae) for t in impressions)


def test_a_one_impression_record_is_stored_as_before(registry, tmp_path, impressions):
    voter = imported(registry, tmp_path, impressions[0].to_iso())
    assert registry.enrolment_bytes(voter)[0]["right_index"] == impressions[0].to_iso()
    assert len(registry.enrolment(voter).fingers["right_index"]) == 1


def test_the_first_stored_view_is_the_best_quality_impression(registry, tmp_path, impressions):
    voter = imported(registry, tmp_path, fingerprint.views_to_iso(impressions))
    best = max(impressions, key=lambda t: t.quality)
    first = fingerprint.Template.from_iso(registry.enrolment_bytes(voter)[0]["right_index"])
    assert first.quality == best.quality and len(first.minutiae) == len(best.minutiae)


def test_the_station_gallery_holds_every_impression_under_its_voter_and_finger(registry, tmp_path, impressions):
    voter = imported(registry, tmp_path, fingerprint.views_to_iso(impressions))
    gallery, labels = registry.fingerprint_index()
    assert labels == [(voter, "right_index")] * 3
    for view in registry.enrolment(voter).fingers["right_index"]:
        hit, score = gallery.search(view, top_k=1)[0]
        assert score == pytest.approx(fingerprint.compare(view, view))


def test_more_impressions_than_the_format_allows_are_refused(registry, tmp_path, impressions):
    record = fingerprint.views_to_iso((impressions * 2)[:fmt.MAX_FINGER_VIEWS + 1])
    problem = refusal(registry, tmp_path, record)
    assert problem.code == "template_too_many_views" and f"at most {fmt.MAX_FINGER_VIEWS}" in problem.message


def test_an_impression_with_too_few_minutiae_is_refused_and_named(registry, tmp_path, impressions):
    sparse = fingerprint.Template(impressions[1].minutiae[:4], impressions[1].width, impressions[1].height,
                                  impressions[1].dpi, impressions[1].quality)
    problem = refusal(registry, tmp_path, fingerprint.views_to_iso([impressions[0], sparse]))
    assert problem.code == "template_too_few_minutiae" and "view 1 has 4 minutiae" in problem.message


def test_impressions_of_different_fingers_in_one_record_are_refused(registry, tmp_path, impressions):
    record = iso.decode(fingerprint.views_to_iso(impressions[:2]))
    views = tuple(view.__class__(**{**view.__dict__, "position": position})
                  for view, position in zip(record.views, (2, 3)))         # right index, right middle
    mixed = iso.encode_iso(record.__class__(**{**record.__dict__, "views": views}))
    problem = refusal(registry, tmp_path, mixed)
    assert problem.code == "template_unreadable" and "different fingers" in problem.message


def test_an_impression_with_few_minutiae_is_imported_and_reported_for_a_second_look(registry, tmp_path, impressions):
    from matcher.fingerprint.calibration import SPARSE_MINUTIAE

    sparse = fingerprint.Template(impressions[1].minutiae[:12], impressions[1].width, impressions[1].height,
                                  impressions[1].dpi, impressions[1].quality)
    row = {"id_number": "123456789", "id_check": "7", "name": "SOK DARA", "birth_date": "1990-01-01", "sex": "M",
           "station_id": "PS-0001",
           "fingers": {"right_index": base64.b64encode(fingerprint.views_to_iso([impressions[0], sparse])).decode()}}
    export = write_export(tmp_path / "export", [row], signer=COMMISSION)
    report = import_export(registry, export, commission_keys=[COMMISSION.verifier])
    assert report.imported and registry.count_voters() == 1
    [notice] = report.notices
    assert (notice.line, notice.code) == (1, "finger_sparse")
    assert f"view 1 has 12 minutiae, fewer than {SPARSE_MINUTIAE}" in notice.message
    assert report.as_dict()["notices"][0]["code"] == "finger_sparse"
    assert "123456789" not in str(report.as_dict())


def test_full_prints_bring_no_notice(registry, tmp_path, impressions):
    row = {"id_number": "123456789", "id_check": "7", "name": "SOK DARA", "birth_date": "1990-01-01", "sex": "M",
           "station_id": "PS-0001", "fingers": {"right_index": base64.b64encode(impressions[0].to_iso()).decode()}}
    report = import_export(registry, write_export(tmp_path / "export", [row], signer=COMMISSION),
                           commission_keys=[COMMISSION.verifier])
    assert report.imported and report.notices == []
