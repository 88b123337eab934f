-- 0004_unread_counts: unread counts without counting rows.
-- `unread` is the number of a room's rows with seq > read_seq that another
-- user sent and that are not deleted.  Seq has no holes, so with
-- L = rooms.last_seq and R = read_seq (0 <= R <= L):
--	unread = (L - R) - own_after - others_deleted_after
-- own_after: the user's own rows after R, deleted or not.  user_n numbers
--   a user's rows in a room 1, 2, 3... in seq order (rows are never removed,
--   so the numbers never change): own_after = the user's last user_n minus
--   user_n of their last row at or before R, two seeks in messages_user.
-- others_deleted_after: deletions happen in any seq order, so they are kept
--   in a Fenwick tree over seq per room (user '', every author) and per
--   (room, author): node i >= 1 counts the deleted seqs in
--   (i - lowbit(i), i], node 0 holds the total and node -1 the highest
--   deleted seq.  Deleted after R: 0 when R >= node -1 (the usual case: a
--   reader is near the end, deletions are older), else total - prefix(R),
--   popcount(R) lookups.  Seqs above 2^40 are not counted (never reached).
-- So an unread count costs a few index lookups however much is unread.
-- The count-all-rows index of 0002 is no longer used.
DROP INDEX messages_unread;

ALTER TABLE messages ADD COLUMN user_n INTEGER NOT NULL DEFAULT 0;

UPDATE messages SET user_n = x.n
FROM (SELECT id, row_number() OVER (PARTITION BY room, user ORDER BY seq)
    AS n FROM messages) AS x
WHERE messages.id = x.id;

CREATE INDEX messages_user ON messages (room, user, seq, user_n);

-- user '' is every author ('' is never a user: sub is never empty).
CREATE TABLE unread_deleted (
	room		TEXT NOT NULL,
	user		TEXT NOT NULL,
	node		INTEGER NOT NULL,
	n		INTEGER NOT NULL,
	PRIMARY KEY (room, user, node)
) WITHOUT ROWID;

WITH RECURSIVE
	del(room, user, seq) AS (
		SELECT room, user, seq FROM messages
		WHERE deleted = 1 AND seq BETWEEN 1 AND 1099511627776
		UNION ALL
		SELECT room, '', seq FROM messages
		WHERE deleted = 1 AND seq BETWEEN 1 AND 1099511627776),
	k(room, user, i) AS (
		SELECT room, user, seq FROM del
		UNION ALL
		SELECT room, user, i + (i & -i) FROM k
		WHERE i + (i & -i) <= 1099511627776)
INSERT INTO unread_deleted (room, user, node, n)
	SELECT room, user, i, count(*) FROM (
		SELECT room, user, i FROM k
		UNION ALL
		SELECT room, user, 0 FROM del)
	GROUP BY room, user, i
	UNION ALL
	SELECT room, user, -1, max(seq) FROM del GROUP BY room, user;

-- A row is deleted once (the store never undeletes).
CREATE TRIGGER messages_unread_deleted AFTER UPDATE OF deleted ON messages
WHEN old.deleted = 0 AND new.deleted = 1 AND
    new.seq BETWEEN 1 AND 1099511627776
BEGIN
	INSERT INTO unread_deleted (room, user, node, n)
	    WITH RECURSIVE k(i) AS (
		SELECT new.seq
		UNION ALL
		SELECT i + (i & -i) FROM k WHERE i + (i & -i) <= 1099511627776)
	    SELECT new.room, u.user, nodes.i, CASE nodes.i WHEN -1 THEN new.seq
		ELSE 1 END
	    FROM (SELECT -1 AS i UNION ALL SELECT 0 UNION ALL
		SELECT i FROM k) AS nodes,
		(SELECT '' AS user UNION ALL SELECT new.user) AS u
	    WHERE 1
	    ON CONFLICT (room, user, node) DO UPDATE SET n = CASE node
		WHEN -1 THEN max(n, excluded.n) ELSE n + 1 END;
END;
