"""A template with fewer minutiae than the enrolment floor (MIN_MINUTIAE) is not evidence of anything:
it scores 0 in 1:1 comparison, never ranks in a 1:N search, finds nothing as a probe, and a commission
export carrying one is refused with a clear reason. (LSS-R divides by a pair count that shrinks with the
smaller template, so before this floor a 4-minutia template scored 62 against an unrelated print.)"""
from __future__ import annotations

import base64

import cv2
import pytest

from kiosk.registry.demo import PACKAGED
from matcher import fingerprint as fp


def _extract(name):
    return fp.extract(cv2.imread(str(PACKAGED / name), cv2.IMREAD_GRAYSCALE), dpi=500)


def _thinned(template, count):
    return fp.Template(minutiae=template.minutiae[:count], width=template.width, height=template.height,
                       dpi=template.dpi, quality=template.quality)


@pytest.fixture(scope="module")
def packaged_prints():
    """Two impressions of one finger and one of another, from the packaged sample images."""
    return {"enrolled": _extract("finger1_1.png"), "same": _extract("finger1_3.png"),
            "other": _extract("finger2_3.png")}


def test_the_floor_is_the_enrolment_floor():
    from matcher.fingerprint import parameters

    assert fp.MIN_MINUTIAE == parameters.MIN_MINUTIAE == 6


def test_a_template_at_the_floor_is_comparable_and_one_below_is_not(packaged_prints):
    assert fp.comparable(_thinned(packaged_prints["enrolled"], fp.MIN_MINUTIAE))
    assert not fp.comparable(_thinned(packaged_prints["enrolled"], fp.MIN_MINUTIAE - 1))


def test_a_sparse_template_scores_zero_even_against_its_own_print(packaged_prints):
    sparse = _thinned(packaged_prints["enrolled"], 4)
    assert fp.compare(packaged_prints["enrolled"], packaged_prints["same"]) >= fp.threshold_for_fmr(1e-4)
    assert fp.compare(sparse, packaged_prints["enrolled"]) == 0.0
    assert fp.compare(packaged_prints["same"], sparse) == 0.0
    assert fp.compare_raw(sparse, packaged_prints["other"]) == 0.0


def test_a_sparse_gallery_template_scores_zero_in_both_searches(packaged_prints):
    gallery = fp.Gallery([_thinned(packaged_prints["same"], 4), packaged_prints["other"], packaged_prints["same"]])
    hits = dict(gallery.search(packaged_prints["enrolled"], top_k=3))
    assert hits[0] == 0.0 and hits[2] >= fp.threshold_for_fmr(1e-4)
    (exhaustive,) = gallery.search_exhaustive([packaged_prints["enrolled"]], top_k=3)
    assert dict(exhaustive)[0] == 0.0 and exhaustive[0][0] == 2


def test_a_sparse_probe_finds_nothing(packaged_prints):
    gallery = fp.Gallery([packaged_prints["enrolled"], packaged_prints["other"]])
    sparse = _thinned(packaged_prints["same"], fp.MIN_MINUTIAE - 1)
    assert gallery.search(sparse, top_k=2) == []
    assert gallery.search_exhaustive([sparse, packaged_prints["same"]], top_k=1)[0] == []
    assert gallery.search_exhaustive([sparse, packaged_prints["same"]], top_k=1)[1][0][0] == 0
    assert gallery.search_exhaustive([sparse, sparse], top_k=1) == [[], []]
    assert gallery.search_exhaustive([packaged_prints["same"], sparse], top_k=1)[1] == []


def test_an_export_with_a_sparse_template_is_refused_and_imports_nothing(packaged_prints, tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kiosk.audit.note import Signer
    from kiosk.registry import ImportRejected, Registry
    from kiosk.registry.importer import import_export, write_export

    signer = Signer("commission-registry", Ed25519PrivateKey.generate())
    registry = Registry(f"sqlite:///{tmp_path / 'r.sqlite3'}", bytes(range(32)))
    row = {"id_number": "123456789", "id_check": "7", "name": "SOK DARA", "birth_date": "1990-01-01", "sex": "M",
           "station_id": "PS-0001",
           "fingers": {"right_index": base64.b64encode(_thinned(packaged_prints["enrolled"], 5).to_iso()).decode()}}
    export = write_export(tmp_path / "x", [row], None, signer=signer)
    with pytest.raises(ImportRejected) as rejected:
        import_export(registry, export, commission_keys=[signer.verifier])
    (problem,) = rejected.value.report.problems
    assert problem.code == "template_too_few_minutiae" and "5 minutiae" in problem.message
    assert registry.count_voters() == 0
