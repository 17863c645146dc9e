-- Checklist items on cards. `board_id` is the card's board, kept on the row so an event can name
-- the board whose members may see it without a join. `rank` orders items within their card (a
-- fractional index, like cards in a column); `version` grows on every change, for stale checks.
-- Deleting a card deletes its items (the repository records a `delete` event for each first).
create table checklist_items (
    id         integer primary key autoincrement,
    board_id   integer not null references boards(id) on delete cascade,
    card_id    integer not null references cards(id) on delete cascade,
    text       text not null,
    done       boolean not null default false,
    rank       text not null,
    version    integer not null default 1,
    created_at text not null,
    updated_at text not null
);
create index checklist_items_by_card on checklist_items(card_id, rank, id);
-- Deleting a board cascades here too; without an index each deleted board would scan the table.
create index checklist_items_by_board on checklist_items(board_id);
