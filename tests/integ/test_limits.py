"""Rate limits and connection limits against the real daemon (PROTOCOL.md
section 5): per-user token buckets per request class, shared by all of the
user's connections; RATE_LIMIT with retry_after_ms; 4429 for abuse, for one
connection too many per user or per address, and for connecting too fast.

Each class owns a daemon with small limits.  Waiting is either a socket read
with a deadline or, for a refill, the time the server itself told us
(retry_after_ms) or the configured connection rate.

Which connection is "one over" is decided in the order the broker sees the
registrations, and two workers' registrations may reach it in either order.
So the connection tests make sure each connection is registered (a broker
round trip, or the status count) before opening the next.

A connection over a per-address limit is refused at the upgrade (HTTP 429
with Retry-After); one over the per-user limit is closed 4429 before its
welcome: a client that got welcome is in."""

import json
import os
import signal
import threading
import time
import unittest

from chatlib import NO_RATE_LIMITS, ChatClient, ChatTestCase, retry_unavailable, uniq
from harness import CloseReceived, ConnectionClosed, HandshakeError, WSClient


def limits(**kw):
    d = dict(NO_RATE_LIMITS)
    d.update(kw)
    return {"limits": d}


def rate_limited(reply, rid=None):
    """Assert reply is a RATE_LIMIT error with a sane retry_after_ms."""
    assert reply.get("type") == "error" and reply.get("code") == "RATE_LIMIT", reply
    assert isinstance(reply.get("message"), str), reply
    ms = reply.get("retry_after_ms")
    assert isinstance(ms, int) and not isinstance(ms, bool) and ms >= 1, reply
    if rid is not None:
        assert reply.get("id") == rid, reply
    return ms


