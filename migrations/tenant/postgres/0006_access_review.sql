-- When admins were last warned that a user's access is about to end (cleared when the end
-- date changes), so each end date is announced once.
alter table users add column access_expiry_warned_at timestamptz;
