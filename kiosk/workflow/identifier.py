"""1:N identification behind one small interface, so the search can move out of the kiosk process.

The workflow asks an :class:`Identifier` for the voters whose enrolments resemble the probes within a
scope (one station, or the whole registry) and makes the decision itself
(:func:`kiosk.workflow.rules.pick_identified`). :class:`GalleryIdentifier`, the default, searches
in-memory galleries built from the registry; a distributed back end (national search on Dask) only
has to implement :meth:`Identifier.identify`.
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any, Protocol

from kiosk.workflow.rules import IDENTIFICATION_TOP_K


@dataclass(frozen=True)
class Candidate:
    """A voter a search found, with the best score per modality that found them (None: not found by it)."""

    voter_id: str
    finger: float | None = None
    face: float | None = None

    @property
    def scores(self) -> dict[str, float]:
        """``{"finger": ..., "face": ...}`` without the modalities that did not find this voter."""
        return {name: score for name, score in (("finger", self.finger), ("face", self.face)) if score is not None}


def ranked(candidates: list[Candidate]) -> list[Candidate]:
    """Found by more modalities first, then by the higher sum of scores, then by voter_id (stable
    across back ends). The order is for reading and truncating; the decision fuses the scores itself."""
    return sorted(candidates, key=lambda c: (-len(c.scores), -sum(c.scores.values()), c.voter_id))


class Identifier(Protocol):
    def identify(self, finger_probe: Any, face_probe: Any, scope: str | None,
                 deadline: float | None = None) -> list[Candidate]:
        """Ranked candidates for the probes (either may be None) among the voters registered at
        station ``scope`` (None: the whole registry). ``deadline`` is a time on the workflow's clock by
        which a back end that waits on other machines must answer; it raises rather than returning a
        partial list."""
        ...


class GalleryIdentifier:
    """The in-process back end: one gallery per (modality, scope), built from the registry on first
    use and rebuilt when the registry's enrolment generation has changed (an import while the kiosk
    runs). Thread-safe. Its searches are in-memory top-k scans that always complete, so it does not
    need the deadline."""

    def __init__(self, registry, *, top_k: int = IDENTIFICATION_TOP_K):
        self.registry = registry
        self.top_k = top_k
        self._galleries: dict[tuple[str, str | None], tuple[int, Any, list, Counter]] = {}
        self._lock = threading.Lock()

    def identify(self, finger_probe: Any, face_probe: Any, scope: str | None,
                 deadline: float | None = None) -> list[Candidate]:
        finger: dict[str, float] = {}
        face: dict[str, float] = {}
        if finger_probe is not None:
            from matcher.fingerprint.calibration import best_of

            _, gallery, labels, enrolled = self._built("finger", scope)   # one generation for hits and counts
            for voter_id, score in self._hits(gallery, labels, finger_probe, lambda label: label[0]):
                finger[voter_id] = max(finger.get(voter_id, float("-inf")), score)  # best of the voter's fingers
            # the probe's position is unknown, so each of a voter's enrolled fingers (each impression of
            # each) was one more chance for an impostor to pass: the best is calibrated as that many
            # (matcher.fingerprint.calibration)
            finger = {voter_id: best_of(score, enrolled[voter_id]) for voter_id, score in finger.items()}
        if face_probe is not None:
            gallery, labels = self.gallery("face", scope)
            for voter_id, score in self._hits(gallery, labels, face_probe, lambda label: label):
                face[voter_id] = score
        return ranked([Candidate(voter_id, finger.get(voter_id), face.get(voter_id))
                       for voter_id in dict.fromkeys([*finger, *face])])

    def enrolled(self, scope: str | None) -> int:
        """Voters a search in ``scope`` compares against (the search's operating point depends on it)."""
        return self.registry.count_voters() if scope is None else len(self.registry.all_voter_ids(scope))

    def _hits(self, gallery, labels: list, probe: Any, voter) -> list[tuple[str, float]]:
        """(voter_id, score) of the gallery's best hits; ``voter`` maps a label to its voter_id
        (fingerprint labels are (voter_id, finger), face labels the voter_id)."""
        if not labels:
            return []
        return [(voter(labels[index]), float(score)) for index, score in gallery.search(probe, top_k=self.top_k)]

    def gallery(self, modality: str, scope: str | None) -> tuple[Any, list]:
        """The (gallery, labels) of ``modality`` ("finger" or "face") within ``scope``, current with
        the registry's enrolments."""
        built = self._built(modality, scope)
        return built[1], built[2]

    def _built(self, modality: str, scope: str | None) -> tuple[int, Any, list, Counter]:
        """(generation, gallery, labels, templates per voter: for fingers, fingers times their
        impressions; empty for faces), built again when the registry's enrolments changed."""
        key = (modality, scope)
        generation = self.registry.enrolment_generation()
        with self._lock:
            built = self._galleries.get(key)
            if built is None or built[0] != generation:
                if modality == "finger":
                    gallery, labels = self.registry.fingerprint_index(station_id=scope)
                    per_voter = Counter(voter_id for voter_id, _ in labels)
                else:
                    gallery, labels = self.registry.face_index(station_id=scope)
                    per_voter = Counter()
                built = self._galleries[key] = (generation, gallery, labels, per_voter)
            return built
