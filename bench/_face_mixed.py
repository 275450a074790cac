"""Calibration on the pairs the booth really compares: a registry photo encoded with ``face.ENROLMENT``
against a booth frame encoded with ``face.CAPTURE``.

The tables are otherwise built and checked on CAPTURE-vs-CAPTURE pairs of the labelled photos. At the
booth one side is the enrolment photo (any size, encoded by the ENROLMENT policy) and the other a
640 x 480 camera frame; this section checks that a table's operating points still hold on such mixed
pairs, held out by identity:

- enrolment side: every labelled photo, capped at 800 px as the registry stores it, ``face.ENROLMENT``;
- booth side: a 640 x 480 frame made from a DIFFERENT photo of the person (``bench.face.frame_640x480``),
  ``face.CAPTURE`` (the booth gate may refuse it: those photos are left out of the booth side);
- a pair is (photo a as enrolled, photo b at the booth), a != b, both orders; genuine = same identity.

Rows: (1) a table fitted on the mixed pairs of half the people, measured on the other half's mixed pairs
(both ways, pooled); (2) a table fitted on the usual CAPTURE-vs-CAPTURE pairs of half the people,
measured on the other half's mixed pairs, which says whether today's way of fitting carries over;
(3) the shipped default table on every mixed pair, labelled in-sample (it was fitted on these photos).
"""
from __future__ import annotations

import numpy as np


def _encode_sides(photos, load_rgb, frame_640x480, capped):
    from matcher import face

    enrolled, booth, capture_same = {}, {}, {}
    refused = {"enrolment": 0, "booth": 0}
    for photo in photos:
        key = str(photo.path)
        rgb = load_rgb(photo.path)
        try:
            enrolled[key] = face.encode(capped(rgb), policy=face.ENROLMENT).vector
        except face.FaceError:
            refused["enrolment"] += 1
        try:
            booth[key] = face.encode(frame_640x480(rgb)).vector
        except face.FaceError:
            refused["booth"] += 1
        try:
            capture_same[key] = face.encode(rgb).vector        # the usual fitting side (CAPTURE on the photo)
        except face.FaceError:
            pass
    return enrolled, booth, capture_same, refused


def _mixed_pairs(enrolled, booth, identity, people):
    gen, imp = [], []
    for a, va in enrolled.items():
        if identity[a] not in people:
            continue
        for b, vb in booth.items():
            if a == b or identity[b] not in people:
                continue
            (gen if identity[a] == identity[b] else imp).append(float(np.linalg.norm(va - vb)))
    return np.array(gen), np.array(imp)


def _same_kind_pairs(vectors, identity, people):
    keys = [k for k in vectors if identity[k] in people]
    gen, imp = [], []
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            (gen if identity[a] == identity[b] else imp).append(float(np.linalg.norm(vectors[a] - vectors[b])))
    return np.array(gen), np.array(imp)


def mixed_calibration_section(photos, *, load_rgb, frame_640x480, capped, fmrs=(1e-2, 1e-3, 1e-4)) -> None:
    from bench.common import row
    from matcher.face.active import get_calibration
    from matcher.face.calibration import build_table

    identity = {str(p.path): p.identity for p in photos}
    enrolled, booth, capture_same, refused = _encode_sides(photos, load_rgb, frame_640x480, capped)
    people = sorted(set(identity.values()))
    folds = [set(people[0::2]), set(people[1::2])]
    print(f"-- calibration on mixed pairs: registry photo (face.ENROLMENT) vs booth frame of another photo "
          f"(face.CAPTURE, 640 x 480), {len(people)} people held out by identity in two folds")
    print(f"   encoded: {len(enrolled)} enrolment photos ({refused['enrolment']} refused), {len(booth)} booth frames "
          f"({refused['booth']} refused by the capture gate)")
    fits = {"mixed pairs": lambda fit: _mixed_pairs(enrolled, booth, identity, fit),
            "CAPTURE-vs-CAPTURE pairs": lambda fit: _same_kind_pairs(capture_same, identity, fit)}
    for fitted_on, pairs_for in fits.items():
        for fmr in fmrs:
            fmr_hits = fnmr_hits = n_gen = n_imp = 0
            for fit, held in ((folds[0], folds[1]), (folds[1], folds[0])):
                table = build_table(*pairs_for(fit), source="fold")
                gen, imp = _mixed_pairs(enrolled, booth, identity, held)
                d = table.distance_for_fmr(fmr)
                fmr_hits += int(np.sum(imp <= d))
                fnmr_hits += int(np.sum(gen > d))
                n_gen, n_imp = n_gen + len(gen), n_imp + len(imp)
            row(f"table fitted on {fitted_on}, FMR {fmr:g}: held-out FMR / FNMR",
                f"{100 * fmr_hits / max(1, n_imp):.2f} / {100 * fnmr_hits / max(1, n_gen):.2f} %",
                f"{n_gen} gen / {n_imp} imp mixed pairs, held-out")
    shipped = get_calibration()
    gen, imp = _mixed_pairs(enrolled, booth, identity, set(people))
    for fmr in fmrs:
        d = shipped.distance_for_fmr(fmr)
        row(f"shipped table, FMR {fmr:g}: FMR / FNMR on all mixed pairs",
            f"{100 * np.mean(imp <= d):.2f} / {100 * np.mean(gen > d):.2f} %",
            f"{len(gen)} gen / {len(imp)} imp, IN-SAMPLE (table fitted on these photos)")
