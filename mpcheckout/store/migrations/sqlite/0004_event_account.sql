-- Each event keeps the account it belongs to (the notification's `user_id`) beside its
-- `live_mode`, so that `events list` filters on them and `status`/`doctor` count them without
-- parsing payloads (issue 18). Mercado Pago sends `user_id` as a number or a string; it is kept
-- as text, as ids are everywhere else. No index: both are read over the newest events only.
ALTER TABLE webhook_queue ADD COLUMN user_id TEXT;
ALTER TABLE webhook_archive ADD COLUMN user_id TEXT;

-- Existing events learn theirs from the payload. A payload that is not JSON (an IPN's empty
-- body, an HTTP capture) keeps NULL: CASE stops at its first true branch, so json_type and
-- json_extract, which fail the whole migration on malformed JSON, only see valid JSON.
UPDATE webhook_queue SET user_id = CASE WHEN NOT json_valid(payload) THEN NULL
    WHEN json_type(payload, '$.user_id') IN ('integer', 'text')
    THEN nullif(CAST(json_extract(payload, '$.user_id') AS TEXT), '') END
    WHERE payload LIKE '%user_id%';
UPDATE webhook_archive SET user_id = CASE WHEN NOT json_valid(payload) THEN NULL
    WHEN json_type(payload, '$.user_id') IN ('integer', 'text')
    THEN nullif(CAST(json_extract(payload, '$.user_id') AS TEXT), '') END
    WHERE payload LIKE '%user_id%';
