-- Team chat for staff: channels open to all staff, channels of a team, and direct
-- channels between two staff members; their messages (Markdown with its sanitised HTML,
-- as comments), numbered per channel in commit order (`seq`: writes to a channel are
-- serialised, so a reader who has seen number N has seen everything before it); and
-- each reader's read cursor per channel (the number of the newest message they have
-- read), from which unread counts are counted: never a counter that could drift.
-- A team's channel whose team is removed is closed (team_id null): kept, shown to nobody.
create table chat_channels (
    channel_id text primary key,
    kind text not null check (kind in ('open', 'team', 'direct')),
    name text not null,
    name_key text,
    team_id text references teams (team_id) on delete set null,
    created_by text,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint chat_channels_name unique (name_key)
);

create index chat_channels_team on chat_channels (team_id);

create table chat_direct_members (
    channel_id text not null references chat_channels (channel_id) on delete cascade,
    user_id text not null references users (user_id),
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (channel_id, user_id)
);

create index chat_direct_members_user on chat_direct_members (user_id);

create table chat_messages (
    message_id text primary key,
    channel_id text not null references chat_channels (channel_id) on delete cascade,
    seq bigint not null,
    body text not null,
    body_html text not null,
    author_id text references users (user_id),
    edited_at timestamptz,
    removed_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create unique index chat_messages_seq on chat_messages (channel_id, seq);

create table chat_reads (
    channel_id text not null references chat_channels (channel_id) on delete cascade,
    user_id text not null references users (user_id),
    last_read bigint not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (channel_id, user_id)
);
