-- Search: `?q=` over users (e-mail address and name) and projects (name) finds every row
-- that contains the text, case-insensitively, as the scan before did, from trigram
-- indexes (pg_trgm, created by the platform store's migrations wherever the database
-- keeps it) instead of reading every row.
do $$
declare
    trgm text;
begin
    select n.nspname into trgm
        from pg_extension e join pg_namespace n on n.oid = e.extnamespace
        where e.extname = 'pg_trgm';
    if trgm is null then
        raise exception 'the pg_trgm extension is missing: run tasksession migrate';
    end if;
    execute format('create index users_search_email on users using gin (email_key %I.gin_trgm_ops)', trgm);
    execute format('create index users_search_name on users using gin (lower(name) %I.gin_trgm_ops)', trgm);
    execute format('create index projects_search_name on projects using gin (lower(name) %I.gin_trgm_ops)', trgm);
end
$$;
