"""Minutiae from the skeleton: crossing number, then direction by following the ridge.

Kinds follow ISO 19794-2: 1 = ridge ending, 2 = bifurcation. Directions use image axes here
(x right, y down, angle = atan2(dy, dx)); :mod:`.extractor` converts to the ISO convention.
A ridge ending points out of its ridge; a bifurcation points toward its stem. This makes an ending
and the bifurcation it becomes when pressure joins it to the next ridge point the same way.
"""
from __future__ import annotations

import math

import numba
import numpy as np

ENDING = 1
BIFURCATION = 2

# Neighbours in circular order, starting north, clockwise (dy, dx).
_RING_Y = np.array([-1, -1, 0, 1, 1, 1, 0, -1], np.int64)
_RING_X = np.array([0, 1, 1, 1, 0, -1, -1, -1], np.int64)


@numba.njit(cache=True)
def _crossing_number(sk, y, x, ry, rx):
    total = 0
    for i in range(8):
        a = sk[y + ry[i], x + rx[i]]
        b = sk[y + ry[(i + 1) % 8], x + rx[(i + 1) % 8]]
        if a != b:
            total += 1
    return total // 2


@numba.njit(cache=True)
def _trace(sk, y0, x0, y1, x1, max_steps, ry, rx):
    """Follow the skeleton from (y0, x0) through (y1, x1); stop at a branch, an end or max_steps.

    Returns (y, x, steps, stopped_at_branch)."""
    h, w = sk.shape
    py, px = y0, x0
    cy, cx = y1, x1
    steps = 1
    while steps < max_steps:
        ny = -1
        nx = -1
        count = 0
        for i in range(8):
            yy = cy + ry[i]
            xx = cx + rx[i]
            if yy < 0 or yy >= h or xx < 0 or xx >= w or not sk[yy, xx]:
                continue
            if (yy == py and xx == px) or (yy == y0 and xx == x0):
                continue
            # Skip pixels adjacent to where we came from: they are the same line's corner.
            if abs(yy - py) <= 1 and abs(xx - px) <= 1:
                continue
            count += 1
            ny = yy
            nx = xx
        if count == 0:
            return cy, cx, steps, False
        if count > 1:
            return cy, cx, steps, True
        py, px = cy, cx
        cy, cx = ny, nx
        steps += 1
    return cy, cx, steps, False


@numba.njit(cache=True)
def _detect(sk, trace_length, ry, rx):
    h, w = sk.shape
    cap = 4096
    out_x = np.empty(cap, np.float32)
    out_y = np.empty(cap, np.float32)
    out_a = np.empty(cap, np.float32)
    out_k = np.empty(cap, np.uint8)
    out_steps = np.empty(cap, np.int32)
    out_branch = np.empty(cap, np.bool_)
    out_ey = np.empty(cap, np.int32)
    out_ex = np.empty(cap, np.int32)
    n = 0
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            if not sk[y, x]:
                continue
            cn = _crossing_number(sk, y, x, ry, rx)
            if cn != 1 and cn != 3:
                continue
            if n >= cap:
                break
            if cn == 1:
                # The single neighbour starts the ridge.
                for i in range(8):
                    yy = y + ry[i]
                    xx = x + rx[i]
                    if sk[yy, xx]:
                        ey, ex, steps, branch = _trace(sk, y, x, yy, xx, trace_length, ry, rx)
                        break
                out_a[n] = math.atan2(y - ey, x - ex)
                out_k[n] = 1
                out_steps[n] = steps
                out_branch[n] = branch
                out_ey[n] = ey
                out_ex[n] = ex
            else:
                # Three branches: start pixels are the first skeleton pixel of each run in the ring.
                angles = np.zeros(3)
                found = 0
                for i in range(8):
                    a = sk[y + ry[i], x + rx[i]]
                    prev = sk[y + ry[(i + 7) % 8], x + rx[(i + 7) % 8]]
                    if a and not prev and found < 3:
                        ey, ex, steps, branch = _trace(sk, y, x, y + ry[i], x + rx[i], trace_length, ry, rx)
                        angles[found] = math.atan2(ey - y, ex - x)
                        found += 1
                if found < 3:
                    continue
                # The stem is the branch farthest in angle from the other two.
                best = 0
                best_gap = -1.0
                for b in range(3):
                    gap = 10.0
                    for c in range(3):
                        if c != b:
                            d = abs(angles[b] - angles[c]) % (2 * math.pi)
                            d = min(d, 2 * math.pi - d)
                            gap = min(gap, d)
                    if gap > best_gap:
                        best_gap = gap
                        best = b
                out_a[n] = angles[best]
                out_k[n] = 2
                out_steps[n] = 0
                out_branch[n] = False
                out_ey[n] = y
                out_ex[n] = x
            out_x[n] = x
            out_y[n] = y
            n += 1
    return (out_x[:n], out_y[:n], out_a[:n], out_k[:n], out_steps[:n], out_branch[:n],
            out_ey[:n], out_ex[:n])


class Candidates:
    """Raw minutiae straight from the skeleton, with the trace facts the filters need."""

    def __init__(self, x, y, angle, kind, trace_steps, trace_hit_branch, trace_end_y, trace_end_x):
        self.x = x
        self.y = y
        self.angle = angle
        self.kind = kind
        self.trace_steps = trace_steps
        self.trace_hit_branch = trace_hit_branch
        self.trace_end_y = trace_end_y
        self.trace_end_x = trace_end_x

    def __len__(self) -> int:
        return int(self.x.size)

    def subset(self, keep: np.ndarray) -> "Candidates":
        return Candidates(*(a[keep] for a in (self.x, self.y, self.angle, self.kind, self.trace_steps,
                                              self.trace_hit_branch, self.trace_end_y, self.trace_end_x)))


def detect(skeleton: np.ndarray, trace_length: float) -> Candidates:
    """Endings (crossing number 1) and bifurcations (3) of a boolean skeleton."""
    sk = np.zeros((skeleton.shape[0] + 2, skeleton.shape[1] + 2), np.uint8)
    sk[1:-1, 1:-1] = skeleton
    x, y, a, k, steps, branch, ey, ex = _detect(sk, max(2, int(round(trace_length))), _RING_Y, _RING_X)
    return Candidates(x - 1, y - 1, a, k, steps, branch, ey - 1, ex - 1)
