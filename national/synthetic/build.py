"""Build a synthetic registry's shard set on the Dask workers (each shard generated where it is written)."""
from __future__ import annotations

from functools import partial

import numpy as np

from matcher.face import codes as face_codes

from ..gallery import ShardSet, build, current
from .registry import SyntheticRegistry

CENTRE_SAMPLE = 20000


def _records(registry: SyntheticRegistry, lo: int, hi: int):
    records = np.arange(lo, hi, dtype=np.int64)
    return records, registry.faces(records), [registry.finger_templates(int(r)) for r in records]


def generation_of(registry: SyntheticRegistry) -> str:
    return (f"synthetic-n{registry.size}-d{registry.duplicates}-s{registry.seed}-f{registry.fingers}"
            f"-v1")


def shard_set(registry: SyntheticRegistry, root, shard_size: int, client=None) -> ShardSet:
    """The registry's shard set at ``root``: reused when already built from the same registry."""
    generation = generation_of(registry)
    found = current(root, generation)
    if found is not None:
        return found
    centre = face_codes.fit_centre(registry.faces(np.arange(min(registry.size, CENTRE_SAMPLE))))
    bounds = list(range(0, registry.size, shard_size)) + [registry.size]
    builders = [partial(_records, registry, lo, hi) for lo, hi in zip(bounds, bounds[1:])]
    return build(root, generation, centre, registry.fingers, builders, client=client)
