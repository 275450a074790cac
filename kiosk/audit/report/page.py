"""The report model rendered as one self-contained HTML file (Jinja2, autoescaped; plots inline)."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from kiosk.audit.report import evidence as ev
from kiosk.audit.report import plots
from kiosk.audit.report.build import Report
from kiosk.audit.report.facts import BAND_ORDER

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class StationPlots:
    hours: list[int]
    band_names: list[str]
    turnout: plots.Plot
    bands: plots.Plot
    gap_count: int


def _pct(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100 * value:.2f} %"


def _sci(value: float) -> str:
    return f"{value:.1e}" if value < 0.01 else f"{value:.3f}"


def _ratio(group_rate: float, overall: float) -> str:
    if overall is None or math.isnan(overall) or math.isnan(group_rate):
        return "n/a"
    if overall == 0:
        return "n/a (overall 0)" if group_rate == 0 else "above (overall 0)"
    return f"{group_rate / overall:.2f}x"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=False, lstrip_blocks=False)
    env.filters.update(pct=_pct, sci=_sci, fmt=lambda v: f"{v:g}", basename=lambda p: os.path.basename(p),
                       when=lambda t: t[:19].replace("T", " ") if t else "")
    env.globals["ratio"] = _ratio
    return env


def _station_plots(report: Report) -> dict[str, StationPlots]:
    out = {}
    for station in report.stations:
        hours = sorted(set(station.total.votes_by_hour) | set(station.total.decisions_by_hour))
        band_names = [b for b in BAND_ORDER if station.total.bands_accepted.get(b) or station.total.bands_rejected.get(b)]
        out[station.station_id] = StationPlots(
            hours=hours, band_names=band_names,
            turnout=plots.turnout(station.station_id, station.kiosks, hours),
            bands=plots.score_bands(station.station_id, station.total),
            gap_count=sum(len(k.gaps) for k in station.kiosks))
    return out


def _evidence_rows(report: Report):
    by_modality: dict[str, list[ev.ScoreSet]] = {}
    for scores in report.evidence:
        by_modality.setdefault(scores.modality, []).append(scores)
    rows, dets, hists = {}, {}, {}
    for modality, sets in by_modality.items():
        rows[modality] = []
        for s in sets:
            fnmr_t, fmr_t = ev.rates_at(s.genuine, s.impostor, report.threshold)
            rows[modality].append(dict(
                name=s.name, genuine=len(s.genuine), impostor=len(s.impostor),
                eer=ev.equal_error_rate(s.genuine, s.impostor),
                fnmr_1=ev.fnmr_at_fmr(s.genuine, s.impostor, 0.01), fnmr_01=ev.fnmr_at_fmr(s.genuine, s.impostor, 0.001),
                fnmr_t=fnmr_t, fmr_t=fmr_t, groups=ev.group_rates(s, report.threshold)))
        dets[modality] = plots.det(modality, sets)
        hists[modality] = [plots.histogram(s, report.threshold) for s in sets]
    return sorted(by_modality.items()), rows, dets, hists


def render_html(report: Report) -> str:
    evidence_by_modality, rows, dets, hists = _evidence_rows(report)
    return _environment().get_template("report.html").render(
        r=report, plots=_station_plots(report), evidence_by_modality=evidence_by_modality,
        evidence_rows=rows, det_plots=dets, histograms=hists)
