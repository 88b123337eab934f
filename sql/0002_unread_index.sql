-- 0002_unread_index: answer unread counts from an index alone.
-- `unread` counts a room's rows after read_seq not sent by the user and not
-- deleted.  With only UNIQUE (room, seq) every counted row costs a table
-- lookup to read user and deleted; this covering index avoids that, which
-- matters for a user who has not read a busy room in a long time.
CREATE INDEX messages_unread ON messages (room, seq, user, deleted);
