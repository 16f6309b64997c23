-- What `money` reads instead of every report row and every order (issue 16: `money --json` over a
-- million rows of each within a second). The database keeps two summaries in step with every
-- write, in the writing transaction, whichever code path writes:
--   money_days      per UTC day and currency: the sums of the settlement and release rows;
--   money_payments  per payment: what the settlement report says of it beside what mpcheckout
--                   holds (its order, its payment logs, the ledger's refunds and chargebacks),
--                   so that a discrepancy is a comparison within one row (partial index
--                   money_payments_open), never a join of two million-row tables.
-- Amounts are exact integer cents here: SQLite's sum() of INTEGERs is exact and fails on
-- overflow, while over decimal TEXT it goes through REAL. Each decimal text becomes cents with
--   CASE WHEN x GLOB '*.[0-9][0-9]' THEN CAST(replace(x, '.', '') AS INTEGER)
--        WHEN x GLOB '*.[0-9]' THEN 10 * CAST(replace(x, '.', '') AS INTEGER)
--        WHEN x GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(x AS INTEGER) END
-- (repeated below: SQLite has no macros). An amount finer than a cent (or in exponent form)
-- gives NULL, and NULL propagates through `+`: a day or a payment whose sum is NULL is one the
-- summary cannot hold exactly, and `money` says so instead of showing a rounded figure.
-- PostgreSQL's migration 0007 defines the same two names as views over NUMERIC.
--
-- Whoever rebuilds one of these tables later (orders, payment_logs, refunds, chargebacks,
-- report_rows) must create its triggers again: DROP TABLE drops them.


CREATE TABLE money_days (
    day           TEXT NOT NULL,     -- YYYY-MM-DD (UTC) of the row's date
    currency      TEXT NOT NULL,     -- '' when the report names none
    rows          INTEGER NOT NULL,  -- report rows of the day, of both reports
    payments      INTEGER NOT NULL DEFAULT 0,
    gross         INTEGER DEFAULT 0,
    fees          INTEGER DEFAULT 0,
    mp_fee        INTEGER DEFAULT 0,
    financing_fee INTEGER DEFAULT 0,
    shipping_fee  INTEGER DEFAULT 0,
    taxes         INTEGER DEFAULT 0,
    coupon        INTEGER DEFAULT 0,
    net           INTEGER DEFAULT 0,
    refunded      INTEGER DEFAULT 0,
    charged_back  INTEGER DEFAULT 0,
    released      INTEGER DEFAULT 0,
    paid_out      INTEGER DEFAULT 0,
    PRIMARY KEY (day, currency)
) WITHOUT ROWID;

CREATE TABLE money_payments (
    payment_id          TEXT PRIMARY KEY,
    -- what mpcheckout holds: the order this payment pays, its payment logs, the ledger
    order_id            TEXT,
    order_amount_text   TEXT,
    order_amount        INTEGER,
    order_currency      TEXT,
    order_status        TEXT,
    paid_at             TEXT,
    logged              INTEGER NOT NULL DEFAULT 0,
    logged_reference    TEXT,
    ledger_refunded     INTEGER DEFAULT 0,
    ledger_refund_at    TEXT,
    ledger_chargebacks  INTEGER NOT NULL DEFAULT 0,
    -- what the settlement report says
    currency            TEXT,
    external_reference  TEXT,
    settlements         INTEGER NOT NULL DEFAULT 0,
    settled_at          TEXT,
    gross               INTEGER DEFAULT 0,
    refunded            INTEGER DEFAULT 0,
    refund_at           TEXT,
    chargeback_rows     INTEGER NOT NULL DEFAULT 0,
    charged_back        INTEGER DEFAULT 0,
    chargeback_at       TEXT
) WITHOUT ROWID;

-- The payments whose two sides disagree: what `money` lists (Store.money_mismatches).
CREATE INDEX money_payments_open ON money_payments (payment_id) WHERE
    settlements > 0 AND order_id IS NULL AND logged = 0
    OR settlements > 0 AND order_amount_text IS NOT NULL AND order_amount IS DISTINCT FROM gross
    OR settlements > 0 AND order_currency <> currency
    OR refunded IS DISTINCT FROM ledger_refunded
    OR chargeback_rows > 0 AND ledger_chargebacks = 0
        AND coalesce(order_status, '') NOT IN ('chargeback_open', 'chargeback_lost', 'chargeback_covered', 'charged_back')
    OR gross IS NULL OR charged_back IS NULL;
CREATE INDEX money_payments_unsettled ON money_payments (paid_at)
    WHERE settlements = 0 AND paid_at IS NOT NULL;

CREATE TRIGGER report_rows_settlement_money AFTER INSERT ON report_rows
    WHEN NEW.kind = 'settlement'
BEGIN
INSERT INTO money_days (day, currency, rows, payments, gross, refunded, charged_back, fees, mp_fee, financing_fee, shipping_fee, taxes, coupon, net)
    SELECT
        substr(NEW.row_date, 1, 10),
        coalesce(NEW.currency, ''),
        1,
        NEW.entry_type = 'SETTLEMENT',
        CASE WHEN NEW.entry_type = 'SETTLEMENT' THEN (CASE WHEN NEW.gross GLOB '*.[0-9][0-9]' THEN CAST(replace(NEW.gross, '.', '') AS INTEGER) WHEN NEW.gross GLOB '*.[0-9]' THEN 10 * CAST(replace(NEW.gross, '.', '') AS INTEGER) WHEN NEW.gross GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(NEW.gross AS INTEGER) END) ELSE 0 END,
        CASE WHEN NEW.entry_type GLOB 'REFUND*' THEN -(CASE WHEN NEW.gross GLOB '*.[0-9][0-9]' THEN CAST(replace(NEW.gross, '.', '') AS INTEGER) WHEN NEW.gross GLOB '*.[0-9]' THEN 10 * CAST(replace(NEW.gross, '.', '') AS INTEGER) WHEN NEW.gross GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(NEW.gross AS INTEGER) END) ELSE 0 END,
        CASE WHEN NEW.entry_type GLOB 'CHARGEBACK*' THEN -(CASE WHEN NEW.gross GLOB '*.[0-9][0-9]' THEN CAST(replace(NEW.gross, '.', '') AS INTEGER) WHEN NEW.gross GLOB '*.[0-9]' THEN 10 * CAST(replace(NEW.gross, '.', '') AS INTEGER) WHEN NEW.gross GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(NEW.gross AS INTEGER) END) ELSE 0 END,
        (CASE WHEN NEW.fee_total GLOB '*.[0-9][0-9]' THEN CAST(replace(NEW.fee_total, '.', '') AS INTEGER) WHEN NEW.fee_total GLOB '*.[0-9]' THEN 10 * CAST(replace(NEW.fee_total, '.', '') AS INTEGER) WHEN NEW.fee_total GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(NEW.fee_total AS INTEGER) END),
        (CASE WHEN NEW.mp_fee GLOB '*.[0-9][0-9]' THEN CAST(replace(NEW.mp_fee, '.', '') AS INTEGER) WHEN NEW.mp_fee GLOB '*.[0-9]' THEN 10 * CAST(replace(NEW.mp_fee, '.', '') AS INTEGER) WHEN NEW.mp_fee GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(NEW.mp_fee AS INTEGER) END),
        (CASE WHEN NEW.financing_fee GLOB '*.[0-9][0-9]' THEN CAST(replace(NEW.financing_fee, '.', '') AS INTEGER) WHEN NEW.financing_fee GLOB '*.[0-9]' THEN 10 * CAST(replace(NEW.financing_fee, '.', '') AS INTEGER) WHEN NEW.financing_fee GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(NEW.financing_fee AS INTEGER) END),
        (CASE WHEN NEW.shipping_fee GLOB '*.[0-9][0-9]' THEN CAST(replace(NEW.shipping_fee, '.', '') AS INTEGER) WHEN NEW.shipping_fee GLOB '*.[0-9]' THEN 10 * CAST(replace(NEW.shipping_fee, '.', '') AS INTEGER) WHEN NEW.shipping_fee GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(NEW.shipping_fee AS INTEGER) END),
        (CASE WHEN NEW.taxes GLOB '*.[0-9][0-9]' THEN CAST(replace(NEW.taxes, '.', '') AS INTEGER) WHEN NEW.taxes GLOB '*.[0-9]' THEN 10 * CAST(replace(NEW.taxes, '.', '') AS INTEGER) WHEN NEW.taxes GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(NEW.taxes AS INTEGER) END),
        (CASE WHEN NEW.coupon GLOB '*.[0-9][0-9]' THEN CAST(replace(NEW.coupon, '.', '') AS INTEGER) WHEN NEW.coupon GLOB '*.[0-9]' THEN 10 * CAST(replace(NEW.coupon, '.', '') AS INTEGER) WHEN NEW.coupon GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(NEW.coupon AS INTEGER) END),
        (CASE WHEN NEW.net GLOB '*.[0-9][0-9]' THEN CAST(replace(NEW.net, '.', '') AS INTEGER) WHEN NEW.net GLOB '*.[0-9]' THEN 10 * CAST(replace(NEW.net, '.', '') AS INTEGER) WHEN NEW.net GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(NEW.net AS INTEGER) END)
    WHERE NEW.row_date IS NOT NULL
    ON CONFLICT (day, currency) DO UPDATE SET
        rows = rows + excluded.rows,
        payments = payments + excluded.payments,
        gross = gross + excluded.gross,
        refunded = refunded + excluded.refunded,
        charged_back = charged_back + excluded.charged_back,
        fees = fees + excluded.fees,
        mp_fee = mp_fee + excluded.mp_fee,
        financing_fee = financing_fee + excluded.financing_fee,
        shipping_fee = shipping_fee + excluded.shipping_fee,
        taxes = taxes + excluded.taxes,
        coupon = coupon + excluded.coupon,
        net = net + excluded.net;
INSERT INTO money_payments (payment_id, currency, external_reference, settlements, settled_at, gross, refunded, refund_at, chargeback_rows, charged_back, chargeback_at)
    VALUES (
        NEW.source_id,
        CASE WHEN NEW.entry_type = 'SETTLEMENT' THEN NEW.currency END,
        CASE WHEN NEW.entry_type = 'SETTLEMENT' THEN NEW.external_reference END,
        NEW.entry_type = 'SETTLEMENT',
        CASE WHEN NEW.entry_type = 'SETTLEMENT' THEN NEW.row_date END,
        CASE WHEN NEW.entry_type = 'SETTLEMENT' THEN (CASE WHEN NEW.gross GLOB '*.[0-9][0-9]' THEN CAST(replace(NEW.gross, '.', '') AS INTEGER) WHEN NEW.gross GLOB '*.[0-9]' THEN 10 * CAST(replace(NEW.gross, '.', '') AS INTEGER) WHEN NEW.gross GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(NEW.gross AS INTEGER) END) ELSE 0 END,
        CASE WHEN (NEW.entry_type GLOB 'REFUND*' AND NEW.entry_type <> 'REFUND_SHIPPING') THEN -(CASE WHEN NEW.gross GLOB '*.[0-9][0-9]' THEN CAST(replace(NEW.gross, '.', '') AS INTEGER) WHEN NEW.gross GLOB '*.[0-9]' THEN 10 * CAST(replace(NEW.gross, '.', '') AS INTEGER) WHEN NEW.gross GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(NEW.gross AS INTEGER) END) ELSE 0 END,
        CASE WHEN (NEW.entry_type GLOB 'REFUND*' AND NEW.entry_type <> 'REFUND_SHIPPING') THEN NEW.row_date END,
        NEW.entry_type GLOB 'CHARGEBACK*',
        CASE WHEN NEW.entry_type GLOB 'CHARGEBACK*' THEN -(CASE WHEN NEW.gross GLOB '*.[0-9][0-9]' THEN CAST(replace(NEW.gross, '.', '') AS INTEGER) WHEN NEW.gross GLOB '*.[0-9]' THEN 10 * CAST(replace(NEW.gross, '.', '') AS INTEGER) WHEN NEW.gross GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(NEW.gross AS INTEGER) END) ELSE 0 END,
        CASE WHEN NEW.entry_type GLOB 'CHARGEBACK*' THEN NEW.row_date END
    )
    ON CONFLICT (payment_id) DO UPDATE SET
        currency = coalesce(currency, excluded.currency),
        external_reference = coalesce(external_reference, excluded.external_reference),
        settlements = settlements + excluded.settlements,
        settled_at = coalesce(min(settled_at, excluded.settled_at), settled_at, excluded.settled_at),
        gross = gross + excluded.gross,
        refunded = refunded + excluded.refunded,
        refund_at = coalesce(max(refund_at, excluded.refund_at), refund_at, excluded.refund_at),
        chargeback_rows = chargeback_rows + excluded.chargeback_rows,
        charged_back = charged_back + excluded.charged_back,
        chargeback_at = coalesce(min(chargeback_at, excluded.chargeback_at), chargeback_at, excluded.chargeback_at);
END;

CREATE TRIGGER report_rows_release_money AFTER INSERT ON report_rows
    WHEN NEW.kind = 'release' AND NEW.row_date IS NOT NULL
BEGIN
INSERT INTO money_days (day, currency, rows, released, paid_out)
    SELECT
        substr(NEW.row_date, 1, 10),
        coalesce(NEW.currency, ''),
        1,
        CASE WHEN NEW.summary OR (NEW.description IN ('payout', 'withdrawal') OR coalesce(NEW.payout_id, '') <> '') THEN 0 ELSE (CASE WHEN NEW.net GLOB '*.[0-9][0-9]' THEN CAST(replace(NEW.net, '.', '') AS INTEGER) WHEN NEW.net GLOB '*.[0-9]' THEN 10 * CAST(replace(NEW.net, '.', '') AS INTEGER) WHEN NEW.net GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(NEW.net AS INTEGER) END) END,
        CASE WHEN NEW.summary OR NOT (NEW.description IN ('payout', 'withdrawal') OR coalesce(NEW.payout_id, '') <> '') THEN 0 ELSE -(CASE WHEN NEW.net GLOB '*.[0-9][0-9]' THEN CAST(replace(NEW.net, '.', '') AS INTEGER) WHEN NEW.net GLOB '*.[0-9]' THEN 10 * CAST(replace(NEW.net, '.', '') AS INTEGER) WHEN NEW.net GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(NEW.net AS INTEGER) END) END
    WHERE true
    ON CONFLICT (day, currency) DO UPDATE SET
        rows = rows + excluded.rows,
        released = released + excluded.released,
        paid_out = paid_out + excluded.paid_out;
END;

CREATE TRIGGER orders_money_insert AFTER INSERT ON orders
    WHEN NEW.payment_id IS NOT NULL
BEGIN
INSERT INTO money_payments (payment_id, order_id, order_amount_text, order_amount, order_currency, order_status, paid_at)
    SELECT
        NEW.payment_id,
        NEW.id,
        NEW.amount,
        (CASE WHEN NEW.amount GLOB '*.[0-9][0-9]' THEN CAST(replace(NEW.amount, '.', '') AS INTEGER) WHEN NEW.amount GLOB '*.[0-9]' THEN 10 * CAST(replace(NEW.amount, '.', '') AS INTEGER) WHEN NEW.amount GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(NEW.amount AS INTEGER) END),
        NEW.currency,
        NEW.status,
        NEW.paid_at
    WHERE NEW.payment_id IS NOT NULL
    ON CONFLICT (payment_id) DO UPDATE SET
        order_id = excluded.order_id,
        order_amount_text = excluded.order_amount_text,
        order_amount = excluded.order_amount,
        order_currency = excluded.order_currency,
        order_status = excluded.order_status,
        paid_at = excluded.paid_at;
END;

CREATE TRIGGER orders_money_update AFTER UPDATE OF payment_id, amount, currency, status, paid_at ON orders
BEGIN
UPDATE money_payments SET order_id = NULL, order_amount_text = NULL, order_amount = NULL,
        order_currency = NULL, order_status = NULL, paid_at = NULL
    WHERE payment_id = OLD.payment_id AND order_id = OLD.id AND OLD.payment_id IS NOT NEW.payment_id;
INSERT INTO money_payments (payment_id, order_id, order_amount_text, order_amount, order_currency, order_status, paid_at)
    SELECT
        NEW.payment_id,
        NEW.id,
        NEW.amount,
        (CASE WHEN NEW.amount GLOB '*.[0-9][0-9]' THEN CAST(replace(NEW.amount, '.', '') AS INTEGER) WHEN NEW.amount GLOB '*.[0-9]' THEN 10 * CAST(replace(NEW.amount, '.', '') AS INTEGER) WHEN NEW.amount GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(NEW.amount AS INTEGER) END),
        NEW.currency,
        NEW.status,
        NEW.paid_at
    WHERE NEW.payment_id IS NOT NULL
    ON CONFLICT (payment_id) DO UPDATE SET
        order_id = excluded.order_id,
        order_amount_text = excluded.order_amount_text,
        order_amount = excluded.order_amount,
        order_currency = excluded.order_currency,
        order_status = excluded.order_status,
        paid_at = excluded.paid_at;
END;

CREATE TRIGGER payment_logs_money AFTER INSERT ON payment_logs
BEGIN
INSERT INTO money_payments (payment_id, logged, logged_reference)
    VALUES (NEW.payment_id, 1, NEW.external_reference)
    ON CONFLICT (payment_id) DO UPDATE SET
        logged = 1,
        logged_reference = coalesce(logged_reference, excluded.logged_reference);
END;

CREATE TRIGGER refunds_money_insert AFTER INSERT ON refunds
BEGIN
INSERT INTO money_payments (payment_id, ledger_refunded, ledger_refund_at)
    SELECT
        NEW.payment_id,
        (SELECT CASE WHEN count(*) = count((CASE WHEN amount GLOB '*.[0-9][0-9]' THEN CAST(replace(amount, '.', '') AS INTEGER) WHEN amount GLOB '*.[0-9]' THEN 10 * CAST(replace(amount, '.', '') AS INTEGER) WHEN amount GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(amount AS INTEGER) END)) THEN coalesce(sum((CASE WHEN amount GLOB '*.[0-9][0-9]' THEN CAST(replace(amount, '.', '') AS INTEGER) WHEN amount GLOB '*.[0-9]' THEN 10 * CAST(replace(amount, '.', '') AS INTEGER) WHEN amount GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(amount AS INTEGER) END)), 0) END
            FROM refunds WHERE payment_id = NEW.payment_id AND status = 'approved'),
        (SELECT max(date_created) FROM refunds WHERE payment_id = NEW.payment_id AND status = 'approved')
    WHERE true
    ON CONFLICT (payment_id) DO UPDATE SET
        ledger_refunded = excluded.ledger_refunded,
        ledger_refund_at = excluded.ledger_refund_at;
END;

CREATE TRIGGER refunds_money_update AFTER UPDATE OF payment_id, amount, status, date_created ON refunds
BEGIN
INSERT INTO money_payments (payment_id, ledger_refunded, ledger_refund_at)
    SELECT
        NEW.payment_id,
        (SELECT CASE WHEN count(*) = count((CASE WHEN amount GLOB '*.[0-9][0-9]' THEN CAST(replace(amount, '.', '') AS INTEGER) WHEN amount GLOB '*.[0-9]' THEN 10 * CAST(replace(amount, '.', '') AS INTEGER) WHEN amount GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(amount AS INTEGER) END)) THEN coalesce(sum((CASE WHEN amount GLOB '*.[0-9][0-9]' THEN CAST(replace(amount, '.', '') AS INTEGER) WHEN amount GLOB '*.[0-9]' THEN 10 * CAST(replace(amount, '.', '') AS INTEGER) WHEN amount GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(amount AS INTEGER) END)), 0) END
            FROM refunds WHERE payment_id = NEW.payment_id AND status = 'approved'),
        (SELECT max(date_created) FROM refunds WHERE payment_id = NEW.payment_id AND status = 'approved')
    WHERE true
    ON CONFLICT (payment_id) DO UPDATE SET
        ledger_refunded = excluded.ledger_refunded,
        ledger_refund_at = excluded.ledger_refund_at;
INSERT INTO money_payments (payment_id, ledger_refunded, ledger_refund_at)
    SELECT
        OLD.payment_id,
        (SELECT CASE WHEN count(*) = count((CASE WHEN amount GLOB '*.[0-9][0-9]' THEN CAST(replace(amount, '.', '') AS INTEGER) WHEN amount GLOB '*.[0-9]' THEN 10 * CAST(replace(amount, '.', '') AS INTEGER) WHEN amount GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(amount AS INTEGER) END)) THEN coalesce(sum((CASE WHEN amount GLOB '*.[0-9][0-9]' THEN CAST(replace(amount, '.', '') AS INTEGER) WHEN amount GLOB '*.[0-9]' THEN 10 * CAST(replace(amount, '.', '') AS INTEGER) WHEN amount GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(amount AS INTEGER) END)), 0) END
            FROM refunds WHERE payment_id = OLD.payment_id AND status = 'approved'),
        (SELECT max(date_created) FROM refunds WHERE payment_id = OLD.payment_id AND status = 'approved')
    WHERE OLD.payment_id IS NOT NULL AND OLD.payment_id IS NOT NEW.payment_id
    ON CONFLICT (payment_id) DO UPDATE SET
        ledger_refunded = excluded.ledger_refunded,
        ledger_refund_at = excluded.ledger_refund_at;
END;

CREATE TRIGGER chargebacks_money_insert AFTER INSERT ON chargebacks
BEGIN
INSERT INTO money_payments (payment_id, ledger_chargebacks)
    SELECT NEW.payment_id, (SELECT count(*) FROM chargebacks WHERE payment_id = NEW.payment_id)
    WHERE NEW.payment_id IS NOT NULL
    ON CONFLICT (payment_id) DO UPDATE SET ledger_chargebacks = excluded.ledger_chargebacks;
END;

CREATE TRIGGER chargebacks_money_update AFTER UPDATE OF payment_id ON chargebacks
BEGIN
INSERT INTO money_payments (payment_id, ledger_chargebacks)
    SELECT NEW.payment_id, (SELECT count(*) FROM chargebacks WHERE payment_id = NEW.payment_id)
    WHERE NEW.payment_id IS NOT NULL
    ON CONFLICT (payment_id) DO UPDATE SET ledger_chargebacks = excluded.ledger_chargebacks;
INSERT INTO money_payments (payment_id, ledger_chargebacks)
    SELECT OLD.payment_id, (SELECT count(*) FROM chargebacks WHERE payment_id = OLD.payment_id)
    WHERE OLD.payment_id IS NOT NULL AND OLD.payment_id IS NOT NEW.payment_id
    ON CONFLICT (payment_id) DO UPDATE SET ledger_chargebacks = excluded.ledger_chargebacks;
END;

-- What was stored before this migration goes through the same triggers: rows are read back
-- in, orders, refunds and chargebacks rewritten unchanged, payment logs summed here.
CREATE TABLE report_rows_before_0007 AS SELECT * FROM report_rows;
DELETE FROM report_rows;
INSERT INTO report_rows SELECT * FROM report_rows_before_0007 ORDER BY row_key;
DROP TABLE report_rows_before_0007;
UPDATE orders SET payment_id = payment_id WHERE payment_id IS NOT NULL;
UPDATE refunds SET status = status;
UPDATE chargebacks SET payment_id = payment_id WHERE payment_id IS NOT NULL;
INSERT INTO money_payments (payment_id, logged, logged_reference)
    SELECT payment_id, 1, (SELECT first.external_reference FROM payment_logs AS first
                           WHERE first.payment_id = logs.payment_id ORDER BY first.id LIMIT 1)
    FROM payment_logs AS logs WHERE true GROUP BY payment_id
    ON CONFLICT (payment_id) DO UPDATE SET
        logged = 1,
        logged_reference = coalesce(logged_reference, excluded.logged_reference);
