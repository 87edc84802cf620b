-- Trigram indexes for the brands' searches (tenant migration 0010) need pg_trgm, a
-- trusted extension of PostgreSQL's own distribution. It is created once per database;
-- where an operator already installed it, that installation is used.
create extension if not exists pg_trgm;
