-- 0005_search_after_commit: index message text after the commit, not in it.
-- Until now the trigger messages_fts_ins indexed each message inside the
-- write that stored it: most of the CPU an acknowledged send cost.  Now
-- the broker indexes committed rows afterwards, in small slices of its own
-- (store_index_step(), broker/batch.c), and search_indexed.upto says how
-- far: every messages row with id <= upto is in messages_fts exactly as
-- its text is now, and no row above it is.  A search reads the index for
-- rows up to upto and scans the rows above it (the not yet indexed tail,
-- as long as the lag) itself, so it never misses a message.
--
-- Edits and deletes of indexed rows still change the index in their own
-- transaction (the triggers below, limited to id <= upto); a row above
-- upto is indexed later with whatever text it has then.  Every row was
-- indexed by 0003's triggers up to now, so upto starts at the last id: no
-- rebuild.
DROP TRIGGER messages_fts_ins;
DROP TRIGGER messages_fts_del;
DROP TRIGGER messages_fts_upd;

CREATE TABLE search_indexed (
	one		INTEGER PRIMARY KEY CHECK (one = 1),
	upto		INTEGER NOT NULL
);
INSERT INTO search_indexed (one, upto)
	VALUES (1, coalesce((SELECT max(id) FROM messages), 0));

-- 'rebuild' and 'integrity-check' see what the index should hold.
DROP VIEW messages_fts_src;
CREATE VIEW messages_fts_src AS
	SELECT id, lower(hex(room)) || ' ' || text AS text FROM messages
	WHERE text IS NOT NULL AND id <= (SELECT upto FROM search_indexed);

CREATE TRIGGER messages_fts_del AFTER DELETE ON messages
WHEN old.text IS NOT NULL AND old.id <= (SELECT upto FROM search_indexed)
BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text)
	    VALUES ('delete', old.id, lower(hex(old.room)) || ' ' || old.text);
END;

CREATE TRIGGER messages_fts_upd AFTER UPDATE OF text ON messages
WHEN old.id <= (SELECT upto FROM search_indexed)
BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text)
	    SELECT 'delete', old.id, lower(hex(old.room)) || ' ' || old.text
	    WHERE old.text IS NOT NULL;
	INSERT INTO messages_fts (rowid, text)
	    SELECT new.id, lower(hex(new.room)) || ' ' || new.text
	    WHERE new.text IS NOT NULL;
END;
