"""Server-side publishing and personal rooms against the real daemon
(PROTOCOL.md sections 6 and 7): POST /api/publish for messages, stored and
live-only events, its errors; /healthz; offline delivery to user:<sub> and
marking it read without joining."""

import json
import os
import signal
import unittest

from chatlib import retry_unavailable, wait_for, ChatTestCase, ISO_MS, uniq


class PublishTest(ChatTestCase):

    def members_of(self, room, n=2):
        cs = [self.chat(uniq("m%d" % i), name="M%d" % i) for i in range(n)]
        for c in cs:
            c.join(room)
        return cs

    def test_publish_text(self):
        room = uniq("room")
        a, b = self.members_of(room)
        st, body = self.publish({"room": room, "text": "from the server"})
        self.assertEqual(st, 200, body)
        self.assertIsInstance(body["seq"], int)
        self.assertIn("msg_id", body)
        for c in (a, b):
            m = c.wait("message", room=room, seq=body["seq"])
            self.assertEqual(m["text"], "from the server")
            self.assertEqual(m["user"], "system")
            self.assertEqual(m["msg_id"], body["msg_id"])
            self.assertRegex(m["ts"], ISO_MS)
        h = a.ok("history", "history", room=room)["messages"]
        self.assertEqual([(x["seq"], x["text"], x["user"]) for x in h],
                         [(body["seq"], "from the server", "system")])
        # sequenced together with ordinary sends
        ack = a.send(room, "user message")
        self.assertEqual(ack["seq"], body["seq"] + 1)

    def test_publish_as_user(self):
        room = uniq("room")
        a, = self.members_of(room, 1)
        st, body = self.publish({"room": room, "text": "hi", "user": "bot-7",
                                 "name": "Build Bot"})
        self.assertEqual(st, 200, body)
        m = a.wait("message", room=room, seq=body["seq"])
        self.assertEqual((m["user"], m["name"]), ("bot-7", "Build Bot"))

    def test_publish_to_room_nobody_joined(self):
        room = uniq("room")
        st, body = self.publish({"room": room, "text": "first"})
        self.assertEqual(st, 200, body)
        self.assertEqual(body["seq"], 1)
        c = self.chat()
        j = c.join(room)
        self.assertEqual([m["text"] for m in j["messages"]], ["first"])

    def test_publish_event(self):
        room = uniq("room")
        a, b = self.members_of(room)
        data = {"id": 42, "title": "t\u00e9sk", "tags": ["x"], "n": None}
        st, body = self.publish({"room": room, "event": "task.created", "data": data})
        self.assertEqual(st, 200, body)
        self.assertIsInstance(body["seq"], int)
        for c in (a, b):
            ev = c.wait("event", room=room)
            self.assertEqual(set(ev), {"type", "room", "seq", "event", "data", "ts"})
            self.assertEqual((ev["seq"], ev["event"], ev["data"]),
                             (body["seq"], "task.created", data))
            self.assertRegex(ev["ts"], ISO_MS)
        h = a.ok("history", "history", room=room)["messages"]
        self.assertEqual(len(h), 1)
        self.assertEqual((h[0]["seq"], h[0]["event"], h[0]["data"]),
                         (body["seq"], "task.created", data))
        self.assertNotIn("text", h[0])
        ack = a.send(room, "next")
        self.assertEqual(ack["seq"], body["seq"] + 1)

    def test_publish_event_not_persisted(self):
        room = uniq("room")
        a, b = self.members_of(room)
        before = a.send(room, "before")
        st, body = self.publish({"room": room, "event": "cursor.moved",
                                 "data": {"x": 1}, "persist": False})
        self.assertEqual(st, 200, body)
        self.assertEqual(body, {"delivered": 2})
        for c in (a, b):
            ev = c.wait("event", room=room)
            self.assertEqual((ev["event"], ev["data"]), ("cursor.moved", {"x": 1}))
            self.assertNotIn("seq", ev)
        h = a.ok("history", "history", room=room)["messages"]
        self.assertEqual([x["seq"] for x in h], [before["seq"]])
        self.assertEqual(a.send(room, "after")["seq"], before["seq"] + 1)
        st, body = self.publish({"room": uniq("empty"), "event": "e", "data": 1,
                                 "persist": False})
        self.assertEqual((st, body), (200, {"delivered": 0}))

    def test_auth_401(self):
        room = uniq("room")
        for key in (False, "wrong-key", self.daemon.api_key + "x"):
            with self.subTest(key=key):
                st, body = self.publish({"room": room, "text": "x"}, key=key)
                self.assertEqual(st, 401, body)
        c = self.chat()
        self.assertEqual(c.ok("history", "history", room=room)["messages"], [])

    def test_bad_requests_400(self):
        room = uniq("room")
        bad = [b"{", b"", b"[]", b"\"text\"", b"\xff\xfe",
               {"text": "no room"},
               {"room": "", "text": "x"},
               {"room": "bad room", "text": "x"},
               {"room": room},
               {"room": room, "text": ""},
               {"room": room, "text": "a" * 4001},
               {"room": room, "text": "a\rb"},
               {"room": room, "text": "a\x00b"},
               {"room": room, "text": 5},
               {"room": room, "text": "x", "event": "e", "data": {}},
               {"room": room, "event": ""},
               {"room": room, "text": "x", "user": "bad user"},
               ]
        for b in bad:
            with self.subTest(body=b if not isinstance(b, dict) else json.dumps(b)[:60]):
                st, body = self.publish(b)
                self.assertEqual(st, 400, body)
                self.assertIsInstance(body, dict, "400 without a JSON error body")
        # a lone surrogate in raw JSON
        st, body = self.publish(('{"room":"%s","text":"a\\ud800"}' % room).encode())
        self.assertEqual(st, 400, body)
        # nothing of it was stored
        c = self.chat()
        self.assertEqual(c.ok("history", "history", room=room)["messages"], [])
        st, body = self.publish({"room": room, "text": "\u00e9" * 4000})
        self.assertEqual(st, 200, body)

    def test_healthz(self):
        st, hdrs, data = self.daemon.api_request("GET", "/healthz")
        self.assertEqual(st, 200, data)
        self.assertEqual(json.loads(data)["status"], "ok")

    # --- personal rooms --------------------------------------------------

    def test_offline_delivery(self):
        sub = uniq("off")
        proom = "user:" + sub
        st, b1 = self.publish({"room": proom, "text": "you have mail"})
        self.assertEqual(st, 200, b1)
        st, b2 = self.publish({"room": proom, "event": "invite", "data": {"room": "r"}})
        self.assertEqual(st, 200, b2)
        c = self.chat(sub)
        m = c.recv_json()
        self.assertEqual((m["type"], m["room"], m["seq"], m["text"]),
                         ("message", proom, b1["seq"], "you have mail"), m)
        ev = c.recv_json()
        self.assertEqual((ev["type"], ev["room"], ev["seq"], ev["event"], ev["data"]),
                         ("event", proom, b2["seq"], "invite", {"room": "r"}), ev)
        # the personal room is joined automatically but not listed
        self.assertNotIn(proom, [x["room"] for x in c.ok("rooms", "rooms")["rooms"]])
        # a second connection before read gets them too
        c2 = self.chat(sub)
        # (a history request is a broker round trip: the offline items,
        # which come from the broker, are in before its reply)
        self.assertEqual([x.get("seq") for x in c2.sync_room(proom)],
                         [b1["seq"], b2["seq"]])
        # mark read without joining
        r = c.ok("read", "read", room=proom, seq=b2["seq"])
        self.assertEqual((r["room"], r["seq"]), (proom, b2["seq"]))
        c3 = self.chat(sub)
        self.assertEqual([x for x in c3.sync_room(proom)
                          if x["type"] in ("message", "event")], [])
        # live delivery to every connection of the user
        st, b3 = self.publish({"room": proom, "text": "live"})
        self.assertEqual(st, 200, b3)
        for x in (c, c2, c3):
            self.assertEqual(x.wait("message", room=proom)["seq"], b3["seq"])
        # partially read: only the newer item comes back
        c.ok("read", "read", room=proom, seq=b2["seq"])
        c4 = self.chat(sub)
        got = [x for x in c4.sync_room(proom) if x["type"] in ("message", "event")]
        self.assertEqual([x["seq"] for x in got], [b3["seq"]])

    def test_personal_room_not_for_others(self):
        sub = uniq("priv")
        self.publish({"room": "user:" + sub, "text": "private"})
        other = self.chat()
        self.assertEqual([x for x in other.sync_room("user:" + other.sub)
                          if x["type"] in ("message", "event")], [])
        other.err("history", "FORBIDDEN", room="user:" + sub)
        other.err("read", "FORBIDDEN", room="user:" + sub, seq=1)
        other.err("join", "FORBIDDEN", room="user:" + sub)

    def test_personal_history_readable_by_owner(self):
        sub = uniq("own")
        st, b1 = self.publish({"room": "user:" + sub, "text": "n1"})
        c = self.chat(sub)
        h = c.ok("history", "history", room="user:" + sub)["messages"]
        self.assertEqual([x["text"] for x in h], ["n1"])


