"""Presence against the real daemon (PROTOCOL.md section 4): per-user join
and leave events, the presence request, and no phantom members after a
worker or the broker is killed with SIGKILL."""

import os
import signal
import time
import unittest

import harness
from chatlib import ChatTestCase, retry_unavailable, uniq, wait_for


def members(reply):
    return {m["user"]: m["connections"] for m in reply["members"]}


class PresenceTest(ChatTestCase):

    def test_first_join_second_tab_last_leave(self):
        room = uniq("room")
        b = self.chat(uniq("bob"), name="Bob")
        b.join(room)
        a1 = self.chat(uniq("alice"), name="Alice")
        a1.join(room)
        ev = b.wait("presence", room=room, user=a1.sub)
        self.assertEqual(ev, {"type": "presence", "room": room, "user": a1.sub,
                              "name": "Alice", "state": "join"})
        a2 = self.chat(a1.sub, name="Alice")
        a2.join(room)
        r = b.ok("presence", "presence", room=room)
        self.assertEqual(members(r), {a1.sub: 2, b.sub: 1})
        self.assertEqual(r["room"], room)
        self.assertNotIn("state", r)
        self.assertEqual([x for x in b.sync_room(room) if x["type"] == "presence"],
                         [], "a second tab must not produce presence")
        a1.close()
        wait_for(lambda: members(b.ok("presence", "presence", room=room))
                 == {a1.sub: 1, b.sub: 1}, 5, msg="connection count drops to 1")
        self.assertEqual([x for x in b.sync_room(room) if x["type"] == "presence"],
                         [], "closing one of two tabs must not produce presence")
        a2.close()
        ev = b.wait("presence", room=room, user=a1.sub)
        self.assertEqual(ev["state"], "leave")
        self.assertEqual(ev["name"], "Alice")
        self.assertEqual(members(b.ok("presence", "presence", room=room)), {b.sub: 1})

    def test_abrupt_disconnect_emits_leave(self):
        room = uniq("room")
        a = self.chat(uniq("alice"))
        b = self.chat(uniq("bob"))
        a.join(room)
        b.join(room)
        a.wait("presence", room=room, user=b.sub, state="join")
        b.abort()                      # TCP gone, no close handshake
        a.wait("presence", room=room, user=b.sub, state="leave")
        self.assertEqual(members(a.ok("presence", "presence", room=room)), {a.sub: 1})

    def test_leave_request_emits_leave(self):
        room = uniq("room")
        a = self.chat(uniq("alice"))
        b = self.chat(uniq("bob"))
        a.join(room)
        b.join(room)
        a.wait("presence", room=room, user=b.sub, state="join")
        b.ok("leave", "left", room=room)
        a.wait("presence", room=room, user=b.sub, state="leave")
        # the leaver gets no presence about itself being gone
        self.assertEqual(members(a.ok("presence", "presence", room=room)), {a.sub: 1})

    def test_leave_on_one_tab_keeps_presence(self):
        room = uniq("room")
        a1 = self.chat(uniq("alice"))
        a2 = self.chat(a1.sub)
        b = self.chat(uniq("bob"))
        b.join(room)
        a1.join(room)
        a2.join(room)
        b.wait("presence", room=room, user=a1.sub, state="join")
        a1.ok("leave", "left", room=room)
        self.assertEqual([x for x in b.sync_room(room) if x["type"] == "presence"], [])
        self.assertEqual(members(b.ok("presence", "presence", room=room)),
                         {a1.sub: 1, b.sub: 1})
        # a2 still gets the room's messages, a1 does not
        ack = b.send(room, "still here?")
        a2.wait("message", room=room, seq=ack["seq"])
        self.assertEqual([x for x in a1.sync_room(room) if x["type"] == "message"], [])
        a2.ok("leave", "left", room=room)
        b.wait("presence", room=room, user=a1.sub, state="leave")

    def test_joiner_gets_no_own_presence_but_members(self):
        room = uniq("room")
        a = self.chat(uniq("alice"))
        a.join(room)
        b = self.chat(uniq("bob"))
        j = b.join(room)
        self.assertIn(a.sub, repr(j["members"]))
        self.assertEqual([x for x in b.sync_room(room) if x["type"] == "presence"
                          and x.get("user") == b.sub], [])

    def test_presence_without_join(self):
        room = uniq("room")
        a = self.chat(uniq("alice"))
        a.join(room)
        c = self.chat()
        r = c.ok("presence", "presence", room=room)
        self.assertEqual(members(r), {a.sub: 1})
        r = c.ok("presence", "presence", room=uniq("empty"))
        self.assertEqual(r["members"], [])

    def test_presence_member_names(self):
        room = uniq("room")
        a = self.chat(uniq("alice"), name="Alice A.")
        a.join(room)
        r = a.ok("presence", "presence", room=room)
        self.assertEqual(r["members"], [{"user": a.sub, "name": "Alice A.",
                                         "connections": 1}])


