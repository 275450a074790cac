"""Synthetic fingers: a master minutiae map per finger, and impressions of it as a sensor would give.

Distractors must not be copies of a few real prints (copies of a few dozen fingers share their
neighbourhoods, so impostors would score like relatives and duplicates would be found too easily or
too hard). Each synthetic finger is drawn from a generative model instead:

* direction field: Sherrill-Monro zero-pole model, theta = theta0 + 1/2 (sum arg(z - core) -
  sum arg(z - delta)), with the class (arch, loops, whorl) drawn at population frequencies; the field
  is smooth everywhere except at the singular points, like a real ridge flow;
* positions: a hard-core point process (no two minutiae closer than HARD_CORE), whose density varies
  per finger (log-normal), so counts and nearest-neighbour distances spread like real ones;
* direction of each minutia: the field's orientation, either way along the ridge, plus noise;
* kind: bifurcation with probability BIFURCATION_SHARE, else ridge ending; quality: a Beta draw.

An impression is what one capture of that finger yields: an elliptical contact area placed on the
finger, rotated and shifted, a smooth elastic distortion growing away from the contact centre, position
and angle jitter, some minutiae missed and some spurious ones added. Two impressions of one master are
a genuine pair (a re-enrolled person); impressions of two masters an impostor pair.

Every draw comes from numba's generator seeded by (seed, voter, finger[, impression]) so any finger
of any voter can be regenerated anywhere (on the Dask worker that builds its shard) without storing
masters. Constants below were set by comparing with FVC2002 DB1-3 (national.synthetic.statistics).
The impression constants were re-fitted when the learned extractor became the default (its FVC2002
templates: <= 40 minutiae, genuine raw MCC median 0.19): contact offset 40 -> 15 px, distortion 7 -> 3.5 px,
jitter 2 -> 1 px, missed 5-40 % -> 5-20 %, spurious 3-15 % -> 2-8 % moved the synthetic genuine median from
0.055 to 0.167 (150 pairs; fitted on FVC2002 DB1-3, so this comparison is in-sample).
Re-checked when the default moved to 0.9 x with no crop margin (2026-11-29, not re-fitted): FVC2002 DB1-3
templates 37 [18, 40] minutiae (synthetic 40 [26, 40], KS 0.18), nearest-neighbour distance KS 0.25,
orientation step KS 0.07; raw MCC impostor median 0.0131 (synthetic 0.0125, p99 0.0178 vs 0.0155, KS
0.24), genuine median 0.207 (was 0.192 at 0.8 x; synthetic 0.167, KS 0.20). Real genuine pairs now
score a little higher than synthetic ones, so synthetic duplicates stay the harder case.
Re-checked after seam repair and equalisation joined the extractor (2026-11-29, bench.dedup's FVC
section, not re-fitted): minutiae 38 [20, 40] (synthetic 40 [27, 40], KS 0.16), nearest-neighbour KS
0.22, orientation step KS 0.05; genuine median 0.188 (synthetic 0.148, KS 0.17); impostor p99 0.0187
(synthetic 0.0151, KS 0.29), 0.25 % of real impostors above the calibration's 1 % knot and none of the
synthetic ones: synthetic impostors have the lighter tail, so false-positive rates measured on
synthetic voters are optimistic.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from matcher.fingerprint.learned_parameters import MAX_MINUTIAE as LEARNED_MAX_MINUTIAE
from matcher.fingerprint.template import MINUTIA_DTYPE, Template

# -- the finger (master) -------------------------------------------------------------------------
FINGER_SEMI_AXES = (175.0, 215.0)  # px at 500 dpi: a 17 x 22 mm finger pad
DENSITY = 7.0e-4                   # minutiae per px^2 (median finger)
DENSITY_SPREAD = 0.22              # log-normal sigma of a finger's density
HARD_CORE = 6.0                    # px: closer minutiae are one detection
BIFURCATION_SHARE = 0.41
MASTER_ANGLE_NOISE = (math.radians(3.0), math.radians(25.0), 0.15)  # vs the smooth field: (usual, outlier sigma, outlier share)
PAIRED = 0.12                      # share of minutiae with a companion on the next ridge (islands, bridges)
RIDGE_PERIOD = 9.0                 # px
QUALITY_BETA = (2.6, 1.4)          # per-minutia quality ~ 100 * Beta(a, b)
# class frequencies (arch, tented arch, left loop, right loop, whorl)
CLASS_CUMULATIVE = np.array([0.04, 0.08, 0.41, 0.74, 1.0])

# -- one impression ----------------------------------------------------------------------------
CONTACT_SEMI_AXES = (135.0, 165.0) # px: the sensed area
CONTACT_SIZE_SPREAD = 0.12         # log-normal sigma of the contact size
CONTACT_OFFSET = 15.0              # px: contact centre uniform in +/- this around the pad centre
ROTATION = math.radians(20.0)      # uniform +/- this
TRANSLATION = 30.0                 # px in the image, uniform +/- this
DISTORTION = 3.5                   # px: max elastic displacement at the contact rim
POSITION_JITTER = 1.0              # px (sigma), times a log-normal per impression
IMPRESSION_SPREAD = 0.5            # log-normal sigma of an impression's jitter and distortion
ANGLE_JITTER = math.radians(4.0)   # sigma
MISSED = (0.05, 0.20)              # share of minutiae not detected, uniform in this range
SPURIOUS = (0.02, 0.08)            # spurious minutiae, as a share of the detected count
IMAGE_SIZE = (360, 400)            # width, height of the virtual image

MAX_MINUTIAE = LEARNED_MAX_MINUTIAE   # the shipped extractor keeps its best 40 (FVC2002: 36 [19, 40])


@numba.njit(cache=True)
def _mix(a, b):
    """A 63-bit seed from two integers (splitmix64 finaliser), so nearby voters get unrelated draws."""
    z = (np.uint64(a) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(b) + np.uint64(0x632BE59BD9B4E019))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return np.int64(z >> np.uint64(33))


@numba.njit(cache=True)
def _singularities(kind, ax, ay):
    """(cores, deltas) as (k, 2) arrays in pad coordinates (origin at the pad centre) for a class."""
    cores = np.zeros((2, 2))
    deltas = np.zeros((2, 2))
    nc = nd = 0
    if kind == 0:    # plain arch: core and delta far below the pad: gentle flow
        cores[0] = (np.random.normal(0, 20), ay * 1.3)
        deltas[0] = (np.random.normal(0, 20), ay * 1.5)
        nc = nd = 1
    elif kind == 1:  # tented arch: core right above the delta
        x = np.random.normal(0, 20)
        y = np.random.normal(0, 30)
        cores[0] = (x, y)
        deltas[0] = (x + np.random.normal(0, 5), y + np.random.uniform(30, 60))
        nc = nd = 1
    elif kind <= 3:  # loops: delta down and to one side
        side = -1.0 if kind == 2 else 1.0
        cores[0] = (np.random.normal(0, 25), np.random.normal(-20, 30))
        deltas[0] = (cores[0, 0] + side * np.random.uniform(80, 140), cores[0, 1] + np.random.uniform(90, 160))
        nc = nd = 1
    else:            # whorl: two cores, two deltas
        x, y = np.random.normal(0, 20), np.random.normal(0, 25)
        gap = np.random.uniform(10, 40)
        cores[0] = (x, y - gap / 2)
        cores[1] = (x + np.random.normal(0, 8), y + gap / 2)
        deltas[0] = (x - np.random.uniform(90, 140), y + np.random.uniform(90, 150))
        deltas[1] = (x + np.random.uniform(90, 140), y + np.random.uniform(90, 150))
        nc = nd = 2
    return cores[:nc], deltas[:nd]


@numba.njit(cache=True)
def _orientation(x, y, cores, deltas, theta0):
    t = theta0
    for c in range(cores.shape[0]):
        t += 0.5 * math.atan2(y - cores[c, 1], x - cores[c, 0])
    for d in range(deltas.shape[0]):
        t -= 0.5 * math.atan2(y - deltas[d, 1], x - deltas[d, 0])
    return t


@numba.njit(cache=True)
def master(seed, voter, finger):
    """A finger's full minutiae map in pad coordinates: (x, y, angle, kind, quality), n rows."""
    np.random.seed(_mix(_mix(seed, voter), finger))
    ax, ay = FINGER_SEMI_AXES
    u = np.random.random()
    kind = 0
    while CLASS_CUMULATIVE[kind] < u:
        kind += 1
    cores, deltas = _singularities(kind, ax, ay)
    theta0 = np.random.normal(0.0, 0.1)
    density = DENSITY * math.exp(DENSITY_SPREAD * np.random.normal())
    wanted = np.random.poisson(density * math.pi * ax * ay)
    wanted = min(wanted, 400)
    out = np.zeros((wanted, 5))
    n = 0
    tries = 0
    while n < wanted and tries < wanted * 20:
        tries += 1
        x = np.random.uniform(-ax, ax)
        y = np.random.uniform(-ay, ay)
        if (x / ax) ** 2 + (y / ay) ** 2 > 1.0:
            continue
        close = False
        for k in range(n):
            if (out[k, 0] - x) ** 2 + (out[k, 1] - y) ** 2 < HARD_CORE * HARD_CORE:
                close = True
                break
        if close:
            continue
        direction = _orientation(x, y, cores, deltas, theta0)
        if np.random.random() < 0.5:
            direction += math.pi
        out[n, 0] = x
        out[n, 1] = y
        out[n, 2] = direction + np.random.normal(0.0, MASTER_ANGLE_NOISE[1] if np.random.random() < MASTER_ANGLE_NOISE[2]
                                                  else MASTER_ANGLE_NOISE[0])
        out[n, 3] = 2.0 if np.random.random() < BIFURCATION_SHARE else 1.0
        out[n, 4] = 100.0 * np.random.beta(QUALITY_BETA[0], QUALITY_BETA[1])
        n += 1
        if n < wanted and np.random.random() < PAIRED:
            # a companion across the ridge flow, same orientation (a short ridge or a bridge)
            across = direction + math.pi / 2
            gap = RIDGE_PERIOD * np.random.uniform(0.8, 1.6)
            out[n, 0] = x + gap * math.cos(across)
            out[n, 1] = y + gap * math.sin(across)
            out[n, 2] = out[n - 1, 2] + math.pi * (np.random.random() < 0.5) + np.random.normal(0.0, 0.05)
            out[n, 3] = 3.0 - out[n - 1, 3]
            out[n, 4] = out[n - 1, 4]
            n += 1
    return out[:n], cores, deltas, theta0


