-- 0003_search_by_room: let the full-text index select a room's rows.
-- 0001 indexed the text alone, so a search walked the whole room and
-- matched each row.  Now every indexed row also carries one token naming
-- its room (room_key, the hex of the room name: one letters-and-digits
-- token, unique per room), and a search is one FTS5 query,
--	room_key : "<hex>" AND text : ("word1" "word2" ...)
-- answered from the index, newest rowid first.  Within a room, id grows
-- with seq (both are taken in the append's transaction by the one
-- writer), so the rowid order is the seq order.
--
-- detail=column keeps no positions (phrases and NEAR are never used: the
-- store quotes every token on its own), columnsize=0 no lengths (no ranking).
-- The source is a view so that 'rebuild' and 'integrity-check' see exactly
-- what the triggers index: rows whose text is not NULL.
DROP TRIGGER messages_fts_ins;
DROP TRIGGER messages_fts_del;
DROP TRIGGER messages_fts_upd;
DROP TABLE messages_fts;

CREATE VIEW messages_fts_src AS
	SELECT id, text, hex(room) AS room_key FROM messages
	WHERE text IS NOT NULL;

CREATE VIRTUAL TABLE messages_fts USING fts5(
	text,
	room_key,
	content = 'messages_fts_src',
	content_rowid = 'id',
	detail = column,
	columnsize = 0,
	tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_fts_ins AFTER INSERT ON messages
WHEN new.text IS NOT NULL
BEGIN
	INSERT INTO messages_fts (rowid, text, room_key)
	    VALUES (new.id, new.text, hex(new.room));
END;

CREATE TRIGGER messages_fts_del AFTER DELETE ON messages
WHEN old.text IS NOT NULL
BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text, room_key)
	    VALUES ('delete', old.id, old.text, hex(old.room));
END;

CREATE TRIGGER messages_fts_upd AFTER UPDATE OF text ON messages
BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text, room_key)
	    SELECT 'delete', old.id, old.text, hex(old.room)
	    WHERE old.text IS NOT NULL;
	INSERT INTO messages_fts (rowid, text, room_key)
	    SELECT new.id, new.text, hex(new.room) WHERE new.text IS NOT NULL;
END;

INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
