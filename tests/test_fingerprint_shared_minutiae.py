"""The shared-minutiae ground truth of the partial sets' analysis (bench/_fingerprint_shared_minutiae.py),
on real FVC2002 templates."""
import math

import numpy as np

from bench._fingerprint_shared_minutiae import CONFIDENT, in_window, matched_pairs, shared_in_window


def _turned(minutiae, degrees, dx, dy):
    out = minutiae.copy()
    a = math.radians(degrees)
    x, y = minutiae["x"].astype(float), minutiae["y"].astype(float)
    out["x"] = math.cos(a) * x - math.sin(a) * y + dx
    out["y"] = math.sin(a) * x + math.cos(a) * y + dy
    out["angle"] = np.mod(minutiae["angle"] + a, 2 * math.pi)
    return out


def test_a_print_turned_and_moved_pairs_every_minutia_with_itself(prints):
    minutiae = prints["a1"].minutiae
    pairs = matched_pairs(minutiae, _turned(minutiae, 22, 40, -25))
    assert sorted(pairs) == [(i, i) for i in range(len(minutiae))]


def test_pairs_are_one_to_one(prints):
    pairs = matched_pairs(prints["a1"].minutiae, prints["a2"].minutiae)
    assert len({i for i, _ in pairs}) == len({j for _, j in pairs}) == len(pairs)


def test_two_impressions_of_a_finger_share_confidently_and_two_fingers_do_not(prints):
    same = len(matched_pairs(prints["a1"].minutiae, prints["a2"].minutiae))
    other = len(matched_pairs(prints["a1"].minutiae, prints["b1"].minutiae))
    assert same >= CONFIDENT > other


def test_nothing_pairs_with_an_empty_template(prints):
    assert matched_pairs(prints["a1"].minutiae[:0], prints["a2"].minutiae) == []


def test_a_window_is_top_left_corner_and_size(prints):
    m = prints["a1"].minutiae
    y, x = int(np.median(m["y"])), int(np.median(m["x"]))
    inside = in_window(m, (y, x, 1000, 1000))
    assert np.array_equal(inside, (m["x"] >= x) & (m["y"] >= y))
    assert 0 < inside.sum() < len(m)


def test_a_window_at_the_edge_of_a_stretched_print_keeps_its_pairs_by_a_fit_near_it(prints):
    minutiae = prints["a1"].minutiae
    stretched = minutiae.copy()
    stretched["x"] = minutiae["x"] * 1.2            # 20 % wider: one rigid fit cannot hold both edges
    pairs = matched_pairs(minutiae, stretched)
    window = (0, 250, 400, 200)                      # the right edge
    inside = in_window(minutiae, window)
    assert sum(1 for i, _ in pairs if inside[i]) < inside.sum()
    assert shared_in_window(minutiae, stretched, pairs, window) == inside.sum()
