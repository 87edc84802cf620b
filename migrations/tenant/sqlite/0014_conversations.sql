-- Conversations inside projects: discussions (a subject and an opening body, internal or
-- client-visible), and comments on a task, on a discussion, or in the project's one
-- client messages conversation ("messages": always client-visible). A comment has no
-- visibility of its own: it is seen by whoever sees its task or discussion. A removed
-- comment keeps its row (and who removed it) but not its text. Bodies are Markdown; the
-- sanitised HTML made from them at writing is kept beside them. Attachments are files of
-- the same project, listed per discussion or comment.
create table discussions (
    discussion_id text primary key,
    project_id text not null references projects (project_id) on delete cascade,
    subject text not null,
    body text not null,
    body_html text not null,
    visibility text not null check (visibility in ('internal', 'client')),
    author_id text references users (user_id),
    edited_at text,
    created_at text not null,
    updated_at text not null
);

create index discussions_project on discussions (project_id, discussion_id);

create table comments (
    comment_id text primary key,
    project_id text not null references projects (project_id) on delete cascade,
    thread text not null check (thread in ('task', 'discussion', 'messages')),
    task_id text references tasks (task_id) on delete cascade,
    discussion_id text references discussions (discussion_id) on delete cascade,
    body text not null,
    body_html text not null,
    author_id text references users (user_id),
    edited_at text,
    removed_at text,
    removed_by text,
    created_at text not null,
    updated_at text not null,
    check ((thread = 'task') = (task_id is not null)),
    check ((thread = 'discussion') = (discussion_id is not null))
);

create index comments_task on comments (task_id, comment_id);
create index comments_discussion on comments (discussion_id, comment_id);
create index comments_project on comments (project_id, thread, comment_id);

create table attachments (
    item_id text not null,
    file_id text not null references files (file_id) on delete cascade,
    position integer not null,
    created_at text not null,
    updated_at text not null,
    primary key (item_id, file_id)
);

create index attachments_file on attachments (file_id);

-- An event of a conversation is seen only by those who hold its permission
-- (`discussions.participate`, `messages.clients`, `chat.team`): `permission`; a chat
-- message's only by the members of its channel: viewers 'channel' with `channel_id`.
-- (SQLite cannot change a check: the table is made again with the same rows.)
create table events_new (
    event_id integer primary key,
    kind text not null,
    project_id text,
    subject_id text,
    visibility text not null check (visibility in ('internal', 'client')),
    viewers text not null check (viewers in ('all', 'clients', 'user', 'channel')),
    user_id text,
    channel_id text,
    permission text,
    actor_id text,
    actor_name text not null,
    data text not null,
    staff_data text not null,
    created_at text not null,
    updated_at text not null
);
insert into events_new (event_id, kind, project_id, subject_id, visibility, viewers, user_id, actor_id, actor_name, data, staff_data, created_at, updated_at)
    select event_id, kind, project_id, subject_id, visibility, viewers, user_id, actor_id, actor_name, data, staff_data, created_at, updated_at from events;
drop table events;
alter table events_new rename to events;
create index events_project on events (project_id, event_id);
create index events_created on events (created_at);
