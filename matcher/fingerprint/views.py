"""A finger enrolled from several impressions: one ISO 19794-2 record holding a finger view per
impression, and a probe compared with all of them.

Why: one impression from a small or partial sensor window shares little area with a later capture
placed elsewhere on the finger; several impressions cover more of it. On the partial and small-sensor
robustness sets, enrolling from the best of three impressions instead of one cut the learned engine's
EER from 1.41 to 0.03 % (partial, on the print), 6.07 to 1.45 % (uniform placement) and 3.31 to
1.12 % (small dry sensor) (bench/_fingerprint_enrolment.py).

``fingerprint.compare(probe, views)`` keeps the best raw score over the views. That gives an impostor
as many chances to pass as there are views, so the score is calibrated as the best of ``k``: a single
comparison's false match rate times ``k`` (calibration.calibrated_best_of). Impostor scores against
impressions of one finger are positively correlated, so the product is an upper bound; the bench
checks it on pairs the model was not fitted on.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from . import iso
from .template import Template

MAX_VIEWS = 16    # the record's view number is four bits


def views_to_iso(views: Sequence[Template]) -> bytes:
    """One ISO/IEC 19794-2:2005 record with a finger view per impression, in the order given (the
    first is what a 1:N search uses). The record's size is the largest impression's; all must share
    one resolution. Raises TemplateFormatError."""
    views = list(views)
    if not 1 <= len(views) <= MAX_VIEWS:
        raise iso.TemplateFormatError(f"a record holds 1 to {MAX_VIEWS} views of a finger, not {len(views)}")
    records = [iso.decode(view.to_iso()) for view in views]   # each quantised as Template.to_iso does
    if len({(r.x_resolution, r.y_resolution) for r in records}) != 1:
        raise iso.TemplateFormatError("the impressions of one finger must share one resolution")
    first = records[0]
    record = replace(first, width=max(r.width for r in records), height=max(r.height for r in records),
                     views=tuple(replace(r.views[0], view_number=number) for number, r in enumerate(records)))
    return iso.encode_iso(record)


def views_from_iso(data: bytes) -> tuple[Template, ...]:
    """Every finger view of a record (ISO 19794-2:2005 or ANSI 378-2004) as a template, in record
    order. Raises TemplateFormatError (as :meth:`Template.from_iso`), also for a record whose views
    name different fingers: one record stands for one enrolled finger."""
    record = iso.decode(data)
    if not record.views:
        raise iso.TemplateFormatError("record has no finger view")
    positions = {view.position for view in record.views} - {0}   # 0: position not stated
    if len(positions) > 1:
        raise iso.TemplateFormatError(f"the record's views are of different fingers (positions {sorted(positions)})")
    return tuple(Template.from_record_view(record, number) for number in range(len(record.views)))