class RefreshNameTest(ChatTestCase):

    def test_refresh_updates_display_name(self):
        room = uniq("room")
        sub = uniq("ren")
        a = self.chat(sub, name="Old Name")
        b = self.chat(uniq("obs"))
        a.join(room)
        b.join(room)
        r = a.ok("refresh", "refreshed", token=self.token(sub, name="New Name"))
        self.assertEqual(r["type"], "refreshed")
        a.ok("rooms", "rooms")          # the broker has the new identity
        names = {m["user"]: m["name"]
                 for m in b.ok("presence", "presence", room=room)["members"]}
        self.assertEqual(names[sub], "New Name")

    def test_refresh_that_drops_a_joined_room_closes_4403(self):
        sub = uniq("narrow")
        a = self.chat(sub, rooms=["team:*"])
        a.join("team:" + sub)
        a.send_json({"type": "refresh", "id": "r",
                     "token": self.token(sub, rooms=["other:*"])})
        code, reason = a.expect_close(4403)
        self.assertEqual(reason, b"no longer allowed in a joined room")

    def test_refresh_that_keeps_the_rooms_is_fine(self):
        sub = uniq("same")
        a = self.chat(sub, rooms=["team:*"])
        a.join("team:" + sub)
        a.ok("refresh", "refreshed", token=self.token(sub, rooms=["team:*"]))
        a.ok("rooms", "rooms")


class WorkerKillTest(ChatTestCase):
    daemon_scope = "test"

    def test_worker_kill_produces_leaves(self):
        d = self.daemon
        room = uniq("room")
        clients = []
        # open connections until both workers host some
        deadline = time.monotonic() + 10
        while True:
            c = self.chat(uniq("u"))
            c.join(room)
            clients.append(c)
            st = d.status()
            if len(clients) >= 4 and all(w["connections"] > 0
                                         for w in st["workers"].values()):
                break
            self.assertLess(time.monotonic(), deadline, "connections all on one worker")
            self.assertLess(len(clients), 40, "connections all on one worker: %r" % st)
        for c in clients:
            c.flush()
        n1 = d.status()["workers"][1]["connections"]
        d.kill_child("worker", 1, sig=signal.SIGKILL)
        # worker 1's connections are the ones whose TCP connection ends
        wait_for(lambda: len([c for c in clients if c.is_closed_by_peer(0)]) == n1,
                 5, msg="%d connections of worker 1 close" % n1)
        dead = [c for c in clients if c.is_closed_by_peer(0)]
        live = [c for c in clients if c not in dead]
        self.assertTrue(dead and live, "dead=%d live=%d" % (len(dead), len(live)))
        dead_users = {c.sub for c in dead}
        for c in live:
            for u in dead_users:
                c.wait("presence", 10, room=room, user=u, state="leave")
        r = live[0].ok("presence", "presence", room=room)
        self.assertEqual(members(r), {c.sub: 1 for c in live})
        # the restarted worker serves new connections; presence stays right
        d.wait_status(lambda s: len(s["workers"]) == 2 and
                      all(harness._pid_alive(w["pid"]) for w in s["workers"].values()))
        n = self.chat(uniq("new"))
        n.join(room)
        r = n.ok("presence", "presence", room=room)
        self.assertEqual(members(r), dict({c.sub: 1 for c in live}, **{n.sub: 1}))


class BrokerKillTest(ChatTestCase):
    daemon_scope = "test"

    def test_broker_restart_no_phantoms(self):
        room = uniq("room")
        a = self.chat(uniq("alice"))
        b = self.chat(uniq("bob"))
        c = self.chat(uniq("carol"))
        a2 = self.chat(a.sub)
        for x in (a, b, c, a2):
            x.join(room)
        old = self.daemon.kill_child("broker", sig=signal.SIGKILL)
        c.abort()          # gone while the broker is down
        a2.close()
        self.daemon.wait_status(lambda s: s["broker"]["pid"] != old,
                                15, "broker restarted")
        want = {a.sub: 1, b.sub: 1}

        def right():
            r = retry_unavailable(lambda: b.request("presence", room=room))
            self.assertEqual(r["type"], "presence", r)
            return members(r) == want or None
        try:
            wait_for(right, 5, msg="presence == %r" % want)
        except AssertionError:
            r = b.request("presence", room=room)
            self.fail("presence after broker restart: %r, want %r" % (r, want))
        # and presence events keep working
        d = self.chat(uniq("dave"))
        retry_unavailable(lambda: d.request("join", room=room))
        a.wait("presence", room=room, user=d.sub, state="join")
        d.close()
        a.wait("presence", room=room, user=d.sub, state="leave")
        r = a.ok("presence", "presence", room=room)
        self.assertEqual(members(r), want)

    def test_leave_during_outage_is_announced(self):
        """A member who leaves while the broker is down gets a presence
        leave once it is back.  The supervisor is stopped (SIGSTOP) so the
        broker stays down until the client is surely gone."""
        room = uniq("room")
        a = self.chat(uniq("alice"))
        c = self.chat(uniq("carol"))
        # carol on alice's worker, so a ping from alice orders the two
        while c.welcome["conn"][:2] != a.welcome["conn"][:2]:
            c.abort()
            c = self.chat(c.sub)
        for x in (a, c):
            x.join(room)
        a.wait("presence", room=room, user=c.sub, state="join")
        sup = self.daemon.pid
        broker = self.daemon.status()["broker"]["pid"]
        os.kill(sup, signal.SIGSTOP)
        try:
            os.kill(broker, signal.SIGKILL)
            wait_for(lambda: a.request("presence", room=room).get("code")
                     == "UNAVAILABLE" or None, 5, msg="worker saw the broker go")
            c.abort()
            a.flush()
        finally:
            os.kill(sup, signal.SIGCONT)
        a.wait("presence", timeout=15, room=room, user=c.sub, state="leave")
        r = retry_unavailable(lambda: a.request("presence", room=room))
        self.assertEqual(members(r), {a.sub: 1})


if __name__ == "__main__":
    unittest.main(verbosity=2)
