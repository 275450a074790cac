-- A booth session's second-vote attempt is recorded once, however often that session retries (a
-- kiosk killed after the refusal committed and before it answered retries the same session).
-- Attempts without a session (NULL) are each kept.
CREATE UNIQUE INDEX IF NOT EXISTS vote_refusals_session ON vote_refusals(voter_id, session_id);
