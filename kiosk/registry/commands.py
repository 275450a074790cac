"""The registry's ``kiosk`` subcommands: import, demo-registry, dedup.

``kiosk.cli`` calls :func:`register` to add them to its argument parser.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def _open(settings, create_keys: bool):
    from kiosk.registry.storage import Registry

    return Registry.open(settings, create_keys=create_keys)


def cmd_import(settings, args) -> int:
    from kiosk.registry.dedup import find_duplicates
    from kiosk.registry.commission import ExportSignatureError, trusted_keys
    from kiosk.registry.errors import ImportRejected
    from kiosk.registry.importer import import_export

    try:
        commission_keys = trusted_keys(settings.key_dir)
    except ExportSignatureError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2
    registry = _open(settings, create_keys=False)
    before = set(registry.all_voter_ids())
    try:
        report = import_export(registry, args.export, commission_keys=commission_keys,
                               skip_bad_rows=args.skip_bad_rows, progress=sys.stderr)
    except ImportRejected as exc:
        print(json.dumps({"imported": False, "message": str(exc), **exc.report.as_dict()}, indent=2))
        return 1
    result = {"import": report.as_dict()}
    if not args.no_dedup:
        new_ids = [v for v in registry.all_voter_ids() if v not in before]
        result["duplicates"] = find_duplicates(registry, probe_voter_ids=new_ids,
                                               fpir=settings.identification_fpir).as_dict()
    text = json.dumps(result, indent=2)
    if args.report:
        Path(args.report).write_text(text, encoding="utf-8")
    print(text)
    return 0


def cmd_demo_registry(settings, args) -> int:
    from kiosk.registry.demo import build_demo_registry

    db_path = Path(settings.data_dir) / "registry.sqlite3"
    if args.force and db_path.exists() and not settings.database_url and not _confirm_deleting_votes(settings, args):
        return 1
    if args.force and db_path.exists() and not settings.database_url:
        for suffix in ("", "-wal", "-shm"):
            Path(str(db_path) + suffix).unlink(missing_ok=True)
    registry = _open(settings, create_keys=True)
    if registry.count_voters() and not args.force:
        print(f"kiosk: the registry at {db_path} already has voters; use --force to rebuild it", file=sys.stderr)
        return 1
    content = build_demo_registry(registry, Path(settings.data_dir), station_id=settings.station_id,
                                  source=args.source, progress=sys.stderr, key_dir=Path(settings.key_dir))
    print(json.dumps({"voters_file": str(Path(settings.data_dir) / "demo" / "voters.json"),
                      "source": content["source"], "imported": content["imported"]}))
    return 0


def _confirm_deleting_votes(settings, args) -> bool:
    """``--force`` deletes the registry; one holding votes (a polling day's record) needs a second yes:
    ``--delete-votes``, or typing the number of votes at a terminal."""
    registry = _open(settings, create_keys=False)
    try:
        votes = registry.count_votes()
    finally:
        registry.close()
    if votes == 0 or args.delete_votes:
        return True
    if sys.stdin.isatty():
        answer = input(f"kiosk: the registry holds {votes} marked votes; type {votes} to delete them all: ")
        if answer.strip() == str(votes):
            return True
    print(f"kiosk: the registry holds {votes} marked votes; not deleted (add --delete-votes to rebuild it anyway)",
          file=sys.stderr)
    return False


def cmd_dedup(settings, args) -> int:
    """Search every voter against the whole registry on Dask (a LocalCluster here, or --scheduler) and
    open an adjudication case per suspected duplicate group in data_dir/national/cases.json."""
    from national.cases import CaseBook, open_cases

    from kiosk.registry.dedup import find_duplicates

    report = find_duplicates(_open(settings, create_keys=False), fpir=args.fpir or settings.identification_fpir,
                             fmr=args.fmr, scheduler=args.scheduler, progress=True)
    book = CaseBook.load(Path(args.cases) if args.cases else Path(settings.data_dir) / "national" / "cases.json")
    added = book.add(open_cases(report.raw, label=lambda record: report.labels[record]))
    book.save()
    result = {**report.as_dict(), "cases_added": added, "cases_open": sum(c.status == "open" for c in book.cases),
              "case_book": str(book.path)}
    text = json.dumps(result, indent=2)
    if args.report:
        Path(args.report).write_text(text, encoding="utf-8")
    if args.csv:
        Path(args.csv).write_text(book.to_csv(), encoding="utf-8")
    print(text)
    return 0


def register(subparsers) -> None:
    """Add ``import``, ``demo-registry`` and ``dedup``; each sets ``handler(settings, args)``."""
    p = subparsers.add_parser("import", help="import a commission export (signature by a key in "
                              "<key_dir>/commission.vkeys, then every row, before anything is written)")
    p.add_argument("export", help="export directory (manifest.json + voters.jsonl)")
    p.add_argument("--skip-bad-rows", action="store_true", help="import the good rows, report the bad ones")
    p.add_argument("--no-dedup", action="store_true", help="skip the duplicate-registration check")
    p.add_argument("--report", help="also write the JSON report to this file")
    p.set_defaults(handler=cmd_import)
    p = subparsers.add_parser("demo-registry", help="build a demo registry from sample images")
    p.add_argument("--source", choices=["auto", "datasets", "packaged"], default="auto")
    p.add_argument("--force", action="store_true", help="delete and rebuild an existing registry")
    p.add_argument("--delete-votes", action="store_true",
                   help="with --force: also when the registry holds marked votes (asked at a terminal otherwise)")
    p.set_defaults(handler=cmd_demo_registry)
    p = subparsers.add_parser("dedup", help="report suspected double registrations across the registry")
    p.add_argument("--fpir", type=float, help="false-positive identification rate per search "
                                              "(default: identification_fpir)")
    p.add_argument("--fmr", type=float, help="a fixed per-comparison false match rate instead of --fpir")
    p.add_argument("--scheduler", help="tcp://HOST:8786 of a Dask cluster (default: a LocalCluster here)")
    p.add_argument("--cases", help="case book file (default: data_dir/national/cases.json)")
    p.add_argument("--csv", help="also export every case as CSV to this file")
    p.add_argument("--report", help="also write the JSON report to this file")
    p.set_defaults(handler=cmd_dedup)
