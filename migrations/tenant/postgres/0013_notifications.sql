-- Notifications: one row per thing told to one user, written in the same transaction as
-- the change it is about. `in_app` (1 or 0) says whether the bell shows it; `email` is
-- where its mail is: 'none', 'daily' (waiting for the digest) or 'sent'. `once_key`
-- keeps a reminder (due tomorrow, overdue) from being made twice.
create table notifications (
    notification_id text primary key,
    user_id text not null references users (user_id),
    kind text not null,
    project_id text,
    subject_id text,
    actor_name text not null,
    sentence text not null,
    link text not null,
    in_app bigint not null,
    email text not null check (email in ('none', 'daily', 'sent')),
    once_key text unique,
    read_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index notifications_user on notifications (user_id, notification_id);
create index notifications_digest on notifications (email, created_at);

-- Each user's choice per kind (none yet: the defaults).
create table notification_settings (
    user_id text not null references users (user_id),
    kind text not null,
    in_app bigint not null,
    email text not null check (email in ('now', 'daily', 'never')),
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (user_id, kind)
);

-- The outbox takes notification mails and digests too.
alter table outbox drop constraint outbox_kind_check;
alter table outbox add constraint outbox_kind_check check (kind in ('invitation', 'password_reset', 'two_factor_changed', 'deactivated', 'access_expiring', 'notification', 'digest'));

-- The reminders of tasks due look tasks up by due date.
create index tasks_due on tasks (due_on);

-- The bell counts a user's unread notifications on every page.
create index notifications_unread on notifications (user_id) where read_at is null and in_app = 1;
