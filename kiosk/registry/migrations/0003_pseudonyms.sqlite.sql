-- The commission's per-election pseudonym of each voter, shipped in the signed registry export and
-- stored as data (docs/threat-model.md). IF NOT EXISTS: kiosks of the release before migrations
-- already created it.
CREATE TABLE IF NOT EXISTS voter_pseudonyms (
    voter_id    TEXT PRIMARY KEY REFERENCES voters(voter_id),
    pseudonym   TEXT NOT NULL
);
