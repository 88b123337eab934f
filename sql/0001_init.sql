-- 0001_init: parley's first schema.  Shipped migrations are never edited;
-- change the schema with a new numbered file.

-- Marks the file as parley's so store_open() refuses someone else's database.
PRAGMA application_id = 1347570777;	-- 0x50524c59, "PRLY"

-- One row per room.  last_seq is the only seq counter: appends bump it in
-- the same transaction as the insert, so seq stays gap-free.  epoch changes
-- only when a room's history is lost, so clients never mix two histories.
CREATE TABLE rooms (
	room		TEXT PRIMARY KEY,
	epoch		TEXT NOT NULL,
	last_seq	INTEGER NOT NULL DEFAULT 0,
	created_ts	INTEGER			-- ms since the Unix epoch
) WITHOUT ROWID;

-- Chat messages (kind 0) and published events (kind 1) share one seq space.
-- A deleted row stays, with deleted = 1 and text/data NULL, so seq keeps
-- no holes.  id is the rowid the full-text index points at.
CREATE TABLE messages (
	id		INTEGER PRIMARY KEY,
	room		TEXT NOT NULL REFERENCES rooms(room),
	seq		INTEGER NOT NULL,
	msg_id		TEXT NOT NULL UNIQUE,	-- 32 hex digits, random
	user		TEXT NOT NULL,
	name		TEXT NOT NULL DEFAULT '',
	text		TEXT,			-- NULL: event, or deleted
	ts		INTEGER NOT NULL,	-- ms since the Unix epoch
	client_msg_id	TEXT,
	edited_ts	INTEGER,
	deleted		INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
	kind		INTEGER NOT NULL DEFAULT 0 CHECK (kind IN (0, 1)),
	event		TEXT,			-- kind 1: event name
	data		TEXT,			-- kind 1: JSON text
	UNIQUE (room, seq)
);

-- send idempotency: one row per (room, user, client_msg_id).
CREATE UNIQUE INDEX messages_client_msg_id
	ON messages (room, user, client_msg_id)
	WHERE client_msg_id IS NOT NULL;

-- One row per user, message and emoji; counts are computed.
CREATE TABLE reactions (
	room		TEXT NOT NULL,
	seq		INTEGER NOT NULL,
	user		TEXT NOT NULL,
	emoji		TEXT NOT NULL,
	PRIMARY KEY (room, seq, user, emoji),
	FOREIGN KEY (room, seq) REFERENCES messages (room, seq)
		ON DELETE CASCADE
) WITHOUT ROWID;

-- No foreign key to rooms: a user may mark a personal room read before
-- anything was ever published there.
CREATE TABLE read_markers (
	room		TEXT NOT NULL,
	user		TEXT NOT NULL,
	read_seq	INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (room, user)
) WITHOUT ROWID;

-- The rooms a user has joined, for the `rooms` request; kept until a
-- `leave` with forget.
CREATE TABLE memberships (
	user		TEXT NOT NULL,
	room		TEXT NOT NULL,
	PRIMARY KEY (user, room)
) WITHOUT ROWID;

-- Full-text index over message text, external content: the text lives only
-- in messages.  The triggers keep one invariant: a row is indexed exactly
-- when its text is not NULL (deleting sets text NULL, so it leaves the index).
CREATE VIRTUAL TABLE messages_fts USING fts5(
	text,
	content = 'messages',
	content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_fts_ins AFTER INSERT ON messages
WHEN new.text IS NOT NULL
BEGIN
	INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;

CREATE TRIGGER messages_fts_del AFTER DELETE ON messages
WHEN old.text IS NOT NULL
BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text)
	    VALUES ('delete', old.id, old.text);
END;

CREATE TRIGGER messages_fts_upd AFTER UPDATE OF text ON messages
BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text)
	    SELECT 'delete', old.id, old.text WHERE old.text IS NOT NULL;
	INSERT INTO messages_fts (rowid, text)
	    SELECT new.id, new.text WHERE new.text IS NOT NULL;
END;
