"""Build a synthetic registry's shard set on the Dask workers (each shard generated where it is written).

A shard is generated straight into its compact arrays: one compiled loop draws every finger impression
of the shard's records and packs it (x, y to int16 px, direction to 256 steps, exactly as
``national.shards.build_shard`` packs a Template), so no per-minutia Python objects are made. The shard
set is written under a directory keyed by the registry's parameters (size, duplicates, seed, fingers,
generator version): a bench re-run with the same parameters reuses it.
"""
from __future__ import annotations

import math
from functools import partial

import numba
import numpy as np

from matcher.face import codes as face_codes

from ..gallery import ShardSet, build, current
from ..shards import ANGLE_STEPS, Shard
from .fingers import impression
from .registry import SyntheticRegistry

CENTRE_SAMPLE = 20000
GENERATOR_VERSION = 3      # 2: capped at the learned extractor's 40 minutiae; 3: impressions re-fitted to it


@numba.njit(cache=False)   # not cached: numba's cache would not notice a change to fingers.impression
def _finger_arrays(seed, persons, captures, fingers):
    """Packed minutiae of every finger of the given (person, capture) records: offsets, xy, angle."""
    n = persons.size
    offsets = np.zeros(n * fingers + 1, np.int64)
    capacity = n * fingers * 48
    xy = np.empty((capacity, 2), np.int16)
    angle = np.empty(capacity, np.uint8)
    at = 0
    for i in range(n):
        for f in range(fingers):
            rows = impression(seed, persons[i], f, captures[i])
            m = rows.shape[0]
            if at + m > xy.shape[0]:
                grow = max(2 * xy.shape[0], at + m)
                xy2 = np.empty((grow, 2), np.int16)
                xy2[:at] = xy[:at]
                angle2 = np.empty(grow, np.uint8)
                angle2[:at] = angle[:at]
                xy, angle = xy2, angle2
            for k in range(m):
                xy[at + k, 0] = np.int16(min(32767.0, max(-32768.0, np.rint(rows[k, 0]))))
                xy[at + k, 1] = np.int16(min(32767.0, max(-32768.0, np.rint(rows[k, 1]))))
                a = rows[k, 2] % (2 * math.pi)
                angle[at + k] = np.uint8(int(np.rint(a * ANGLE_STEPS / (2 * math.pi))) % ANGLE_STEPS)
            at += m
            offsets[i * fingers + f + 1] = at
    return offsets, xy[:at].copy(), angle[:at].copy()


def synthetic_shard(registry: SyntheticRegistry, lo: int, hi: int, centre: np.ndarray) -> Shard:
    """Records [lo, hi) of the registry as one shard."""
    records = np.arange(lo, hi, dtype=np.int64)
    persons = registry.person(records)
    captures = registry.capture(records)
    faces = registry.faces(records)
    codes = face_codes.encode_codes(faces, np.asarray(centre, np.float32), face_codes.default_projection())
    offsets, xy, angle = _finger_arrays(registry.seed, persons, captures, registry.fingers)
    return Shard(records, codes, faces.astype(np.float16), offsets, xy, angle, registry.fingers)


def generation_of(registry: SyntheticRegistry) -> str:
    return (f"synthetic-n{registry.size}-d{registry.duplicates}-s{registry.seed}-f{registry.fingers}"
            f"-v{GENERATOR_VERSION}")


def shard_set(registry: SyntheticRegistry, root, shard_size: int, key: bytes, client=None) -> ShardSet:
    """The registry's shard set at ``root`` sealed under ``key``: reused when already built from the same
    registry (same generation), built on the workers otherwise."""
    generation = generation_of(registry)
    found = current(root, generation)
    if found is not None:
        return found
    centre = face_codes.fit_centre(registry.faces(np.arange(min(registry.size, CENTRE_SAMPLE))))
    bounds = list(range(0, registry.size, shard_size)) + [registry.size]
    builders = [partial(synthetic_shard, registry, lo, hi, centre) for lo, hi in zip(bounds, bounds[1:])]
    return build(root, generation, centre, registry.fingers, builders, key, client=client)
