-- Mail waiting to be sent, written in the same transaction as the action that causes it
-- (so no mail is lost to a crash or an SMTP outage), and password reset links.
create table outbox (
    mail_id text primary key,
    kind text not null check (kind in ('invitation', 'password_reset', 'two_factor_changed', 'deactivated', 'access_expiring')),
    recipient text not null,
    -- What the template needs (JSON); links' secrets are erased once the mail is sent.
    params text not null,
    status text not null check (status in ('pending', 'sent', 'abandoned')),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null,
    claimed_by text,
    claimed_until timestamptz,
    last_error text,
    sent_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index outbox_due on outbox (status, next_attempt_at);

create table password_resets (
    reset_id text primary key,
    user_id text not null references users (user_id),
    token_hash text not null,
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null,
    constraint password_resets_token_hash unique (token_hash)
);

create index password_resets_user on password_resets (user_id);
