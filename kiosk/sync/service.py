"""The kiosk's background pusher: one thread, started by the app when ``commission_url`` is set."""
from __future__ import annotations

import threading
from pathlib import Path

from kiosk.sync.pusher import Pusher

STATE_FILE = Path("sync") / "state.json"


class SyncService:
    def __init__(self, pusher: Pusher, interval_s: float):
        self.pusher, self.interval_s = pusher, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=pusher.run, args=(self._stop, interval_s),
                                        name="commission-sync", daemon=True)

    @classmethod
    def for_log(cls, settings, log, key) -> "SyncService":
        pusher = Pusher(settings.commission_url, log.directory, key, log.verifier,
                        Path(settings.data_dir) / STATE_FILE, before_push=log.checkpoint)
        return cls(pusher, settings.commission_push_seconds)

    def start(self) -> "SyncService":
        self._thread.start()
        return self

    def status(self) -> dict:
        return {"configured": True, **self.pusher.status()}

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.pusher.timeout_s + 1)
