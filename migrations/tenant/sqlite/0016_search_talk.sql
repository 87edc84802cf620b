-- Search over what people write: projects, tasks, discussions, comments (of tasks,
-- discussions and the client messages), chat messages and file names, best first, for
-- `GET /api/v1/search`. One row per item in the index, kept up to date by triggers in
-- the same transaction as the change; who may see a found item is decided when searching,
-- from the item itself (a comment is seen by whoever sees its task), never stored here.
-- Words are matched whole or by their beginning, without stemming (brands write in any
-- language).
-- SQLite: an FTS5 table (title, body) whose rowids are `search_items` keys, which never
-- change (a table's own rowid could change with VACUUM).
create table search_items (
    search_item integer primary key,
    kind text not null check (kind in ('project', 'task', 'discussion', 'comment', 'chat', 'file')),
    item_id text not null,
    constraint search_items_item unique (kind, item_id)
);

create virtual table search_text using fts5(title, body, tokenize = 'unicode61 remove_diacritics 2');

insert into search_items (kind, item_id) select 'project', project_id from projects order by project_id;
insert into search_text (rowid, title, body)
    select s.search_item, name, description from projects t
    join search_items s on s.kind = 'project' and s.item_id = t.project_id;

create trigger projects_text_insert after insert on projects begin
    insert into search_items (kind, item_id) values ('project', new.project_id);
    insert into search_text (rowid, title, body) values ((select search_item from search_items where kind = 'project' and item_id = new.project_id), new.name, new.description);
end;

create trigger projects_text_update after update of name, description on projects begin
    update search_text set title = new.name, body = new.description where rowid = (select search_item from search_items where kind = 'project' and item_id = old.project_id);
end;

create trigger projects_text_delete after delete on projects begin
    delete from search_text where rowid = (select search_item from search_items where kind = 'project' and item_id = old.project_id);
    delete from search_items where kind = 'project' and item_id = old.project_id;
end;

insert into search_items (kind, item_id) select 'task', task_id from tasks order by task_id;
insert into search_text (rowid, title, body)
    select s.search_item, title, description from tasks t
    join search_items s on s.kind = 'task' and s.item_id = t.task_id;

create trigger tasks_text_insert after insert on tasks begin
    insert into search_items (kind, item_id) values ('task', new.task_id);
    insert into search_text (rowid, title, body) values ((select search_item from search_items where kind = 'task' and item_id = new.task_id), new.title, new.description);
end;

create trigger tasks_text_update after update of title, description on tasks begin
    update search_text set title = new.title, body = new.description where rowid = (select search_item from search_items where kind = 'task' and item_id = old.task_id);
end;

create trigger tasks_text_delete after delete on tasks begin
    delete from search_text where rowid = (select search_item from search_items where kind = 'task' and item_id = old.task_id);
    delete from search_items where kind = 'task' and item_id = old.task_id;
end;

insert into search_items (kind, item_id) select 'discussion', discussion_id from discussions order by discussion_id;
insert into search_text (rowid, title, body)
    select s.search_item, subject, body from discussions t
    join search_items s on s.kind = 'discussion' and s.item_id = t.discussion_id;

create trigger discussions_text_insert after insert on discussions begin
    insert into search_items (kind, item_id) values ('discussion', new.discussion_id);
    insert into search_text (rowid, title, body) values ((select search_item from search_items where kind = 'discussion' and item_id = new.discussion_id), new.subject, new.body);
end;

create trigger discussions_text_update after update of subject, body on discussions begin
    update search_text set title = new.subject, body = new.body where rowid = (select search_item from search_items where kind = 'discussion' and item_id = old.discussion_id);
end;

create trigger discussions_text_delete after delete on discussions begin
    delete from search_text where rowid = (select search_item from search_items where kind = 'discussion' and item_id = old.discussion_id);
    delete from search_items where kind = 'discussion' and item_id = old.discussion_id;
end;

insert into search_items (kind, item_id) select 'comment', comment_id from comments order by comment_id;
insert into search_text (rowid, title, body)
    select s.search_item, '', body from comments t
    join search_items s on s.kind = 'comment' and s.item_id = t.comment_id;

create trigger comments_text_insert after insert on comments begin
    insert into search_items (kind, item_id) values ('comment', new.comment_id);
    insert into search_text (rowid, title, body) values ((select search_item from search_items where kind = 'comment' and item_id = new.comment_id), '', new.body);
end;

create trigger comments_text_update after update of body on comments begin
    update search_text set title = '', body = new.body where rowid = (select search_item from search_items where kind = 'comment' and item_id = old.comment_id);
end;

create trigger comments_text_delete after delete on comments begin
    delete from search_text where rowid = (select search_item from search_items where kind = 'comment' and item_id = old.comment_id);
    delete from search_items where kind = 'comment' and item_id = old.comment_id;
end;

insert into search_items (kind, item_id) select 'chat', message_id from chat_messages order by message_id;
insert into search_text (rowid, title, body)
    select s.search_item, '', body from chat_messages t
    join search_items s on s.kind = 'chat' and s.item_id = t.message_id;

create trigger chat_messages_text_insert after insert on chat_messages begin
    insert into search_items (kind, item_id) values ('chat', new.message_id);
    insert into search_text (rowid, title, body) values ((select search_item from search_items where kind = 'chat' and item_id = new.message_id), '', new.body);
end;

create trigger chat_messages_text_update after update of body on chat_messages begin
    update search_text set title = '', body = new.body where rowid = (select search_item from search_items where kind = 'chat' and item_id = old.message_id);
end;

create trigger chat_messages_text_delete after delete on chat_messages begin
    delete from search_text where rowid = (select search_item from search_items where kind = 'chat' and item_id = old.message_id);
    delete from search_items where kind = 'chat' and item_id = old.message_id;
end;

-- A file is found by its current name (the newest version's, or the one it was renamed to).
insert into search_items (kind, item_id) select 'file', file_id from files order by file_id;
insert into search_text (rowid, title, body)
    select s.search_item, v.name, '' from files f
    join file_versions v on v.file_id = f.file_id and v.version = f.current_version
    join search_items s on s.kind = 'file' and s.item_id = f.file_id;

create trigger file_versions_text_insert after insert on file_versions begin
    insert or ignore into search_items (kind, item_id) values ('file', new.file_id);
    delete from search_text where rowid = (select search_item from search_items where kind = 'file' and item_id = new.file_id);
    insert into search_text (rowid, title, body) values ((select search_item from search_items where kind = 'file' and item_id = new.file_id), new.name, '');
end;

create trigger file_versions_text_update after update of name on file_versions begin
    update search_text set title = new.name where rowid = (select search_item from search_items where kind = 'file' and item_id = new.file_id);
end;

create trigger files_text_delete after delete on files begin
    delete from search_text where rowid = (select search_item from search_items where kind = 'file' and item_id = old.file_id);
    delete from search_items where kind = 'file' and item_id = old.file_id;
end;
