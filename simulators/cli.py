"""``kiosk-sim``: the device simulators for testers and end-to-end tests.

``kiosk-sim start`` starts the four simulated devices (PTYs by default) and the control API, prints
where they are as ONE JSON line on stdout, and serves until SIGINT or SIGTERM.
``kiosk-sim run SCENARIO`` plays a scenario file against a running kiosk-sim (``--control URL``, or
the scenario's ``control``; without either it starts its own suite for the run) and the kiosk API
(``--kiosk URL`` or the scenario's ``kiosk``), then prints a JSON report. See docs/simulators.md.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from simulators.errors import SimulatorError
from simulators.scenario import ScenarioError, load_scenario, run_scenario
from simulators.suite import SimulatorSuite


def _start(args: argparse.Namespace) -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if args.stop_on_stdin_close:
        threading.Thread(target=_stop_at_end_of_stdin, args=(stop,), name="sim-stdin", daemon=True).start()
    try:
        suite = SimulatorSuite(args.demo_voters, transport=args.transport, control_port=args.control_port,
                               camera_port=args.camera_port, seed=args.seed, card_framing=args.card_framing,
                               lamp_kind=args.lamp_kind).start()
    except (SimulatorError, OSError) as exc:
        print(f"kiosk-sim: cannot start: {exc}", file=sys.stderr)
        return 1
    try:
        if args.links:
            update_links(Path(args.links), suite.describe())
        print(json.dumps(suite.describe()), flush=True)
        while not stop.wait(0.2):
            if args.links:
                update_links(Path(args.links), suite.describe())
    finally:
        suite.stop()
    print("kiosk-sim: stopped", file=sys.stderr)
    return 0


def _stop_at_end_of_stdin(stop: threading.Event) -> None:
    """The parent that started us holds the other end of stdin: when it goes, however it goes, so do we.
    (os.read, not sys.stdin: a daemon thread blocked in a buffered reader holds its lock at exit.)"""
    try:
        while os.read(sys.stdin.fileno(), 4096):
            pass
    except OSError:
        pass
    stop.set()


def update_links(directory: Path, described: dict) -> None:
    """Keep ``directory/<device>`` a symbolic link to each serial device's current path, as udev's
    ``/dev/serial/by-id`` links do for real devices: a device that is unplugged and comes back on a new
    pseudo-terminal is found again by a kiosk configured with the link. An unplugged device's link is
    removed until it returns."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, device in described.get("devices", {}).items():
        link = directory / name
        path = device.get("path", "")
        if not path.startswith("/"):        # the camera (a URL), a TCP transport, or unplugged
            if not path and link.is_symlink():
                link.unlink()
            continue
        if link.is_symlink() and os.readlink(link) == path:
            continue
        temporary = directory / f".{name}.new"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(path)
        os.replace(temporary, link)        # atomic: a kiosk opening the link sees the old or the new path


def _run(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        print(f"kiosk-sim: {args.scenario}: {exc}", file=sys.stderr)
        return 2
    control = args.control or scenario.control
    kiosk = args.kiosk or scenario.kiosk
    suite = None
    if control is None:
        try:
            suite = SimulatorSuite(args.demo_voters, transport=args.transport).start()
        except (SimulatorError, OSError) as exc:
            print(f"kiosk-sim: cannot start the simulators: {exc}", file=sys.stderr)
            return 1
        control = suite.describe()["control"]
    try:
        variables = dict(item.split("=", 1) for item in args.set)
        try:
            report = run_scenario(scenario, control=control, kiosk=kiosk, variables=variables)
        except ScenarioError as exc:
            print(f"kiosk-sim: {args.scenario}: {exc}", file=sys.stderr)
            return 2
        if suite is not None:
            report["started_simulators"] = suite.describe()
    finally:
        if suite is not None:
            suite.stop()
    text = json.dumps(report, indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0 if report["ok"] else 1


def _assignment(text: str) -> str:
    if "=" not in text or not text.split("=", 1)[0]:
        raise argparse.ArgumentTypeError("expected NAME=VALUE")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk-sim", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    start = commands.add_parser("start", help="start the simulators and the control API; print JSON; serve")
    start.add_argument("--demo-voters", metavar="FILE", help="voters.json written by `kiosk demo-registry`")
    start.add_argument("--transport", choices=("pty", "tcp"), default="pty",
                       help="serial devices on pseudo-terminals (default) or TCP sockets (socket:// URLs)")
    start.add_argument("--control-port", type=int, default=0, metavar="N", help="control API port (default: any free)")
    start.add_argument("--camera-port", type=int, default=0, metavar="N", help="camera HTTP port (default: any free)")
    start.add_argument("--card-framing", choices=("desko", "3m", "plain"), default="desko",
                       help="how the MRZ reader frames a card's zone (default desko)")
    start.add_argument("--lamp-kind", choices=("lcus", "numato"), default="lcus", help="UV lamp relay board")
    start.add_argument("--seed", type=int, default=0, help="seed for the simulated sensor noise")
    start.add_argument("--links", metavar="DIR", help="keep DIR/<device> symlinks to the current PTY paths (like "
                       "/dev/serial/by-id): point the kiosk at them and it finds a replugged device again")
    start.add_argument("--stop-on-stdin-close", action="store_true",
                       help="also stop when stdin closes (a parent process that started kiosk-sim went away)")
    start.set_defaults(handler=_start)

    run = commands.add_parser("run", help="play a scenario file and print a JSON report")
    run.add_argument("scenario", help="scenario file (.json; .yaml when PyYAML is installed)")
    run.add_argument("--control", metavar="URL", help="control API of a running kiosk-sim")
    run.add_argument("--kiosk", metavar="URL", help="kiosk API base URL for http steps")
    run.add_argument("--demo-voters", metavar="FILE", help="when no kiosk-sim is running: voters for the one started")
    run.add_argument("--transport", choices=("pty", "tcp"), default="pty", help=argparse.SUPPRESS)
    run.add_argument("--output", metavar="FILE", help="also write the report to FILE")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", type=_assignment,
                     help="a scenario variable, e.g. --set official_password=... (repeatable)")
    run.set_defaults(handler=_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
