-- The registry as the first SQLite kiosks created it (every statement IF NOT EXISTS, so a database made
-- before migrations existed is adopted as version 1 unchanged).
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS voters (
    voter_id    TEXT PRIMARY KEY,
    id_number   TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    birth_date  TEXT,
    sex         TEXT NOT NULL,
    station_id  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS voters_station ON voters(station_id);
CREATE TABLE IF NOT EXISTS finger_templates (
    voter_id  TEXT NOT NULL REFERENCES voters(voter_id),
    finger    TEXT NOT NULL,
    sealed    BLOB NOT NULL,
    PRIMARY KEY (voter_id, finger)
);
CREATE TABLE IF NOT EXISTS face_templates (
    voter_id  TEXT PRIMARY KEY REFERENCES voters(voter_id),
    sealed    BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    voter_id    TEXT PRIMARY KEY REFERENCES voters(voter_id),
    voted_at    TEXT NOT NULL,
    kiosk_id    TEXT NOT NULL,
    station_id  TEXT NOT NULL,
    official_id TEXT NOT NULL,
    method      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vote_refusals (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    voter_id    TEXT NOT NULL,
    attempted_at TEXT NOT NULL,
    kiosk_id    TEXT NOT NULL,
    official_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS officials (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('official', 'supervisor', 'auditor')),
    display_name  TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS decisions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  TEXT NOT NULL,
    voter_id    TEXT,
    station_id  TEXT NOT NULL,
    kiosk_id    TEXT NOT NULL,
    official_id TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    method      TEXT NOT NULL,
    reason      TEXT,
    decided_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_station ON decisions(station_id, outcome);
CREATE TABLE IF NOT EXISTS imports (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    imported_at  TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    voters       INTEGER NOT NULL
);
