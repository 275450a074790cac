"""``kiosk-audit report BUNDLE... -o report.html``: the commission's report, as a subcommand."""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from kiosk.audit.report.build import VALID, build_report
from kiosk.audit.report.evidence import EvidenceError, read_scores

EXIT_OK, EXIT_LEFT_OUT, EXIT_USAGE = 0, 1, 2


def add_parser(sub) -> None:
    report = sub.add_parser("report", help="verify bundles and write one HTML report with plots")
    report.add_argument("bundles", nargs="+", type=Path, help="bundle directories or .kab files")
    report.add_argument("-o", "--out", required=True, type=Path, help="the HTML file to write")
    report.add_argument("--trusted-key", action="append", default=[],
                        help="verifier key (name+hash+base64) of a kiosk the commission provisioned; repeatable")
    report.add_argument("--trusted-keys", type=Path,
                        help="file with one trusted verifier key per line (# comments allowed)")
    report.add_argument("--accept-any-key", action="store_true",
                        help="count bundles whatever key signed them (the report says so on its first page)")
    report.add_argument("--evidence", type=Path, help="scores CSV (modality,set,group,genuine,score), "
                                                      "e.g. from `python -m bench evidence`")
    report.add_argument("--threshold", type=float, default=40.0,
                        help="operating score for the per-group rates (40 = FMR 1e-4)")
    report.add_argument("--gap-minutes", type=int, default=30, help="log silences longer than this are listed")
    report.add_argument("--utc-offset-hours", type=int, default=0,
                        help="station time for the hourly tables (Cambodia: 7)")


def run(args: argparse.Namespace) -> int:
    keys = list(args.trusted_key)
    if args.trusted_keys:
        keys += [line.strip() for line in args.trusted_keys.read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
    if not keys and not args.accept_any_key:
        print("kiosk-audit report: no trusted keys: every bundle will be listed as UNTRUSTED and left out "
              "(give --trusted-key/--trusted-keys, or --accept-any-key)", file=sys.stderr)
    evidence = []
    if args.evidence:
        try:
            evidence = read_scores(args.evidence.read_text(encoding="utf-8"))
        except EvidenceError as exc:
            print(f"kiosk-audit report: {args.evidence}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    started = time.perf_counter()
    report = build_report(args.bundles, trusted_keys=keys, accept_any_key=args.accept_any_key, evidence=evidence,
                          threshold=args.threshold, gap_minutes=args.gap_minutes,
                          utc_offset_hours=args.utc_offset_hours,
                          generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    from kiosk.audit.report.page import render_html   # matplotlib loads only when a report is drawn

    args.out.write_text(render_html(report), encoding="utf-8")
    left_out = [b for b in report.bundles if b.status != VALID]
    for bundle in left_out:
        print(f"left out: {bundle.path}: {bundle.status.upper()}: {bundle.error}", file=sys.stderr)
    print(f"wrote {args.out}: {len(report.used)} of {len(report.bundles)} bundles counted, "
          f"{len(report.flags)} flag(s) for review, {time.perf_counter() - started:.1f} s")
    return EXIT_LEFT_OUT if left_out else EXIT_OK
