"""Store-and-forward of the kiosk's audit log to the commission server (central).

The audit log on disk *is* the outbox: entries are durable before they are acknowledged at the
booth. What this package keeps is the cursor (how much of the log the commission holds) in
``<data_dir>/sync/state.json``, written atomically, so a restart or a link cut resumes where the
commission's copy ends. :func:`build_push` makes one bounded, signed push (kiosk.sync.push);
:class:`Pusher` sends it with exponential back-off (kiosk.sync.pusher).
"""
from kiosk.sync.push import build_push
from kiosk.sync.pusher import Pusher, SyncState

__all__ = ["build_push", "Pusher", "SyncState"]
