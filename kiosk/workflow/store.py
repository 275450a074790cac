"""The open sessions of one kiosk, forgotten after a time without steps."""
from __future__ import annotations

import threading
from typing import Callable

from kiosk.workflow.errors import SessionNotFound
from kiosk.workflow.session import Session, new_session_id


class SessionStore:
    """Thread-safe map of session_id -> :class:`Session`; a session idle for ``idle_s`` seconds (on
    ``clock``) is dropped the next time sessions are started or listed."""

    def __init__(self, clock: Callable[[], float], idle_s: float):
        self._clock = clock
        self._idle_s = idle_s
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(self, official_id: str) -> Session:
        now = self._clock()
        session = Session(new_session_id(), official_id, now, now)
        with self._lock:
            self._expire(now)
            self._sessions[session.session_id] = session
        return session

    def get(self, session_id: str) -> Session:
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            raise SessionNotFound("no such session (it may have expired)")
        return session

    def open_sessions(self) -> list[Session]:
        """Sessions not yet ended, oldest first."""
        with self._lock:
            self._expire(self._clock())
            return sorted((s for s in self._sessions.values() if not s.terminal), key=lambda s: s.created_at)

    def _expire(self, now: float) -> None:
        for sid in [sid for sid, s in self._sessions.items() if now - s.updated_at > self._idle_s]:
            del self._sessions[sid]
