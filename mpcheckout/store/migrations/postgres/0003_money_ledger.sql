-- The money ledger (DESIGN.md, "Money"); see the SQLite migration of the same number. A
-- payment state is applied once per whole observable money state, not per status. A wave-1
-- row's key is its status, which no new key (status|detail|refunded) equals.

ALTER TABLE payment_logs ADD COLUMN state_key TEXT;
UPDATE payment_logs SET state_key = status;
ALTER TABLE payment_logs ALTER COLUMN state_key SET NOT NULL;
ALTER TABLE payment_logs ADD COLUMN refunded_amount NUMERIC;
ALTER TABLE payment_logs DROP CONSTRAINT payment_logs_payment_id_status_key;
ALTER TABLE payment_logs ADD CONSTRAINT payment_logs_payment_id_state_key_key UNIQUE (payment_id, state_key);
ALTER TABLE payment_logs DROP CONSTRAINT payment_logs_source_check;
ALTER TABLE payment_logs ADD CONSTRAINT payment_logs_source_check CHECK (source IN ('webhook', 'reconcile', 'replay', 'action'));

CREATE TABLE refunds (
    id             TEXT PRIMARY KEY,
    payment_id     TEXT NOT NULL,
    order_id       TEXT,
    amount         NUMERIC NOT NULL,
    status         TEXT NOT NULL,
    source_type    TEXT,
    date_created   TIMESTAMPTZ,
    first_seen_at  TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    raw            JSONB
);
CREATE INDEX refunds_by_payment ON refunds (payment_id);
CREATE INDEX refunds_by_order ON refunds (order_id);

CREATE TABLE chargebacks (
    id                      TEXT PRIMARY KEY,
    payment_id              TEXT,
    order_id                TEXT,
    amount                  NUMERIC,
    currency                TEXT,
    outcome                 TEXT NOT NULL CHECK (outcome IN ('open', 'lost', 'covered')),
    coverage_applied        BOOLEAN,
    documentation_required  BOOLEAN NOT NULL DEFAULT FALSE,
    documentation_status    TEXT,
    documentation_deadline  TIMESTAMPTZ,
    date_created            TIMESTAMPTZ,
    date_last_updated       TIMESTAMPTZ,
    first_seen_at           TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL,
    alerted_at              TIMESTAMPTZ,
    raw                     JSONB
);
CREATE INDEX chargebacks_by_payment ON chargebacks (payment_id);
CREATE INDEX chargebacks_by_order ON chargebacks (order_id);
CREATE INDEX chargebacks_open ON chargebacks (outcome, documentation_deadline);

CREATE TABLE mp_actions (
    idempotency_key   TEXT PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('refund', 'cancel', 'capture')),
    payment_id        TEXT NOT NULL,
    order_id          TEXT,
    requested_amount  NUMERIC,
    amount            NUMERIC,
    currency          TEXT,
    body              JSONB,
    status            TEXT NOT NULL CHECK (status IN ('open', 'done', 'refused')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    result_id         TEXT,
    last_error        TEXT,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX mp_actions_open ON mp_actions (payment_id, kind, status);
