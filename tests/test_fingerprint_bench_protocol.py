"""The fingerprint bench's leave-one-database-out choice: constants are picked on three databases
and reported on the fourth, never on the database they are reported for."""
from __future__ import annotations

from bench._fingerprint_variants import lodo

DBS = ["DB1", "DB2", "DB3", "DB4"]


def test_each_database_gets_the_setting_best_on_the_other_three():
    table = {"a": {"DB1": 0.0, "DB2": 1.0, "DB3": 1.0, "DB4": 1.0},
             "b": {"DB1": 5.0, "DB2": 0.5, "DB3": 0.5, "DB4": 0.5}}
    chosen, held_out = lodo(table, DBS)
    # "a" is perfect on DB1 itself but worse on the other three: DB1's figure is b's 5.0, not 0.0.
    # Held out DB2-4, "a" has the better mean on the rest (DB1's 0.0 counts for it).
    assert chosen == {"DB1": "b", "DB2": "a", "DB3": "a", "DB4": "a"}
    assert held_out == {"DB1": 5.0, "DB2": 1.0, "DB3": 1.0, "DB4": 1.0}


def test_a_setting_best_only_where_it_is_reported_is_never_chosen_for_it():
    table = {"x": {"DB1": 9.0, "DB2": 0.0, "DB3": 0.0, "DB4": 0.0},
             "y": {"DB1": 0.0, "DB2": 1.0, "DB3": 1.0, "DB4": 1.0}}
    chosen, held_out = lodo(table, DBS)
    assert chosen["DB1"] == "x" and held_out["DB1"] == 9.0


def test_ties_go_to_the_smaller_setting():
    table = {(0.35, 30): {db: 1.0 for db in DBS}, (0.35, 40): {db: 1.0 for db in DBS}}
    chosen, _ = lodo(table, DBS)
    assert set(chosen.values()) == {(0.35, 30)}

