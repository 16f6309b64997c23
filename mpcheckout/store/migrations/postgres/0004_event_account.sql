-- Each event keeps the account it belongs to (the notification's `user_id`) beside its
-- `live_mode`; see the SQLite migration of the same number.
ALTER TABLE webhook_queue ADD COLUMN user_id TEXT;
ALTER TABLE webhook_archive ADD COLUMN user_id TEXT;

-- Existing events learn theirs from the payload. payload is TEXT and may not be JSON (an
-- IPN's empty body, an HTTP capture): PostgreSQL 15 has no pg_input_is_valid, so the cast is
-- tried in a function that answers NULL instead of failing the migration. pg_temp: it
-- disappears with the session and is never part of the schema.
CREATE FUNCTION pg_temp.mpcheckout_payload_user_id(payload text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    body jsonb;
BEGIN
    body := payload::jsonb;
    IF jsonb_typeof(body) = 'object' AND jsonb_typeof(body -> 'user_id') IN ('number', 'string') THEN
        RETURN nullif(body ->> 'user_id', '');
    END IF;
    RETURN NULL;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

UPDATE webhook_queue SET user_id = pg_temp.mpcheckout_payload_user_id(payload)
    WHERE payload LIKE '%user_id%';
UPDATE webhook_archive SET user_id = pg_temp.mpcheckout_payload_user_id(payload)
    WHERE payload LIKE '%user_id%';
DROP FUNCTION pg_temp.mpcheckout_payload_user_id(text);
