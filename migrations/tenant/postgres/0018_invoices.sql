-- Invoices and credit notes of the brand's client companies, their lines, payments and
-- history, and the running numbers they are given. Amounts are whole minor units of the
-- invoice's currency (ISO 4217: cents for EUR, yen for JPY); the line's numbers are kept as
-- the exact decimals typed. Dates are YYYY-MM-DD text on both backends. A draft has no
-- number; a number, once given at sending, is never given to another invoice of its kind.
alter table companies add column currency text;
alter table companies add column country text;

create table invoices (
    invoice_id text primary key,
    kind text not null check (kind in ('invoice', 'credit_note')),
    company_id text not null references companies (company_id),
    project_id text references projects (project_id),
    corrects_id text references invoices (invoice_id),
    number text,
    status text not null check (status in ('draft', 'sent', 'partially_paid', 'paid', 'cancelled')),
    currency text not null,
    issued_on text not null,
    due_on text not null,
    notes text not null,
    terms text not null,
    -- The brand's legal details and the company's as printed (JSON), fixed at sending.
    seller text not null,
    buyer text not null,
    net bigint not null,
    tax bigint not null,
    total bigint not null,
    paid bigint not null,
    created_by text,
    sent_at timestamptz,
    cancelled_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint invoices_number unique (kind, number)
);

create index invoices_company on invoices (company_id, invoice_id);
create index invoices_status on invoices (status, due_on);

create table invoice_lines (
    invoice_line_id text primary key,
    invoice_id text not null references invoices (invoice_id) on delete cascade,
    position bigint not null,
    description text not null,
    quantity text not null,
    unit_price text not null,
    tax_rate text not null,
    discount text not null,
    net bigint not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index invoice_lines_invoice on invoice_lines (invoice_id, position);

-- Money received for an invoice: recorded by hand (succeeded at once) or through a payment
-- provider (processing until its signed callback says otherwise).
create table invoice_payments (
    invoice_payment_id text primary key,
    invoice_id text not null references invoices (invoice_id),
    amount bigint not null,
    paid_on text not null,
    method text not null,
    reference text not null,
    status text not null check (status in ('processing', 'succeeded', 'failed')),
    provider_reference text,
    recorded_by text,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index invoice_payments_invoice on invoice_payments (invoice_id, created_at);

-- What happened to an invoice, with who and when: made, changed, sent, mailed, paid.
create table invoice_history (
    invoice_history_id text primary key,
    invoice_id text not null references invoices (invoice_id) on delete cascade,
    action text not null,
    detail text not null,
    actor_id text,
    actor_name text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index invoice_history_invoice on invoice_history (invoice_id, created_at);

-- The next running number per kind and numbering period ('invoice 2026', 'credit_note
-- 2026-03', 'invoice' for a pattern without dates). Taken in the sending transaction, so a
-- send that fails leaves no gap, and two sends at once wait for each other.
create table invoice_counters (
    invoice_counter_id text primary key,
    next_number bigint not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);
