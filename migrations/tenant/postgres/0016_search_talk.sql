-- Search over what people write: projects, tasks, discussions, comments (of tasks,
-- discussions and the client messages), chat messages and file names, best first, for
-- `GET /api/v1/search`. One row per item in the index, kept up to date by triggers in
-- the same transaction as the change; who may see a found item is decided when searching,
-- from the item itself (a comment is seen by whoever sees its task), never stored here.
-- Words are matched whole or by their beginning, without stemming (brands write in any
-- language).
-- PostgreSQL: one row per item with its words as a weighted `tsvector` (the title counts
-- more than the body) under a GIN index.
create table search_items (
    -- Grows with every item added: the newest matches are ranked first.
    seq bigint generated always as identity,
    kind text not null check (kind in ('project', 'task', 'discussion', 'comment', 'chat', 'file')),
    item_id text not null,
    title text not null,
    body text not null,
    -- Split at every character that is neither a letter nor a digit first, as SQLite's
    -- tokenizer does (PostgreSQL's parser would keep `logo-v2.png` whole, as a file name).
    document tsvector generated always as
        (setweight(to_tsvector('simple', regexp_replace(title, '[^[:alnum:]]+', ' ', 'g')), 'A')
         || setweight(to_tsvector('simple', regexp_replace(body, '[^[:alnum:]]+', ' ', 'g')), 'B')) stored,
    primary key (kind, item_id)
);

create index search_items_document on search_items using gin (document);
create unique index search_items_seq on search_items (seq);

insert into search_items (kind, item_id, title, body) select 'project', t.project_id, t.name, t.description from projects t;

create or replace function projects_text() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        delete from search_items where kind = 'project' and item_id = old.project_id;
        return old;
    end if;
    insert into search_items (kind, item_id, title, body) values ('project', new.project_id, new.name, new.description)
        on conflict (kind, item_id) do update set title = excluded.title, body = excluded.body;
    return new;
end
$$;

create trigger projects_text after insert or update of name, description or delete on projects
    for each row execute function projects_text();

insert into search_items (kind, item_id, title, body) select 'task', t.task_id, t.title, t.description from tasks t;

create or replace function tasks_text() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        delete from search_items where kind = 'task' and item_id = old.task_id;
        return old;
    end if;
    insert into search_items (kind, item_id, title, body) values ('task', new.task_id, new.title, new.description)
        on conflict (kind, item_id) do update set title = excluded.title, body = excluded.body;
    return new;
end
$$;

create trigger tasks_text after insert or update of title, description or delete on tasks
    for each row execute function tasks_text();

insert into search_items (kind, item_id, title, body) select 'discussion', t.discussion_id, t.subject, t.body from discussions t;

create or replace function discussions_text() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        delete from search_items where kind = 'discussion' and item_id = old.discussion_id;
        return old;
    end if;
    insert into search_items (kind, item_id, title, body) values ('discussion', new.discussion_id, new.subject, new.body)
        on conflict (kind, item_id) do update set title = excluded.title, body = excluded.body;
    return new;
end
$$;

create trigger discussions_text after insert or update of subject, body or delete on discussions
    for each row execute function discussions_text();

insert into search_items (kind, item_id, title, body) select 'comment', t.comment_id, '', t.body from comments t;

create or replace function comments_text() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        delete from search_items where kind = 'comment' and item_id = old.comment_id;
        return old;
    end if;
    insert into search_items (kind, item_id, title, body) values ('comment', new.comment_id, '', new.body)
        on conflict (kind, item_id) do update set title = excluded.title, body = excluded.body;
    return new;
end
$$;

create trigger comments_text after insert or update of body or delete on comments
    for each row execute function comments_text();

insert into search_items (kind, item_id, title, body) select 'chat', t.message_id, '', t.body from chat_messages t;

create or replace function chat_messages_text() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        delete from search_items where kind = 'chat' and item_id = old.message_id;
        return old;
    end if;
    insert into search_items (kind, item_id, title, body) values ('chat', new.message_id, '', new.body)
        on conflict (kind, item_id) do update set title = excluded.title, body = excluded.body;
    return new;
end
$$;

create trigger chat_messages_text after insert or update of body or delete on chat_messages
    for each row execute function chat_messages_text();

-- A file is found by its current name (the newest version's, or the one it was renamed to).
insert into search_items (kind, item_id, title, body)
    select 'file', f.file_id, v.name, '' from files f
    join file_versions v on v.file_id = f.file_id and v.version = f.current_version;

create or replace function file_versions_text() returns trigger language plpgsql as $$
begin
    insert into search_items (kind, item_id, title, body) values ('file', new.file_id, new.name, '')
        on conflict (kind, item_id) do update set title = excluded.title;
    return new;
end
$$;

create trigger file_versions_text after insert or update of name on file_versions
    for each row execute function file_versions_text();

create or replace function files_text() returns trigger language plpgsql as $$
begin
    delete from search_items where kind = 'file' and item_id = old.file_id;
    return old;
end
$$;

create trigger files_text after delete on files for each row execute function files_text();