class RequestRateTest(ChatTestCase):
    """send 2/s burst 5, typing 2/s, join 3/s, history+search 2/s."""

    config = limits(send_rate=2, send_burst=5, typing_rate=2, join_rate=3,
                    query_rate=2)

    def user(self, n=1):
        sub = uniq("u")
        return [self.chat(sub) for _ in range(n)]

    def test_send_burst_then_rate_limit_then_refill(self):
        room = uniq("r")
        (c,) = self.user()
        c.join(room)
        acks = c.send_many(room, ["m%d" % i for i in range(5)])
        self.assertEqual(len(acks), 5)
        rid = c.next_id()
        c.send_json({"type": "send", "id": rid, "room": room, "text": "over"})
        r = c.wait(None, id=rid)
        ms = rate_limited(r, rid)
        self.assertLessEqual(ms, 500)       # 2/s: a token every 500 ms
        # Nothing was done: no message, and history does not have it.
        h = c.ok("history", "history", room=room)
        self.assertEqual([m["text"] for m in h["messages"]],
                         ["m%d" % i for i in range(5)])
        self.assertEqual(c.take("message", pred=lambda o: o.get("text") == "over"), [])
        # The time the server named is enough.
        time.sleep(ms / 1000.0)
        ack = c.send(room, "after")
        self.assertEqual(ack["seq"], 6)

    def test_edit_delete_react_share_the_send_bucket(self):
        room = uniq("r")
        (c,) = self.user()
        c.join(room)
        acks = c.send_many(room, ["a", "b", "c"])
        seq = acks[0]["seq"]
        c.ok("edit", "edited", room=room, seq=seq, text="A")
        c.ok("react", "reaction", room=room, seq=seq, emoji="x", active=True)
        for kind, kw in (("send", {"text": "d"}),
                         ("edit", {"seq": seq, "text": "AA"}),
                         ("delete", {"seq": seq}),
                         ("react", {"seq": seq, "emoji": "y", "active": True})):
            rate_limited(c.request(kind, room=room, **kw))
        # Other classes have their own buckets.
        for _ in range(10):
            c.ok("read", "read", room=room, seq=seq)
            c.ok("presence", "presence", room=room)
            c.ok("rooms", "rooms")
        h = c.ok("history", "history", room=room)
        first = h["messages"][0]
        self.assertEqual(first["text"], "A")
        self.assertNotIn("deleted", first)
        self.assertEqual(first.get("reactions"), {"x": 1})

    def test_typing_limit(self):
        room = uniq("r")
        c, = self.user()
        w = self.chat(uniq("w"))
        c.join(room)
        w.join(room)
        w.flush()
        # typing has no reply; two pass (burst = rate = 2), the third is
        # refused with RATE_LIMIT carrying its id.
        c.send_json({"type": "typing", "id": "t1", "room": room, "active": True})
        c.send_json({"type": "typing", "id": "t2", "room": room, "active": False})
        r = c.request("typing", room=room, active=True)
        ms = rate_limited(r)
        self.assertLessEqual(ms, 500)
        self.assertEqual(c.take("error", id="t1") + c.take("error", id="t2"), [])
        # The refused typing did nothing: the watcher saw true then false,
        # and no second true.  A round trip through the broker on the
        # watcher's own link comes after every delivery the broker made
        # before it (a ping, answered by the worker, would not).
        w.ok("rooms", "rooms")
        evs = w.take("typing", room=room)
        self.assertEqual([e["active"] for e in evs], [True, False])
        # The worker's count of awaited answers is not disturbed: ordinary
        # requests still get their own replies.
        c.ok("rooms", "rooms")
        time.sleep(ms / 1000.0)
        c.send_json({"type": "typing", "id": "t4", "room": room, "active": True})
        w.wait("typing", room=room, user=c.sub, active=True)
        c.flush()
        self.assertEqual(c.take("error"), [])

    def test_join_leave_limit(self):
        (c,) = self.user()
        r1, r2 = uniq("r"), uniq("r")
        c.join(r1)
        c.join(r2)
        c.ok("leave", "left", room=r1)
        ms = rate_limited(c.request("join", room=r1))
        self.assertLessEqual(ms, 334)
        rate_limited(c.request("leave", room=r2))
        # Not joined: the refused join did nothing.
        p = c.ok("presence", "presence", room=r1)
        self.assertNotIn(c.sub, [m["user"] for m in p["members"]])
        time.sleep(ms / 1000.0)
        c.join(r1)

    def test_query_limit(self):
        room = uniq("r")
        (c,) = self.user()
        c.join(room)
        c.ok("history", "history", room=room)
        c.ok("search", "search_results", room=room, q="hello")
        ms = rate_limited(c.request("history", room=room))
        rate_limited(c.request("search", room=room, q="hello"))
        self.assertLessEqual(ms, 500)
        time.sleep(ms / 1000.0)
        c.ok("search", "search_results", room=room, q="hello")

    def test_shared_across_connections(self):
        room = uniq("r")
        a1, a2 = self.user(2)
        a1.join(room)
        a2.join(room)
        a1.send_many(room, ["x%d" % i for i in range(5)])
        rate_limited(a2.request("send", room=room, text="from a2"))
        rate_limited(a1.request("send", room=room, text="from a1"))

    def test_users_are_independent(self):
        room = uniq("r")
        (a,) = self.user()
        (b,) = self.user()
        a.join(room)
        b.join(room)
        a.send_many(room, ["x%d" % i for i in range(5)])
        rate_limited(a.request("send", room=room, text="no"))
        b.send_many(room, ["y%d" % i for i in range(5)])

    def test_metrics_count_refusals(self):
        room = uniq("r")
        (c,) = self.user()
        c.join(room)
        c.send_many(room, ["x%d" % i for i in range(5)])
        rate_limited(c.request("send", room=room, text="no"))
        st, _, body = self.daemon.api_request("GET", "/metrics", key=False)
        self.assertEqual(st, 200)
        line = [l for l in body.decode().splitlines()
                if l.startswith("parley_rate_limited_total ")]
        self.assertEqual(len(line), 1, body)
        self.assertGreaterEqual(int(line[0].split()[1]), 1)


class AbuseTest(ChatTestCase):
    """More than abuse_threshold refusals in 10 s close 4429."""

    config = limits(send_rate=1, send_burst=2, abuse_threshold=5)

    def test_abuse_closes_the_connection_4429(self):
        room = uniq("r")
        sub = uniq("spam")
        c = self.chat(sub)
        other = self.chat(sub)
        c.join(room)
        c.send_many(room, ["a", "b"])
        for i in range(20):
            c.send_json({"type": "send", "id": "s%d" % i, "room": room,
                         "text": "spam"})
        code, reason = c.expect_close(4429)
        self.assertEqual(reason, b"rate limit abuse")
        errors = [f for f in c.skipped if f.opcode == 1]
        self.assertGreaterEqual(len(errors), 6)    # the refusals came first
        # Only that connection: the user's other one is still open.
        other.ok("rooms", "rooms")


