"""Booth benchmark: latency from card presented to decision, and API throughput on registry lookups.

    python -m bench booth [--runs N] [--source packaged|datasets|auto] [--seconds S] [--clients C] [--no-liveness]
                          [--simulators in-process|process]

Everything is real except the devices, which are the project's simulators over PTYs: a demo
registry (build_demo_registry), the API under waitress on 127.0.0.1, the hardware drivers, the
matcher and the audit log (fsync per event). The person has already presented card, finger and face
when the clock starts, so the figure excludes the time a person needs.

Liveness (on, as in ``./dev run``; ``--no-liveness`` turns it off): every session also runs the
liveness check on the camera simulator's MJPEG stream, with a live voter (the simulator's performer
reacting to the cues). That step is mostly the voter's own time (settling, a blink and a head turn
after a human reaction time), so the card -> decision rows are printed without it, as before, and
again with it; the liveness step's own median is the time it adds at the booth.

The simulators run in the kiosk's process (``--simulators in-process``, the default) or in their own
(``--simulators process``: ``kiosk-sim start`` as a child, driven over its control API by
:class:`simulators.process.SimulatorProcess`), as the devices at a booth are other machines sharing
neither the kiosk's CPU time nor its interpreter lock. Measured on 2026-11-29 (2 cores, loaded), the
layout does not explain the live voters who fail the check (``no_response``): 8 of 404 live checks
in-process, 6 of 303 in a process of their own. In-process the cue reached the simulated voter within
0.4 ms and the camera kept its frame rate. Five of the six failed checks traced had a spontaneous
blink of the simulated voter in them (during the frames that set the check's baseline, or just before
the blink asked for), which the check in :mod:`matcher.face.liveness` did not tell apart from an
answer; in the sixth, landmark jitter set the baseline 12 % above the open eyes' later ratio. The same
failures came on the simulated clock, without threads (``python -m bench liveness``: 9 of 300). The
check now settles and times a blink around the voter's own blinks: 0 of 101 here, idle, 2026-11-29.

Note: a PTY has no baud limit, so the R30x image upload (36,864 bytes of 4-bit pixels for an R307
256x288 image, plus framing) takes milliseconds here; over a real 57600-baud UART it alone takes
about 7 s. The estimate is printed next to the measured figures.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.common import header, median, percentile, row



class Api:
    def __init__(self, base: str):
        self.base = base
        self.token = ""

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else b""
        request = urllib.request.Request(self.base + path, data=data if method != "GET" else None, method=method,
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                return json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read())


def r30x_upload_seconds(baud: int = 57600, width: int = 256, height: int = 288, packet: int = 128) -> float:
    """Wire time of UpImage at ``baud`` (8N1: 10 bits per byte; 11 bytes of framing per data packet)."""
    payload = width * height // 2
    packets = -(-payload // packet)
    return (payload + 11 * packets) * 10 / baud


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench booth")
    parser.add_argument("--runs", type=int, default=40, help="sessions timed (card presented -> decision)")
    parser.add_argument("--source", default="packaged", choices=["packaged", "datasets", "auto"])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of the lookup throughput run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for lookup throughput")
    parser.add_argument("--no-liveness", action="store_true", help="sessions without the liveness check")
    parser.add_argument("--simulators", default="in-process", choices=["in-process", "process"],
                        help="run the simulator suite inside the kiosk's process (default) or as a process "
                             "of its own, as the devices at a booth are other machines")
    args = parser.parse_args(argv)

    from waitress.server import create_server

    from kiosk import config, create_app
    from kiosk.cli import prepare_demo
    from simulators.process import SimulatorProcess
    from simulators.suite import SimulatorSuite

    header("booth: card presented -> decision, with the simulators over PTYs; API lookup throughput")
    with tempfile.TemporaryDirectory(prefix="bench-booth-") as tmp:
        data = Path(tmp)
        settings = config.load(overrides={"data_dir": data, "key_dir": data / "keys", "create_keys": True},
                               environ={})
        t0 = time.perf_counter()
        prepared = prepare_demo(settings, source=args.source,
                                passwords={"official": "bench-official", "supervisor": "bench-supervisor"})
        print(f"   demo registry ({args.source}) built in {time.perf_counter() - t0:.1f} s")
        voters = {v["voter_id"]: v for v in json.loads(Path(prepared["voters_file"]).read_text())["voters"]}
        if args.simulators == "process":
            suite = SimulatorProcess(demo_voters=prepared["voters_file"]).start()
        else:
            suite = SimulatorSuite(demo_voters=prepared["voters_file"], control_port=None).start()
        print(f"   simulators: {args.simulators}" + (f" (pid {suite.pid})" if args.simulators == "process" else ""))
        server = app = None
        try:
            d = suite.describe()["devices"]
            settings = dataclasses.replace(settings, card_reader_url=d["card_reader"]["path"],
                                           card_reader_framing=d["card_reader"]["framing"],
                                           fingerprint_url=d["fingerprint"]["path"], lamp_url=d["lamp"]["path"],
                                           camera_source=d["camera"]["url"],
                                           # the throughput run measures the server, not the per-official
                                           # lookup limit (30 a minute by default), which would refuse it
                                           lookup_limit=10**9, liveness_check=not args.no_liveness,
                                           camera_stream_url=f"{d['camera']['stream_url']}?fps=15")
            # the simulated voter sees each cue the booth screen shows
            app = create_app(settings, show_instruction=lambda _session, cue: suite.cue_face(cue))
            server = create_server(app, host="127.0.0.1", port=0, threads=8)
            threading.Thread(target=server.run, daemon=True).start()
            api = Api(f"http://127.0.0.1:{server.effective_port}")
            api.token = api.call("POST", "/api/auth/sign-in", {"username": "official",
                                                               "password": "bench-official"})["token"]
            # three voters registered here and the impostor (who carries a registered voter's card)
            people = [p for p, v in voters.items() if v["role"] == "registered"][:3] + \
                     [p for p, v in voters.items() if v["role"] == "impostor"]
            liveness = not args.no_liveness
            latencies, steps, outcomes = _booth_latency(api, suite, people, args.runs, liveness)
            row("sessions timed", f"{len(latencies)}", f"people: {', '.join(people)}; liveness "
                + ("on (live voters)" if liveness else "off"))
            without = [total - live for total, live in zip(latencies, steps.get("liveness", [0.0] * len(latencies)))]
            label = " (liveness step excluded)" if liveness else ""
            row(f"card presented -> decision{label}, median", f"{median(without) * 1000:.0f} ms", "target <= 1000 ms")
            row(f"card presented -> decision{label}, p95", f"{percentile(without, 95) * 1000:.0f} ms",
                "target <= 1000 ms")
            if liveness:
                row("card presented -> decision (liveness included), median",
                    f"{median(latencies) * 1000:.0f} ms", f"p95 {percentile(latencies, 95) * 1000:.0f} ms")
            for name in (name for name in steps if steps[name]):
                row(f"  step {name}: median / p95", f"{median(steps[name]) * 1000:.0f} / "
                    f"{percentile(steps[name], 95) * 1000:.0f} ms",
                    "time added by liveness; target <= 2000 ms" if name == "liveness" else "")
            booth_verdicts = outcomes.pop("_liveness", {})
            if liveness:
                row("  liveness verdicts", ", ".join(f"{k} {v}" for k, v in sorted(booth_verdicts.items())))
            row("decisions", ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
            no_card_verdicts: dict[str, int] = {}
            no_card = _no_card_latency(api, suite, [p for p in people if voters[p]["role"] == "registered"],
                                       max(3, args.runs // 4), liveness, no_card_verdicts)
            row(f"no card: approval -> identification{label}, median", f"{median(no_card) * 1000:.0f} ms",
                f"p95 {percentile(no_card, 95) * 1000:.0f} ms, {len(no_card)} sessions, 1:N station then national")
            if liveness:
                row("  no card: liveness verdicts (live voters)",
                    ", ".join(f"{k} {v}" for k, v in sorted(no_card_verdicts.items())))
                checks = [*booth_verdicts.items(), *no_card_verdicts.items()]
                failed = sum(n for verdict, n in checks if verdict != "passed")
                total = sum(n for _, n in checks)
                row("live voters failing liveness (all live checks)", f"{failed} of {total}",
                    f"{100 * failed / max(1, total):.1f} %; target <= 2 %")
            row("R30x image upload at 57600 baud (not in the above)", f"{r30x_upload_seconds():.1f} s",
                "estimated wire time; the PTY has no baud limit")

            id_number = next(v["id_number"] for v in voters.values() if v["role"] == "registered")
            single = _lookup_throughput(api, id_number, 1, args.seconds / 2)
            many = _lookup_throughput(api, id_number, args.clients, args.seconds)
            row("registry lookups, 1 client", f"{single:.0f} req/s")
            row(f"registry lookups, {args.clients} clients", f"{many:.0f} req/s", "waitress, 8 threads")
        finally:
            if server is not None:
                server.task_dispatcher.shutdown()   # let in-flight tasks finish before the sockets go
                server.close()
            if app is not None:
                app.extensions["kiosk"].close()
            suite.stop()
    return 0


ROUND_STEPS = {"capture_finger": "finger", "check_liveness": "liveness", "capture_face": "face"}


def _booth_latency(api: Api, suite, people: list[str], runs: int, liveness: bool):
    latencies: list[float] = []
    names = ("card", "finger", "liveness", "face") if liveness else ("card", "finger", "face")
    steps: dict[str, list[float]] = {name: [] for name in names}
    outcomes: dict = {"_liveness": {}} if liveness else {}
    second_rounds: list[float] = []
    for i in range(runs + len(people)):            # the first round warms up (models, galleries, caches)
        person = people[i % len(people)]
        suite.present_voter_card(person)
        suite.place_voter_finger(person)
        suite.show_voter_face(person, performance="live" if liveness else "still")
        sid = api.call("POST", "/api/sessions")["session_id"]
        start = time.perf_counter()
        reply: dict = {}
        checked: dict = {}                                # the first round's liveness reply
        timings = {}
        for name in names:
            t = time.perf_counter()
            reply = api.call("POST", f"/api/sessions/{sid}/{name}")
            timings[name] = time.perf_counter() - t
            checked = reply if name == "liveness" else checked
            if reply.get("terminal") or "error" in reply or reply.get("state") == "liveness_failed":
                break
        elapsed = time.perf_counter() - start
        if "error" not in reply and reply.get("state") == "capture_finger":    # not verified: another round
            suite.show_voter_face(person, performance="live" if liveness else "still")   # faces the camera again
            t = time.perf_counter()
            while "error" not in reply and reply.get("state") in ROUND_STEPS:
                reply = api.call("POST", f"/api/sessions/{sid}/{ROUND_STEPS[reply['state']]}")
            if i >= len(people):
                second_rounds.append(time.perf_counter() - t)
        if "error" in reply:
            raise SystemExit(f"bench booth: step failed: {reply['error']}")
        if not reply.get("terminal"):
            api.call("POST", f"/api/sessions/{sid}/cancel")   # decision taken; the ink check is another step
        suite.remove_card()
        suite.lift_finger()
        if i >= len(people) and len(timings) == len(names):
            latencies.append(elapsed)
            for name, seconds in timings.items():
                steps[name].append(seconds)
        if i >= len(people) and liveness and "liveness" in timings:
            seen = checked.get("liveness") or {}          # the first round's check (a second is not tallied)
            verdict = seen.get("outcome") or "none"
            verdict += f" ({seen['reason']})" if seen.get("reason") else ""
            outcomes["_liveness"][verdict] = outcomes["_liveness"].get(verdict, 0) + 1
        if i >= len(people):
            key = reply.get("outcome") or ("accepted" if reply.get("state") == "check_ink" else reply.get("state"))
            outcomes[key] = outcomes.get(key, 0) + 1
    # the impostor's: a voter not verified is asked again (kiosk.workflow.rules.after_rejection)
    steps["second round, finger -> decision" + (" (liveness included)" if liveness else "")] = second_rounds
    return latencies, steps, outcomes


def _no_card_latency(api: Api, suite, people: list[str], runs: int, liveness: bool,
                     verdicts: dict[str, int]) -> list[float]:
    """Supervisor-approved no-card sessions: approval (scrypt check), finger 1:N, face 1:N, decision
    (the liveness step, when on, runs between finger and face and is not counted; its verdicts are
    tallied in ``verdicts``, and a session whose live voter failed it is not timed)."""
    approval = {"supervisor_username": "supervisor", "supervisor_password": "bench-supervisor",
                "reason_code": "card_forgotten"}
    out = []
    for i in range(runs + 1):                      # the first one builds the identification galleries
        person = people[i % len(people)]
        suite.place_voter_finger(person)
        suite.show_voter_face(person, performance="live" if liveness else "still")
        sid = api.call("POST", "/api/sessions")["session_id"]
        start = time.perf_counter()
        reply = api.call("POST", f"/api/sessions/{sid}/no-card", approval)
        for name in ("finger", "liveness", "face") if liveness else ("finger", "face"):
            t = time.perf_counter()
            reply = api.call("POST", f"/api/sessions/{sid}/{name}")
            if name == "liveness":
                start += time.perf_counter() - t        # not counted: reported with the verified sessions
                seen = reply.get("liveness") or {}
                verdict = (seen.get("outcome") or "none") + (f" ({seen['reason']})" if seen.get("reason") else "")
                verdicts[verdict] = verdicts.get(verdict, 0) + 1
                if reply.get("state") != "identify_face":
                    break
        if reply.get("state") == "liveness_failed":     # a false rejection: tallied above, not timed
            api.call("POST", f"/api/sessions/{sid}/cancel")
            suite.lift_finger()
            continue
        if "error" in reply or reply.get("state") != "check_ink":
            raise SystemExit(f"bench booth: no-card identification of {person} failed: {reply}")
        if i:
            out.append(time.perf_counter() - start)
        api.call("POST", f"/api/sessions/{sid}/cancel")
        suite.lift_finger()
    return out


def _lookup_throughput(api: Api, id_number: str, clients: int, seconds: float) -> float:
    counts = [0] * clients
    stop = time.perf_counter() + seconds

    def client(index: int) -> None:
        while time.perf_counter() < stop:
            reply = api.call("POST", "/api/registry/lookup", {"id_number": id_number})
            if "voter" not in reply:
                raise SystemExit(f"bench booth: lookup failed: {reply}")
            counts[index] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - started)
