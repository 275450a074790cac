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


def test_de_duplication_pairs_one_and_three_views_of_the_same_records():
    from bench._fingerprint_enrolment import dedup_pairs

    for one, three in zip(dedup_pairs(1), dedup_pairs(3)):
        assert len(one) == len(three)
        for (clean, degraded), (clean3, degraded3) in zip(one, three):
            assert clean == clean3[:1] and degraded == degraded3[:1] and len(clean3) == len(degraded3) == 3


def test_a_de_duplication_record_pair_shares_no_capture_and_impostors_are_other_fingers():
    from bench._fingerprint_enrolment import dedup_pairs

    genuine, impostor = dedup_pairs(3)
    assert (len(genuine), len(impostor)) == (40, 180)
    for clean, degraded in genuine:
        assert len({f for f, _ in clean + degraded}) == 1
        assert not {k for _, k in clean} & {k for _, k in degraded}
    for clean, degraded in impostor:
        assert {f for f, _ in clean}.isdisjoint({f for f, _ in degraded})


def test_a_chimeric_person_is_two_fingers_of_one_split_and_impostor_persons_share_no_finger():
    from bench._fingerprint_enrolment import chimeric_persons, dedup_pairs

    for views in (1, 3):
        genuine, impostor = dedup_pairs(views)
        same, other = chimeric_persons(views)
        assert (len(same), len(other)) == (20, 40)
        for i, j in same:
            (ci, di), (cj, dj) = genuine[i], genuine[j]
            assert [k for _, k in ci] == [k for _, k in cj] and [k for _, k in di] == [k for _, k in dj]
            assert (ci[0][0], cj[0][0]) in {(2 * p - 1, 2 * p) for p in range(1, 6)}
        for i, j in other:
            (ci, di), (cj, dj) = impostor[i], impostor[j]
            assert {ci[0][0], cj[0][0]}.isdisjoint({di[0][0], dj[0][0]})
            assert cj[0][0] == ci[0][0] + 1 and dj[0][0] == di[0][0] + 1


def test_a_booth_session_s_two_probes_are_fresh_impressions_of_one_finger():
    from bench._fingerprint_enrolment import round_pairs

    genuine, impostor = round_pairs(3)
    assert (len(genuine), len(impostor)) == (100, 900)
    for (first, keys), (second, same_keys) in genuine:
        assert keys == same_keys and first[0] == second[0] == keys[0][0] and first != second
        assert not {first[1], second[1]} & {e for _, e in keys}
    for (first, keys), (second, _) in impostor:
        assert first[0] == second[0] != keys[0][0]


def test_a_booth_session_with_two_fingers_enrolled_asks_for_the_other_finger_second():
    from bench._fingerprint_enrolment import next_finger_round_pairs

    genuine, impostor = next_finger_round_pairs(3)
    assert (len(genuine), len(impostor)) == (100, 400)
    for (first, keys), (second, other_keys) in genuine:
        assert {first[0], second[0]} == {keys[0][0], other_keys[0][0]} and first[0] != second[0]
        assert first[0] == keys[0][0] and second[0] == other_keys[0][0]
        assert (first[0] + 1) // 2 == (second[0] + 1) // 2           # fingers 2p-1 and 2p: one person
        assert first[1] not in {e for _, e in keys} and second[1] not in {e for _, e in other_keys}
    for (first, keys), (second, other_keys) in impostor:
        assert (first[0] + 1) // 2 == (second[0] + 1) // 2 != (keys[0][0] + 1) // 2 == (other_keys[0][0] + 1) // 2


def test_two_rounds_share_the_booth_threshold_as_the_kiosk_does():
    import numpy as np

    from bench._fingerprint_enrolment import BOOTH_SCORE, best_of_threshold, not_verified
    from kiosk import workflow as wf
    from matcher.fingerprint import calibration

    rules = wf.Rules("PS", "k", target_fmr=1e-4, verification_rounds=2)
    import pytest

    assert best_of_threshold(BOOTH_SCORE, 2) == pytest.approx(calibration.threshold_for_fmr(wf.round_fmr(rules)))
    scores = np.array([[41.0, 44.0], [41.0, 42.0], [39.0, 39.0]])
    assert not_verified(scores, BOOTH_SCORE, 1).tolist() == [False, False, True]
    assert not_verified(scores, BOOTH_SCORE, 2).tolist() == [False, True, True]
