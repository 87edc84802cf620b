-- What invoices need after they are sent: the reminders mailed (each step once, whichever
-- replica sweeps), the payment providers' callbacks handled (each event once), and the
-- schedules that make an invoice every month, quarter or year.
create table invoice_reminders (
    -- The invoice and the reminder's step: 'abc123 2' is its second reminder day.
    invoice_reminder_id text primary key,
    invoice_id text not null references invoices (invoice_id),
    created_at text not null,
    updated_at text not null
);

create index invoice_reminders_invoice on invoice_reminders (invoice_id);

-- A provider's callback, by the provider and its event id ('stripe evt_123'): one that
-- comes again is answered and changes nothing.
create table payment_events (
    payment_event_id text primary key,
    invoice_id text references invoices (invoice_id),
    kind text not null,
    created_at text not null,
    updated_at text not null
);

create table recurring_invoices (
    recurring_invoice_id text primary key,
    company_id text not null references companies (company_id),
    project_id text references projects (project_id),
    -- What each invoice holds (JSON: currency, lines, notes, terms, payment days).
    template text not null,
    frequency text not null check (frequency in ('monthly', 'quarterly', 'yearly')),
    next_on text not null,
    ends_on text,
    send_now integer not null,
    status text not null check (status in ('active', 'paused', 'ended')),
    last_invoice_id text references invoices (invoice_id),
    created_by text,
    created_at text not null,
    updated_at text not null
);

create index recurring_invoices_due on recurring_invoices (status, next_on);

-- The outbox takes invoice mails and reminders too (SQLite cannot change a check: the
-- table is made again with the same rows).
create table outbox_new (
    mail_id text primary key,
    kind text not null check (kind in ('invitation', 'password_reset', 'two_factor_changed', 'deactivated', 'access_expiring', 'notification', 'digest', 'invoice')),
    recipient text not null,
    params text not null,
    status text not null check (status in ('pending', 'sent', 'abandoned')),
    attempts integer not null default 0,
    next_attempt_at text not null,
    claimed_by text,
    claimed_until text,
    last_error text,
    sent_at text,
    created_at text not null,
    updated_at text not null
);
insert into outbox_new select mail_id, kind, recipient, params, status, attempts, next_attempt_at, claimed_by, claimed_until, last_error, sent_at, created_at, updated_at from outbox;
drop table outbox;
alter table outbox_new rename to outbox;
create index outbox_due on outbox (status, next_attempt_at);
