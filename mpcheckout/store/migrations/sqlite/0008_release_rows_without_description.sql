-- Migration 0007's day sums, and the imports after it, left out a release row with no
-- DESCRIPTION (stored NULL): `description IN ('payout', 'withdrawal')` is NULL for it, so the row
-- counted neither as released nor as paid out. PostgreSQL's view and `money`'s own sums count it
-- as released. The rule now reads coalesce(description, ''); the days are summed again from the
-- stored rows with it (the statement of mpcheckout/store/sqlite_money.py, frozen here).
DELETE FROM money_days;

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
        CASE WHEN kind = 'release' AND NOT summary AND NOT (coalesce(description, '') IN ('payout', 'withdrawal') OR coalesce(payout_id, '') <> '') THEN CASE WHEN net GLOB '*.[0-9][0-9]' THEN CAST(replace(net, '.', '') AS INTEGER)
            WHEN net GLOB '*.[0-9]' THEN 10 * CAST(replace(net, '.', '') AS INTEGER)
            WHEN net GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(net AS INTEGER) END ELSE 0 END AS released,
        CASE WHEN kind = 'release' AND NOT summary AND (coalesce(description, '') IN ('payout', 'withdrawal') OR coalesce(payout_id, '') <> '') THEN -(CASE WHEN net GLOB '*.[0-9][0-9]' THEN CAST(replace(net, '.', '') AS INTEGER)
            WHEN net GLOB '*.[0-9]' THEN 10 * CAST(replace(net, '.', '') AS INTEGER)
            WHEN net GLOB '*[^0-9-]*' THEN NULL ELSE 100 * CAST(net AS INTEGER) END) ELSE 0 END AS paid_out
    FROM report_rows WHERE rowid > 0 LIMIT -1
)
WHERE day IS NOT NULL
GROUP BY day, currency
ON CONFLICT (day, currency) DO UPDATE SET
    rows = rows + excluded.rows, payments = payments + excluded.payments,
    gross = gross + excluded.gross, refunded = refunded + excluded.refunded, charged_back = charged_back + excluded.charged_back, fees = fees + excluded.fees, mp_fee = mp_fee + excluded.mp_fee, financing_fee = financing_fee + excluded.financing_fee, shipping_fee = shipping_fee + excluded.shipping_fee, taxes = taxes + excluded.taxes, coupon = coupon + excluded.coupon, net = net + excluded.net, released = released + excluded.released, paid_out = paid_out + excluded.paid_out;
