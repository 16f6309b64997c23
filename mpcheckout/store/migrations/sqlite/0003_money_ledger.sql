-- The money ledger (DESIGN.md, "Money"). A payment state is applied once per whole observable
-- money state, not per status: a second partial refund keeps status=approved but moves the
-- refunded amount, and wave 1's UNIQUE (payment_id, status) dropped it as a duplicate.
-- SQLite cannot change a table's constraints, so payment_logs is rebuilt; every row and id is
-- kept. A wave-1 row's key is its status, which no new key (status|detail|refunded) equals.

CREATE TABLE payment_logs_rebuilt (
    id                  INTEGER PRIMARY KEY,
    payment_id          TEXT NOT NULL,
    status              TEXT NOT NULL,
    status_detail       TEXT,
    external_reference  TEXT,
    amount              TEXT,
    currency            TEXT,
    date_last_updated   TEXT,
    source              TEXT NOT NULL CHECK (source = 'webhook' OR source = 'reconcile' OR source = 'replay' OR source = 'action'),
    raw                 TEXT,
    recorded_at         TEXT NOT NULL,
    state_key           TEXT NOT NULL,
    refunded_amount     TEXT,
    UNIQUE (payment_id, state_key)
);
INSERT INTO payment_logs_rebuilt (id, payment_id, status, status_detail, external_reference, amount, currency, date_last_updated, source, raw, recorded_at, state_key)
    SELECT id, payment_id, status, status_detail, external_reference, amount, currency, date_last_updated, source, raw, recorded_at, status FROM payment_logs;
DROP TABLE payment_logs;
ALTER TABLE payment_logs_rebuilt RENAME TO payment_logs;
CREATE INDEX payment_logs_by_reference ON payment_logs (external_reference);

-- One row per refund, under Mercado Pago's refund id: an order's refunded money is their sum.
CREATE TABLE refunds (
    id             TEXT PRIMARY KEY,
    payment_id     TEXT NOT NULL,
    order_id       TEXT,
    amount         TEXT NOT NULL,
    status         TEXT NOT NULL,
    source_type    TEXT,
    date_created   TEXT,
    first_seen_at  TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    raw            TEXT
);
CREATE INDEX refunds_by_payment ON refunds (payment_id);
CREATE INDEX refunds_by_order ON refunds (order_id);

-- One row per chargeback, under its id (18 digits: TEXT, never a number).
CREATE TABLE chargebacks (
    id                      TEXT PRIMARY KEY,
    payment_id              TEXT,
    order_id                TEXT,
    amount                  TEXT,
    currency                TEXT,
    outcome                 TEXT NOT NULL CHECK (outcome = 'open' OR outcome = 'lost' OR outcome = 'covered'),
    coverage_applied        INTEGER,
    documentation_required  INTEGER NOT NULL DEFAULT 0,
    documentation_status    TEXT,
    documentation_deadline  TEXT,
    date_created            TEXT,
    date_last_updated       TEXT,
    first_seen_at           TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    alerted_at              TEXT,
    raw                     TEXT
);
CREATE INDEX chargebacks_by_payment ON chargebacks (payment_id);
CREATE INDEX chargebacks_by_order ON chargebacks (order_id);
CREATE INDEX chargebacks_open ON chargebacks (outcome, documentation_deadline);

-- Writes to Mercado Pago, each committed with its idempotency key before the request goes out.
-- `open` until a definite answer: a retry of the same command finds it and resends the key.
CREATE TABLE mp_actions (
    idempotency_key   TEXT PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind = 'refund' OR kind = 'cancel' OR kind = 'capture'),
    payment_id        TEXT NOT NULL,
    order_id          TEXT,
    requested_amount  TEXT,
    amount            TEXT,
    currency          TEXT,
    body              TEXT,
    status            TEXT NOT NULL CHECK (status = 'open' OR status = 'done' OR status = 'refused'),
    attempts          INTEGER NOT NULL DEFAULT 0,
    result_id         TEXT,
    last_error        TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX mp_actions_open ON mp_actions (payment_id, kind, status);
