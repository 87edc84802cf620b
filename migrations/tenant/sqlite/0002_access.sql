-- Access: roles, client companies, teams, sessions, personal access tokens, audit log.
-- Built-in roles live in code; a row here is a custom role or an edited built-in default.
alter table users add column access_expires_at text;
alter table users add column last_sign_in_at text;
alter table users add column switches text;

create table roles (
    role_id text primary key,
    name text not null,
    kind text not null check (kind in ('staff', 'client')),
    permissions text not null,
    created_at text not null,
    updated_at text not null,
    constraint roles_name unique (name)
);

create table companies (
    company_id text primary key,
    name text not null,
    details text not null,
    created_at text not null,
    updated_at text not null,
    constraint companies_name unique (name)
);

create table teams (
    team_id text primary key,
    name text not null,
    created_at text not null,
    updated_at text not null,
    constraint teams_name unique (name)
);

create table team_members (
    team_id text not null references teams (team_id) on delete cascade,
    user_id text not null references users (user_id),
    created_at text not null,
    updated_at text not null,
    primary key (team_id, user_id)
);

create index team_members_user on team_members (user_id);

create table sessions (
    session_id text primary key,
    user_id text not null references users (user_id),
    token_hash text not null,
    client_address text not null,
    user_agent text not null,
    last_seen_at text not null,
    expires_at text not null,
    created_at text not null,
    updated_at text not null,
    constraint sessions_token_hash unique (token_hash)
);

create index sessions_user on sessions (user_id);

create table access_tokens (
    access_token_id text primary key,
    user_id text not null references users (user_id),
    name text not null,
    token_hash text not null,
    expires_at text,
    last_used_at text,
    created_at text not null,
    updated_at text not null,
    constraint access_tokens_token_hash unique (token_hash)
);

create index access_tokens_user on access_tokens (user_id);

create table audit_log (
    audit_id text primary key,
    actor_id text,
    actor_name text not null,
    action text not null,
    target_type text not null,
    target_id text not null,
    before_state text,
    after_state text,
    client_address text not null,
    created_at text not null,
    updated_at text not null
);

create index audit_log_actor on audit_log (actor_id, audit_id);
create index audit_log_action on audit_log (action, audit_id);
create index users_kind_status on users (kind, status, user_id);
