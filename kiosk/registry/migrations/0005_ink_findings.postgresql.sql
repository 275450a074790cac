-- A voter refused because ink was found on the finger: which kiosk of which station, when, in which
-- session. When the person is presented again, at any kiosk sharing the registry, the booth says so
-- before any biometric step and only a supervisor's approval (with a reason) lets the session go on.
CREATE TABLE IF NOT EXISTS ink_findings (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    voter_id    TEXT NOT NULL REFERENCES voters(voter_id),
    found_at    TEXT NOT NULL,
    station_id  TEXT NOT NULL,
    kiosk_id    TEXT NOT NULL,
    session_id  TEXT,
    official_id TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ink_findings_session ON ink_findings(voter_id, session_id);
