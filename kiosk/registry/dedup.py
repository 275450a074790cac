"""Find suspected double registrations: 1:N across the registry with fused face and finger scores.

For each probe voter, the fingerprint and face galleries propose candidates (their top hits); each
candidate pair is then scored exactly on every finger both have enrolled and on the face, the scores
are fused (``matcher.fusion``) and the pair is reported when the fused false match rate is at or
below ``fmr``. The report names registry record ids only: the commission resolves them to people.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from kiosk.registry.storage import Registry


@dataclass(frozen=True)
class SuspectedDuplicate:
    voter_a: str
    voter_b: str
    fused_score: float
    fused_fmr: float
    finger_scores: dict
    face_score: float | None


@dataclass
class DuplicateReport:
    probes: int = 0
    candidates_checked: int = 0
    threshold_fmr: float = 1e-6
    suspects: list[SuspectedDuplicate] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"probes": self.probes, "candidates_checked": self.candidates_checked,
                "threshold_fmr": self.threshold_fmr,
                "suspects": [{"voter_a": s.voter_a, "voter_b": s.voter_b, "fused_score": round(s.fused_score, 2),
                              "fused_fmr": s.fused_fmr,
                              "finger_scores": {k: round(v, 2) for k, v in s.finger_scores.items()},
                              "face_score": None if s.face_score is None else round(s.face_score, 2)}
                             for s in self.suspects]}


def find_duplicates(registry: Registry, *, probe_voter_ids: Iterable[str] | None = None, fmr: float = 1e-6,
                    top_k: int = 5) -> DuplicateReport:
    from matcher import face, fingerprint, fusion

    finger_gallery, finger_labels = registry.fingerprint_index()
    face_gallery, face_labels = registry.face_index()
    probes = list(probe_voter_ids) if probe_voter_ids is not None else registry.all_voter_ids()
    report = DuplicateReport(probes=len(probes), threshold_fmr=fmr)
    enrolments: dict = {}

    def enrolment(voter_id):
        if voter_id not in enrolments:
            enrolments[voter_id] = registry.enrolment(voter_id)
        return enrolments[voter_id]

    seen: set[tuple[str, str]] = set()
    for probe_id in probes:
        mine = enrolment(probe_id)
        candidates: set[str] = set()
        if len(finger_gallery):
            for tpl in mine.fingers.values():
                for index, _ in finger_gallery.search(tpl, top_k=top_k + len(mine.fingers)):
                    candidates.add(finger_labels[index][0])
        if mine.face is not None and len(face_gallery):
            for index, _ in face_gallery.search(mine.face, top_k=top_k + 1):
                candidates.add(face_labels[index])
        candidates.discard(probe_id)
        for other_id in sorted(candidates):
            pair = tuple(sorted((probe_id, other_id)))
            if pair in seen:
                continue
            seen.add(pair)
            report.candidates_checked += 1
            other = enrolment(other_id)
            finger_scores = {name: fingerprint.compare(tpl, other.fingers[name])
                             for name, tpl in mine.fingers.items() if name in other.fingers}
            face_score = face.compare(mine.face, other.face) if mine.face is not None and other.face is not None \
                else None
            fused = fusion.fuse(face=face_score, fingers=list(finger_scores.values()))
            if fusion.decide(fused, fmr):
                report.suspects.append(SuspectedDuplicate(pair[0], pair[1], fused.score, fused.fmr,
                                                          finger_scores, face_score))
    report.suspects.sort(key=lambda s: -s.fused_score)
    return report
