-- What `money` reads instead of every report row and every order (issue 16: `money --json` over a
-- million rows of each within a second). Two summaries, kept in step in the writing transaction:
--   money_days      per UTC day and currency: the sums of the settlement and release rows;
--   money_payments  per payment: what the settlement report says of it beside what mpcheckout
--                   holds (its order, its payment logs, the ledger's refunds and chargebacks),
--                   so that a discrepancy is a comparison within one row (partial index
--                   money_payments_open), never a join of two million-row tables.
-- Triggers keep the side mpcheckout holds (orders, payment_logs, refunds, chargebacks: every
-- writer, worker or command, goes through them). Report rows are summed by the import itself,
-- set-based, after writing them (mpcheckout/store/sqlite_money.py): a trigger per row costs
-- more than the insert.
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
    OR gross IS NULL OR charged_back IS NULL OR refunded IS NULL OR ledger_refunded IS NULL;
CREATE INDEX money_payments_unsettled ON money_payments (paid_at)
    WHERE settlements = 0 AND paid_at IS NOT NULL;

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

CREATE TRIGGER orders_money_unlink AFTER UPDATE OF payment_id ON orders
    WHEN OLD.payment_id IS NOT NULL AND OLD.payment_id IS NOT NEW.payment_id
BEGIN
UPDATE money_payments SET order_id = NULL, order_amount_text = NULL, order_amount = NULL,
        order_currency = NULL, order_status = NULL, paid_at = NULL
    WHERE payment_id = OLD.payment_id AND order_id = OLD.id;
END;

-- A worker rewrites an order's row on every event: only a change that money reads is copied.
CREATE TRIGGER orders_money_update AFTER UPDATE OF payment_id, amount, currency, status, paid_at ON orders
    WHEN NEW.payment_id IS NOT NULL AND (NEW.payment_id IS NOT OLD.payment_id
        OR NEW.amount IS NOT OLD.amount OR NEW.currency IS NOT OLD.currency
        OR NEW.status IS NOT OLD.status OR NEW.paid_at IS NOT OLD.paid_at)
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

-- Every applied state logs a row; the payment is marked seen once.
CREATE TRIGGER payment_logs_money AFTER INSERT ON payment_logs
    WHEN NOT EXISTS (SELECT 1 FROM money_payments WHERE payment_id = NEW.payment_id AND logged = 1)
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

-- What was stored before this migration: refunds and chargebacks rewritten unchanged go
-- through the triggers; orders, payment logs and report rows are summed here (the report rows with
-- the statements an import runs, mpcheckout/store/sqlite_money.py, as they were at 0007).
INSERT INTO money_payments (payment_id, order_id, order_amount_text, order_amount, order_currency, order_status, paid_at)
    SELECT
        payment_id,
        id,
        amount,
        (CASE WHEN amount GLOB '*.[0-9][0-9]' THEN CAST(replace(amount, '.', '') AS INTEGER) WHEN amount GLOB '*.[0-9]' THEN 10 * CAST(replace(amount, '.', '') AS INTEGER) WHEN amount GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(amount AS INTEGER) END),
        currency,
        status,
        paid_at
    FROM orders WHERE payment_id IS NOT NULL
    ON CONFLICT (payment_id) DO UPDATE SET
        order_id = excluded.order_id,
        order_amount_text = excluded.order_amount_text,
        order_amount = excluded.order_amount,
        order_currency = excluded.order_currency,
        order_status = excluded.order_status,
        paid_at = excluded.paid_at;
UPDATE refunds SET status = status;
UPDATE chargebacks SET payment_id = payment_id WHERE payment_id IS NOT NULL;
INSERT INTO money_payments (payment_id, logged, logged_reference)
    SELECT payment_id, 1, (SELECT first.external_reference FROM payment_logs AS first
                           WHERE first.payment_id = logs.payment_id ORDER BY first.id LIMIT 1)
    FROM payment_logs AS logs WHERE true GROUP BY payment_id
    ON CONFLICT (payment_id) DO UPDATE SET
        logged = 1,
        logged_reference = coalesce(logged_reference, excluded.logged_reference);

INSERT INTO money_days (day, currency, rows, payments, gross, refunded, charged_back, fees, mp_fee, financing_fee, shipping_fee, taxes, coupon, net, released, paid_out)
SELECT day, currency, count(*), sum(settled),
    CASE WHEN count(gross) = count(*) THEN sum(gross) END, CASE WHEN count(refunded) = count(*) THEN sum(refunded) END, CASE WHEN count(charged_back) = count(*) THEN sum(charged_back) END, CASE WHEN count(fees) = count(*) THEN sum(fees) END, CASE WHEN count(mp_fee) = count(*) THEN sum(mp_fee) END, CASE WHEN count(financing_fee) = count(*) THEN sum(financing_fee) END, CASE WHEN count(shipping_fee) = count(*) THEN sum(shipping_fee) END, CASE WHEN count(taxes) = count(*) THEN sum(taxes) END, CASE WHEN count(coupon) = count(*) THEN sum(coupon) END, CASE WHEN count(net) = count(*) THEN sum(net) END, CASE WHEN count(released) = count(*) THEN sum(released) END, CASE WHEN count(paid_out) = count(*) THEN sum(paid_out) END
FROM (
    SELECT
        substr(row_date, 1, 10) AS day,
        coalesce(currency, '') AS currency,
        kind = 'settlement' AND entry_type = 'SETTLEMENT' AS settled,
        CASE WHEN kind = 'settlement' AND entry_type = 'SETTLEMENT' THEN CASE WHEN gross GLOB '*.[0-9][0-9]' THEN CAST(replace(gross, '.', '') AS INTEGER)
            WHEN gross GLOB '*.[0-9]' THEN 10 * CAST(replace(gross, '.', '') AS INTEGER)
            WHEN gross GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(gross AS INTEGER) END ELSE 0 END AS gross,
        CASE WHEN kind = 'settlement' AND entry_type GLOB 'REFUND*' THEN -(CASE WHEN gross GLOB '*.[0-9][0-9]' THEN CAST(replace(gross, '.', '') AS INTEGER)
            WHEN gross GLOB '*.[0-9]' THEN 10 * CAST(replace(gross, '.', '') AS INTEGER)
            WHEN gross GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(gross AS INTEGER) END) ELSE 0 END AS refunded,
        CASE WHEN kind = 'settlement' AND entry_type GLOB 'CHARGEBACK*' THEN -(CASE WHEN gross GLOB '*.[0-9][0-9]' THEN CAST(replace(gross, '.', '') AS INTEGER)
            WHEN gross GLOB '*.[0-9]' THEN 10 * CAST(replace(gross, '.', '') AS INTEGER)
            WHEN gross GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(gross AS INTEGER) END) ELSE 0 END AS charged_back,
        CASE WHEN kind = 'settlement' THEN CASE WHEN fee_total GLOB '*.[0-9][0-9]' THEN CAST(replace(fee_total, '.', '') AS INTEGER)
            WHEN fee_total GLOB '*.[0-9]' THEN 10 * CAST(replace(fee_total, '.', '') AS INTEGER)
            WHEN fee_total GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(fee_total AS INTEGER) END ELSE 0 END AS fees,
        CASE WHEN kind = 'settlement' THEN CASE WHEN mp_fee GLOB '*.[0-9][0-9]' THEN CAST(replace(mp_fee, '.', '') AS INTEGER)
            WHEN mp_fee GLOB '*.[0-9]' THEN 10 * CAST(replace(mp_fee, '.', '') AS INTEGER)
            WHEN mp_fee GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(mp_fee AS INTEGER) END ELSE 0 END AS mp_fee,
        CASE WHEN kind = 'settlement' THEN CASE WHEN financing_fee GLOB '*.[0-9][0-9]' THEN CAST(replace(financing_fee, '.', '') AS INTEGER)
            WHEN financing_fee GLOB '*.[0-9]' THEN 10 * CAST(replace(financing_fee, '.', '') AS INTEGER)
            WHEN financing_fee GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(financing_fee AS INTEGER) END ELSE 0 END AS financing_fee,
        CASE WHEN kind = 'settlement' THEN CASE WHEN shipping_fee GLOB '*.[0-9][0-9]' THEN CAST(replace(shipping_fee, '.', '') AS INTEGER)
            WHEN shipping_fee GLOB '*.[0-9]' THEN 10 * CAST(replace(shipping_fee, '.', '') AS INTEGER)
            WHEN shipping_fee GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(shipping_fee AS INTEGER) END ELSE 0 END AS shipping_fee,
        CASE WHEN kind = 'settlement' THEN CASE WHEN taxes GLOB '*.[0-9][0-9]' THEN CAST(replace(taxes, '.', '') AS INTEGER)
            WHEN taxes GLOB '*.[0-9]' THEN 10 * CAST(replace(taxes, '.', '') AS INTEGER)
            WHEN taxes GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(taxes AS INTEGER) END ELSE 0 END AS taxes,
        CASE WHEN kind = 'settlement' THEN CASE WHEN coupon GLOB '*.[0-9][0-9]' THEN CAST(replace(coupon, '.', '') AS INTEGER)
            WHEN coupon GLOB '*.[0-9]' THEN 10 * CAST(replace(coupon, '.', '') AS INTEGER)
            WHEN coupon GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(coupon AS INTEGER) END ELSE 0 END AS coupon,
        CASE WHEN kind = 'settlement' THEN CASE WHEN net GLOB '*.[0-9][0-9]' THEN CAST(replace(net, '.', '') AS INTEGER)
            WHEN net GLOB '*.[0-9]' THEN 10 * CAST(replace(net, '.', '') AS INTEGER)
            WHEN net GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(net AS INTEGER) END ELSE 0 END AS net,
        CASE WHEN kind = 'release' AND NOT summary AND NOT (description IN ('payout', 'withdrawal') OR coalesce(payout_id, '') <> '') THEN CASE WHEN net GLOB '*.[0-9][0-9]' THEN CAST(replace(net, '.', '') AS INTEGER)
            WHEN net GLOB '*.[0-9]' THEN 10 * CAST(replace(net, '.', '') AS INTEGER)
            WHEN net GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(net AS INTEGER) END ELSE 0 END AS released,
        CASE WHEN kind = 'release' AND NOT summary AND (description IN ('payout', 'withdrawal') OR coalesce(payout_id, '') <> '') THEN -(CASE WHEN net GLOB '*.[0-9][0-9]' THEN CAST(replace(net, '.', '') AS INTEGER)
            WHEN net GLOB '*.[0-9]' THEN 10 * CAST(replace(net, '.', '') AS INTEGER)
            WHEN net GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(net AS INTEGER) END) ELSE 0 END AS paid_out
    FROM report_rows WHERE rowid > 0 LIMIT -1
)
WHERE day IS NOT NULL
GROUP BY day, currency
ON CONFLICT (day, currency) DO UPDATE SET
    rows = rows + excluded.rows, payments = payments + excluded.payments,
    gross = gross + excluded.gross, refunded = refunded + excluded.refunded, charged_back = charged_back + excluded.charged_back, fees = fees + excluded.fees, mp_fee = mp_fee + excluded.mp_fee, financing_fee = financing_fee + excluded.financing_fee, shipping_fee = shipping_fee + excluded.shipping_fee, taxes = taxes + excluded.taxes, coupon = coupon + excluded.coupon, net = net + excluded.net, released = released + excluded.released, paid_out = paid_out + excluded.paid_out;
INSERT INTO money_payments (payment_id, currency, external_reference, settlements, settled_at,
    gross, refunded, refund_at, chargeback_rows, charged_back, chargeback_at)
SELECT payment_id, max(currency), max(external_reference), sum(settled), min(settled_at),
    CASE WHEN count(gross) = count(*) THEN sum(gross) END, CASE WHEN count(refunded) = count(*) THEN sum(refunded) END, max(refund_at), sum(chargeback),
    CASE WHEN count(charged_back) = count(*) THEN sum(charged_back) END, min(chargeback_at)
FROM (
    SELECT
        source_id AS payment_id,
        CASE WHEN kind = 'settlement' AND entry_type = 'SETTLEMENT' THEN currency END AS currency,
        CASE WHEN kind = 'settlement' AND entry_type = 'SETTLEMENT' THEN external_reference END AS external_reference,
        kind = 'settlement' AND entry_type = 'SETTLEMENT' AS settled,
        CASE WHEN kind = 'settlement' AND entry_type = 'SETTLEMENT' THEN row_date END AS settled_at,
        CASE WHEN kind = 'settlement' AND entry_type = 'SETTLEMENT' THEN CASE WHEN gross GLOB '*.[0-9][0-9]' THEN CAST(replace(gross, '.', '') AS INTEGER)
            WHEN gross GLOB '*.[0-9]' THEN 10 * CAST(replace(gross, '.', '') AS INTEGER)
            WHEN gross GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(gross AS INTEGER) END ELSE 0 END AS gross,
        CASE WHEN kind = 'settlement' AND entry_type GLOB 'REFUND*' AND entry_type <> 'REFUND_SHIPPING' THEN -(CASE WHEN gross GLOB '*.[0-9][0-9]' THEN CAST(replace(gross, '.', '') AS INTEGER)
            WHEN gross GLOB '*.[0-9]' THEN 10 * CAST(replace(gross, '.', '') AS INTEGER)
            WHEN gross GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(gross AS INTEGER) END) ELSE 0 END AS refunded,
        CASE WHEN kind = 'settlement' AND entry_type GLOB 'REFUND*' AND entry_type <> 'REFUND_SHIPPING' THEN row_date END AS refund_at,
        kind = 'settlement' AND entry_type GLOB 'CHARGEBACK*' AS chargeback,
        CASE WHEN kind = 'settlement' AND entry_type GLOB 'CHARGEBACK*' THEN -(CASE WHEN gross GLOB '*.[0-9][0-9]' THEN CAST(replace(gross, '.', '') AS INTEGER)
            WHEN gross GLOB '*.[0-9]' THEN 10 * CAST(replace(gross, '.', '') AS INTEGER)
            WHEN gross GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(gross AS INTEGER) END) ELSE 0 END AS charged_back,
        CASE WHEN kind = 'settlement' AND entry_type GLOB 'CHARGEBACK*' THEN row_date END AS chargeback_at,
        kind
    FROM report_rows WHERE rowid > 0 LIMIT -1
)
WHERE kind = 'settlement'
GROUP BY payment_id
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
    chargeback_at = coalesce(
        min(chargeback_at, excluded.chargeback_at), chargeback_at, excluded.chargeback_at
    );
