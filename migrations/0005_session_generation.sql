-- Sessions signed in before a password reset stop working.
--
-- A session remembers its user's generation at sign-in; a reset moves the user's generation on, so
-- every older session (its user read fresh on each request, in this process or another) no longer
-- matches, and the open-socket check closes the sockets opened with one.
alter table users add column session_generation integer not null default 0;
