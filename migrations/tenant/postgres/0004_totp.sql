-- Two-factor sign-in: each user's TOTP secret (RFC 6238), confirmed once the user has
-- entered a code from it, with the last time step used so no code works twice; and the
-- user's single-use recovery codes, stored hashed.
create table totp_credentials (
    user_id text primary key references users (user_id),
    secret text not null,
    confirmed_at timestamptz,
    last_step bigint not null default 0,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table recovery_codes (
    code_id text primary key,
    user_id text not null references users (user_id),
    code_hash text not null,
    used_at timestamptz,
    created_at timestamptz not null
);

create index recovery_codes_user on recovery_codes (user_id);