class PerUserConnTest(ChatTestCase):

    # One daemon each: a previous test's connections, still closing, would
    # otherwise be counted in the totals these tests wait for.
    daemon_scope = "test"
    config = limits(max_conns_per_user=2)

    def counted(self, sub):
        """A connection the broker has registered and counted."""
        c = self.chat(sub)
        c.ok("rooms", "rooms")
        return c

    def kicked(self, c, reason):
        """Closed 4429 with reason, and nothing (no welcome) before it."""
        code, got = c.expect_close(4429, skip_data=False)
        self.assertEqual(got, reason.encode())

    def over(self, sub):
        """One connection over the limit: the upgrade completes (the
        address is fine), the token is checked, then 4429 instead of
        welcome."""
        c = self.open(self.daemon.make_token(sub))
        self.kicked(c, "too many connections for this user")

    def test_one_over_is_closed_before_welcome(self):
        sub = uniq("alice")
        base = self.daemon.status()["total"]
        a1 = self.counted(sub)
        a2 = self.counted(sub)
        self.over(sub)
        # Also when the token comes in the auth message.
        c = self.open(self.daemon.make_token(sub), method="message")
        self.kicked(c, "too many connections for this user")
        # The others are untouched, and another user is not limited.
        a1.ok("rooms", "rooms")
        a2.ok("rooms", "rooms")
        b = [self.chat(uniq("bob")) for _ in range(2)]
        # The refused ones were not counted: one close makes room for one.
        a1.close()
        self.daemon.wait_total(base + 3)
        self.counted(sub)
        self.over(sub)
        for c in b:
            c.ok("rooms", "rooms")

    def test_reregistered_connections_are_counted_not_kicked(self):
        sub = uniq("carol")
        a1 = self.counted(sub)
        a2 = self.counted(sub)
        self.restart_broker()
        # Both come back (re-registered), neither is closed ...
        for c in (a1, a2):
            retry_unavailable(lambda: c.request("rooms"))
        # ... and they still count.
        self.over(sub)
        a1.ok("rooms", "rooms")
        a2.ok("rooms", "rooms")

    def test_connections_opened_while_broker_away_are_limited(self):
        """Connections opened while the broker is down wait for it (no 101,
        no welcome yet); when it is back they face the limits like any new
        ones: two of four get welcome, two get 4429 and nothing else."""
        sub = uniq("dan")
        token = self.daemon.make_token(sub)
        port = self.daemon.ws_port
        sup = self.daemon.pid
        broker = self.daemon.status()["broker"]["pid"]
        results, conns = [], []

        sent = threading.Semaphore(0)

        def one():
            c = ChatClient()
            conns.append(c)
            try:
                c.connect(port, "/ws", query={"token": token}, timeout=20,
                          on_sent=sent.release)
                fr = c.recv_json(timeout=20)
                results.append(fr.get("type"))
            except CloseReceived as e:
                results.append(e.code if hasattr(e, "code") else "closed")
            except Exception as e:      # reported below
                results.append(repr(e))

        os.kill(sup, signal.SIGSTOP)     # keep the broker down meanwhile
        try:
            os.kill(broker, signal.SIGKILL)
            threads = [threading.Thread(target=one) for _ in range(4)]
            for t in threads:
                t.start()
            # Their heads are out; the worker holds them for the broker.
            for _ in threads:
                self.assertTrue(sent.acquire(timeout=10))
            self.assertEqual(results, [], "answered while the broker was away")
        finally:
            os.kill(sup, signal.SIGCONT)
        for t in threads:
            t.join(30)
        for c in conns:
            self.addCleanup(c.abort)
        self.assertEqual(sorted(map(str, results)),
                         ["4429", "4429", "welcome", "welcome"], results)


class BrokerStalledTest(ChatTestCase):
    """The worker waits for the broker's word before the 101 and before the
    welcome, but not forever: handshake_timeout and auth_timeout bound it."""

    daemon_scope = "test"
    config = {"websocket": {"handshake_timeout": 1},
              "auth": {"auth_timeout": 1}}

    def stopped_broker(self):
        pid = self.daemon.status()["broker"]["pid"]
        os.kill(pid, signal.SIGSTOP)
        self.addCleanup(os.kill, pid, signal.SIGCONT)
        return pid

    def test_upgrade_without_admission_is_503(self):
        pid = self.stopped_broker()
        with self.assertRaises(HandshakeError) as cm:
            self.connect("/echo", timeout=10)
        self.assertEqual(cm.exception.status, 503)
        self.assertEqual(cm.exception.headers.get("retry-after"), "1")
        os.kill(pid, signal.SIGCONT)
        c = self.chat(uniq("u"))
        c.ok("rooms", "rooms")

    def test_login_without_admission_is_1013_not_welcome(self):
        c = self.open(None, method=None)        # upgraded, not logged in
        pid = self.stopped_broker()
        c.send_json({"type": "auth", "token": self.token(uniq("u"))})
        code, reason = c.expect_close(1013, timeout=10, skip_data=False)
        self.assertEqual(reason, b"server busy; try again")
        os.kill(pid, signal.SIGCONT)
        self.chat(uniq("u")).ok("rooms", "rooms")


