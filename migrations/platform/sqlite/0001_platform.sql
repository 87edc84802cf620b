-- The platform store: what all brands share. Never tenant data.
create table tenants (
    tenant_id text primary key,
    domain text not null,
    brand text not null,
    state text not null check (state in ('pending', 'active', 'suspended', 'removed')),
    created_at text not null,
    updated_at text not null,
    constraint tenants_domain unique (domain)
);

create index tenants_state_created on tenants (state, created_at);

create table licence_bookkeeping (
    licence_bookkeeping_id integer primary key check (licence_bookkeeping_id = 1),
    last_seen text not null,
    created_at text not null,
    updated_at text not null
);
