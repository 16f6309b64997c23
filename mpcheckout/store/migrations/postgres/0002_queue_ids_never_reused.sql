-- SQLite needed AUTOINCREMENT so that queue ids are never reused (see sqlite/0002). PostgreSQL's
-- identity columns never hand out an id twice; this migration only keeps the numbers aligned.
SELECT 1;
