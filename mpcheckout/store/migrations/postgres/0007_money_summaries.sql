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

-- One row per payment: every source's rows in one column layout, then one hashed GROUP BY (a
-- join of five grouped sources makes the planner sort each of them).
CREATE VIEW money_payments AS
SELECT
    payment_id,
    max(order_id) AS order_id,
    max(order_amount) AS order_amount_text,
    max(order_amount) AS order_amount,
    max(order_currency) AS order_currency,
    max(order_status) AS order_status,
    max(paid_at) AS paid_at,
    (count(logged_reference) + count(log_id) > 0)::integer AS logged,
    max(logged_reference) AS logged_reference,
    coalesce(sum(refund_amount), 0) AS ledger_refunded,
    max(refund_at) AS ledger_refund_at,
    count(chargeback_id) AS ledger_chargebacks,
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
FROM (
    SELECT source_id AS payment_id, NULL AS order_id, NULL::numeric AS order_amount,
        NULL AS order_currency, NULL AS order_status, NULL::timestamptz AS paid_at,
        NULL::bigint AS log_id, NULL AS logged_reference, NULL::numeric AS refund_amount,
        NULL::timestamptz AS refund_at, NULL AS chargeback_id, entry_type, currency,
        external_reference, gross, row_date
    FROM report_rows
    WHERE kind = 'settlement'
    UNION ALL
    -- the order a payment pays: the latest written, should two name it
    (SELECT DISTINCT ON (payment_id) payment_id, id, amount, currency, status, paid_at,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    FROM orders
    WHERE payment_id IS NOT NULL
    ORDER BY payment_id, updated_at DESC, id)
    UNION ALL
    -- its first payment log: seen, and the reference it came with
    (SELECT DISTINCT ON (payment_id) payment_id, NULL, NULL, NULL, NULL, NULL,
        id, external_reference, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    FROM payment_logs
    ORDER BY payment_id, id)
    UNION ALL
    SELECT payment_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        CASE WHEN status = 'approved' THEN amount END,
        CASE WHEN status = 'approved' THEN date_created END,
        NULL, NULL, NULL, NULL, NULL, NULL
    FROM refunds
    UNION ALL
    SELECT payment_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        id, NULL, NULL, NULL, NULL, NULL
    FROM chargebacks
    WHERE payment_id IS NOT NULL
) AS sources
GROUP BY payment_id;
