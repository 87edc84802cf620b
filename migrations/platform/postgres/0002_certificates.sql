-- TLS certificates per domain (and the fallback for clients without SNI), so every
-- replica serves the same ones.
create table certificates (
    domain text primary key,
    source text not null check (source in ('self-signed', 'acme', 'imported')),
    cert_pem text not null,
    key_pem text not null,
    not_after timestamptz not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);
