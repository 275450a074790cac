"""Fusion: calibrated face and fingerprint scores -> one score with a known false match rate."""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher import fusion
from matcher.fusion import FusedScore, FusionError, decide, fuse

scores = st.floats(min_value=0.0, max_value=150.0, allow_nan=False)


def test_one_modality_keeps_its_own_score_and_rate():
    fused = fuse(face=40.0)
    assert fused.modalities == ("face",)
    assert fused.score == pytest.approx(40.0)
    assert fused.fmr == pytest.approx(1e-4)


def test_fingers_alone_are_fused_without_a_face():
    fused = fuse(fingers=[30.0, 30.0])
    assert fused.modalities == ("finger", "finger")
    assert fused.fmr == pytest.approx(1e-6 * (1 + math.log(1e6)))     # Fisher, k = 2


def test_numpy_scores_and_a_missing_finger_list_are_accepted():
    fused = fuse(face=np.float32(40.0), fingers=None)
    assert fused.modalities == ("face",)
    assert fused.score == pytest.approx(40.0)


def test_no_modality_is_no_evidence_and_is_never_accepted():
    fused = fuse()
    assert fused == FusedScore(score=0.0, fmr=1.0, modalities=())
    assert not decide(fused, 1.0)


def test_two_moderate_matches_pass_a_target_neither_passes_alone():
    assert not decide(fuse(face=40.0), 1e-6)
    assert not decide(fuse(fingers=[40.0]), 1e-6)
    both = fuse(face=40.0, fingers=[40.0])
    assert both.fmr == pytest.approx(1e-8 * (1 + math.log(1e8)))
    assert decide(both, 1e-6)


def test_the_fused_rate_is_never_the_naive_product():
    # The product 1e-8 would over-state the evidence by the number of ways to split it.
    assert fuse(face=40.0, fingers=[40.0]).fmr > 1e-8


def test_a_non_matching_face_pulls_down_a_fingerprint_match():
    assert decide(fuse(fingers=[45.0]), 1e-4)
    assert not decide(fuse(face=0.0, fingers=[45.0]), 1e-4)


@given(st.lists(scores, min_size=1, max_size=5), st.integers(0, 4), st.floats(0.0, 30.0))
def test_raising_any_score_never_raises_the_fused_rate(values, which, extra):
    i = which % len(values)
    higher = list(values)
    higher[i] = min(150.0, higher[i] + extra)
    assert fuse(fingers=higher).fmr <= fuse(fingers=values).fmr * (1 + 1e-12)


@given(scores, st.lists(scores, min_size=0, max_size=4), st.randoms())
def test_the_order_of_the_fingers_does_not_matter(face_score, fingers, rnd):
    shuffled = list(fingers)
    rnd.shuffle(shuffled)
    assert fuse(face=face_score, fingers=shuffled).score == pytest.approx(fuse(face=face_score, fingers=fingers).score)


@given(st.lists(scores, min_size=1, max_size=6))
def test_score_and_rate_agree(values):
    fused = fuse(fingers=values)
    assert 0.0 <= fused.fmr <= 1.0
    assert fused.score == pytest.approx(-10 * math.log10(fused.fmr), abs=1e-9)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_impostors_are_accepted_at_the_target_rate_when_modalities_are_independent(k):
    # Calibrated impostor scores are -10 log10(U) with U uniform; the fused FMR must then be uniform too.
    alpha = 0.01
    rng = np.random.default_rng(2026 + k)
    p = 1.0 - rng.uniform(size=(60_000, k))                   # uniform on (0, 1]
    accepted = sum(decide(fuse(fingers=(-10 * np.log10(row)).tolist()), alpha) for row in p)
    # Tolerance ~3.7 binomial standard deviations (seeded, so deterministic).
    assert accepted / len(p) == pytest.approx(alpha, rel=0.15)


def test_out_of_range_scores_are_clamped_to_what_calibration_can_claim():
    assert fuse(face=-5.0).fmr == 1.0
    assert fuse(face=400.0).score == pytest.approx(fusion.MAX_MODALITY_SCORE)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "40", True, None])
def test_scores_that_are_not_finite_numbers_are_refused(bad):
    with pytest.raises(FusionError):
        fuse(fingers=[bad])


@pytest.mark.parametrize("target", [0.0, -1e-4, 1.5, float("nan"), "1e-4"])
def test_impossible_targets_are_refused(target):
    with pytest.raises(FusionError):
        decide(fuse(face=40.0), target)


def test_a_score_exactly_at_the_target_is_accepted():
    assert decide(fuse(face=40.0), 1e-4)
    assert decide(fuse(face=60.0), 1e-6)


# -- real scores from both engines ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_scores(tests_data: Path) -> dict[str, float]:
    """Face and fingerprint scores from real captures: genuine and impostor pairs of each modality."""
    from matcher import face, fingerprint

    def face_tpl(name: str):
        return face.encode(cv2.cvtColor(cv2.imread(str(tests_data / "faces" / name)), cv2.COLOR_BGR2RGB))

    def finger_tpl(name: str):
        return fingerprint.extract(cv2.imread(str(tests_data / "fingerprint" / name), cv2.IMREAD_GRAYSCALE), dpi=500)

    f10, f5, f46 = face_tpl("img10.jpg"), face_tpl("img5.jpg"), face_tpl("img46.jpg")
    p1, p2, q1 = finger_tpl("DB1_B_101_1.png"), finger_tpl("DB1_B_101_2.png"), finger_tpl("DB1_B_102_1.png")
    return {"face_genuine": face.compare(f10, f5), "face_impostor": face.compare(f10, f46),
            "finger_genuine": fingerprint.compare(p1, p2), "finger_impostor": fingerprint.compare(p1, q1)}


def test_real_genuine_face_and_finger_are_accepted_at_a_strict_rate(real_scores):
    fused = fuse(face=real_scores["face_genuine"], fingers=[real_scores["finger_genuine"]])
    assert fused.modalities == ("face", "finger")
    assert decide(fused, 1e-6)
    assert fused.score >= max(real_scores["face_genuine"], min(real_scores["finger_genuine"], 150.0)) - 1e-9


def test_real_impostor_face_and_finger_are_refused(real_scores):
    fused = fuse(face=real_scores["face_impostor"], fingers=[real_scores["finger_impostor"]])
    assert not decide(fused, 1e-4)


def test_a_real_face_match_with_a_missing_finger_is_decided_on_the_face_alone(real_scores):
    assert fuse(face=real_scores["face_genuine"], fingers=[]).score == pytest.approx(real_scores["face_genuine"])


def test_a_real_impostor_finger_with_a_genuine_face_is_weaker_than_the_face_and_finger_together(real_scores):
    mixed = fuse(face=real_scores["face_genuine"], fingers=[real_scores["finger_impostor"]])
    both = fuse(face=real_scores["face_genuine"], fingers=[real_scores["finger_genuine"]])
    assert mixed.fmr > both.fmr
