-- Several kiosks on one registry: a vote remembers the booth session that cast it (a retry of that
-- session gets the same answer instead of a second-vote refusal), and a refused second attempt names
-- the station it came from and the first vote's kiosk and station.
ALTER TABLE votes ADD COLUMN session_id TEXT;
ALTER TABLE vote_refusals ADD COLUMN station_id TEXT;
ALTER TABLE vote_refusals ADD COLUMN session_id TEXT;
ALTER TABLE vote_refusals ADD COLUMN first_kiosk_id TEXT;
ALTER TABLE vote_refusals ADD COLUMN first_station_id TEXT;
CREATE INDEX IF NOT EXISTS vote_refusals_voter ON vote_refusals(voter_id);
CREATE INDEX IF NOT EXISTS votes_station ON votes(station_id, kiosk_id);
