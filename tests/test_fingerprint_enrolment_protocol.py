"""The multi-impression enrolment measurement (bench/_fingerprint_enrolment.py) compares like with like."""
from __future__ import annotations

from bench._fingerprint_enrolment import enrolment_pairs


def test_one_and_three_enrolled_impressions_score_the_same_probes_against_the_same_fingers():
    for one, three in zip(enrolment_pairs(1), enrolment_pairs(3)):
        assert len(one) == len(three)
        for (probe, keys), (probe3, keys3) in zip(one, three):
            assert probe == probe3 and keys == keys3[:1] and len(keys3) == 3
            assert {f for f, _ in keys3} == {keys[0][0]}


def test_a_probe_never_meets_its_own_impression_and_impostors_meet_other_fingers():
    genuine, impostor = enrolment_pairs(3)
    assert (len(genuine), len(impostor)) == (160, 720)
    for (f, k), keys in genuine:
        assert all(g == f and e != k for g, e in keys)
    for (f, k), keys in impostor:
        assert all(g != f and e != k for g, e in keys)
    # two disjoint triples per probe: six different enrolled impressions
    by_probe = {}
    for probe, keys in genuine:
        by_probe.setdefault(probe, []).extend(keys)
    assert all(len(set(keys)) == 6 for keys in by_probe.values())


def test_the_bench_calibrates_the_best_of_k_as_the_kiosk_does():
    import numpy as np

    from bench._fingerprint_enrolment import calibrated_best_of
    from matcher.fingerprint import calibration

    raw = np.array([-1.0, 0.0, 0.012, 0.02, 0.025, 0.04, 0.09])
    for k in (1, 3):
        expected = [calibration.calibrated_best_of(max(r, 0.0), k) for r in raw]
        assert np.allclose(calibrated_best_of(raw, k), expected, atol=1e-9)