class DrainWhileAdmittingTest(ChatTestCase):
    """A worker told to stop while it holds an upgrade for the broker's
    word answers it 503 with Retry-After, as the handshake timeout does,
    instead of dropping the connection without a word."""

    daemon_scope = "test"
    config = {"server": {"debug": True},
              "websocket": {"handshake_timeout": 60}}

    def test_drain_answers_a_waiting_upgrade_503(self):
        broker = self.daemon.status()["broker"]["pid"]
        os.kill(broker, signal.SIGSTOP)
        result = []

        def one():
            c = WSClient()
            try:
                c.connect(self.daemon.ws_port, "/echo", timeout=30)
                result.append(101)
            except HandshakeError as e:
                result.append((e.status, e.headers.get("retry-after")))
            finally:
                c.abort()

        t = threading.Thread(target=one)
        t.start()
        try:
            # The worker holds it for the broker (its debug log says so).
            self.daemon.wait_for(lambda: any(
                e.get("ev") == "conn_state" and
                e.get("msg") == "handshake -> admitting"
                for e in self.daemon.log_events()))
            os.kill(self.daemon.pid, signal.SIGTERM)   # workers drain first
            t.join(30)
        finally:
            os.kill(broker, signal.SIGCONT)
        self.assertEqual(result, [(503, "1")])
        self.assertEqual(self.daemon.stop(sig=None, timeout=20), 0)


class LeaveRefusedTest(ChatTestCase):
    """A leave refused by the rate limit changes nothing, before or after
    a broker restart: the connection stays in the room."""

    config = limits(join_rate=1)

    def test_refused_leave_keeps_the_room(self):
        room = uniq("room")
        a = self.chat(uniq("alice"))
        b = self.chat(uniq("bob"))
        a.join(room)
        rate_limited(a.request("leave", room=room))
        retry_unavailable(lambda: b.request("join", room=room))
        self.restart_broker()
        r = retry_unavailable(lambda: b.request("send", room=room,
                                                text="still here?"), 15)
        self.assertEqual(r["type"], "ack", r)
        m = a.wait("message", timeout=10, room=room)
        self.assertEqual(m["text"], "still here?")


class PerAddressConnTest(ChatTestCase):

    config = limits(max_conns_per_ip=3)

    def refused(self, fn, reason):
        """The upgrade is answered 429 with Retry-After and reason: no 101,
        so no welcome and no close."""
        with self.assertRaises(HandshakeError) as cm:
            fn()
        e = cm.exception
        self.assertEqual(e.status, 429)
        self.assertEqual(e.body, reason.encode() + b"\n")
        retry = int(e.headers["retry-after"])
        self.assertGreaterEqual(retry, 1)
        return retry

    def test_max_conns_per_ip(self):
        base = self.daemon.status()["total"]
        self.assertEqual(base, 0)
        e1 = self.connect("/echo")
        self.daemon.wait_total(1)
        e2 = self.connect("/echo")
        self.daemon.wait_total(2)
        c = self.chat(uniq("u"))
        c.ok("rooms", "rooms")
        # Echo connections count too: the fourth is one over.
        why = "too many connections from this address"
        self.refused(lambda: self.connect("/echo"), why)
        self.refused(lambda: self.chat(uniq("u")), why)
        # The others still work.
        e1.send_text("ping?")
        self.assertEqual(e1.recv_text(), "ping?")
        c.ok("rooms", "rooms")
        # One closed: room for exactly one more.
        e2.close()
        self.daemon.wait_total(2)
        c5 = self.chat(uniq("u"))
        c5.ok("rooms", "rooms")
        self.refused(lambda: self.connect("/echo"), why)
        st, _, body = self.daemon.api_request("GET", "/metrics")
        self.assertIn(b"parley_conns_refused_total 3", body)


