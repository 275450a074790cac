"""The push endpoint's logic: enrolment lookup, signatures, verification, storage, alerts."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from kiosk.audit.errors import NoteError
from kiosk.audit.note import Verifier

from central.push import PushRefused, check_signature, parse_body, verify_push
from central.store import Store


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Ingest:
    def __init__(self, store: Store, clock: Callable[[], str] = utc_now):
        self.store, self.clock = store, clock

    def push(self, body: bytes, signature: str | None) -> dict:
        """Verify and store one push; raises :class:`PushRefused` (nothing stored, fork alerts kept)."""
        push = parse_body(body)
        try:
            verifier = Verifier.parse(push["kiosk"])
        except NoteError as exc:
            raise PushRefused(400, "malformed", f"the kiosk key is not a verifier key: {exc}") from None
        state = self.store.kiosk_by_key(push["kiosk"])
        if state is None:
            raise PushRefused(403, "unknown_kiosk", f"no kiosk is enrolled with the key {verifier.name}; "
                              "pushes from unregistered keys are refused")
        check_signature(body, signature, verifier)
        try:
            accepted = verify_push(push, state, lambda size: self.store.root_at(state.kiosk_id, size))
        except PushRefused as exc:
            if exc.fork is not None:
                self.store.record_fork(exc.fork, self.clock())
            raise
        double = self.store.store_push(state, accepted, self.clock())
        return {"status": "duplicate" if accepted.duplicate else "stored", "stored": len(accepted.entries),
                "size": accepted.frontier.size, "double_votes": len(double)}
