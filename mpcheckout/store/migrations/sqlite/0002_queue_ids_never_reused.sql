-- webhook_queue ids must never be reused: archived events keep theirs in webhook_archive and
-- dead letters point at them. A plain INTEGER PRIMARY KEY hands out max(id) + 1, which starts
-- over once every event has been archived (and archiving then collides); AUTOINCREMENT never
-- reuses an id. SQLite cannot add it to a table, so the table is rebuilt.

CREATE TABLE webhook_queue_rebuilt (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key       TEXT NOT NULL UNIQUE,
    topic            TEXT NOT NULL,
    action           TEXT,
    resource_id      TEXT,
    live_mode        INTEGER,
    payload          TEXT NOT NULL,
    headers          TEXT,
    received_via     TEXT NOT NULL CHECK (received_via = 'http' OR received_via = 'file' OR received_via = 'stdin' OR received_via = 'replay'),
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status = 'pending' OR status = 'processing' OR status = 'completed' OR status = 'dead'),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    locked_by        TEXT,
    locked_until     TEXT,
    last_error       TEXT,
    attempt_log      TEXT,
    note             TEXT,
    received_at      TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    completed_at     TEXT
);

INSERT INTO webhook_queue_rebuilt SELECT * FROM webhook_queue;

DROP TABLE webhook_queue;

ALTER TABLE webhook_queue_rebuilt RENAME TO webhook_queue;

CREATE INDEX webhook_queue_due ON webhook_queue (status, next_attempt_at);

CREATE INDEX webhook_queue_completed ON webhook_queue (completed_at) WHERE completed_at IS NOT NULL;

-- Start past every id ever handed out, archived ones included.
DELETE FROM sqlite_sequence WHERE name = 'webhook_queue';

INSERT INTO sqlite_sequence (name, seq)
SELECT 'webhook_queue', max(
    coalesce((SELECT max(id) FROM webhook_queue), 0),
    coalesce((SELECT max(id) FROM webhook_archive), 0));
