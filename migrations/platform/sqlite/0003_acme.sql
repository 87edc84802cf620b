-- ACME state shared by every replica: HTTP-01 challenge answers (so whichever replica the
-- CA reaches can answer), and per-domain issuance state with a lease, so two replicas
-- never order the same certificate at once.
create table acme_challenges (
    token text primary key,
    domain text not null,
    key_authorization text not null,
    expires_at text not null,
    created_at text not null,
    updated_at text not null
);

create table acme_orders (
    domain text primary key,
    challenge text check (challenge in ('http-01', 'tls-alpn-01')),
    lease_holder text,
    lease_expires_at text,
    created_at text not null,
    updated_at text not null
);
