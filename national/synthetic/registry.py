"""A synthetic registry for scale: N records, two fingers and a face each, with planted duplicates.

Record r is person r, enrolled once (capture 0), except the planted duplicates: a duplicate record is
another record's person enrolled again (capture 1: new impressions of the same fingers with their own
distortion and noise, a new face capture), so the answer key is exact. Everything is a pure function of
(seed, record), so shards are generated on the workers that keep them and nothing large is shipped.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .faces import FacePopulation
from .fingers import as_template, impression


@dataclass(frozen=True)
class SyntheticRegistry:
    size: int
    duplicates: int
    seed: int = 1
    fingers: int = 2

    def __post_init__(self) -> None:
        if self.size < 2 or not 0 <= 2 * self.duplicates <= self.size or self.fingers < 1:
            raise ValueError("a synthetic registry needs size >= 2, 0 <= 2 * duplicates <= size, fingers >= 1")

    @cached_property
    def planted(self) -> np.ndarray:
        """(duplicates, 2) int64 rows (duplicate record, original record), by duplicate record."""
        rng = np.random.default_rng([self.seed, 0xD0B])
        chosen = rng.choice(self.size, 2 * self.duplicates, replace=False)
        pairs = np.stack([chosen[:self.duplicates], chosen[self.duplicates:]], axis=1).astype(np.int64)
        return pairs[np.argsort(pairs[:, 0])]

    @cached_property
    def _person_and_capture(self) -> tuple[np.ndarray, np.ndarray]:
        person = np.arange(self.size, dtype=np.int64)
        capture = np.zeros(self.size, np.int64)
        person[self.planted[:, 0]] = self.planted[:, 1]
        capture[self.planted[:, 0]] = 1
        return person, capture

    def person(self, records: np.ndarray) -> np.ndarray:
        return self._person_and_capture[0][np.asarray(records, np.int64)]

    def capture(self, records: np.ndarray) -> np.ndarray:
        return self._person_and_capture[1][np.asarray(records, np.int64)]

    def mates(self) -> dict[int, int]:
        """Every planted record -> the record it duplicates, both ways."""
        out = {int(d): int(o) for d, o in self.planted}
        out.update({int(o): int(d) for d, o in self.planted})
        return out

    def finger_rows(self, record: int) -> list[np.ndarray]:
        """Impression rows (x, y, angle, kind, quality) of each finger of a record."""
        person, capture = self._person_and_capture
        return [impression(self.seed, int(person[record]), f, int(capture[record])) for f in range(self.fingers)]

    def finger_templates(self, record: int):
        return [as_template(rows) for rows in self.finger_rows(record)]

    def faces(self, records: np.ndarray) -> np.ndarray:
        person, capture = self._person_and_capture
        records = np.asarray(records, np.int64)
        return FacePopulation(self.seed).embeddings(person[records], capture[records])

    def recapture(self, record: int, capture: int) -> tuple[np.ndarray, list]:
        """Another capture (``capture`` >= 2) of the person enrolled as ``record``: a booth probe.
        Returns (unit face embedding, finger templates)."""
        if capture < 2:
            raise ValueError("captures 0 and 1 are the enrolments; a new capture is numbered 2 or more")
        person = int(self.person(np.array([record]))[0])
        face = FacePopulation(self.seed).embeddings(np.array([person]), np.array([capture]))[0]
        return face, [as_template(impression(self.seed, person, f, capture)) for f in range(self.fingers)]
