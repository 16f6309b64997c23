-- SQLite's migration 0008 sums its money days again after a fix (a release row without a
-- DESCRIPTION). PostgreSQL's money_days is a view that always counted that row: nothing to do.
SELECT 1;