class ConnectRateTest(ChatTestCase):

    config = limits(conn_rate_per_ip=1, conn_burst_per_ip=3)

    def test_connecting_too_fast(self):
        conns = []
        for i in range(3):
            conns.append(self.connect("/echo"))
            self.daemon.wait_total(i + 1)
        refused = PerAddressConnTest.refused
        refused(self, lambda: self.connect("/echo"), "connecting too fast")
        # Closing does not give tokens back ...
        conns[0].close()
        retry = refused(self, lambda: self.chat(uniq("u")),
                        "connecting too fast")
        self.assertEqual(retry, 1)      # 1/s: the next token within 1 s
        # ... time does: the wait the server named.
        time.sleep(retry)
        c = self.chat(uniq("u"))
        c.ok("rooms", "rooms")
        for e in conns[1:]:
            e.send_text("still here")
            self.assertEqual(e.recv_text(), "still here")


class ConnectStormTest(ChatTestCase):
    """The defaults of PROTOCOL.md 5 for new connections per address."""

    config = limits(conn_rate_per_ip=20, conn_burst_per_ip=50)

    def test_storm_from_one_address_never_welcomed_then_closed(self):
        """Issue 6: 90 simultaneous connections with burst 3: each either
        gets welcome and stays, or is refused at the upgrade; none is
        welcomed and then closed."""
        token_for = self.daemon.make_token
        port = self.daemon.ws_port
        results, conns, lock = [], [], threading.Lock()

        def one(i):
            c = ChatClient()
            with lock:
                conns.append(c)
            try:
                c.connect(port, "/ws", query={"token": token_for("s%d" % i)})
            except HandshakeError as e:
                with lock:
                    results.append(e.status)
                return
            w = c.recv_json()
            with lock:
                results.append(w.get("type"))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(90)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        for c in conns:
            self.addCleanup(c.abort)
        self.assertEqual(len(results), 90, results)
        welcomed = [c for c in conns if getattr(c, "response", None)
                    and c.response[0] == 101]
        self.assertEqual(results.count("welcome"), len(welcomed))
        self.assertEqual(results.count(429) + results.count("welcome"), 90,
                         results)
        # The burst of 50 is let in (a few more if tokens refilled).
        self.assertGreaterEqual(results.count("welcome"), 50)
        self.assertGreaterEqual(results.count(429), 1)
        # Every welcomed one is still in: a round trip each, no 4429.
        for c in welcomed:
            c.send_json({"type": "ping", "id": 1})
            self.assertEqual(c.recv_json()["type"], "pong")


class ListReadRateTest(ChatTestCase):
    """rooms and presence share list_rate (2/s, burst 3); read has
    read_rate (2/s, burst 4).  Both refuse with RATE_LIMIT and do nothing."""

    config = limits(list_rate=2, list_burst=3, read_rate=2, read_burst=4)

    def test_rooms_and_presence_share_the_list_bucket(self):
        room = uniq("r")
        c = self.chat(uniq("u"))
        c2 = self.chat(c.sub)           # the bucket is the user's
        c.join(room)
        c.ok("rooms", "rooms")
        c2.ok("presence", "presence", room=room)
        c.ok("rooms", "rooms")
        ms = rate_limited(c2.request("presence", room=room))
        self.assertLessEqual(ms, 500)
        rate_limited(c.request("rooms"))
        # Another user is not affected.
        self.chat(uniq("v")).ok("rooms", "rooms")
        time.sleep(ms / 1000.0)
        r = c.ok("rooms", "rooms")
        self.assertEqual([e["room"] for e in r["rooms"]], [room])

    def test_read_limit_and_nothing_moves(self):
        room = uniq("r")
        c = self.chat(uniq("u"))
        w = self.chat(uniq("w"))
        c.join(room)
        w.join(room)
        w.send_many(room, ["a", "b", "c"])
        for _ in range(4):
            c.ok("read", "read", room=room, seq=1)
        ms = rate_limited(c.request("read", room=room, seq=3))
        self.assertLessEqual(ms, 500)
        # The refused read did not move the marker.
        r = c.ok("rooms", "rooms")
        self.assertEqual(r["rooms"][0]["read_seq"], 1)
        time.sleep(ms / 1000.0)
        self.assertEqual(c.ok("read", "read", room=room, seq=3)["seq"], 3)


def db_rooms(daemon, room=None):
    """Rooms in the daemon's database file (all, or named room)."""
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(
        daemon.data_dir, "parley.db"), uri=True, timeout=5)
    try:
        if room is None:
            return db.execute("SELECT count(*) FROM rooms").fetchone()[0]
        return db.execute("SELECT count(*) FROM rooms WHERE room = ?",
                          (room,)).fetchone()[0]
    finally:
        db.close()


