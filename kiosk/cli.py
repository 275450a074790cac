"""``kiosk`` command: run the service, run the demo, and the registry's subcommands.

    kiosk serve                 # the API under waitress on Settings.host:port (127.0.0.1:8080)
    kiosk demo                  # demo registry (if missing) + simulators + demo officials + API
    kiosk import | demo-registry | dedup    # registry commands (kiosk.registry.commands)
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import secrets
import signal
import sys
from pathlib import Path

from kiosk import config as config_module
from kiosk import logs

log = logging.getLogger("kiosk")

DEMO_OFFICIALS = (("official", "official", "Demo polling official"),
                  ("supervisor", "supervisor", "Demo presiding officer"),
                  ("auditor", "auditor", "Demo commission auditor"))
"""(username, role, display name) of the officials ``kiosk demo`` creates."""


def _serve(settings, app=None) -> int:
    from waitress import serve

    from kiosk import create_app

    if app is None:
        from kiosk.audit import AuditError
        from kiosk.keys import KeyError_
        from kiosk.registry import RegistryError

        try:
            app = create_app(settings)
        except (KeyError_, AuditError, RegistryError) as exc:
            # a missing key or a log held by another kiosk process: say so, no traceback
            print(f"kiosk: cannot start: {exc}", file=sys.stderr)
            return 2
    log.info("serving kiosk API", extra={"host": settings.host, "port": settings.port})
    print(f"kiosk API on http://{settings.host}:{settings.port}/ (health: /health, API description: "
          f"/openapi.json)", flush=True)
    # SIGTERM (systemd, docker, a test) shuts down like Ctrl-C, so the audit log signs its last checkpoint
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        serve(app, host=settings.host, port=settings.port, threads=8, ident="kiosk")  # returns on Ctrl-C/SIGTERM
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["kiosk"].close()
    print("kiosk: stopped (audit log closed with a signed checkpoint)", flush=True)
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def prepare_demo(settings, *, source: str = "auto", passwords: dict[str, str] | None = None,
                 progress=None) -> dict:
    """Make ``settings.data_dir`` demo-ready: the keys, the demo registry (built only if the registry is
    empty) and the demo officials (passwords reset to ``passwords`` or fresh random ones).

    Returns ``{"voters_file": path, "passwords": {username: password}, "built": bool}``."""
    from kiosk import keys
    from kiosk.auth import hash_password
    from kiosk.registry import Registry
    from kiosk.registry.demo import build_demo_registry

    # every key a kiosk needs, so the data directory serves without create_keys
    keys.signing_key(settings.key_dir, create=True)
    registry = Registry.open(settings, create_keys=True)
    try:
        voters_file = Path(settings.data_dir) / "demo" / "voters.json"
        built = False
        if registry.count_voters() == 0 or not voters_file.exists():
            if registry.count_voters():
                raise SystemExit(f"kiosk: the registry in {settings.data_dir} has voters but no demo voters file; "
                                 "run 'kiosk demo-registry --force' to rebuild it")
            build_demo_registry(registry, Path(settings.data_dir), station_id=settings.station_id, source=source,
                                progress=progress, key_dir=Path(settings.key_dir))
            built = True
        chosen = {}
        for username, role, display in DEMO_OFFICIALS:
            password = (passwords or {}).get(username) or secrets.token_urlsafe(9)
            if registry.get_official(username) is None:
                registry.add_official(username, hash_password(password), role, display)
            else:
                registry.set_official_password(username, hash_password(password))
            chosen[username] = password
        return {"voters_file": str(voters_file), "passwords": chosen, "built": built}
    finally:
        registry.close()


def _demo(settings, args) -> int:
    from kiosk import create_app
    from simulators.suite import SimulatorSuite

    settings = dataclasses.replace(settings, create_keys=True)
    print("kiosk demo: preparing the demo registry (first run builds it from sample images)...", flush=True)
    prepared = prepare_demo(settings, source=args.source, progress=sys.stderr)
    suite = SimulatorSuite(demo_voters=prepared["voters_file"]).start()
    try:
        devices = suite.describe()
        d = devices["devices"]
        settings = dataclasses.replace(
            settings, card_reader_url=d["card_reader"].get("path", ""), card_reader_framing=d["card_reader"].get(
                "framing", "auto"), fingerprint_url=d["fingerprint"].get("path", ""),
            fingerprint_baud=int(d["fingerprint"].get("baud", settings.fingerprint_baud)),
            lamp_url=d["lamp"].get("path", ""), lamp_kind=d["lamp"].get("kind", settings.lamp_kind),
            camera_source=d["camera"].get("url", ""))
        if d["camera"].get("stream_url"):
            # the booth's liveness check on the simulated camera's MJPEG stream; the simulated voter
            # "sees" each cue the booth screen shows (a real voter reads the screen)
            settings = dataclasses.replace(settings, liveness_check=True,
                                           camera_stream_url=f"{d['camera']['stream_url']}?fps=15")
        app = create_app(settings, locate_device=lambda name: suite_path(suite, name),
                         show_instruction=lambda _session, instruction: suite.cue_face(instruction))
        base = f"http://{settings.host}:{settings.port}"
        print(json.dumps({"simulators": devices}), flush=True)
        print("\nDemo officials (passwords for this run only):")
        for username, role, _ in DEMO_OFFICIALS:
            print(f"  {username:<11} role {role:<11} password {prepared['passwords'][username]}")
        control = devices.get("control")
        print(f"""