class BacklogAcrossRestartTest(ChatTestCase):
    daemon_scope = "test"

    def test_auth_after_broker_restart_gets_backlog(self):
        """A connection that authenticates only after the broker came back
        (it was open, unauthenticated, during the restart) still gets the
        personal backlog; one that had it already gets it only once."""
        sub = uniq("late")
        proom = "user:" + sub
        st, b1 = self.publish({"room": proom, "text": "while away"})
        self.assertEqual(st, 200, b1)
        had = self.chat(sub)                # gets the backlog now
        self.assertEqual(had.recv_json()["seq"], b1["seq"])
        late = self.open(None, method=None)  # no token yet
        self.restart_broker()
        late.send_json({"type": "auth", "token": self.token(sub)})
        self.assertEqual(late.recv_json(timeout=10)["type"], "welcome")
        m = late.wait("message", timeout=10, room=proom)
        self.assertEqual((m["seq"], m["text"]), (b1["seq"], "while away"))
        # the connection that had it: a round trip, and nothing again
        got = retry_unavailable(lambda: had.request("history", room=proom))
        self.assertEqual(got["type"], "history", got)
        self.assertEqual(had.take("message", room=proom), [])


class NoApiKeyTest(ChatTestCase):
    """A missing [api] key_file (here: removed, then SIGHUP, so a new
    broker reads it): the API still answers /healthz and refuses every
    publish with 401."""

    def test_publish_refused_health_ok(self):
        os.remove(self.daemon.config["api"]["key_file"])
        os.kill(self.daemon.pid, signal.SIGHUP)
        wait_for(lambda: any(e.get("ev") == "reload_done"
                             for e in self.daemon.log_events()) or None, 20,
                 msg="reload_done logged")
        st, _, data = self.daemon.api_request("GET", "/healthz")
        self.assertEqual(st, 200, data)
        st, body = self.publish({"room": "lobby", "text": "hi"})
        self.assertEqual(st, 401, body)
        self.assertTrue(any(e.get("ev") == "api_no_key"
                            for e in self.daemon.log_events()))


if __name__ == "__main__":
    unittest.main(verbosity=2)
