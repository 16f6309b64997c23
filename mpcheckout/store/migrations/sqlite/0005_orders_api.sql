-- The Orders API (issue 15). An order paid through /v1/orders keeps the Mercado Pago order it
-- came from and that order's `version`: a fetched order older than the version already applied
-- changes nothing, even when two versions share a last_updated_date. `reconcile` re-fetches
-- the open ones by mp_order_id (the Orders search filters on the creation date only).
ALTER TABLE orders ADD COLUMN mp_order_id TEXT;
ALTER TABLE orders ADD COLUMN mp_order_version INTEGER;
CREATE INDEX orders_by_mp_order ON orders (mp_order_id, status);

-- Creating an Orders-API order is a write like a refund: its key is committed before the
-- request. SQLite cannot change a CHECK, so mp_actions is rebuilt; every row is kept.
CREATE TABLE mp_actions_rebuilt (
    idempotency_key   TEXT PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind = 'refund' OR kind = 'cancel' OR kind = 'capture' OR kind = 'create_order'),
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
INSERT INTO mp_actions_rebuilt SELECT idempotency_key, kind, payment_id, order_id, requested_amount, amount, currency, body, status, attempts, result_id, last_error, created_at, updated_at FROM mp_actions;
DROP TABLE mp_actions;
ALTER TABLE mp_actions_rebuilt RENAME TO mp_actions;
CREATE INDEX mp_actions_open ON mp_actions (payment_id, kind, status);
