-- Liveboard's schema. Times are RFC 3339 text in UTC; ranks are fractional-index strings
-- that sort with plain byte comparison, so moving a card rewrites one row. Ids are AUTOINCREMENT:
-- events outlive their rows, so an id must never be given to a new record after a delete.

-- People who can sign in. The password is an Argon2id PHC string.
create table users (
    id            integer primary key autoincrement,
    username      text not null unique collate nocase,
    password_hash text not null,
    is_admin      boolean not null default false,
    created_at    text not null
);

-- A board; its "done" column decides what counts as an active card.
create table boards (
    id             integer primary key autoincrement,
    name           text not null,
    owner_id       integer not null references users(id),
    done_column_id integer references columns(id) on delete set null,
    created_at     text not null,
    updated_at     text not null
);

-- Who may see and change a board.
create table board_members (
    board_id integer not null references boards(id) on delete cascade,
    user_id  integer not null references users(id) on delete cascade,
    role     text not null check (role in ('owner', 'member')),
    added_at text not null,
    primary key (board_id, user_id)
);
create index board_members_by_user on board_members(user_id);

create table columns (
    id         integer primary key autoincrement,
    board_id   integer not null references boards(id) on delete cascade,
    name       text not null,
    rank       text not null,
    created_at text not null,
    updated_at text not null
);
create index columns_by_board on columns(board_id, rank);

create table cards (
    id          integer primary key autoincrement,
    board_id    integer not null references boards(id) on delete cascade,
    column_id   integer not null references columns(id) on delete cascade,
    title       text not null,
    description text not null default '',
    assignee_id integer references users(id) on delete set null,
    labels      text not null default '[]', -- a JSON array of strings
    rank        text not null,
    version     integer not null default 1,
    created_at  text not null,
    updated_at  text not null
);
create index cards_by_column on cards(column_id, rank, id);
create index cards_by_board on cards(board_id);

create table comments (
    id         integer primary key autoincrement,
    board_id   integer not null references boards(id) on delete cascade,
    card_id    integer not null references cards(id) on delete cascade,
    author_id  integer not null references users(id) on delete cascade,
    body       text not null,
    created_at text not null
);
create index comments_by_card on comments(card_id, id);

-- The outbox: one row per change, written in the change's own transaction.
-- `seq` is the order every client sees. No foreign keys: events outlive what they describe.
create table events (
    seq        integer primary key autoincrement,
    board_id   integer,
    collection text not null,
    action     text not null check (action in ('create', 'update', 'delete')),
    record_id  integer not null,
    actor_id   integer,
    before     text, -- JSON of the record before the change (update, delete)
    after      text, -- JSON of the record after the change (create, update)
    created_at text not null
);
create index events_by_board on events(board_id, seq);
create index events_by_time on events(created_at);

-- The identity of this event stream. A new database gets a new epoch, so a client holding
-- a sequence number from another stream is told to resync instead of replaying nonsense.
-- `pruned_through` is the highest seq deleted by retention: replay from below it is impossible.
create table stream (
    id             integer primary key check (id = 1),
    epoch          text not null,
    pruned_through integer not null default 0
);
insert into stream (id, epoch) values (1, lower(hex(randomblob(8))));

-- Personal API tokens; only a SHA-256 of the token is kept.
create table api_tokens (
    id           integer primary key autoincrement,
    user_id      integer not null references users(id) on delete cascade,
    name         text not null,
    token_hash   text not null unique,
    created_at   text not null,
    last_used_at text
);
create index api_tokens_by_user on api_tokens(user_id);
