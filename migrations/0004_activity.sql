-- Activity and "since your last visit".
--
-- Each event row carries its sentence ("bob moved “Fix login” from Todo to Doing"), written by the
-- writer in the change's own transaction, so the names in it are those of that moment. An empty
-- summary means the change shows nothing a person would notice (the activity leaves it out); rows
-- written before this migration have none (null) and are shown with a generic sentence.
alter table events add column summary text;

-- The newest event each user had seen of each board when they last opened it (or when its live
-- page closed): what "7 changes since your last visit" counts from.
create table board_visits (
    user_id       integer not null references users(id) on delete cascade,
    board_id      integer not null references boards(id) on delete cascade,
    last_seen_seq integer not null,
    seen_at       text not null,
    primary key (user_id, board_id)
);
create index board_visits_by_board on board_visits(board_id);
