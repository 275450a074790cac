"""Commission audit report: time to verify and draw a polling day's bundles into one HTML file.

    python -m bench report [--stations 5] [--kiosks 4] [--voters 750] [--repeat 3] [--evidence scores.csv]

Writes a synthetic day (bench/_polling_day.py: real signed logs, one per kiosk, with three planted
patterns), then times ``build_report`` (verify every bundle, summarise, flag) and ``render_html``
(plots and page) separately, and says whether the flags found are exactly the planted ones.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench._polling_day import write_day
from bench.common import header, median
from kiosk.audit.report import build_report, read_scores, render_html


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench report")
    parser.add_argument("--stations", type=int, default=5)
    parser.add_argument("--kiosks", type=int, default=4, help="kiosks per station")
    parser.add_argument("--voters", type=int, default=750, help="voters per station")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--evidence", type=Path, help="scores CSV to include (python -m bench evidence)")
    parser.add_argument("--out", type=Path, help="keep the report here")
    args = parser.parse_args(argv)
    header(f"audit report: {args.stations} stations x {args.kiosks} kiosks, {args.voters} voters per station")
    evidence = read_scores(args.evidence.read_text()) if args.evidence else []
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        day = write_day(folder, stations=args.stations, kiosks_per_station=args.kiosks, voters_per_station=args.voters)
        size = sum(p.stat().st_size for p in day.bundles)
        print(f"   day written: {len(day.bundles)} bundles, {day.entries:,} entries, {size / 1e6:.1f} MB "
              f"({time.perf_counter() - t0:.1f} s, not part of the figure)")
        render_html(build_report(day.bundles[:1], trusted_keys=day.trusted_keys))   # load matplotlib once
        builds, renders, totals = [], [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            report = build_report(day.bundles, trusted_keys=day.trusted_keys, evidence=evidence, generated_at="bench")
            t1 = time.perf_counter()
            html = render_html(report)
            t2 = time.perf_counter()
            builds.append(t1 - t0), renders.append(t2 - t1), totals.append(t2 - t0)
        print(f"   verify + summarise: median {median(builds):.2f} s ({day.entries / median(builds):,.0f} entries/s)")
        print(f"   plots + page:       median {median(renders):.2f} s, {len(html) / 1e6:.2f} MB of HTML")
        print(f"   total:              median {median(totals):.2f} s over {args.repeat} runs (target <= 10 s)")
        planted = {(day.planted.high_fallback_kiosk[0], f"kiosk {day.planted.high_fallback_kiosk[1]}"),
                   (day.planted.busy_supervisor[0], f"supervisor {day.planted.busy_supervisor[1]}"),
                   (day.planted.refusal_hour[0], f"hour {day.planted.refusal_hour[1]:02d}:00")}
        found = {(f.station_id, f.subject) for f in report.flags}
        print(f"   flags: {len(found)} raised; planted found {len(found & planted)}/{len(planted)}, "
              f"others {len(found - planted)}")
        if args.out:
            args.out.write_text(html, encoding="utf-8")
            print(f"   report kept in {args.out}")
    return 0
