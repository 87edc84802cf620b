-- Search: `?q=` over users (e-mail address and name) and projects (name) finds every row
-- that contains the text, case-insensitively, as the scan before did, from an FTS5
-- trigram index instead of reading every row. (Searches shorter than three characters
-- still scan: a trigram index cannot answer them.) The index's rows are keyed by
-- `search_keys`, whose integer keys never change; a table's own rowid could change with
-- VACUUM and would leave the index pointing at other rows. Triggers keep both up to date
-- in the same transaction as the change.
create table search_keys (
    search_key integer primary key,
    kind text not null check (kind in ('user', 'project')),
    item_id text not null,
    constraint search_keys_item unique (kind, item_id)
);

create virtual table users_search using fts5(email_key, name, tokenize = 'trigram');
create virtual table projects_search using fts5(name, tokenize = 'trigram');

insert into search_keys (kind, item_id) select 'user', user_id from users order by user_id;
insert into users_search (rowid, email_key, name)
    select k.search_key, u.email_key, u.name from users u
    join search_keys k on k.kind = 'user' and k.item_id = u.user_id;
insert into search_keys (kind, item_id) select 'project', project_id from projects order by project_id;
insert into projects_search (rowid, name)
    select k.search_key, p.name from projects p
    join search_keys k on k.kind = 'project' and k.item_id = p.project_id;

create trigger users_search_insert after insert on users begin
    insert into search_keys (kind, item_id) values ('user', new.user_id);
    insert into users_search (rowid, email_key, name)
        values ((select search_key from search_keys where kind = 'user' and item_id = new.user_id),
                new.email_key, new.name);
end;

create trigger users_search_update after update of email_key, name on users begin
    update users_search set email_key = new.email_key, name = new.name
        where rowid = (select search_key from search_keys where kind = 'user' and item_id = old.user_id);
end;

create trigger users_search_delete after delete on users begin
    delete from users_search
        where rowid = (select search_key from search_keys where kind = 'user' and item_id = old.user_id);
    delete from search_keys where kind = 'user' and item_id = old.user_id;
end;

create trigger projects_search_insert after insert on projects begin
    insert into search_keys (kind, item_id) values ('project', new.project_id);
    insert into projects_search (rowid, name)
        values ((select search_key from search_keys where kind = 'project' and item_id = new.project_id),
                new.name);
end;

create trigger projects_search_update after update of name on projects begin
    update projects_search set name = new.name
        where rowid = (select search_key from search_keys where kind = 'project' and item_id = old.project_id);
end;

create trigger projects_search_delete after delete on projects begin
    delete from projects_search
        where rowid = (select search_key from search_keys where kind = 'project' and item_id = old.project_id);
    delete from search_keys where kind = 'project' and item_id = old.project_id;
end;
