-- Nothing to do on SQLite: the brands' searches use FTS5, built into SQLite
-- (tenant migration 0010). This keeps the platform store's versions the same on both
-- backends.
select 1;
