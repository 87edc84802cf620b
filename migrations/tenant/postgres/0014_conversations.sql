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
    edited_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null
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
    edited_at timestamptz,
    removed_at timestamptz,
    removed_by text,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    check ((thread = 'task') = (task_id is not null)),
    check ((thread = 'discussion') = (discussion_id is not null))
);

create index comments_task on comments (task_id, comment_id);
create index comments_discussion on comments (discussion_id, comment_id);
create index comments_project on comments (project_id, thread, comment_id);

create table attachments (
    item_id text not null,
    file_id text not null references files (file_id) on delete cascade,
    position bigint not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (item_id, file_id)
);

create index attachments_file on attachments (file_id);

-- An event of a conversation is seen only by those who hold its permission
-- (`discussions.participate`, `messages.clients`, `chat.team`): `permission`; a chat
-- message's only by the members of its channel: viewers 'channel' with `channel_id`.
alter table events add column channel_id text;
alter table events add column permission text;
alter table events drop constraint events_viewers_check;
alter table events add constraint events_viewers_check check (viewers in ('all', 'clients', 'user', 'channel'));
