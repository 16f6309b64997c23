-- Every table of DESIGN.md. Timestamps are fixed-width UTC ISO-8601 text, so text order is
-- time order; money is TEXT holding a decimal, never REAL. CHECKs are written as OR chains:
-- SQLite evaluates `x IN (...)` by building a temporary table per row (measured: 11 us per
-- inserted event, more than the insert itself).

CREATE TABLE meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE orders (
    id                  TEXT PRIMARY KEY,
    status              TEXT NOT NULL,
    amount              TEXT,
    currency            TEXT,
    title               TEXT,
    preference_id       TEXT,
    payment_id          TEXT,
    payment_status      TEXT,
    payment_updated_at  TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    paid_at             TEXT,
    source              TEXT NOT NULL DEFAULT 'local' CHECK (source = 'local' OR source = 'mercadopago')
);
CREATE INDEX orders_by_status ON orders (status, created_at);

CREATE TABLE payment_logs (
    id                  INTEGER PRIMARY KEY,
    payment_id          TEXT NOT NULL,
    status              TEXT NOT NULL,
    status_detail       TEXT,
    external_reference  TEXT,
    amount              TEXT,
    currency            TEXT,
    date_last_updated   TEXT,
    source              TEXT NOT NULL CHECK (source = 'webhook' OR source = 'reconcile' OR source = 'replay'),
    raw                 TEXT,
    recorded_at         TEXT NOT NULL,
    UNIQUE (payment_id, status)
);
CREATE INDEX payment_logs_by_reference ON payment_logs (external_reference);

CREATE TABLE webhook_queue (
    id               INTEGER PRIMARY KEY,
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
    -- For a claimed event this is its lease expiry, so one index finds due work and lost leases.
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
CREATE INDEX webhook_queue_due ON webhook_queue (status, next_attempt_at);
CREATE INDEX webhook_queue_completed ON webhook_queue (completed_at) WHERE completed_at IS NOT NULL;

CREATE TABLE webhook_archive (
    id               INTEGER PRIMARY KEY,
    dedupe_key       TEXT NOT NULL,
    topic            TEXT NOT NULL,
    action           TEXT,
    resource_id      TEXT,
    live_mode        INTEGER,
    payload          TEXT NOT NULL,
    headers          TEXT,
    received_via     TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    locked_by        TEXT,
    locked_until     TEXT,
    last_error       TEXT,
    attempt_log      TEXT,
    note             TEXT,
    received_at      TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    completed_at     TEXT,
    archived_at      TEXT NOT NULL
);

CREATE TABLE webhook_dead_letter (
    id            INTEGER PRIMARY KEY,
    queue_id      INTEGER,
    dedupe_key    TEXT,
    topic         TEXT,
    payload       TEXT NOT NULL,
    headers       TEXT,
    reason        TEXT NOT NULL CHECK (reason = 'exhausted' OR reason = 'permanent' OR reason = 'invalid'),
    last_error    TEXT,
    attempt_log   TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    received_via  TEXT,
    dead_at       TEXT NOT NULL,
    resolved_at   TEXT,
    resolution    TEXT CHECK (resolution = 'replayed' OR resolution = 'discarded'),
    note          TEXT
);
CREATE INDEX webhook_dead_letter_by_time ON webhook_dead_letter (dead_at);
CREATE INDEX webhook_dead_letter_open ON webhook_dead_letter (resolved_at, dead_at);
CREATE INDEX webhook_dead_letter_by_queue ON webhook_dead_letter (queue_id);
CREATE INDEX webhook_dead_letter_by_key ON webhook_dead_letter (dedupe_key);

CREATE TABLE webhook_reconciliation_logs (
    id                INTEGER PRIMARY KEY,
    started_at        TEXT NOT NULL,
    finished_at       TEXT,
    status            TEXT NOT NULL CHECK (status = 'ok' OR status = 'partial' OR status = 'failed'),
    leases_recovered  INTEGER NOT NULL DEFAULT 0,
    retried           INTEGER NOT NULL DEFAULT 0,
    swept             INTEGER NOT NULL DEFAULT 0,
    drift_fixed       INTEGER NOT NULL DEFAULT 0,
    archived          INTEGER NOT NULL DEFAULT 0,
    dead_lettered     INTEGER NOT NULL DEFAULT 0,
    errors            INTEGER NOT NULL DEFAULT 0,
    details           TEXT
);
CREATE INDEX webhook_reconciliation_logs_by_start ON webhook_reconciliation_logs (started_at);

CREATE TABLE rate_limits (
    key           TEXT PRIMARY KEY,
    window_start  TEXT NOT NULL,
    count         INTEGER NOT NULL
);

-- Refused webhook requests, counted per hour and reason (bounded even under attack).
CREATE TABLE webhook_rejections (
    hour    TEXT NOT NULL,
    reason  TEXT NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (hour, reason)
);

-- One row per alert condition: when it last fired (cooldown) and what waits to be delivered.
CREATE TABLE alert_state (
    condition       TEXT PRIMARY KEY,
    last_fired_at   TEXT,
    pending         TEXT,
    updated_at      TEXT NOT NULL
);
