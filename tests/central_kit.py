"""Helpers for the commission server tests: real kiosk audit logs, real pushes, a real server app."""
from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central import create_app
from central.auth import hash_password
from kiosk.audit import AuditLog
from kiosk.sync.push import SIGNATURE_HEADER, build_push

VOTER = "ab" * 32


class Kiosk:
    """A kiosk's audit log in ``root`` with its own Ed25519 key (checkpoint every 10 entries)."""

    def __init__(self, root: Path, station: str = "PS-0001", kiosk: str = "kiosk-01", key=None, clock=None):
        self.root, self.station, self.kiosk_id = Path(root), station, kiosk
        self.key = key or Ed25519PrivateKey.generate()
        options = {"clock": clock} if clock is not None else {}
        self.log = AuditLog.open(self.root, self.key, f"kiosk-audit/{station}/{kiosk}", kiosk_id=kiosk,
                                 station_id=station, checkpoint_every=10, **options)

    @property
    def verifier(self):
        return self.log.verifier

    def record(self, n: int, event: str = "session_started", **fields) -> None:
        self.log.append_many([{"event": event, "official_id": "po-1", **fields} for _ in range(n)])
        self.log.checkpoint()

    def vote(self, voter: str) -> None:
        self.log.append({"event": "vote_marked", "official_id": "po-1", "voter": voter})
        self.log.checkpoint()

    def push(self, server_size: int, **options):
        return build_push(self.root, self.key, self.verifier, server_size, **options)

    def close(self) -> None:
        self.log.close()


def make_app(database_url: str, **settings):
    app = create_app({"database_url": database_url, **settings})
    store = app.extensions["central"].store
    store.add_official("monitor", hash_password("monitor-pass"), "monitor", "Monitor")
    store.add_official("admin", hash_password("admin-pass"), "admin", "Admin")
    return app


def enrol(app, kiosk: Kiosk) -> None:
    app.extensions["central"].store.enrol_kiosk(kiosk.kiosk_id, kiosk.station, kiosk.verifier.vkey,
                                                "2026-01-01T00:00:00.000000Z")


def send(client, push, *, body: bytes | None = None, signature: str | None = None):
    return client.post("/api/push", data=push.body if body is None else body,
                       headers={SIGNATURE_HEADER: push.signature if signature is None else signature,
                                "Content-Type": "application/json"})


def resign(kiosk: Kiosk, body: dict) -> tuple[bytes, str]:
    import base64

    raw = json.dumps(body, separators=(",", ":")).encode()
    return raw, base64.b64encode(kiosk.key.sign(raw)).decode()


def token(client, user: str = "monitor") -> dict:
    reply = client.post("/api/auth/sign-in", json={"username": user, "password": f"{user}-pass"})
    return {"Authorization": f"Bearer {reply.get_json()['token']}"}


class LiveServer:
    """The commission app under waitress on a loopback port, in a thread; stop() and start() again on
    the same port and database (a server restart)."""

    def __init__(self, database_url: str, port: int = 0):
        self.database_url, self.port, self.app, self.server, self.thread = database_url, port, None, None, None

    def start(self) -> "LiveServer":
        import threading

        from waitress.server import create_server

        self.app = make_app(self.database_url)
        self.server = create_server(self.app, host="127.0.0.1", port=self.port, threads=4)
        self.port = self.server.effective_port
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            self.server.run()
        except OSError:      # the listening socket was closed under select(): the server stopped
            pass

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.close()
        self.thread.join(timeout=5)
        self.app.extensions["central"].close()
