-- The Orders API (issue 15); see the SQLite migration of the same number.
ALTER TABLE orders ADD COLUMN mp_order_id TEXT;
ALTER TABLE orders ADD COLUMN mp_order_version BIGINT;
CREATE INDEX orders_by_mp_order ON orders (mp_order_id, status);

ALTER TABLE mp_actions DROP CONSTRAINT mp_actions_kind_check;
ALTER TABLE mp_actions ADD CONSTRAINT mp_actions_kind_check CHECK (kind IN ('refund', 'cancel', 'capture', 'create_order'));
