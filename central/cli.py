"""``central`` command: serve, add-official, enrol-kiosk, demo."""
from __future__ import annotations

import argparse
import getpass
import signal
import sys


def _serve(settings) -> int:
    from waitress import serve

    from central import create_app

    app = create_app(settings)
    print(f"central: commission server on http://{settings.host}:{settings.port}/ "
          f"(database {settings.database_url.split('?')[0]})", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)   # stop like Ctrl-C: the store closes cleanly
    try:
        serve(app, host=settings.host, port=settings.port, threads=settings.threads, ident="central",
              max_request_body_size=settings.max_push_bytes)
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["central"].close()
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    from central.config import load

    parser = argparse.ArgumentParser(prog="central", description=__doc__)
    parser.add_argument("--database-url", help="sqlite:///path or postgresql://... (default: CENTRAL_DATABASE_URL)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the commission server under waitress")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p = sub.add_parser("add-official", help="add (or reset) a commission official")
    p.add_argument("username")
    p.add_argument("--role", choices=["monitor", "admin"], default="monitor")
    p.add_argument("--display-name", default="")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p = sub.add_parser("enrol-kiosk", help="enrol a kiosk by its audit log verifier key")
    p.add_argument("kiosk_id")
    p.add_argument("station_id")
    p.add_argument("vkey", help="the kiosk's C2SP verifier key (first line of its audit keys.txt, after 'log ')")
    p = sub.add_parser("demo", help="a simulated election with kiosk processes, link cuts, a fork and double votes")
    p.add_argument("--kiosks", type=int, default=20)
    p.add_argument("--stations", type=int, default=5)
    p.add_argument("--voters", type=int, default=60, help="voters per kiosk")
    p.add_argument("--work-dir", help="keep the demo's files here (default: a temporary directory)")
    args = parser.parse_args(argv)
    settings = load({"database_url": args.database_url, "host": getattr(args, "host", None),
                     "port": getattr(args, "port", None)})
    if args.command == "serve":
        return _serve(settings)
    if args.command == "demo":
        from central.demo import run_demo

        result = run_demo(kiosks=args.kiosks, stations=args.stations, voters_per_kiosk=args.voters,
                          work_dir=args.work_dir, out=sys.stdout)
        return 0 if result["ok"] else 1
    from central.ingest import utc_now
    from central.store import Store

    store = Store.open(settings.database_url)
    try:
        if args.command == "add-official":
            from central.auth import hash_password

            password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
            if len(password) < 8:
                print("central: a password needs at least 8 characters", file=sys.stderr)
                return 2
            store.add_official(args.username, hash_password(password), args.role, args.display_name or args.username)
            print(f"central: official {args.username} ({args.role}) saved")
            return 0
        from kiosk.audit.errors import NoteError
        from kiosk.audit.note import Verifier

        try:
            vkey = Verifier.parse(args.vkey).vkey
            store.enrol_kiosk(args.kiosk_id, args.station_id, vkey, utc_now())
        except (NoteError, ValueError) as exc:
            print(f"central: {exc}", file=sys.stderr)
            return 2
        print(f"central: kiosk {args.station_id}/{args.kiosk_id} enrolled")
        return 0
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