def limit_exceeded(reply, limit):
    assert reply.get("type") == "error", reply
    assert reply.get("code") == "LIMIT_EXCEEDED", reply
    assert reply.get("limit") == limit, reply
    assert limit in reply.get("message", ""), reply
    return reply


class MaxRoomsPerUserTest(ChatTestCase):
    """max_rooms_per_user = 3: memberships listed by `rooms`."""

    config = limits(max_rooms_per_user=3)

    def test_cap_rejoin_and_forget(self):
        c = self.chat(uniq("u"))
        rooms = [uniq("r") for _ in range(3)]
        for r in rooms:
            c.join(r)
        extra = uniq("r")
        limit_exceeded(c.request("join", room=extra), "max_rooms_per_user")
        # Nothing was created: no room, no membership.
        self.assertEqual(db_rooms(self.daemon, extra), 0)
        self.assertEqual(sorted(e["room"] for e in c.ok("rooms", "rooms")["rooms"]),
                         sorted(rooms))
        # Rejoining a listed room is always fine, on another connection too.
        c2 = self.chat(c.sub)
        c2.join(rooms[0])
        c.join(rooms[0])
        # A plain leave keeps it listed, so the slot stays taken ...
        c.ok("leave", "left", room=rooms[0])
        limit_exceeded(c.request("join", room=extra), "max_rooms_per_user")
        # ... a leave with forget frees it.
        c2.ok("leave", "left", room=rooms[0], forget=True)
        c.join(extra)
        self.assertEqual(db_rooms(self.daemon, extra), 1)
        limit_exceeded(c.request("join", room=rooms[0]), "max_rooms_per_user")
        # Another user has a cap of their own, also in an existing room.
        d = self.chat(uniq("d"))
        for r in rooms:
            d.join(r)

    def test_count_survives_a_broker_restart(self):
        c = self.chat(uniq("u"))
        for _ in range(3):
            c.join(uniq("r"))
        self.daemon.kill_child("broker")
        # The new broker counts the memberships again from the database.
        def refused():
            r = c.request("join", room=uniq("r"))
            if r.get("code") == "UNAVAILABLE":
                return None
            return r
        r = self.daemon.wait_for(refused, msg="broker back")
        limit_exceeded(r, "max_rooms_per_user")


class ReadMarkerGrowthTest(ChatTestCase):
    """read on a room that does not exist stores nothing."""

    def test_read_of_a_made_up_room_stores_no_marker(self):
        import sqlite3
        c = self.chat(uniq("u"))
        made_up = uniq("nowhere")
        r = c.ok("read", "read", room=made_up, seq=5)
        self.assertEqual(r["seq"], 0)
        real = uniq("r")
        c.join(real)
        c.send(real, "x")
        self.assertEqual(c.ok("read", "read", room=real, seq=1)["seq"], 1)
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(
            self.daemon.data_dir, "parley.db"), uri=True, timeout=5)
        try:
            rows = dict(db.execute(
                "SELECT room, read_seq FROM read_markers WHERE user = ?",
                (c.sub,)).fetchall())
        finally:
            db.close()
        self.assertEqual(rows, {real: 1})
        self.assertEqual(db_rooms(self.daemon, made_up), 0)


class MaxRoomsTest(ChatTestCase):
    """max_rooms = 4 rooms in the database, whoever creates them."""

    config = limits(max_rooms=4)

    def test_joins_and_publishing_stop_at_max_rooms(self):
        a = self.chat(uniq("a"))
        b = self.chat(uniq("b"))
        r1, r2, r3 = uniq("r"), uniq("r"), uniq("r")
        a.join(r1)
        a.join(r2)
        st, _, body = self.daemon.api_request(
            "POST", "/api/publish", {"room": r3, "text": "hello"})
        self.assertEqual(st, 200, body)
        # The fourth: a personal room, created by publishing to it.
        st, _, body = self.daemon.api_request(
            "POST", "/api/publish", {"room": "user:" + b.sub, "text": "hi"})
        self.assertEqual(st, 200, body)
        b.wait("message", room="user:" + b.sub)
        self.assertEqual(db_rooms(self.daemon), 4)
        # Full: no new room by join ...
        new = uniq("r")
        limit_exceeded(b.request("join", room=new), "max_rooms")
        # ... nor by publishing (403, JSON, nothing stored).
        st, _, body = self.daemon.api_request(
            "POST", "/api/publish", {"room": new, "text": "x"})
        self.assertEqual(st, 403, body)
        err = json.loads(body)
        self.assertEqual(err["error"], "limit_exceeded")
        self.assertIn("max_rooms", err["message"])
        self.assertEqual(db_rooms(self.daemon, new), 0)
        self.assertEqual(db_rooms(self.daemon), 4)
        st, _, body = self.daemon.api_request("GET", "/metrics")
        self.assertIn("\nparley_rooms 4\n", body.decode())
        # Existing rooms still take joins and publishing.
        b.join(r3)
        b.join(r1)
        st, _, body = self.daemon.api_request(
            "POST", "/api/publish", {"room": r1, "text": "still"})
        self.assertEqual(st, 200, body)
        # Live-only events store nothing and are not refused.
        st, _, body = self.daemon.api_request(
            "POST", "/api/publish",
            {"room": new, "event": "ping", "persist": False})
        self.assertEqual(st, 200, body)
        # A restarted daemon counts the rooms again.
        self.daemon.restart()
        c = self.chat(uniq("c"))
        limit_exceeded(c.request("join", room=new), "max_rooms")
        c.join(r2)


