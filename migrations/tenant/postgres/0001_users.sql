-- A brand's people and their invitations.
create table users (
    user_id text primary key,
    email text not null,
    email_key text not null,
    name text not null,
    kind text not null check (kind in ('staff', 'client')),
    role_id text not null,
    company_id text,
    status text not null check (status in ('invited', 'active', 'deactivated')),
    password_hash text,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint users_email_key unique (email_key)
);

create table invitations (
    invitation_id text primary key,
    user_id text not null references users (user_id),
    token_hash text not null,
    expires_at timestamptz not null,
    accepted_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint invitations_token_hash unique (token_hash)
);

create index invitations_user on invitations (user_id);
