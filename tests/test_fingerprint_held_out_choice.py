"""The leave-one-database-out choice behind bench fingerprint's held-out robustness headline: each
database's figures come from the setting chosen on the other three, never from its own."""
from __future__ import annotations

from bench import _fingerprint_robustness_lodo as harness
from matcher.fingerprint import learned_parameters as L

DBS = ("DB1_B", "DB2_B", "DB3_B", "DB4_B")
SETS = ("dry",)


def _result(clean_fvc, clean, dry):
    return {"clean FVC": dict(zip(DBS, clean_fvc)), "clean": dict(zip(DBS, clean)), "dry": dict(zip(DBS, dry))}


def test_each_database_gets_the_setting_best_on_the_other_three():
    results = {"a": _result([0, 0, 0, 0], [1, 1, 1, 1], [5, 5, 5, 5]),
               "b": _result([0, 0, 0, 0], [1, 1, 1, 1], [9, 2, 2, 2])}   # b is better except on DB1
    chosen, held = harness.held_out_choice(results, SETS)
    assert chosen == {"DB1_B": "b", "DB2_B": "b", "DB3_B": "b", "DB4_B": "b"}
    assert held["dry"] == {"DB1_B": 9, "DB2_B": 2, "DB3_B": 2, "DB4_B": 2}


def test_a_database_that_alone_favours_a_setting_does_not_choose_it_for_itself():
    results = {"a": _result([0, 0, 0, 0], [1, 1, 1, 1], [3, 3, 3, 0]),
               "b": _result([0, 0, 0, 0], [1, 1, 1, 1], [2, 2, 2, 9])}
    chosen, held = harness.held_out_choice(results, SETS)
    assert chosen["DB4_B"] == "b" and held["dry"]["DB4_B"] == 9        # its own 0 under "a" is not used
    assert chosen["DB1_B"] == "a"                                      # DB4's 9 outweighs b's gain elsewhere


def test_a_setting_worse_than_the_first_on_the_clean_protocol_cannot_be_chosen():
    results = {"reference": _result([0, 0, 0, 0], [1, 1, 1, 1], [5, 5, 5, 5]),
               "costly": _result([1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0])}
    chosen, _ = harness.held_out_choice(results, SETS)
    assert set(chosen.values()) == {"reference"}


def test_the_shipped_threshold_comes_from_the_headline_grid_and_the_guard_is_its_first():
    assert L.QUALITY_THRESHOLD in harness.SHIPPED_THRESHOLDS
    assert harness.SHIPPED_THRESHOLDS[0] == 0.35                       # the threshold it replaced
