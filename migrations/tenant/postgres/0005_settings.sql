-- A brand's settings, one JSON document per area (security now; mail and payments later).
create table brand_settings (
    area text primary key,
    value text not null,
    updated_at timestamptz not null
);
