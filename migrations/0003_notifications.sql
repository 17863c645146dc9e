-- Notifications: one row per @mention of a board member in a comment or a card description,
-- written in the same transaction as the text that mentions them. Pruned by age
-- (NOTIFICATIONS_MAX_AGE_DAYS). They go when their card, board or reader goes; a reader who is no
-- longer a member of the board keeps the rows but no longer sees or counts them.
create table notifications (
    id         integer primary key autoincrement,
    user_id    integer not null references users(id) on delete cascade,  -- who is mentioned
    board_id   integer not null references boards(id) on delete cascade,
    card_id    integer not null references cards(id) on delete cascade,
    actor_id   integer references users(id) on delete set null,          -- who mentioned them
    source     text not null check (source in ('comment', 'description')),
    comment_id integer references comments(id) on delete cascade,
    excerpt    text not null,
    created_at text not null,
    read_at    text
);
-- The inbox, newest first, and the unread count (a partial index: read rows cost it nothing).
create index notifications_by_user on notifications(user_id, id);
create index notifications_unread on notifications(user_id, board_id) where read_at is null;
create index notifications_by_time on notifications(created_at);
create index notifications_by_card on notifications(card_id);
create index notifications_by_comment on notifications(comment_id) where comment_id is not null;
