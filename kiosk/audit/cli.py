"""``kiosk-audit``: export, verify, prove and co-sign the kiosk's tamper-evident audit log.

    kiosk-audit export --data-dir D --out BUNDLE[.kab]   # bundle: a directory, or one file if .kab
    kiosk-audit verify BUNDLE --trusted-key VKEY         # exit 0 only when every check passes
    kiosk-audit verify BUNDLE --accept-any-key           # internal consistency only (exit 3 without either)
    kiosk-audit prove --bundle BUNDLE --seq N [--out F]  # inclusion proof document (JSON)
    kiosk-audit check-proof F [--trusted-key VKEY]       # verify such a document offline
    kiosk-audit keygen --out KEY.pem --name NAME         # a co-signer's key; prints its verifier key
    kiosk-audit cosign --bundle BUNDLE --key KEY.pem --name NAME
    kiosk-audit report BUNDLE... -o report.html --trusted-key VKEY   # one HTML file with plots
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.audit import layout, records
from kiosk.audit.bundle import cosign_bundle, export_bundle
from kiosk.audit.errors import AuditError, LogLocked
from kiosk.audit.log import AuditLog
from kiosk.audit.report import cli as report_cli
from kiosk.audit.note import Signer
from kiosk.audit.prove import inclusion_proof_document, verify_proof_document
from kiosk.audit.verify import verify_bundle

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_UNTRUSTED = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk-audit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="write a bundle of entries, checkpoints and public keys")
    export.add_argument("--data-dir", required=True, type=Path, help="the kiosk's data_dir (log in <D>/audit)")
    export.add_argument("--out", required=True, type=Path, help="bundle directory, or a file ending in .kab")
    export.add_argument("--key-dir", type=Path,
                        help="kiosk key directory; with it an export entry and a final checkpoint are signed")
    export.add_argument("--official-id", help="official performing the export (recorded in the log)")
    verify = sub.add_parser("verify", help="verify a bundle offline")
    verify.add_argument("bundle", type=Path)
    verify.add_argument("--trusted-key", action="append", default=[],
                        help="verifier key the log must be signed with (name+hash+base64); repeatable")
    verify.add_argument("--accept-any-key", action="store_true",
                        help="accept a bundle signed by any key (checks internal consistency only)")
    verify.add_argument("--checkpoint", action="append", default=[], type=Path,
                        help="a signed checkpoint seen earlier (e.g. by the commission, or co-signed): the "
                             "bundle must extend it, so a tail cut off is detected; repeatable")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    prove = sub.add_parser("prove", help="inclusion proof of one entry")
    prove.add_argument("--bundle", required=True, type=Path)
    prove.add_argument("--seq", required=True, type=int)
    prove.add_argument("--out", type=Path, help="write the proof here instead of stdout")
    check = sub.add_parser("check-proof", help="verify an inclusion proof document")
    check.add_argument("proof", type=Path)
    check.add_argument("--trusted-key", action="append", default=[])
    keygen = sub.add_parser("keygen", help="create a co-signer's Ed25519 key")
    keygen.add_argument("--out", required=True, type=Path)
    keygen.add_argument("--name", required=True)
    cosign = sub.add_parser("cosign", help="add a co-signature to a bundle's latest checkpoint")
    cosign.add_argument("--bundle", required=True, type=Path)
    cosign.add_argument("--key", required=True, type=Path, help="PEM Ed25519 private key")
    cosign.add_argument("--name", required=True, help="co-signer's key name (no spaces or '+')")
    report_cli.add_parser(sub)
    return parser


def _load_private(path: Path) -> Ed25519PrivateKey:
    from kiosk.keys import read_private

    key = serialization.load_pem_private_key(read_private(path), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditError(f"{path} is not an Ed25519 private key")
    return key


def _export(args: argparse.Namespace) -> int:
    directory = args.data_dir / "audit"
    if not (directory / layout.KEYS).exists():
        print(f"kiosk-audit: no audit log in {directory}", file=sys.stderr)
        return EXIT_USAGE
    if args.key_dir is not None:
        from kiosk.keys import signing_key
        origin = layout.parse_keys((directory / layout.KEYS).read_bytes())[0].name
        last = records.scan((directory / layout.ENTRIES_LOG).read_bytes()).entries[-1:]
        ids = json.loads(last[0]) if last else {}
        try:
            with AuditLog.open(directory, signing_key(args.key_dir), origin,
                               kiosk_id=ids.get("kiosk_id"), station_id=ids.get("station_id")) as log:
                out = export_bundle(log, args.out, official_id=args.official_id)
            print(f"exported {log.size} entries to {out}")
            return EXIT_OK
        except LogLocked:
            print("kiosk-audit: the kiosk has the log open; exporting what is on disk without signing "
                  "(entries after its last checkpoint will show as unsigned)", file=sys.stderr)
    out = export_bundle(directory, args.out)
    print(f"exported {out} (read-only copy)")
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    seen = [path.read_text(encoding="utf-8") for path in args.checkpoint]
    report = verify_bundle(args.bundle, trusted_keys=args.trusted_key, seen_checkpoints=seen)
    print(json.dumps(vars(report), indent=2, sort_keys=True) if args.json
          else report.render(require_trusted_key=not args.accept_any_key))
    if not report.ok:
        return EXIT_INVALID
    if not report.key_trusted and not args.accept_any_key:
        print("kiosk-audit verify: UNTRUSTED KEY: no --trusted-key given; the bundle proves only that it is "
              "consistent with the key it carries", file=sys.stderr)
        return EXIT_UNTRUSTED
    return EXIT_OK


def _prove(args: argparse.Namespace) -> int:
    document = inclusion_proof_document(args.bundle, args.seq)
    verify_proof_document(document)  # never hand out a proof that does not check
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"inclusion proof of entry {args.seq} in a tree of {document['tree_size']} written to {args.out}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _check_proof(args: argparse.Namespace) -> int:
    try:
        document = json.loads(args.proof.read_text(encoding="utf-8"))
    except ValueError:
        print("proof: INVALID\nfailed: not a JSON document")
        return EXIT_INVALID
    try:
        entry = verify_proof_document(document, args.trusted_key)
    except AuditError as exc:
        print(f"proof: INVALID\nfailed: {exc}")
        return EXIT_INVALID
    print(f"proof: VALID\nentry {entry['seq']} ({entry['event']}, {entry['time']}) is in the log "
          f"of {document['tree_size']} entries signed by {document['log_key'].split('+')[0]}")
    return EXIT_OK


def _keygen(args: argparse.Namespace) -> int:
    key = Ed25519PrivateKey.generate()
    signer = Signer(args.name, key)
    if args.out.exists():
        print(f"kiosk-audit: {args.out} exists; not overwriting a key", file=sys.stderr)
        return EXIT_USAGE
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    print(signer.verifier.vkey)
    return EXIT_OK


def _cosign(args: argparse.Namespace) -> int:
    cosign_bundle(args.bundle, Signer(args.name, _load_private(args.key)))
    print(f"co-signed the latest checkpoint of {args.bundle} as {args.name}")
    return EXIT_OK


COMMANDS = {"export": _export, "verify": _verify, "prove": _prove, "check-proof": _check_proof,
            "keygen": _keygen, "cosign": _cosign, "report": report_cli.run}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except AuditError as exc:
        print(f"kiosk-audit {args.command}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except (OSError, ValueError, LookupError) as exc:  # LookupError: kiosk.keys reports a missing key
        print(f"kiosk-audit {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
