"""Rooms against the real daemon (PROTOCOL.md sections 3 and 4): the joined
reply, history on join, recovery with since/epoch (and its limit), joining
twice, ACLs from the token (exact, prefix*, [], "*", closed default policy),
personal rooms, leave and forget, room name validation."""

import unittest

from chatlib import ChatTestCase, uniq, NO_RATE_LIMITS


class RoomsTest(ChatTestCase):
    config = {"limits": dict(NO_RATE_LIMITS, recovery_limit=5)}

    def filled(self, n, sender=None):
        """A new room holding n messages; returns (room, sender, acks)."""
        room = uniq("room")
        s = sender or self.chat(uniq("filler"), name="Filler")
        s.join(room)
        acks = s.send_many(room, ["f%d" % i for i in range(n)]) if n else []
        return room, s, acks

    # --- joined -------------------------------------------------------------

    def test_joined_fields(self):
        room = uniq("room")
        a = self.chat(uniq("alice"), name="Alice")
        j = a.join(room)
        self.assertEqual(j["room"], room)
        self.assertIsInstance(j["epoch"], str)
        self.assertTrue(j["epoch"])
        self.assertEqual((j["messages"], j["last_seq"], j["read_seq"], j["unread"]),
                         ([], 0, 0, 0))
        self.assertIsInstance(j["members"], list)
        ack = a.send(room, "one")
        b = self.chat(uniq("bob"))
        j2 = b.join(room)
        self.assertEqual(j2["epoch"], j["epoch"])
        self.assertEqual(j2["last_seq"], ack["seq"])
        self.assertEqual(j2["unread"], 1)
        self.assertEqual([m["seq"] for m in j2["messages"]], [ack["seq"]])
        self.assertEqual(j2["messages"][0]["text"], "one")
        blob = repr(j2["members"])
        self.assertIn(a.sub, blob)
        self.assertIn(b.sub, blob)
        self.assertNotIn("recovered", j2)

    def test_join_history_default_and_explicit(self):
        room, s, acks = self.filled(60)
        c = self.chat()
        j = c.join(room)
        self.assertEqual([m["seq"] for m in j["messages"]], list(range(11, 61)))
        j = c.join(room, history=5)
        self.assertEqual([m["seq"] for m in j["messages"]], list(range(56, 61)))
        j = c.join(room, history=0)
        self.assertEqual(j["messages"], [])
        j = c.join(room, history=100)
        self.assertEqual([m["seq"] for m in j["messages"]], list(range(1, 61)))

    def test_join_history_capped_at_200(self):
        room, s, acks = self.filled(205)
        c = self.chat()
        r = c.request("join", room=room, history=205)
        if r["type"] == "joined":
            self.assertEqual([m["seq"] for m in r["messages"]], list(range(6, 206)))
        else:
            self.assertEqual((r["code"], r.get("field")), ("VALIDATION_ERROR", "history"), r)

    # --- recovery -------------------------------------------------------------

    def recover(self, missed, **joinkw):
        """a sees the room, goes away, `missed` messages are sent, a rejoins
        with since/epoch; returns (joined, acks of the missed messages)."""
        room, s, acks = self.filled(3)
        a = self.chat(uniq("rec"))
        j0 = a.join(room)
        last, epoch = j0["last_seq"], j0["epoch"]
        a.close()
        missed_acks = s.send_many(room, ["missed%d" % i for i in range(missed)])
        a2 = self.chat(a.sub)
        kw = {"since": last, "epoch": epoch}
        kw.update(joinkw)
        return a2.join(room, **kw), missed_acks, last

    def test_recovery_exact(self):
        j, missed, last = self.recover(3)
        self.assertIs(j["recovered"], True, j)
        self.assertEqual([m["seq"] for m in j["messages"]], [x["seq"] for x in missed])
        self.assertEqual([m["text"] for m in j["messages"]], ["missed0", "missed1", "missed2"])

    def test_recovery_nothing_missed(self):
        j, missed, last = self.recover(0)
        self.assertIs(j["recovered"], True, j)
        self.assertEqual(j["messages"], [])

    def test_recovery_exactly_limit(self):
        j, missed, last = self.recover(5)
        self.assertIs(j["recovered"], True, j)
        self.assertEqual([m["seq"] for m in j["messages"]], [x["seq"] for x in missed])

    def test_recovery_over_limit(self):
        j, missed, last = self.recover(6, history=4)
        self.assertIs(j["recovered"], False, j)
        self.assertEqual([m["seq"] for m in j["messages"]],
                         [x["seq"] for x in missed[-4:]])

    def test_recovery_over_limit_default_history(self):
        j, missed, last = self.recover(6)
        self.assertIs(j["recovered"], False, j)
        self.assertEqual([m["seq"] for m in j["messages"]], list(range(1, 10)))

    def test_recovery_other_epoch(self):
        j, missed, last = self.recover(2, epoch="not-the-epoch", history=3)
        self.assertIs(j["recovered"], False, j)
        self.assertEqual([m["seq"] for m in j["messages"]], [3, 4, 5])

    # --- joining twice -------------------------------------------------------

    def test_join_twice(self):
        room = uniq("room")
        a = self.chat(uniq("alice"))
        b = self.chat(uniq("bob"))
        b.join(room)
        a.join(room)
        b.wait("presence", room=room, user=a.sub, state="join")
        j = a.join(room)
        self.assertEqual(j["room"], room)
        ack = b.send(room, "only once")
        m = a.wait("message", room=room)
        self.assertEqual(m["seq"], ack["seq"])
        marker = b.send(room, "marker")
        m = a.wait("message", room=room)
        self.assertEqual(m["seq"], marker["seq"], "duplicate delivery: %r" % m)
        self.assertEqual(a.take("message"), [])
        # b saw no second presence join
        frames = b.sync_room(room)
        self.assertEqual([x for x in frames if x.get("type") == "presence"], [])

    # --- ACLs -------------------------------------------------------------------

    def test_acl_exact_and_prefix(self):
        a = self.chat(rooms=["team.a", "project:42:*"])
        a.join("team.a")
        a.join("project:42:chat")
        a.join("project:42:x:y")
        for room in ("team.b", "team.a.x", "team", "project:43:chat", "project:4",
                     "project:42"):
            with self.subTest(room=room):
                a.err("join", "FORBIDDEN", room=room)

    def test_acl_gates_queries(self):
        room, s, acks = self.filled(2)
        a = self.chat(rooms=["elsewhere"])
        a.err("history", "FORBIDDEN", room=room)
        a.err("search", "FORBIDDEN", room=room, q="f0")
        a.err("presence", "FORBIDDEN", room=room)
        a.err("read", "FORBIDDEN", room=room, seq=1)
        # allowed rooms need no join for queries
        b = self.chat()
        r = b.ok("history", "history", room=room)
        self.assertEqual(len(r["messages"]), 2)
        b.ok("presence", "presence", room=room)
        b.ok("search", "search_results", room=room, q="f0")

    def test_acl_empty_list(self):
        a = self.chat(rooms=[])
        for room in ("lobby", uniq("room"), "x"):
            a.err("join", "FORBIDDEN", room=room)

    def test_acl_star(self):
        other = uniq("other")
        a = self.chat(rooms=["*"])
        a.join(uniq("any"))
        a.join("project:1:z")
        a.err("join", "FORBIDDEN", room="user:" + other)

    def test_other_users_personal_room(self):
        a = self.chat()
        b = self.chat()
        a.err("join", "FORBIDDEN", room="user:" + b.sub)
        a.err("history", "FORBIDDEN", room="user:" + b.sub)
        r = a.request("send", room="user:" + b.sub, text="x")
        self.assertEqual(r["type"], "error", r)
        self.assertIn(r["code"], ("FORBIDDEN", "NOT_IN_ROOM"), r)

    # --- leave / forget ----------------------------------------------------------

    def listed(self, c):
        return sorted(x["room"] for x in c.ok("rooms", "rooms")["rooms"])

    def test_leave_keeps_listing_forget_drops(self):
        a = self.chat(uniq("alice"))
        b = self.chat(uniq("bob"))
        r1, r2 = uniq("room"), uniq("room")
        a.join(r1)
        a.join(r2)
        b.join(r1)
        r = a.ok("leave", "left", room=r1)
        self.assertEqual(r["room"], r1)
        b.wait("presence", room=r1, user=a.sub, state="leave")
        self.assertEqual(self.listed(a), sorted([r1, r2]))
        # no longer in the room: no deliveries, no sends
        b.send(r1, "after leave")
        a.err("send", "NOT_IN_ROOM", room=r1, text="x")
        self.assertEqual([x for x in a.sync_room(r1) if x.get("type") == "message"], [])
        r = a.ok("leave", "left", room=r2, forget=True)
        self.assertEqual(self.listed(a), [r1])
        # forget of a room no longer joined on this connection is fine
        a.ok("leave", "left", room=r1, forget=True)
        self.assertEqual(self.listed(a), [])

    def test_leave_not_joined(self):
        a = self.chat()
        a.err("leave", "NOT_IN_ROOM", room=uniq("room"))

    # --- validation ---------------------------------------------------------------

    def test_room_name_validation(self):
        a = self.chat()
        for room in ("", "a b", "x" * 129, "caf\u00e9", "a/b", "a#b", "tab\t",
                     5, None, ["r"]):
            with self.subTest(room=room):
                a.err("join", "VALIDATION_ERROR", room=room, field="room")
        a.err("join", "VALIDATION_ERROR", field="room")      # missing
        ok = "A-z_0.9:@" + "y" * 119
        self.assertEqual(len(ok), 128)
        a.join(ok)
        for t, kw in (("send", {"text": "x"}), ("history", {}),
                      ("leave", {}), ("presence", {})):
            with self.subTest(t=t):
                a.err(t, "VALIDATION_ERROR", room="bad room", field="room", **kw)


class ClosedPolicyTest(ChatTestCase):
    config = {"auth": {"default_room_policy": "closed"},
              "limits": dict(NO_RATE_LIMITS)}

    def test_closed_without_rooms_claim(self):
        a = self.chat()
        a.err("join", "FORBIDDEN", room=uniq("room"))
        a.err("history", "FORBIDDEN", room=uniq("room"))

    def test_closed_with_rooms_claim(self):
        a = self.chat(rooms=["open.*"])
        a.join("open.x")
        a.err("join", "FORBIDDEN", room="closed.x")

    def test_personal_room_still_delivered(self):
        a = self.chat()
        st, body = self.publish({"room": "user:" + a.sub, "text": "note"})
        self.assertEqual(st, 200, body)
        m = a.wait("message", room="user:" + a.sub)
        self.assertEqual(m["text"], "note")


if __name__ == "__main__":
    unittest.main(verbosity=2)
