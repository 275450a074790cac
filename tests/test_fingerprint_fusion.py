"""Fused classical + learned scores in the fingerprint bench: the rule for a database is chosen on the
other three only, the bench's fast error rates are FVC's definitions, and fusing real prints' scores keeps
mates above impostors."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import _fingerprint_fusion as fusion
from bench import fingerprint as bench
from matcher import fingerprint as fp

DBS = ["DB1_B", "DB2_B", "DB3_B", "DB4_B"]
scores = st.lists(st.floats(0, 1, allow_nan=False).map(lambda v: round(v, 2)), min_size=1, max_size=40)


def reference_eer(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """FVC's EER spelled out threshold by threshold: the midpoint of the interval where FMR and FNMR cross."""
    thresholds = np.unique(np.concatenate([genuine, impostor, [np.inf]]))
    fmr = np.array([np.mean(impostor >= t) for t in thresholds])
    fnmr = np.array([np.mean(genuine < t) for t in thresholds])
    below, above = np.flatnonzero(fnmr <= fmr), np.flatnonzero(fnmr >= fmr)
    t1 = below[-1] if below.size else 0
    t2 = above[0] if above.size else len(thresholds) - 1
    if fnmr[t1] + fmr[t1] <= fnmr[t2] + fmr[t2]:
        return (fnmr[t1] + fmr[t1]) / 2
    return (fmr[t2] + fnmr[t2]) / 2


def reference_fnmr_at_fmr(genuine: np.ndarray, impostor: np.ndarray, target: float) -> float:
    """FNMR at the lowest threshold whose FMR is at most ``target``, threshold by threshold."""
    for t in np.unique(np.concatenate([impostor, [np.inf]])):
        if np.mean(impostor >= t) <= target:
            return float(np.mean(genuine < t))
    return 1.0


@given(scores, scores)
def test_fast_eer_is_the_fvc_eer(genuine, impostor):
    g, i = np.array(genuine), np.array(impostor)
    assert bench.eer(g, i) == pytest.approx(reference_eer(g, i), abs=1e-12)


@given(scores, scores, st.sampled_from([0.0, 0.01, 0.1, 0.5]))
def test_fast_fnmr_at_fmr_is_the_fvc_one(genuine, impostor, target):
    g, i = np.array(genuine), np.array(impostor)
    assert bench.fnmr_at_fmr(g, i, target) == reference_fnmr_at_fmr(g, i, target)


def synthetic_scores(rng, learned_separates: dict) -> dict:
    """Per database: learned scores that separate mates (or not), classical scores that always do."""
    out = {}
    for db in DBS:
        sizes = {"genuine": 280, "fvc": 45, "all": 2800}
        out[db] = {"classical": {p: (0.3 if p == "genuine" else 0.02) + 0.05 * rng.random(n) for p, n in sizes.items()},
                   "learned": {p: ((0.4 if p == "genuine" and learned_separates[db] else 0.02)
                                   + 0.05 * rng.random(n)) for p, n in sizes.items()}}
    return out


def test_each_database_is_fused_by_the_rule_best_on_the_other_three():
    rng = np.random.default_rng(1)
    # Learned scores are useless on DB1 only: DB1's rule is chosen where learned scores work, so it
    # trusts them and fails there; the others see DB1 in training and keep the classical scores in.
    scores_ = synthetic_scores(rng, {"DB1_B": False, "DB2_B": True, "DB3_B": True, "DB4_B": True})
    folds = fusion.lodo({db: scores_ for db in DBS}, DBS, fusion.rules())
    assert folds["DB1_B"][0][0] == "learned only"
    assert folds["DB1_B"][2]["fvc"] > 10.0
    for db in DBS[1:]:
        assert folds[db][0][0] != "learned only"
        assert folds[db][2]["fvc"] == 0.0


def test_the_held_out_database_never_changes_its_own_rule():
    rng = np.random.default_rng(2)
    good = synthetic_scores(rng, {db: True for db in DBS})
    spoiled = {db: {m: {p: v.copy() for p, v in parts.items()} for m, parts in good[db].items()} for db in DBS}
    spoiled["DB3_B"]["learned"]["genuine"][:] = 0.0
    chosen = [fusion.lodo({db: s for db in DBS}, DBS, fusion.rules())["DB3_B"] for s in (good, spoiled)]
    assert chosen[0][0] == chosen[1][0]
    assert chosen[0][2]["fvc"] == 0.0 and chosen[1][2]["fvc"] > chosen[0][2]["fvc"]


def test_rule_weights_span_learned_only_to_classical_only():
    learned, classical = np.array([0.1, 0.5]), np.array([0.3, 0.0])
    by_name = {rule[0]: rule for rule in fusion.rules()}
    assert np.array_equal(fusion.fuse(by_name["learned only"], learned, classical, {}), learned)
    assert np.array_equal(fusion.fuse(by_name["classical only"], learned, classical, {}), classical)
    assert np.allclose(fusion.fuse(by_name["raw sum w=0.5"], learned, classical, {}), (learned + classical) / 2)


@pytest.fixture(scope="module")
def classical_prints(tests_data):
    def load(name, dpi=500):
        image = cv2.imread(str(tests_data / "fingerprint" / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
        return fp.extract(image, dpi=dpi, method="classical")
    return {"a1": load("DB1_B_101_1"), "a2": load("DB1_B_101_2"), "b1": load("DB1_B_102_1")}


def test_fused_scores_of_real_prints_keep_mates_above_impostors(prints, classical_prints):
    """FVC2002 DB1 finger 101 twice and finger 102: every rule ranks the mate pair first, and the
    calibrated rules put it past the booth's threshold (FMR 1e-4) while the impostor stays below FMR 1 %."""
    learned = np.array([fp.compare_raw(prints["a1"], prints["a2"]), fp.compare_raw(prints["a1"], prints["b1"])])
    classical = np.array([fp.compare_raw(classical_prints["a1"], classical_prints["a2"]),
                          fp.compare_raw(classical_prints["a1"], classical_prints["b1"])])
    from matcher.fingerprint import calibration
    model = {"body_knots": calibration.BODY_KNOTS, "tail_start": calibration.TAIL_START,
             "exponent": calibration.TAIL_EXPONENT}
    for rule in fusion.rules():
        mate, impostor = fusion.fuse(rule, learned, classical, {"learned": model, "classical": model})
        assert mate > impostor, rule[0]
    mate, impostor = fusion.fuse(("calibrated max", "max", None), learned, classical,
                                 {"learned": model, "classical": model})
    assert mate >= fp.threshold_for_fmr(1e-4) and impostor < fp.threshold_for_fmr(1e-2)
