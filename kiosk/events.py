"""The one audit function: every workflow step, sign-in and export calls :func:`record`.

Events go to the tamper-evident :class:`kiosk.audit.AuditLog` (durable when ``record`` returns).
Voters appear only as pseudonyms (the commission's per-election values from the signed registry
export, see :mod:`kiosk.pseudonyms` and docs/threat-model.md); the audit log itself refuses templates, images, MRZ lines and ID
numbers, so a mistake here fails loudly instead of leaking.

The application installs one :class:`EventRecorder` per process (:func:`install`); the workflow
takes a recorder explicitly so tests can give it their own log.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from kiosk.audit import AuditError, AuditLog


class AuditUnavailable(RuntimeError):
    """The audit log could not take an event; the kiosk must not go on without its audit trail."""

    code = "audit_unavailable"


class EventRecorder:
    """Writes audit events to an open :class:`AuditLog`."""

    def __init__(self, log: AuditLog, pseudonyms: Callable[[str], str]):
        self.log = log
        self._pseudonyms = pseudonyms

    def record(self, event_type: str, **fields: Any) -> int:
        """Append one event (``event`` = ``event_type``); returns its sequence number once durable."""
        event = {"event": event_type, **{k: v for k, v in fields.items() if v is not None}}
        try:
            return self.log.append(event)
        except AuditError as exc:
            # EventRejected (a privacy rule) is an AuditError too: never swallow it
            raise AuditUnavailable(f"audit event {event_type!r} was not written: {exc}") from exc

    def pseudonym(self, id_number: str) -> str:
        """The voter's pseudonym for audit entries (never the ID number itself)."""
        return self._pseudonyms(id_number)

    def close(self) -> None:
        self.log.close()


_installed: EventRecorder | None = None
_lock = threading.Lock()


def install(recorder: EventRecorder | None) -> EventRecorder | None:
    """Make ``recorder`` the process-wide target of :func:`record`; returns the previous one."""
    global _installed
    with _lock:
        previous, _installed = _installed, recorder
    return previous


def current_or_none() -> EventRecorder | None:
    return _installed


def current() -> EventRecorder:
    recorder = _installed
    if recorder is None:
        raise AuditUnavailable("no audit log is open (kiosk.events.install was not called)")
    return recorder


def record(event_type: str, **fields: Any) -> int:
    """Write one audit event through the installed recorder."""
    return current().record(event_type, **fields)
