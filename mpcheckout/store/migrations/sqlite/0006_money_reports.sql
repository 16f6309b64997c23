-- Mercado Pago's settlement and release reports (issue 16). A file is recorded once by its
-- SHA-256; a row once by its identity (reports/rows.py `row_key`), whichever file brought it, so
-- importing a file again or an overlapping one adds nothing. Amounts are decimal TEXT: summed in
-- Python's Decimal, never by SQLite (its sum() goes through REAL). No raw copy of a row is kept:
-- file and line say where it came from (what the parser's benchmark advised; bench/README §8).

CREATE TABLE report_files (
    sha256          TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind = 'settlement' OR kind = 'release'),
    name            TEXT NOT NULL,
    begin_date      TEXT,
    end_date        TEXT,
    rows_read       INTEGER NOT NULL,
    rows_added      INTEGER NOT NULL,
    rows_flagged    INTEGER NOT NULL,
    source          TEXT NOT NULL CHECK (source = 'file' OR source = 'api' OR source = 'webhook'),
    transaction_id  TEXT,
    imported_at     TEXT NOT NULL
);
CREATE INDEX report_files_by_time ON report_files (imported_at);

CREATE TABLE report_rows (
    row_key             TEXT PRIMARY KEY,
    kind                TEXT NOT NULL,
    source_id           TEXT NOT NULL,
    external_reference  TEXT,
    entry_type          TEXT NOT NULL,
    description         TEXT,
    gross               TEXT NOT NULL,
    fee_total           TEXT NOT NULL,
    mp_fee              TEXT NOT NULL,
    financing_fee       TEXT NOT NULL,
    shipping_fee        TEXT NOT NULL,
    taxes               TEXT NOT NULL,
    coupon              TEXT NOT NULL,
    net                 TEXT NOT NULL,
    currency            TEXT,
    row_date            TEXT,
    settlement_date     TEXT,
    release_date        TEXT,
    payout_id           TEXT,
    payment_method      TEXT,
    summary             INTEGER NOT NULL,
    flags               TEXT,
    file_sha256         TEXT NOT NULL,
    line                INTEGER NOT NULL
);
CREATE INDEX report_rows_by_source ON report_rows (source_id);
CREATE INDEX report_rows_by_date ON report_rows (row_date);

-- Report-ready notifications, once per transaction_id (Mercado Pago redelivers).
CREATE TABLE report_notifications (
    transaction_id  TEXT PRIMARY KEY,
    report_type     TEXT,
    status          TEXT NOT NULL CHECK (status = 'imported' OR status = 'test'),
    files           INTEGER NOT NULL,
    rows_added      INTEGER NOT NULL,
    received_at     TEXT NOT NULL
);

-- `money` reads the orders paid in a window.
CREATE INDEX orders_by_paid_at ON orders (paid_at);
