"""Send pushes to the commission whenever a link exists; back off exponentially while it does not.

The cursor (``server_size``: how many entries the commission acknowledged) is saved atomically after
every answer, so a restarted kiosk resumes; a lost acknowledgement is harmless because the
commission answers a repeated push as a duplicate, or says where to resume (409 ``resume_from``).
"""
from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.audit.layout import write_atomically
from kiosk.audit.note import Verifier
from kiosk.sync.push import MAX_ENTRIES, SIGNATURE_HEADER, build_push


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class SyncState:
    server_size: int = 0
    last_success_at: str | None = None
    last_attempt_at: str | None = None
    last_error: str | None = None
    failures: int = 0

    @classmethod
    def load(cls, path: Path) -> "SyncState":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        return cls(**{k: data[k] for k in asdict(cls()) if k in data})

    def save(self, path: Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_atomically(Path(path), json.dumps(asdict(self), indent=1).encode("utf-8"))


class Pusher:
    def __init__(self, url: str, log_dir: Path, key: Ed25519PrivateKey, verifier: Verifier, state_path: Path, *,
                 before_push: Callable[[], object] | None = None, clock: Callable[[], str] = utc_now,
                 timeout_s: float = 15.0, max_entries: int = MAX_ENTRIES, backoff_cap_s: float = 60.0,
                 on_ack: Callable[[int, int, float, float], object] | None = None):
        self.url = url.rstrip("/") + "/api/push"
        self.log_dir, self.key, self.verifier, self.state_path = Path(log_dir), key, verifier, Path(state_path)
        self.before_push = before_push          # e.g. AuditLog.checkpoint: sign what is written so far
        self.clock, self.timeout_s, self.max_entries, self.cap = clock, timeout_s, max_entries, backoff_cap_s
        self.on_ack = on_ack                    # (from, size, started, acknowledged) wall-clock seconds
        self.state = SyncState.load(self.state_path)
        self._lock = threading.Lock()

    def status(self) -> dict:
        return asdict(self.state)

    def _send(self, body: bytes, signature: str) -> tuple[int, dict]:
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", SIGNATURE_HEADER: signature})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, json.loads(exc.read() or b"{}")
            except ValueError:
                return exc.code, {"error": "http", "message": f"HTTP {exc.code}"}

    def sync(self, *, max_rounds: int = 50) -> bool:
        """Push until the commission holds every signed entry; True on success, False on failure."""
        with self._lock:
            if self.before_push is not None:
                self.before_push()
            for _ in range(max_rounds):
                self.state.last_attempt_at = self.clock()
                try:
                    push = build_push(self.log_dir, self.key, self.verifier, self.state.server_size,
                                      max_entries=self.max_entries)
                    if push is None:
                        return self._fail("the audit log has no signed checkpoint yet")
                    started = time.time()
                    status, reply = self._send(push.body, push.signature)
                except (urllib.error.URLError, OSError, TimeoutError) as exc:
                    return self._fail(f"commission not reachable: {getattr(exc, 'reason', exc)}")
                except ValueError as exc:
                    return self._fail(str(exc))
                if status == 200:
                    if self.on_ack is not None and push.entries:
                        self.on_ack(self.state.server_size, int(reply.get("size", push.size)), started, time.time())
                    self.state.server_size = int(reply.get("size", push.size))
                    self.state.last_success_at, self.state.last_error, self.state.failures = self.clock(), None, 0
                    self.state.save(self.state_path)
                    if push.entries == 0:
                        return True
                    continue
                if status == 409 and reply.get("error") == "resume" and isinstance(reply.get("resume_from"), int):
                    self.state.server_size = reply["resume_from"]
                    self.state.save(self.state_path)
                    continue
                return self._fail(f"{reply.get('error', status)}: {reply.get('message', '')}".strip())
            return self._fail("too many rounds without catching up")

    def _fail(self, message: str) -> bool:
        self.state.last_error, self.state.failures = message, self.state.failures + 1
        self.state.save(self.state_path)
        return False

    def next_delay(self, interval_s: float) -> float:
        """After a success: the regular interval; after failures: 1, 2, 4 ... s (capped), with jitter."""
        if self.state.failures == 0:
            return interval_s
        return min(self.cap, 2.0 ** (self.state.failures - 1)) * random.uniform(0.5, 1.0)

    def run(self, stop: threading.Event, interval_s: float = 10.0) -> None:
        while not stop.is_set():
            try:
                self.sync()
            except Exception as exc:  # a bug here must not stop the booth; it shows in the status bar
                self._fail(f"sync error: {exc}")
            stop.wait(self.next_delay(interval_s))
