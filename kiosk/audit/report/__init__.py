"""The commission's audit report: one HTML file, with plots, from bundles verified offline.

    from kiosk.audit.report import build_report, render_html, read_scores
    report = build_report(["PS-0001-kiosk-01.kab", ...], trusted_keys=[...],
                          evidence=read_scores(open("scores.csv").read()), generated_at=now)
    Path("report.html").write_text(render_html(report))

Each bundle is verified first (``kiosk.audit.verify``); untrusted, invalid, superseded or forked
bundles are listed as such and their numbers are not mixed into the rest. The same two functions
serve ``kiosk-audit report`` and any server that wants to show the report.
"""
from kiosk.audit.report.build import BundleStatus, Report, build_report, summarise
from kiosk.audit.report.evidence import EvidenceError, read_scores


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (loads matplotlib on first use)."""
    from kiosk.audit.report.page import render_html as render

    return render(report)

__all__ = ["build_report", "summarise", "render_html", "read_scores", "Report", "BundleStatus", "EvidenceError"]
