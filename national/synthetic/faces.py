"""Synthetic face embeddings shaped like dlib's (unit vectors in a narrow cone), per person and capture.

The population model and its constants are the ones bench/face.py measured on the labelled photos
(mean embedding norm ~0.91, identity spread ~0.36 along a decaying spectrum, capture noise ~0.18 with
a log-normal strength per capture); it is repeated here because ``national`` may not import ``bench``.
Each person's identity residual and each capture's noise are drawn from numba's generator seeded by
(seed, person[, capture]), so any record can be regenerated on any worker.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .fingers import _mix

DIMENSION = 128
MEAN_NORM = 0.914
IDENTITY_SPREAD = 0.357
SAMPLE_SPREAD = 0.18
SPECTRUM_DECAY = 40.0
CAPTURE_VARIATION = 0.2


@numba.njit(cache=True)
def _normals(seed, persons, captures, salt, dimension):
    out = np.empty((persons.size, dimension + 1))
    for i in range(persons.size):
        np.random.seed(_mix(_mix(_mix(seed, persons[i]), captures[i]), salt))
        for k in range(dimension + 1):
            out[i, k] = np.random.normal()
    return out


class FacePopulation:
    """The fixed shape of one synthetic population (its cone axis and spectrum), from ``seed``."""

    def __init__(self, seed: int, dimension: int = DIMENSION) -> None:
        rng = np.random.default_rng([seed, 0xFACE])
        axis = rng.standard_normal(dimension)
        self.axis = axis / np.linalg.norm(axis)
        self.basis = np.linalg.qr(rng.standard_normal((dimension, dimension)))[0]
        weights = np.exp(-np.arange(dimension) / SPECTRUM_DECAY)
        self.weights = weights * IDENTITY_SPREAD / np.sqrt(np.sum(weights ** 2))
        self.seed, self.dimension = int(seed), dimension

    def embeddings(self, persons: np.ndarray, captures: np.ndarray) -> np.ndarray:
        """One unit embedding (float32) per (person, capture)."""
        persons = np.asarray(persons, np.int64)
        captures = np.asarray(captures, np.int64)
        identity = _normals(self.seed, persons, np.zeros_like(persons), 1, self.dimension)[:, :-1]
        r = (identity * self.weights) @ self.basis.T
        r -= np.outer(r @ self.axis, self.axis)
        centres = MEAN_NORM * self.axis + r
        noise = _normals(self.seed, persons, captures + 1, 2, self.dimension)
        strength = SAMPLE_SPREAD * np.exp(CAPTURE_VARIATION * noise[:, -1:]) / math.sqrt(self.dimension)
        x = centres + noise[:, :-1] * strength
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