def metrics_rooms(tc):
    """parley_rooms of /metrics: the rooms the broker counts in memory."""
    st, _, body = tc.daemon.api_request("GET", "/metrics")
    tc.assertEqual(st, 200, body)
    for line in body.decode().splitlines():
        if line.startswith("parley_rooms "):
            return int(line.split()[1])
    tc.fail("no parley_rooms in /metrics")


class PersonalRoomBoundsTest(ChatTestCase):
    """max_rooms = 2 with personal rooms: every connection is joined to its
    user's personal room without a row in the database, so a `send` there
    or an explicit `join` of it is what creates the room."""

    config = limits(max_rooms=2)

    def metrics_rooms(self):
        return metrics_rooms(self)

    def test_send_to_own_personal_room_counts_toward_max_rooms(self):
        a = self.chat(uniq("a"))
        a.join(uniq("r"))
        a.send("user:" + a.sub, "note to self")
        self.assertEqual(db_rooms(self.daemon, "user:" + a.sub), 1)
        # The count in memory is the count in the database ...
        self.assertEqual(self.metrics_rooms(), db_rooms(self.daemon))
        # ... so the cap holds: a third room is refused, and so is a
        # personal room that would be the third.
        b = self.chat(uniq("b"))
        limit_exceeded(b.request("join", room=uniq("r")), "max_rooms")
        limit_exceeded(b.request("send", room="user:" + b.sub, text="x"),
                       "max_rooms")
        limit_exceeded(b.request("join", room="user:" + b.sub), "max_rooms")
        self.assertEqual(db_rooms(self.daemon, "user:" + b.sub), 0)
        self.assertEqual(db_rooms(self.daemon), 2)
        self.assertEqual(self.metrics_rooms(), 2)


class PersonalRoomJoinTest(ChatTestCase):
    """max_rooms = 2: the explicit `join` of one's own personal room
    (joined automatically, but not yet a room or a membership)."""

    config = limits(max_rooms=2, max_rooms_per_user=1)

    def metrics_rooms(self):
        return metrics_rooms(self)

    def test_explicit_join_of_own_personal_room_is_listed(self):
        a = self.chat(uniq("a"))
        # Until the personal backlog read at login is done, a join of the
        # personal room is answered RATE_LIMIT: wait what the server says.
        while True:
            r = a.request("join", room="user:" + a.sub)
            if r.get("code") != "RATE_LIMIT":
                break
            time.sleep(rate_limited(r) / 1000.0)
        self.assertEqual(r.get("type"), "joined", r)
        self.assertEqual(db_rooms(self.daemon, "user:" + a.sub), 1)
        self.assertEqual(self.metrics_rooms(), db_rooms(self.daemon))
        listed = [x["room"] for x in a.ok("rooms", "rooms")["rooms"]]
        self.assertEqual(listed, ["user:" + a.sub])
        # Counted per user like any room: the next is one too many.
        limit_exceeded(a.request("join", room=uniq("r")),
                       "max_rooms_per_user")
        # At max_rooms, another user's personal room is not created.
        b = self.chat(uniq("b"))
        b.join(uniq("r"))
        c = self.chat(uniq("c"))
        limit_exceeded(c.request("join", room="user:" + c.sub), "max_rooms")
        self.assertEqual(db_rooms(self.daemon), 2)
        self.assertEqual(self.metrics_rooms(), 2)