@numba.njit(cache=True)
def impression(seed, voter, finger, capture):
    """Minutiae of one capture of (voter, finger) in image pixels: (n, 5) rows x, y, angle, kind, quality.

    ``voter`` is the person (whose master is drawn), ``capture`` tells captures of that person apart."""
    pad, cores, deltas, theta0 = master(seed, voter, finger)
    np.random.seed(_mix(_mix(_mix(seed, voter), finger), capture + 1000003))
    scale = math.exp(CONTACT_SIZE_SPREAD * np.random.normal())
    cax, cay = CONTACT_SEMI_AXES[0] * scale, CONTACT_SEMI_AXES[1] * scale
    ccx = np.random.uniform(-CONTACT_OFFSET, CONTACT_OFFSET)
    ccy = np.random.uniform(-CONTACT_OFFSET, CONTACT_OFFSET)
    rot = np.random.uniform(-ROTATION, ROTATION)
    c, s = math.cos(rot), math.sin(rot)
    tx = IMAGE_SIZE[0] / 2 + np.random.uniform(-TRANSLATION, TRANSLATION)
    ty = IMAGE_SIZE[1] / 2 + np.random.uniform(-TRANSLATION, TRANSLATION)
    rough = math.exp(IMPRESSION_SPREAD * np.random.normal())
    jitter = POSITION_JITTER * rough
    dvx, dvy = np.random.normal(0, rough * DISTORTION / 2), np.random.normal(0, rough * DISTORTION / 2)
    dw = np.random.normal(0.0, 0.02)
    missed = np.random.uniform(MISSED[0], MISSED[1])
    out = np.zeros((pad.shape[0] + 40, 5))
    n = 0
    for k in range(pad.shape[0]):
        dx, dy = pad[k, 0] - ccx, pad[k, 1] - ccy
        r2 = (dx / cax) ** 2 + (dy / cay) ** 2
        if r2 > 1.0 or np.random.random() < missed:
            continue
        # elastic distortion: nothing at the contact centre, most at the rim (Cappelli et al. 2001)
        ex = dx + r2 * (dvx - dw * dy)
        ey = dy + r2 * (dvy + dw * dx)
        out[n, 0] = tx + c * ex + s * ey + np.random.normal(0, jitter)
        out[n, 1] = ty - s * ex + c * ey + np.random.normal(0, jitter)
        out[n, 2] = pad[k, 2] + rot + np.random.normal(0, rough * ANGLE_JITTER)
        out[n, 3] = pad[k, 3]
        out[n, 4] = min(100.0, max(0.0, pad[k, 4] + np.random.normal(0, 8)))
        n += 1
    extra = np.random.poisson(n * np.random.uniform(SPURIOUS[0], SPURIOUS[1]))
    for _ in range(min(extra, out.shape[0] - n)):
        while True:
            dx, dy = np.random.uniform(-cax, cax), np.random.uniform(-cay, cay)
            if (dx / cax) ** 2 + (dy / cay) ** 2 <= 1.0:
                break
        direction = _orientation(dx + ccx, dy + ccy, cores, deltas, theta0)
        if np.random.random() < 0.5:
            direction += math.pi
        out[n, 0] = tx + c * dx + s * dy
        out[n, 1] = ty - s * dx + c * dy
        out[n, 2] = direction + rot + np.random.normal(0, 3 * ANGLE_JITTER)
        out[n, 3] = 2.0 if np.random.random() < BIFURCATION_SHARE else 1.0
        out[n, 4] = 100.0 * np.random.beta(QUALITY_BETA[0], QUALITY_BETA[1] + 1.0)
        n += 1
    rows = out[:n]
    if n > MAX_MINUTIAE:   # an extractor keeps its best ones
        rows = rows[np.argsort(-rows[:, 4])[:MAX_MINUTIAE]]
    return rows


def as_template(rows: np.ndarray) -> Template:
    """A matcher Template (500 dpi) from impression rows."""
    m = np.zeros(rows.shape[0], MINUTIA_DTYPE)
    m["x"], m["y"] = rows[:, 0], rows[:, 1]
    m["angle"] = np.mod(rows[:, 2], 2 * math.pi)
    m["kind"], m["quality"] = rows[:, 3].astype(np.uint8), rows[:, 4].astype(np.uint8)
    quality = int(np.clip(np.mean(rows[:, 4]) if len(rows) else 0, 0, 100))
    return Template(m, IMAGE_SIZE[0], IMAGE_SIZE[1], 500.0, quality)


def synthetic_template(seed: int, voter: int, finger: int, capture: int) -> Template:
    return as_template(impression(seed, voter, finger, capture))
