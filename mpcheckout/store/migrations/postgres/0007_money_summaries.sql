-- What `money` reads (issue 16); see the SQLite migration of the same number. SQLite keeps
-- money_days and money_payments as tables its triggers hold in step, because it has no hash
-- join and its sum() of decimal text goes through REAL. PostgreSQL sums NUMERIC exactly and
-- joins large tables by hashing, so here the same two names, with the same columns, are views
-- computed when read: nothing to keep in step and no lock taken by a write.

CREATE VIEW money_days AS
SELECT
    to_char(row_date AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
    coalesce(currency, '') AS currency,
    count(*) AS rows,
    count(*) FILTER (WHERE kind = 'settlement' AND entry_type = 'SETTLEMENT') AS payments,
    coalesce(sum(gross) FILTER (WHERE kind = 'settlement' AND entry_type = 'SETTLEMENT'), 0)
        AS gross,
    coalesce(sum(fee_total) FILTER (WHERE kind = 'settlement'), 0) AS fees,
    coalesce(sum(mp_fee) FILTER (WHERE kind = 'settlement'), 0) AS mp_fee,
    coalesce(sum(financing_fee) FILTER (WHERE kind = 'settlement'), 0) AS financing_fee,
    coalesce(sum(shipping_fee) FILTER (WHERE kind = 'settlement'), 0) AS shipping_fee,
    coalesce(sum(taxes) FILTER (WHERE kind = 'settlement'), 0) AS taxes,
    coalesce(sum(coupon) FILTER (WHERE kind = 'settlement'), 0) AS coupon,
    coalesce(sum(net) FILTER (WHERE kind = 'settlement'), 0) AS net,
    coalesce(-sum(gross) FILTER (WHERE kind = 'settlement' AND entry_type LIKE 'REFUND%'), 0)
        AS refunded,
    coalesce(-sum(gross) FILTER (WHERE kind = 'settlement' AND entry_type LIKE 'CHARGEBACK%'), 0)
        AS charged_back,
    coalesce(sum(net) FILTER (WHERE kind = 'release' AND NOT summary
        AND coalesce(description, '') NOT IN ('payout', 'withdrawal')
        AND coalesce(payout_id, '') = ''), 0) AS released,
    coalesce(-sum(net) FILTER (WHERE kind = 'release' AND NOT summary
        AND (description IN ('payout', 'withdrawal') OR coalesce(payout_id, '') <> '')), 0)
        AS paid_out
FROM report_rows
WHERE row_date IS NOT NULL
GROUP BY 1, 2;

CREATE VIEW money_payments AS
WITH report AS (
    SELECT
        source_id AS payment_id,
        min(currency) FILTER (WHERE entry_type = 'SETTLEMENT') AS currency,
        min(external_reference) FILTER (WHERE entry_type = 'SETTLEMENT') AS external_reference,
        count(*) FILTER (WHERE entry_type = 'SETTLEMENT') AS settlements,
        min(row_date) FILTER (WHERE entry_type = 'SETTLEMENT') AS settled_at,
        coalesce(sum(gross) FILTER (WHERE entry_type = 'SETTLEMENT'), 0) AS gross,
        coalesce(-sum(gross) FILTER (WHERE entry_type LIKE 'REFUND%'
            AND entry_type <> 'REFUND_SHIPPING'), 0) AS refunded,
        max(row_date) FILTER (WHERE entry_type LIKE 'REFUND%'
            AND entry_type <> 'REFUND_SHIPPING') AS refund_at,
        count(*) FILTER (WHERE entry_type LIKE 'CHARGEBACK%') AS chargeback_rows,
        coalesce(-sum(gross) FILTER (WHERE entry_type LIKE 'CHARGEBACK%'), 0) AS charged_back,
        min(row_date) FILTER (WHERE entry_type LIKE 'CHARGEBACK%') AS chargeback_at
    FROM report_rows
    WHERE kind = 'settlement'
    GROUP BY source_id
),
paying AS (
    SELECT DISTINCT ON (payment_id) payment_id, id, amount, currency, status, paid_at
    FROM orders
    WHERE payment_id IS NOT NULL
    ORDER BY payment_id, updated_at DESC, id
),
logs AS (
    SELECT DISTINCT ON (payment_id) payment_id, external_reference
    FROM payment_logs
    ORDER BY payment_id, id
),
ledger_refunds AS (
    SELECT payment_id, sum(amount) AS refunded, max(date_created) AS refund_at
    FROM refunds
    WHERE status = 'approved'
    GROUP BY payment_id
),
ledger_chargebacks AS (
    SELECT payment_id, count(*) AS chargebacks
    FROM chargebacks
    WHERE payment_id IS NOT NULL
    GROUP BY payment_id
),
payments AS (
    SELECT payment_id FROM report
    UNION SELECT payment_id FROM paying
    UNION SELECT payment_id FROM logs
    UNION SELECT payment_id FROM refunds
    UNION SELECT payment_id FROM ledger_chargebacks
)
SELECT
    payments.payment_id,
    paying.id AS order_id,
    paying.amount AS order_amount_text,
    paying.amount AS order_amount,
    paying.currency AS order_currency,
    paying.status AS order_status,
    paying.paid_at,
    (logs.payment_id IS NOT NULL)::integer AS logged,
    logs.external_reference AS logged_reference,
    coalesce(ledger_refunds.refunded, 0) AS ledger_refunded,
    ledger_refunds.refund_at AS ledger_refund_at,
    coalesce(ledger_chargebacks.chargebacks, 0) AS ledger_chargebacks,
    report.currency,
    report.external_reference,
    coalesce(report.settlements, 0) AS settlements,
    report.settled_at,
    coalesce(report.gross, 0) AS gross,
    coalesce(report.refunded, 0) AS refunded,
    report.refund_at,
    coalesce(report.chargeback_rows, 0) AS chargeback_rows,
    coalesce(report.charged_back, 0) AS charged_back,
    report.chargeback_at
FROM payments
LEFT JOIN report USING (payment_id)
LEFT JOIN paying USING (payment_id)
LEFT JOIN logs USING (payment_id)
LEFT JOIN ledger_refunds USING (payment_id)
LEFT JOIN ledger_chargebacks USING (payment_id);
