"""Thinning of the binary ridge image to one-pixel-wide ridge lines (Zhang-Suen 1984)."""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _thin(img):
    h, w = img.shape
    changed = True
    marks = np.zeros((h * w, 2), np.int32)
    while changed:
        changed = False
        for step in range(2):
            count = 0
            for y in range(1, h - 1):
                for x in range(1, w - 1):
                    if img[y, x] == 0:
                        continue
                    p2 = img[y - 1, x]; p3 = img[y - 1, x + 1]; p4 = img[y, x + 1]; p5 = img[y + 1, x + 1]
                    p6 = img[y + 1, x]; p7 = img[y + 1, x - 1]; p8 = img[y, x - 1]; p9 = img[y - 1, x - 1]
                    neighbours = p2 + p3 + p4 + p5 + p6 + p7 + p8 + p9
                    if neighbours < 2 or neighbours > 6:
                        continue
                    transitions = ((p2 == 0 and p3 == 1) + (p3 == 0 and p4 == 1) + (p4 == 0 and p5 == 1)
                                   + (p5 == 0 and p6 == 1) + (p6 == 0 and p7 == 1) + (p7 == 0 and p8 == 1)
                                   + (p8 == 0 and p9 == 1) + (p9 == 0 and p2 == 1))
                    if transitions != 1:
                        continue
                    if step == 0:
                        if p2 * p4 * p6 != 0 or p4 * p6 * p8 != 0:
                            continue
                    else:
                        if p2 * p4 * p8 != 0 or p2 * p6 * p8 != 0:
                            continue
                    marks[count, 0] = y
                    marks[count, 1] = x
                    count += 1
            for i in range(count):
                img[marks[i, 0], marks[i, 1]] = 0
            if count > 0:
                changed = True
    return img


@numba.njit(cache=True)
def _remove_staircase(img):
    # Zhang-Suen leaves 4-connected corners; drop the redundant pixel so every line is 8-connected
    # and one pixel wide (otherwise the crossing number sees false branch points).
    h, w = img.shape
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            if img[y, x] == 0:
                continue
            n = img[y - 1, x]; e = img[y, x + 1]; s = img[y + 1, x]; wv = img[y, x - 1]
            if (n and e and not img[y + 1, x - 1] and not s and not wv) or \
               (e and s and not img[y - 1, x - 1] and not n and not wv) or \
               (s and wv and not img[y - 1, x + 1] and not n and not e) or \
               (wv and n and not img[y + 1, x + 1] and not s and not e):
                img[y, x] = 0
    return img


def thin(ridges: np.ndarray) -> np.ndarray:
    """One-pixel-wide 8-connected skeleton (bool) of a boolean ridge image."""
    img = np.zeros((ridges.shape[0] + 2, ridges.shape[1] + 2), np.uint8)
    img[1:-1, 1:-1] = ridges
    img = _remove_staircase(_thin(img))
    return img[1:-1, 1:-1].astype(bool)
