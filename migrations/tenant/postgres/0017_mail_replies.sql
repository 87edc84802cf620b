-- Replies by e-mail that became comments, keyed by a hash of the person and the mail's
-- Message-ID: a mail server that delivers the same reply twice (its connection dropped
-- after the data was taken) makes one comment. Backups do not carry it.
create table mail_replies (
    message_key text primary key,
    comment_id text not null,
    user_id text not null,
    received_at timestamptz not null
);
