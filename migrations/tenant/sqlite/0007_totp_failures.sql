-- Wrong two-factor codes in a row: after ten, only a recovery code signs in (and resets
-- the count), so a code cannot be guessed however long someone with the password tries.
alter table totp_credentials add column failures integer not null default 0;
