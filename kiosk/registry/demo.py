"""Build a demo registry from real fingerprint images and face photos assigned to made-up voters.

Sources: ``../shared/datasets`` (FVC2002 DB1_B and deepface-13, ten people) when present, otherwise the
project's own sample images in ``kiosk/demo_data`` (five people). The builder writes a real commission
export (format v1) and imports it through :func:`kiosk.registry.importer.import_export`, so the demo
exercises the same path as a real deployment. It also writes ``<data_dir>/demo/voters.json`` (see
docs/interfaces.md), which the simulators read to present the voters' cards, fingers and faces.

The export is signed by a demo commission whose keys live in ``<data_dir>/demo/commission/`` (a
demo only: a real commission's keys never reach a kiosk, see docs/threat-model.md); its verifier
key is added to the kiosk's trusted keys when ``key_dir`` is given, and every row carries the
commission's per-election pseudonym.

The last person is never registered: the "impostor" presenting the second voter's card. The
second-to-last is registered at another station (``PS-0002``) to show the wrong-station redirect.
"""
from __future__ import annotations

import base64
import csv
import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TextIO

from kiosk.datasets import datasets_dir
from kiosk.registry.commission import Commission, trust_key
from kiosk.registry.importer import ImportReport, import_export, write_export
from kiosk.registry.storage import Registry

PACKAGED = Path(__file__).resolve().parent.parent / "demo_data"
OTHER_STATION = "PS-0002"

_NAMES = [("SOK", "DARA"), ("CHAN", "SREYMOM"), ("KEO", "VISAL"), ("LIM", "SOPHEAP"), ("HENG", "BORA"),
          ("MEAS", "CHANTHA"), ("NOU", "RATHA"), ("PICH", "SOKHA"), ("SAN", "VANNAK"), ("TEP", "MALIS")]


@dataclass(frozen=True)
class DemoPerson:
    finger_enrol: Path
    finger_probe: Path
    face_enrol: Path
    face_probe: Path
    finger_enrol_more: tuple[Path, ...] = ()    # further impressions of the enrolled finger

    @property
    def finger_impressions(self) -> tuple[Path, ...]:
        """Every impression the finger is enrolled from, the first first."""
        return (self.finger_enrol, *self.finger_enrol_more)


def packaged_people() -> list[DemoPerson]:
    return [DemoPerson(PACKAGED / f"finger{i}_1.png", PACKAGED / f"finger{i}_3.png",
                       PACKAGED / f"face{i}_enrol.jpg", PACKAGED / f"face{i}_probe.jpg",
                       (PACKAGED / f"finger{i}_2.png",)) for i in range(1, 6)]


def dataset_people(root: Path, count: int = 10) -> list[DemoPerson]:
    fvc = root / "fingerprints" / "fvc2002" / "DB1_B"
    faces = root / "faces" / "deepface-13"
    by_person: dict[str, list[str]] = {}
    with open(faces / "labels.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            by_person.setdefault(row["identity"], []).append(row["file"])
    people = []
    for i in range(1, count + 1):
        photos = sorted(by_person.get(f"person{i:02d}", []), key=lambda f: int("".join(c for c in f if c.isdigit())))
        if len(photos) < 2:
            continue
        people.append(DemoPerson(fvc / f"1{i:02d}_1.tif", fvc / f"1{i:02d}_3.tif",
                                 faces / photos[0], faces / photos[1], (fvc / f"1{i:02d}_2.tif",)))
    return people


def _id_number(i: int) -> str:
    return f"{10_234_567 + 7_654_321 * i:09d}"[-9:]


def _read_gray(path: Path):
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise FileNotFoundError(f"cannot read demo image {path}")
    return img


def _read_rgb(path: Path):
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"cannot read demo image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def demo_commission(data_dir: Path) -> Commission:
    """The demo commission's keys (made on first use) under ``<data_dir>/demo/commission``."""
    return Commission.load(Path(data_dir) / "demo" / "commission", create=True)


def build_demo_registry(registry: Registry, data_dir: Path, *, station_id: str = "PS-0001",
                        source: str = "auto", progress: TextIO | None = None,
                        key_dir: Path | None = None) -> dict:
    """Create the demo export (signed by the demo commission), import it, write voters.json; returns the
    voters.json content. With ``key_dir`` the kiosk there is made to trust the demo commission's key."""
    from hardware.mrz import build_td1, check_digit
    from matcher import face, fingerprint

    root = datasets_dir() if source in ("auto", "datasets") else None
    if source == "datasets" and root is None:
        raise FileNotFoundError("../shared/datasets is not present")
    people = dataset_people(root) if root is not None else packaged_people()
    demo_dir = Path(data_dir) / "demo"
    export_dir = demo_dir / "export"
    if export_dir.exists():
        shutil.rmtree(export_dir)

    commission = demo_commission(data_dir)
    if key_dir is not None:
        trust_key(key_dir, commission.signer.verifier)
    rows, voters = [], []
    for i, person in enumerate(people):
        surname, given = _NAMES[i % len(_NAMES)]
        id_number = _id_number(i + 1)
        birth = date(1960 + 3 * i, 1 + i % 12, 1 + (7 * i) % 28)
        sex = "F" if i % 2 else "M"
        registered = i < len(people) - 1
        station = OTHER_STATION if i == len(people) - 2 else station_id
        mrz = build_td1(document_number=id_number, birth_date=birth, sex=sex,
                        expiry_date=date(2035, 12, 31), surname=surname, given_names=given, issuing_state="KHM",
                        nationality="KHM")
        if registered:
            # the finger enrolled from two impressions, as a registration office would take them
            finger_views = [fingerprint.extract(_read_gray(path), dpi=500) for path in person.finger_impressions]
            face_tpl = face.encode(_read_rgb(person.face_enrol), policy=face.ENROLMENT)
            rows.append({"id_number": id_number, "id_check": check_digit(id_number), "name": f"{surname} {given}",
                         "birth_date": birth.isoformat(), "sex": sex, "station_id": station,
                         "fingers": {"right_index": base64.b64encode(fingerprint.views_to_iso(finger_views)).decode()},
                         "face": {"encoding": base64.b64encode(face_tpl.to_bytes()).decode()},
                         "pseudonym": commission.pseudonym(id_number)})
        voters.append({"voter_id": f"DEMO{i + 1:02d}", "name": f"{surname} {given}", "id_number": id_number,
                       "station_id": station if registered else None, "mrz": list(mrz),
                       "fingers": {"right_index": str(person.finger_enrol.resolve())},
                       "probe_fingers": {"right_index": str(person.finger_probe.resolve())},
                       "face": str(person.face_enrol.resolve()), "probe_face": str(person.face_probe.resolve()),
                       "role": ("registered" if station == station_id else "other_station") if registered
                       else "impostor"})
    # the impostor carries the second voter's card
    impostor = voters[-1]
    impostor["mrz"] = list(voters[1]["mrz"])
    impostor["carries_card_of"] = voters[1]["voter_id"]

    write_export(export_dir, rows, signer=commission.signer)
    report: ImportReport = import_export(registry, export_dir, commission_keys=[commission.signer.verifier],
                                         progress=progress)
    for v in voters:
        found = registry.find_voter(v["id_number"]) if v["role"] != "impostor" else None
        v["registry_voter_id"] = found.voter_id if found else None
    content = {"version": 1, "station_id": station_id, "source": "datasets" if root else "packaged",
               "imported": report.accepted, "voters": voters}
    (demo_dir / "voters.json").write_text(json.dumps(content, indent=2), encoding="utf-8")
    return content
