"""Adjudication: each suspected duplicate is a case a reviewer confirms or dismisses.

A case is one probe record with its ranked candidates (fused score and FMR, face score, each finger's
score). A pair found from both sides (A finds B, B finds A) is one case, opened from the lower record.
Decisions are recorded twice: in the case book (a JSON file, rewritten atomically) and through the
``record`` callable the caller passes (the kiosk's or the commission's audit log). The audit event
carries no record ids, only the case id, the decision, the reviewer and ``case_sha256``, the digest of
the case's content as decided, so the log proves what was decided without naming anyone.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

DECISIONS = ("confirmed", "dismissed")
AUDIT_EVENT = "case_decided"


class CaseError(ValueError):
    """An unknown case, a decision that is not one of DECISIONS, or a case already decided."""


@dataclass
class CaseCandidate:
    record: str
    rank: int
    fused_score: float
    fused_fmr: float
    face_score: float | None
    finger_scores: list[float | None]


@dataclass
class Case:
    case_id: str
    probe: str
    candidates: list[CaseCandidate]
    status: str = "open"
    reviewer: str | None = None
    decided_at: str | None = None
    note: str = ""

    def digest(self) -> str:
        content = {"case_id": self.case_id, "probe": self.probe,
                   "candidates": [asdict(c) for c in self.candidates]}
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def open_cases(suspects: Mapping[int, list], label: Callable[[int], str] = str) -> list[Case]:
    """Cases from a de-duplication run's suspects ({probe record: [Candidate, ...]}), strongest first."""
    cases: list[Case] = []
    covered: dict[int, set[int]] = {}
    for probe in sorted(suspects):
        records = {c.record for c in suspects[probe]}
        earlier = [q for q in records if q < probe and q in covered]
        if any(records <= covered[q] | {q} for q in earlier):
            continue   # the same group, already opened from its lower record
        covered[probe] = records
        ranked = [CaseCandidate(label(c.record), rank + 1, round(c.fused_score, 2), c.fused_fmr,
                                None if c.face_score is None else round(c.face_score, 2),
                                [None if s is None else round(s, 2) for s in c.finger_scores])
                  for rank, c in enumerate(suspects[probe])]
        cases.append(Case("", label(probe), ranked))
    cases.sort(key=lambda c: (-c.candidates[0].fused_score, c.probe))
    for i, case in enumerate(cases):
        case.case_id = f"case-{i + 1:05d}"
    return cases


@dataclass
class CaseBook:
    path: Path
    cases: list[Case] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CaseBook":
        path = Path(path)
        if not path.exists():
            return cls(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            cases = [Case(**{**c, "candidates": [CaseCandidate(**k) for k in c["candidates"]]})
                     for c in raw["cases"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise CaseError(f"{path} is not a readable case book ({type(exc).__name__})") from exc
        return cls(path, cases)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"cases": [asdict(c) for c in self.cases]}, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)

    def add(self, cases: Iterable[Case]) -> int:
        """Add newly found cases, skipping any whose probe already has a case; renumbers the new ones."""
        known = {c.probe for c in self.cases} | {k.record for c in self.cases for k in c.candidates}
        added = 0
        for case in cases:
            if case.probe in known:
                continue
            case.case_id = f"case-{len(self.cases) + 1:05d}"
            self.cases.append(case)
            known.add(case.probe)
            added += 1
        return added

    def get(self, case_id: str) -> Case:
        for case in self.cases:
            if case.case_id == case_id:
                return case
        raise CaseError(f"no case {case_id!r}")

    def decide(self, case_id: str, decision: str, reviewer: str, now: str,
               record: Callable[[dict], object], note: str = "") -> Case:
        """Record a reviewer's decision: audit event first (through ``record``), then the case book."""
        if decision not in DECISIONS:
            raise CaseError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
        case = self.get(case_id)
        if case.status != "open":
            raise CaseError(f"{case_id} was already {case.status} by {case.reviewer}")
        record({"event": AUDIT_EVENT, "case": case.case_id, "outcome": decision, "official_id": reviewer,
                "candidates": len(case.candidates), "case_sha256": case.digest()})
        case.status, case.reviewer, case.decided_at, case.note = decision, reviewer, now, note
        self.save()
        return case

    def to_csv(self) -> str:
        """One row per (case, candidate): the reviewer's worksheet."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["case_id", "status", "probe", "rank", "candidate", "fused_score", "fused_fmr",
                         "face_score", "finger_scores", "reviewer", "decided_at"])
        for case in self.cases:
            for c in case.candidates:
                writer.writerow([case.case_id, case.status, case.probe, c.rank, c.record, f"{c.fused_score:.2f}",
                                 f"{c.fused_fmr:.3g}", "" if c.face_score is None else f"{c.face_score:.2f}",
                                 " ".join("-" if s is None else f"{s:.1f}" for s in c.finger_scores),
                                 case.reviewer or "", case.decided_at or ""])
        return out.getvalue()