Try it (another terminal):
  J='Content-Type: application/json'
  TOKEN=$(curl -s -X POST {base}/api/auth/sign-in -H "$J" \\
          -d '{{"username": "official", "password": "{prepared['passwords']['official']}"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  for device in card finger; do                                       # simulators: DEMO01 steps up
    curl -s -X POST {control}/$device -H "$J" -d '{{"voter_id": "DEMO01"}}'; done
  curl -s -X POST {control}/face -H "$J" -d '{{"voter_id": "DEMO01", "performance": "live"}}'
  # (or "printed_photo", "moved_photo", "video_loop", "two_way_loop": the liveness check should refuse those)
  SID=$(curl -s -X POST {base}/api/sessions -H "Authorization: Bearer $TOKEN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["session_id"])')
  for step in card finger liveness face; do curl -s -X POST {base}/api/sessions/$SID/$step -H "Authorization: Bearer $TOKEN"; echo; done
  curl -s -X DELETE {control}/face                                    # the ink check looks at the finger
  for step in ink confirm; do curl -s -X POST {base}/api/sessions/$SID/$step -H "Authorization: Bearer $TOKEN"; echo; done
Demo voters: DEMO01-DEMO03 registered here, DEMO04 at another station, DEMO05 an impostor with DEMO02's card
(with ../shared/datasets: more people; see {prepared['voters_file']}).
Booth screen: {base}/booth/    API description: {base}/openapi.json
""", flush=True)
        return _serve(settings, app)
    finally:
        suite.stop()


def suite_path(suite, name: str) -> str | None:
    """Where the simulator serves device ``name`` now (a replugged device gets a new pseudo-terminal)."""
    try:
        return suite.describe()["devices"].get(name, {}).get("path") or None
    except Exception:  # noqa: BLE001 - a stopped suite: fall back to the configured path
        return None


def main(argv: list[str] | None = None) -> int:
    from kiosk.registry import commands as registry_commands

    parser = argparse.ArgumentParser(prog="kiosk", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="TOML configuration file (default: $KIOSK_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve", help="run the API under a production WSGI server (waitress)")
    serve_p.add_argument("--host")
    serve_p.add_argument("--port", type=int)
    demo_p = sub.add_parser("demo", help="start simulators, a demo registry and the API together")
    demo_p.add_argument("--port", type=int)
    demo_p.add_argument("--data-dir", help="where the demo registry, keys and audit log live (default: data_dir)")
    demo_p.add_argument("--source", choices=["auto", "datasets", "packaged"], default="auto",
                        help="sample images for a new demo registry")
    registry_commands.register(sub)
    args = parser.parse_args(argv)

    overrides = {k: v for k, v in {"host": getattr(args, "host", None), "port": getattr(args, "port", None),
                                   "data_dir": getattr(args, "data_dir", None)}.items() if v is not None}
    if getattr(args, "data_dir", None):
        overrides["key_dir"] = str(Path(args.data_dir) / "keys")
    try:
        settings = config_module.load(args.config, overrides=overrides)
    except config_module.ConfigError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    if args.command == "serve":
        return _serve(settings)
    if args.command == "demo":
        return _demo(settings, args)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.error(f"unknown command {args.command}")
    return handler(settings, args)


if __name__ == "__main__":
    sys.exit(main())