class MaxRoomsRollbackTest(ChatTestCase):
    """max_rooms = 2 after a batch that created a room failed to commit."""

    config = limits(max_rooms=2)

    def test_failed_commit_gives_the_room_back(self):
        import sqlite3
        # A message "boom" makes COMMIT fail: a deferred foreign key is
        # checked there (the broker's connection enforces them).
        db = sqlite3.connect(os.path.join(self.daemon.data_dir, "parley.db"),
                             timeout=5)
        try:
            db.executescript(
                "CREATE TABLE boom_parent (id INTEGER PRIMARY KEY);"
                "CREATE TABLE boom_child (p INTEGER REFERENCES "
                "boom_parent (id) DEFERRABLE INITIALLY DEFERRED);"
                "CREATE TRIGGER boom AFTER INSERT ON messages "
                "WHEN new.text = 'boom' BEGIN "
                "INSERT INTO boom_child VALUES (1); END;")
        finally:
            db.close()
        lost = uniq("r")
        st, _, body = self.daemon.api_request(
            "POST", "/api/publish", {"room": lost, "text": "boom"})
        self.assertEqual(st, 503, body)
        self.assertEqual(db_rooms(self.daemon, lost), 0)
        # The count in memory follows the database ...
        self.assertEqual(metrics_rooms(self), db_rooms(self.daemon))
        # ... so two rooms can still be made.
        for _ in range(2):
            st, _, body = self.daemon.api_request(
                "POST", "/api/publish", {"room": uniq("r"), "text": "ok"})
            self.assertEqual(st, 200, body)
        self.assertEqual(metrics_rooms(self), 2)


def http_get(sock, path="/healthz"):
    sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())


def http_status(sock):
    """Read one response head on sock; its status code."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionClosed("closed before a response")
        buf += chunk
    return int(buf.split(b" ", 2)[1])


class ApiConnCapTest(ChatTestCase):
    """[api] max_connections = 2: at the cap the API stops accepting, the
    next connection waits in the backlog and is served once one closes."""

    config = {"limits": dict(NO_RATE_LIMITS), "api": {"max_connections": 2}}

    def test_cap_holds_the_next_until_one_closes(self):
        import socket
        held = []
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", self.daemon.api_port),
                                         timeout=5)
            self.addCleanup(s.close)
            http_get(s)                 # accepted and kept alive
            self.assertEqual(http_status(s), 200)
            held.append(s)
        self.daemon.wait_for(lambda: "api_conn_limit" in self.daemon.log_text(),
                             msg="api_conn_limit logged")
        third = socket.create_connection(("127.0.0.1", self.daemon.api_port),
                                         timeout=5)
        self.addCleanup(third.close)
        http_get(third)
        # Not served while two are open: nothing within a second (the
        # absence of an answer can only be observed over some time).
        third.settimeout(1.0)
        with self.assertRaises(socket.timeout):
            third.recv(1)
        third.settimeout(5.0)
        held[0].close()
        self.assertEqual(http_status(third), 200)
        self.daemon.wait_for(lambda: "api_accepting" in self.daemon.log_text(),
                             msg="api_accepting logged")
        # Held ones still work; closing them frees the places for good.
        http_get(held[1])
        self.assertEqual(http_status(held[1]), 200)
        held[1].close()
        third.close()
        for _ in range(3):
            st, _, _ = self.daemon.api_request("GET", "/healthz")
            self.assertEqual(st, 200)
        # The count is exact: once the others are gone, only the one asking.
        def only_me():
            st, _, body = self.daemon.api_request("GET", "/metrics")
            return "\nparley_api_connections 1\n" in body.decode()
        self.daemon.wait_for(only_me, msg="parley_api_connections back to 1")


class ApiIdleTimeoutTest(ChatTestCase):
    """[api] timeout = 1: an API connection idle that long is closed."""

    config = {"limits": dict(NO_RATE_LIMITS),
              "api": {"max_connections": 2, "timeout": 1}}

    def test_idle_connections_are_closed_and_free_their_place(self):
        import socket
        socks = []
        for i in range(2):
            s = socket.create_connection(("127.0.0.1", self.daemon.api_port),
                                         timeout=10)
            self.addCleanup(s.close)
            if i == 0:                  # one after a request, one silent
                http_get(s)
                self.assertEqual(http_status(s), 200)
            socks.append(s)
        start = time.monotonic()
        for s in socks:
            self.assertEqual(s.recv(1), b"")     # closed by the server
        self.assertLess(time.monotonic() - start, 8)
        # Their places are free: the API answers.
        st, _, _ = self.daemon.api_request("GET", "/healthz")
        self.assertEqual(st, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
