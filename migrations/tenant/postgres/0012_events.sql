-- What happened in the brand, for live updates, activity feeds and notifications: one row
-- per change that someone else should see, appended in the change's transaction. The id
-- is a cursor: appends are serialised and take max + 1, so ids grow in commit order and a
-- reader that has seen id N has seen everything before it. `data` is what anyone who
-- sees the event is shown, `staff_data` what only staff are; `viewers` narrows who sees
-- it beyond the project and the visibility: 'all', only 'clients' (a task or file that
-- clients no longer see), or one 'user' (a notification).
create table events (
    event_id bigint primary key,
    kind text not null,
    project_id text,
    subject_id text,
    visibility text not null check (visibility in ('internal', 'client')),
    viewers text not null check (viewers in ('all', 'clients', 'user')),
    user_id text,
    actor_id text,
    actor_name text not null,
    data text not null,
    staff_data text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index events_project on events (project_id, event_id);
create index events_created on events (created_at);
