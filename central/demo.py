"""``central demo``: a simulated election against a real commission server.

The server runs as its own process (``python -m central serve``, SQLite); 20 kiosk processes over 5
stations (central.demo_kiosk) write real signed audit logs and push them with kiosk.sync. Along the
way: link cuts (some kiosks push to a dead address for a while), one server restart, one kiosk whose
log is rewritten after half its voters, and 3 voters planted to vote at two stations. The demo passes
when the server reports exactly that fork and exactly those 3 voters, nothing else.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import TextIO

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.audit.note import Signer

from central.auth import hash_password
from central.store import Store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str | None = None, timeout: float = 5) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


class ServerProcess:
    def __init__(self, database_url: str, port: int, log_path: Path):
        self.database_url, self.port, self.log_path, self.process = database_url, port, log_path, None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> "ServerProcess":
        log = open(self.log_path, "a")
        self.process = subprocess.Popen([sys.executable, "-m", "central", "--database-url", self.database_url,
                                         "serve", "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                _get(self.url + "/health", timeout=1)
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"central serve exited; see {self.log_path}")
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"central serve did not answer /health within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


def _pseudonym(label: str) -> str:
    return hashlib.sha256(f"demo-voter/{label}".encode()).hexdigest()


def plan_election(work: Path, url: str, dead_url: str, *, kiosks: int, stations: int, voters_per_kiosk: int,
                  pace_seconds: float) -> tuple[list[dict], list[str], str]:
    """Plans for every kiosk process; returns (plans, planted double voters, rewritten kiosk id)."""
    plans = []
    for k in range(kiosks):
        station = f"PS-{k % stations + 1:04d}"
        kiosk_id = f"kiosk-{k + 1:02d}"
        root = work / "kiosks" / kiosk_id
        root.mkdir(parents=True)
        key = Ed25519PrivateKey.generate()
        (root / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
        plans.append({"dir": str(root), "kiosk_id": kiosk_id, "station_id": station, "url": url, "dead_url": dead_url,
                      "seed": k, "pace_seconds": pace_seconds, "push_seconds": 0.5,
                      "voters": [_pseudonym(f"{kiosk_id}/{v}") for v in range(voters_per_kiosk)],
                      "vkey": Signer(f"kiosk-audit/{station}/{kiosk_id}", key).verifier.vkey})
    rewritten = plans[min(9, kiosks - 1)]
    rewritten["rewrite"] = True
    for index in range(3, kiosks, 5):
        plans[index]["link_cut"] = [2.0, 8.0]
    planted = []
    honest = [p for p in plans if not p.get("rewrite")]
    for n in range(3):
        voter = _pseudonym(f"double/{n}")
        first = honest[n]
        second = next(p for p in honest[n + 1:] if p["station_id"] != first["station_id"])
        first["voters"].insert(len(first["voters"]) // 3, voter)
        second["voters"].insert(2 * len(second["voters"]) // 3, voter)
        for plan in (first, second):
            plan.setdefault("planted", []).append(voter)
        planted.append(voter)
    return plans, planted, rewritten["kiosk_id"]


def run_demo(*, kiosks: int = 20, stations: int = 5, voters_per_kiosk: int = 60, pace_seconds: float = 0.15,
             work_dir: str | None = None, out: TextIO = sys.stdout, restart_at: float = 5.0) -> dict:
    work = Path(work_dir or tempfile.mkdtemp(prefix="central-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{work / 'central.sqlite3'}"
    server = ServerProcess(database_url, free_port(), work / "server.log")
    dead_url = f"http://127.0.0.1:{free_port()}"   # nothing listens here: the link is cut
    plans, planted, rewritten = plan_election(work, server.url, dead_url, kiosks=kiosks, stations=stations,
                                              voters_per_kiosk=voters_per_kiosk, pace_seconds=pace_seconds)
    password = secrets.token_urlsafe(12)
    store = Store.open(database_url)
    store.add_official("monitor", hash_password(password), "monitor", "Demo monitor")
    for plan in plans:
        store.enrol_kiosk(plan["kiosk_id"], plan["station_id"], plan["vkey"], "2026-01-01T00:00:00.000000Z")
    store.close()
    print(f"central demo: {kiosks} kiosks over {stations} stations, {voters_per_kiosk} voters each; files in {work}",
          file=out, flush=True)
    server.start()
    processes: list[subprocess.Popen] = []
    try:
        token = _post(server.url + "/api/auth/sign-in", {"username": "monitor", "password": password})["token"]
        for plan in plans:
            path = Path(plan["dir"]) / "plan.json"
            path.write_text(json.dumps(plan))
            processes.append(subprocess.Popen([sys.executable, "-m", "central.demo_kiosk", str(path)],
                                              env=dict(os.environ)))
        restarted, first_seen = _watch(server, processes, token, restart_at, out)
        alerts = _get(server.url + "/api/reports/alerts", token)
        for d in alerts["double_votes"]:
            first_seen.setdefault(d["voter"], time.time())
        counts = _get(server.url + "/api/reports/kiosks", token)
    finally:
        for process in processes:          # nothing the demo started outlives it
            if process.poll() is None:
                process.kill()
                process.wait()
        server.stop()
    forks = sorted({f["kiosk_id"] for f in alerts["forks"]})
    doubles = sorted(d["voter"] for d in alerts["double_votes"])
    latencies = _latencies(alerts["double_votes"], first_seen, {p["kiosk_id"]: Path(p["dir"]) for p in plans})
    ok = forks == [rewritten] and doubles == sorted(planted)
    result = {"ok": ok, "forks": forks, "expected_fork": rewritten, "double_votes": alerts["double_votes"],
              "planted": planted, "latencies_s": latencies, "work_dir": str(work), "server_url": server.url,
              "database_url": database_url, "entries": sum(k["entries"] for k in counts["kiosks"]),
              "restarted": restarted, "password": password}
    _print(result, out)
    return result


def _watch(server: ServerProcess, processes: list, token: str, restart_at: float, out: TextIO) -> tuple[bool, dict]:
    """Wait for the kiosks, restarting the server once while they push; note when each double vote shows."""
    started, restarted, first_seen = time.monotonic(), False, {}
    while any(p.poll() is None for p in processes):
        if not restarted and time.monotonic() - started > restart_at:
            server.stop()                           # pushes during the restart fail and are retried
            time.sleep(1.0)
            server.start()
            restarted = True
            print("central demo: server restarted while kiosks were pushing", file=out, flush=True)
        try:
            for d in _get(server.url + "/api/reports/alerts", token)["double_votes"]:
                first_seen.setdefault(d["voter"], time.time())
        except OSError:
            pass
        time.sleep(0.25)
    return restarted, first_seen


def _latencies(doubles: list[dict], first_seen: dict, dirs: dict) -> list[float]:
    """Seconds from the start of the push that carried a voter's second vote to the alert being seen."""
    out = []
    for d in doubles:
        starts = []
        for vote in d["votes"]:
            acks = [json.loads(line) for line in (dirs[vote["kiosk_id"]] / "acks.jsonl").read_text().splitlines()]
            covering = [a["started"] for a in acks if a["from"] <= vote["seq"] < a["size"]]
            if covering:
                starts.append(min(covering))
        if len(starts) == 2 and d["voter"] in first_seen:
            out.append(first_seen[d["voter"]] - max(starts))
    return out


def _print(result: dict, out: TextIO) -> None:
    print(f"central demo: {result['entries']} audit entries verified and stored; server restarted mid-run: "
          f"{result['restarted']}", file=out)
    print(f"  forks found: {', '.join(result['forks']) or 'none'} (planted: {result['expected_fork']})", file=out)
    print(f"  double voters found: {len(result['double_votes'])} (planted: {len(result['planted'])})", file=out)
    for d in result["double_votes"]:
        marks = "; ".join(f"{v['station_id']} {v['kiosk_id']} {v['time'][11:19]}" for v in d["votes"])
        planted = "planted" if d["voter"] in result["planted"] else "NOT PLANTED"
        print(f"    {d['voter'][:12]}... {planted}: {marks}", file=out)
    if result["latencies_s"]:
        print(f"  double vote reported after the second push: max {max(result['latencies_s']):.2f} s "
              f"(each: {', '.join(f'{x:.2f}' for x in result['latencies_s'])}; alerts polled every 0.25 s)", file=out)
    print(f"  result: {'PASS: the fork and all 3 double voters, nothing else' if result['ok'] else 'FAIL'}",
          file=out, flush=True)
