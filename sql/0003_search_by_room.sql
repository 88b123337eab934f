-- 0003_search_by_room: let the full-text index select a room's rows.
-- 0001 indexed the text alone, so a search walked the whole room and
-- matched each row.  Now every word is indexed under its room: the indexed
-- text is "<room key> <text>" (the room key is lower(hex(room)), one token
-- of letters and digits, unique per room) and the tokenizer "parley_room"
-- (broker/store_fts.c, registered by the store on every connection) emits
-- each word of the text as "<room key>_<word>".  A search is one FTS5
-- query of such tokens, answered from index lists that hold only that
-- room's messages, newest rowid first.  Within a room, id grows with seq
-- (both are taken in the append's transaction by the one writer), so the
-- rowid order is the seq order.
--
-- detail=none keeps no positions or columns (the store quotes every word
-- alone: no phrases, NEAR or column filters), columnsize=0 no lengths (no
-- ranking).  The source is a view so that 'rebuild' and 'integrity-check'
-- see exactly what the triggers index: rows whose text is not NULL.
DROP TRIGGER messages_fts_ins;
DROP TRIGGER messages_fts_del;
DROP TRIGGER messages_fts_upd;
DROP TABLE messages_fts;

CREATE VIEW messages_fts_src AS
	SELECT id, lower(hex(room)) || ' ' || text AS text FROM messages
	WHERE text IS NOT NULL;

CREATE VIRTUAL TABLE messages_fts USING fts5(
	text,
	content = 'messages_fts_src',
	content_rowid = 'id',
	detail = none,
	columnsize = 0,
	tokenize = 'parley_room remove_diacritics 2'
);

CREATE TRIGGER messages_fts_ins AFTER INSERT ON messages
WHEN new.text IS NOT NULL
BEGIN
	INSERT INTO messages_fts (rowid, text)
	    VALUES (new.id, lower(hex(new.room)) || ' ' || new.text);
END;

CREATE TRIGGER messages_fts_del AFTER DELETE ON messages
WHEN old.text IS NOT NULL
BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text)
	    VALUES ('delete', old.id, lower(hex(old.room)) || ' ' || old.text);
END;

CREATE TRIGGER messages_fts_upd AFTER UPDATE OF text ON messages
BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text)
	    SELECT 'delete', old.id, lower(hex(old.room)) || ' ' || old.text
	    WHERE old.text IS NOT NULL;
	INSERT INTO messages_fts (rowid, text)
	    SELECT new.id, lower(hex(new.room)) || ' ' || new.text
	    WHERE new.text IS NOT NULL;
END;

INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
