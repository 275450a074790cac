"""Plots drawn with matplotlib into self-contained SVG data URIs (vector: sharp on A4, no network).

Each function returns a :class:`Plot` whose ``alt`` is the text alternative; the page puts the
numbers in a table beside every plot, so nothing is only in the picture.
"""
from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display, ever
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from kiosk.audit.report.evidence import ScoreSet, det_curve  # noqa: E402
from kiosk.audit.report.facts import BAND_ORDER, KioskFacts  # noqa: E402

STYLE = {"svg.fonttype": "none", "svg.hashsalt": "kiosk-audit-report", "font.size": 8,
         "axes.spines.top": False, "axes.spines.right": False}
WIDTH_IN = 6.3           # fits A4 portrait between 2 cm margins
COLOURS = ["#1f5fa8", "#e07b00", "#2a8c4a", "#b3261e", "#6b4fa0", "#6d6d6d", "#0f8b8d", "#a35d00"]


@dataclass(frozen=True)
class Plot:
    uri: str
    alt: str


def _finish(fig, alt: str) -> Plot:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue().encode("utf-8")).decode("ascii")
    return Plot(f"data:image/svg+xml;base64,{data}", alt)


def turnout(station_id: str, kiosks: list[KioskFacts], hours: list[int]) -> Plot:
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 2.2))
        bottom = np.zeros(len(hours))
        for n, kiosk in enumerate(kiosks):
            values = np.array([kiosk.votes_by_hour.get(h, 0) for h in hours])
            ax.bar([f"{h:02d}" for h in hours], values, bottom=bottom, color=COLOURS[n % len(COLOURS)],
                   label=kiosk.kiosk_id, edgecolor="white", linewidth=0.4)
            bottom += values
        ax.set_xlabel("hour (station time)")
        ax.set_ylabel("votes marked")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=7)
        busiest = hours[int(np.argmax(bottom))] if len(hours) else None
        alt = (f"Votes marked per hour at {station_id}, stacked by kiosk: {int(bottom.sum())} in all"
               + (f", busiest hour {busiest:02d}:00 with {int(bottom.max())}." if busiest is not None else "."))
        return _finish(fig, alt)


def score_bands(station_id: str, station: KioskFacts) -> Plot:
    bands = [b for b in BAND_ORDER if station.bands_accepted.get(b) or station.bands_rejected.get(b)]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 2.0))
        x = np.arange(len(bands))
        ax.bar(x - 0.2, [station.bands_accepted.get(b, 0) for b in bands], 0.4, label="accepted", color=COLOURS[2])
        ax.bar(x + 0.2, [station.bands_rejected.get(b, 0) for b in bands], 0.4, label="refused", color=COLOURS[3])
        ax.set_xticks(x, bands)
        ax.set_xlabel("fused score band (score = -10 log10 FMR)")
        ax.set_ylabel("matches")
        ax.legend(frameon=False)
        alt = (f"Fused match scores at {station_id} by band: {sum(station.bands_accepted.values())} accepted, "
               f"{sum(station.bands_rejected.values())} refused; the table beside gives each band.")
        return _finish(fig, alt)


def det(modality: str, sets: list[ScoreSet]) -> Plot:
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH_IN / 2, 2.6))
        for n, scores in enumerate(sets):
            fmr, fnmr = det_curve(scores.genuine, scores.impostor)
            floor_fmr, floor_fnmr = 0.5 / len(scores.impostor), 0.5 / len(scores.genuine)
            ax.step(np.maximum(fmr, floor_fmr), np.maximum(fnmr, floor_fnmr), where="post",
                    color=COLOURS[n % len(COLOURS)], label=scores.name, linewidth=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("false match rate")
        ax.set_ylabel("false non-match rate")
        ax.legend(frameon=False, fontsize=6)
        alt = (f"DET curves for {modality} on {len(sets)} set{'s' if len(sets) != 1 else ''} ({', '.join(s.name for s in sets)}); "
               "the table beside gives each set's EER and FNMR at fixed FMRs.")
        return _finish(fig, alt)


def histogram(scores: ScoreSet, threshold: float) -> Plot:
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH_IN / 2, 2.0))
        top = min(200.0, max(max(scores.genuine), max(scores.impostor), threshold) + 5)
        bins = np.linspace(0, top, 41)
        ax.hist(np.clip(scores.impostor, 0, top), bins=bins, alpha=0.7, color=COLOURS[3], label="impostor")
        ax.hist(np.clip(scores.genuine, 0, top), bins=bins, alpha=0.7, color=COLOURS[0], label="genuine")
        ax.axvline(threshold, color="black", linewidth=0.8, linestyle="--", label=f"threshold {threshold:g}")
        ax.set_xlabel("score")
        ax.set_ylabel("pairs")
        ax.legend(frameon=False, fontsize=6)
        alt = (f"Score histogram, {scores.modality} {scores.name}: {len(scores.genuine)} genuine and "
               f"{len(scores.impostor)} impostor pairs, threshold {threshold:g}.")
        return _finish(fig, alt)
