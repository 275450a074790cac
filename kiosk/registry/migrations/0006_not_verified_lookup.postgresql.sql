-- A voter's earlier sessions refused as not verified are counted at every lookup (each later session of
-- the same card is decided at half the false match rate of the one before: kiosk.workflow.rules
-- .session_fmr); this index keeps that count a lookup, not a scan of the day's decisions.
CREATE INDEX IF NOT EXISTS decisions_voter_reason ON decisions(voter_id, reason);
