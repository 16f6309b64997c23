-- Mercado Pago's settlement and release reports (issue 16); see the SQLite migration of the same
-- number. Amounts are NUMERIC, dates TIMESTAMPTZ.

CREATE TABLE report_files (
    sha256          TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('settlement', 'release')),
    name            TEXT NOT NULL,
    begin_date      TIMESTAMPTZ,
    end_date        TIMESTAMPTZ,
    rows_read       INTEGER NOT NULL,
    rows_added      INTEGER NOT NULL,
    rows_flagged    INTEGER NOT NULL,
    source          TEXT NOT NULL CHECK (source IN ('file', 'api', 'webhook')),
    transaction_id  TEXT,
    imported_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX report_files_by_time ON report_files (imported_at);

CREATE TABLE report_rows (
    row_key             TEXT PRIMARY KEY,
    kind                TEXT NOT NULL,
    source_id           TEXT NOT NULL,
    external_reference  TEXT,
    entry_type          TEXT NOT NULL,
    description         TEXT,
    gross               NUMERIC NOT NULL,
    fee_total           NUMERIC NOT NULL,
    mp_fee              NUMERIC NOT NULL,
    financing_fee       NUMERIC NOT NULL,
    shipping_fee        NUMERIC NOT NULL,
    taxes               NUMERIC NOT NULL,
    coupon              NUMERIC NOT NULL,
    net                 NUMERIC NOT NULL,
    currency            TEXT,
    row_date            TIMESTAMPTZ,
    settlement_date     TIMESTAMPTZ,
    release_date        TIMESTAMPTZ,
    payout_id           TEXT,
    payment_method      TEXT,
    summary             BOOLEAN NOT NULL,
    flags               TEXT,
    file_sha256         TEXT NOT NULL,
    line                INTEGER NOT NULL
);
CREATE INDEX report_rows_by_source ON report_rows (source_id);
CREATE INDEX report_rows_by_date ON report_rows (row_date);

CREATE TABLE report_notifications (
    transaction_id  TEXT PRIMARY KEY,
    report_type     TEXT,
    status          TEXT NOT NULL CHECK (status IN ('imported', 'test')),
    files           INTEGER NOT NULL,
    rows_added      INTEGER NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL
);

CREATE INDEX orders_by_paid_at ON orders (paid_at);
