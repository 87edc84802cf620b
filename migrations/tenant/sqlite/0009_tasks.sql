-- Tasks: the cards of a project's Kanban board. Each is internal (staff only) or
-- client-visible; its column is its status, its place in the column its position; a due
-- date is kept as YYYY-MM-DD text on both backends.
create table tasks (
    task_id text primary key,
    project_id text not null references projects (project_id),
    title text not null,
    description text not null,
    status text not null check (status in ('todo', 'in_progress', 'review', 'done')),
    position integer not null,
    visibility text not null check (visibility in ('internal', 'client')),
    assignee_id text references users (user_id),
    due_on text,
    created_by text,
    created_at text not null,
    updated_at text not null
);

create index tasks_board on tasks (project_id, status, position);
create index tasks_assignee on tasks (assignee_id);
