-- What issuing certificates from an ACME CA needs to survive a restart and to be shared by
-- every replica: the platform's account at each CA, the kind of each challenge answer (so
-- TLS-ALPN-01 answers are found by domain), each domain's renewal time and issuer, and
-- each domain's failures, back-off and last error.
create table acme_accounts (
    directory_url text primary key,
    credentials text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

alter table acme_challenges add column kind text not null default 'http-01'
    check (kind in ('http-01', 'tls-alpn-01'));

alter table acme_orders add column failures integer not null default 0;
alter table acme_orders add column next_attempt_at timestamptz;
alter table acme_orders add column last_attempt_at timestamptz;
alter table acme_orders add column last_error text;
alter table acme_orders add column issued integer not null default 0;

alter table certificates add column not_before timestamptz;
alter table certificates add column renew_at timestamptz;
alter table certificates add column issuer text;
