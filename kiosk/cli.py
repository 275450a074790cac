"""``kiosk`` command: run the service, build a demo registry, run the demo."""
from __future__ import annotations

import argparse
import logging
import sys

from kiosk import config as config_module
from kiosk import logs

log = logging.getLogger("kiosk")


def _serve(settings) -> int:
    from waitress import serve

    from kiosk import create_app

    app = create_app(settings)
    log.info("serving kiosk API", extra={"host": settings.host, "port": settings.port})
    print(f"kiosk API on http://{settings.host}:{settings.port}/ (health: /health)", flush=True)
    serve(app, host=settings.host, port=settings.port, threads=8, ident="kiosk")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiosk", description=__doc__)
    parser.add_argument("--config", help="TOML configuration file (default: $KIOSK_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve", help="run the API under a production WSGI server (waitress)")
    serve_p.add_argument("--host")
    serve_p.add_argument("--port", type=int)
    demo_p = sub.add_parser("demo", help="start simulators, a demo registry and the API together")
    demo_p.add_argument("--port", type=int)
    args = parser.parse_args(argv)

    overrides = {k: v for k, v in {"host": getattr(args, "host", None),
                                   "port": getattr(args, "port", None)}.items() if v is not None}
    try:
        settings = config_module.load(args.config, overrides=overrides)
    except config_module.ConfigError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    if args.command in ("serve", "demo"):
        return _serve(settings)
    return 2


if __name__ == "__main__":
    sys.exit(main())
