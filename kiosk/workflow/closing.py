"""What ending a session writes, so the audit log reconciles with the registry's end-of-day summary."""
from __future__ import annotations

from typing import Any, Callable

from kiosk.workflow.rules import Rules
from kiosk.workflow.session import Session


def record_ending(session: Session, *, registry, rules: Rules, audit: Callable[..., None]) -> None:
    """The decision row and the audit entries of a session that has just ended (``session.outcome``
    and ``session.reason`` set).

    The audit tallies must reconcile with the registry's end-of-day summary (kiosk.audit.verify):
    one "fallback" entry per decision taken by a fallback method, one "refusal" entry per "refused"
    decision, one "vote_marked" per vote (written by the confirm step). Wrong station and already
    voted are told apart by the session_ended entry. A cancelled session is no decision."""
    outcome, reason = session.outcome, session.reason
    if outcome != "cancelled":
        registry.record_decision(session_id=session.session_id,
                                 voter_id=session.voter.voter_id if session.voter else None,
                                 station_id=rules.station_id, kiosk_id=rules.kiosk_id,
                                 official_id=session.official_id, outcome=outcome,
                                 method=session.method, reason=reason)
        if session.method.startswith("fallback"):
            audit("fallback", session, kind=session.method, outcome=outcome,
                  reason=session.fallback_reason, supervisor_id=session.supervisor_id)
    if outcome == "refused":
        audit("refusal", session, outcome=outcome, reason=reason, method=session.method)
    # flagged for the commission: someone tried to vote twice (already marked, or ink on the finger)
    flagged: Any = True if outcome == "already_voted" or reason == "ink_detected" else None
    audit("session_ended", session, outcome=outcome, reason=reason, method=session.method, flagged=flagged)
