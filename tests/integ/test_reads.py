"""Reads off the broker's loop and replies that fit the pipe (PROTOCOL.md 4,
"Paging by bytes", and the errors TOO_EXPENSIVE and RATE_LIMIT of the
reader queue), against the real daemon.

Rooms with a large history are appended to the daemon's SQLite file while
it is stopped, through the broker's own store code (chatlib.fill_rooms),
then the daemon is started again on it."""

import json
import os
import threading
import time
import unittest

from chatlib import NO_RATE_LIMITS, ChatTestCase, fill_rooms, uniq
from harness import CloseReceived, ConnectionClosed, Daemon

MAX_OUTPUT = 262144             # bytes a connection may queue in these tests
BIG_TEXT = 3990                 # near max_text (4000)


def populate(daemon, rooms):
    """Stop daemon, append {room: [text, ...]} to its database, restart it."""
    fill_rooms(daemon, rooms)


def config(**store):
    c = {"limits": dict(NO_RATE_LIMITS),
         "websocket": {"max_output_bytes": MAX_OUTPUT}}
    if store:
        c["store"] = store
    return c


def big_texts(n, tag):
    return ["%s %d %s" % (tag, i, "x" * BIG_TEXT) for i in range(n)]


def seqs(msgs):
    return [m["seq"] for m in msgs]


def after_retries(c, type_, reply, **fields):
    """The request, again after each RATE_LIMIT's retry_after_ms."""
    deadline = time.monotonic() + 60
    while True:
        r = c.request(type_, **fields)
        if r.get("code") != "RATE_LIMIT":
            assert r["type"] == reply, r
            return r
        if time.monotonic() > deadline:
            raise AssertionError("still refused: %r" % r)
        time.sleep(r["retry_after_ms"] / 1000.0)    # the server's own wait


class PagingByBytesTest(ChatTestCase):
    """400 messages of ~4 KB: 200 of them are three times max_output_bytes."""

    config = config()
    N = 400

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.room = uniq("big")
        populate(cls.daemon, {cls.room: big_texts(cls.N, "big")})

    def assert_open(self, c):
        """The connection is still there: a ping round trip."""
        c.flush()

    def test_history_limit_200_is_cut_by_bytes_not_closed(self):
        c = self.chat()
        r = c.ok("history", "history", room=self.room, limit=200)
        self.assertTrue(r["has_more"])
        got = seqs(r["messages"])
        self.assertGreater(len(got), 0)
        self.assertLess(len(got), 200)
        # The newest, oldest first, contiguous.
        self.assertEqual(got, list(range(self.N - len(got) + 1, self.N + 1)))
        self.assertLess(sum(len(m["text"]) for m in r["messages"]),
                        MAX_OUTPUT // 2)
        self.assert_open(c)

    def test_paging_backward_collects_everything_once(self):
        c = self.chat()
        out, before = [], None
        while True:
            kw = {"limit": 200}
            if before is not None:
                kw["before"] = before
            r = c.ok("history", "history", room=self.room, **kw)
            self.assertTrue(r["messages"])
            out = r["messages"] + out
            if not r["has_more"]:
                break
            before = r["messages"][0]["seq"]
        self.assertEqual(seqs(out), list(range(1, self.N + 1)))
        self.assert_open(c)

    def test_paging_forward_with_after_collects_everything_once(self):
        c = self.chat()
        out, after = [], 0
        while True:
            r = c.ok("history", "history", room=self.room, after=after,
                     limit=200)
            self.assertTrue(r["messages"])
            out += r["messages"]
            if not r["has_more"]:
                break
            after = r["messages"][-1]["seq"]
        self.assertEqual(seqs(out), list(range(1, self.N + 1)))
        # after the last one: an empty page, nothing more.
        r = c.ok("history", "history", room=self.room, after=self.N)
        self.assertEqual((r["messages"], r["has_more"]), ([], False))

    def test_after_and_before_together_are_refused(self):
        c = self.chat()
        c.err("history", "VALIDATION_ERROR", field="after", room=self.room,
              after=1, before=5)
        c.err("history", "VALIDATION_ERROR", field="after", room=self.room,
              after=-1)

    def test_join_history_200_is_cut_by_bytes(self):
        c = self.chat()
        r = c.join(self.room, history=200)
        self.assertIs(r.get("has_more"), True)
        got = seqs(r["messages"])
        self.assertTrue(0 < len(got) < 200)
        self.assertEqual(got[-1], r["last_seq"])
        self.assertEqual(got, list(range(got[0], got[-1] + 1)))
        self.assert_open(c)

    def test_join_small_history_has_no_has_more(self):
        c = self.chat()
        r = c.join(self.room, history=3)
        self.assertEqual(seqs(r["messages"]), [self.N - 2, self.N - 1, self.N])
        self.assertNotIn("has_more", r)

    def test_recovery_pages_on_with_after_until_done(self):
        """A client back with since=0 gets a first page, recovered and
        has_more, and pages forward: every message once, then live ones."""
        c = self.chat()
        first = c.join(self.room)
        epoch = first["epoch"]
        c.close()
        for _ in range(2):      # reconnecting twice makes the same progress
            c = self.chat()
            r = c.join(self.room, since=0, epoch=epoch)
            self.assertIs(r["recovered"], True)
            self.assertIs(r.get("has_more"), True)
            out = list(r["messages"])
            self.assertEqual(out[0]["seq"], 1)
            while True:
                p = c.ok("history", "history", room=self.room,
                         after=out[-1]["seq"])
                out += p["messages"]
                if not p["has_more"]:
                    break
            self.assertEqual(seqs(out), list(range(1, self.N + 1)))
            self.assert_open(c)
            c.close()

    def test_personal_backlog_is_cut_by_bytes(self):
        sub = uniq("p")
        proom = "user:%s" % sub
        populate(self.daemon, {proom: big_texts(150, "note")})
        c = self.chat(sub)
        # The oldest, in order, while the next (as big as the last) fits
        # the budget of half max_output_bytes.
        got, used, size = [], 0, 0
        while used + size + 8 <= MAX_OUTPUT // 2:
            o = c.wait("message", room=proom)
            size = len(json.dumps(o, separators=(",", ":"),
                                  ensure_ascii=False).encode())
            used += size
            got.append(o["seq"])
        self.assertLessEqual(used, MAX_OUTPUT // 2)
        self.assertTrue(0 < len(got) < 150, got)
        self.assertEqual(got, list(range(1, len(got) + 1)))
        self.assert_open(c)


class JoinWhileSendingTest(ChatTestCase):
    """Joins and recoveries run on a reader thread while messages commit on
    the loop: each joiner gets every later message exactly once."""

    config = {"limits": dict(NO_RATE_LIMITS)}

    def test_join_during_sends_no_gap_no_duplicate(self):
        room = uniq("live")
        sender = self.chat()
        sender.join(room)
        sender.send_many(room, ["before %d" % i for i in range(30)])
        total = 600
        done = threading.Event()
        errors = []

        def send():
            try:
                s = self.chat()
                s.join(room)
                # Pipelined in chunks, so sends keep committing while the
                # joiners join.
                for k in range(0, total, 50):
                    s.send_many(room, ["m %d" % i for i in range(k, k + 50)])
            except Exception as e:          # reported by the main thread
                errors.append(e)
            finally:
                done.set()

        t = threading.Thread(target=send)
        t.start()
        joiners = []
        while not done.is_set() and len(joiners) < 12:
            c = self.chat()
            kw = {"history": 5}
            if len(joiners) % 2:            # half of them recover with since
                kw["since"] = 25
            r = c.join(room, **kw)
            joiners.append((c, r))
        t.join()
        self.assertEqual(errors, [])
        last = 30 + total
        self.assertGreater(len(joiners), 1)
        for c, r in joiners:
            msgs = seqs(r["messages"])
            self.assertTrue(msgs)
            self.assertEqual(msgs[-1], r["last_seq"])
            live = []
            for _ in range(last - r["last_seq"]):
                o = c.wait("message", timeout=10, room=room)
                live.append(o["seq"])
            # and nothing more
            self.assertEqual([o for o in c.sync_room(room)
                              if o["type"] == "message"], [])
            # After the snapshot, every later seq once, in order.
            self.assertEqual(live, list(range(r["last_seq"] + 1, last + 1)),
                             "joined at %d" % r["last_seq"])
            if "recovered" in r:
                self.assertIs(r["recovered"], True)
                self.assertNotIn("has_more", r)
                self.assertEqual(msgs, list(range(26, r["last_seq"] + 1)))

    def test_join_then_leave_before_the_answer(self):
        """A leave pipelined behind a join: both answered, the room left."""
        room = uniq("jl")
        c = self.chat()
        jid, lid = c.next_id(), c.next_id()
        c.send_json({"type": "join", "id": jid, "room": room})
        c.send_json({"type": "leave", "id": lid, "room": room})
        j = c.wait(None, id=jid)
        left = c.wait(None, id=lid)
        self.assertIn(j["type"], ("joined", "error"))
        self.assertEqual(left["type"], "left")
        c.err("send", "NOT_IN_ROOM", room=room, text="x")


class HoldOverflowTest(ChatTestCase):
    """A join whose read is slow (recovery of 20000 messages) while its
    room receives more than the connection may queue: what was held is
    dropped, and the join says so instead of leaving a gap."""

    config = {"limits": dict(NO_RATE_LIMITS, recovery_limit=100000),
              "websocket": {"max_message_bytes": 8192,
                            "max_output_bytes": 32768},
              "store": {"query_timeout_ms": 30000}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.room = uniq("hold")
        populate(cls.daemon, {cls.room: ["old %d" % i
                                         for i in range(20000)]})

    def join_and_flood(self, c):
        """join since 0, then 20 sends of 2 KB (40 KB, over the 32 KB the
        connection may queue) pipelined behind it on the same connection;
        returns the join's answer after checking every send's ack."""
        jid = c.next_id()
        c.send_json({"type": "join", "id": jid, "room": self.room,
                     "since": 0})
        sids = []
        for i in range(20):
            sids.append(c.next_id())
            c.send_json({"type": "send", "id": sids[-1], "room": self.room,
                         "text": "%d %s" % (i, "f" * 2000)})
        j = c.wait(None, timeout=60, id=jid)
        for sid in sids:
            self.assertEqual(c.wait(None, timeout=60, id=sid)["type"], "ack")
        return j

    def test_new_member_gets_unavailable_and_is_not_joined(self):
        c = self.chat()
        j = self.join_and_flood(c)
        self.assertEqual((j["type"], j.get("code")), ("error", "UNAVAILABLE"),
                         j)
        c.err("send", "NOT_IN_ROOM", room=self.room, text="x")

    def test_old_member_is_closed_to_recover(self):
        c = self.chat()
        c.join(self.room, history=0)
        j = self.join_and_flood(c)
        self.assertEqual((j["type"], j.get("code")), ("error", "UNAVAILABLE"),
                         j)
        c.expect_close(1001)


class ReaderQueueTest(ChatTestCase):
    """One reader, a queue of one: the rest is refused with RATE_LIMIT."""

    config = config(reader_threads=1, reader_queue=1, query_timeout_ms=10000)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.room = uniq("slow")
        cls.heavy = uniq("heavy")
        populate(cls.daemon, {cls.room: ["common word %d %s" % (i, "y" * 150)
                                         for i in range(20000)],
                              cls.heavy: big_texts(250, "heavy")})

    def slow_requests(self, c, n):
        """n pipelined expensive reads (each far slower than the loop
        takes to queue the next); returns their ids."""
        ids = []
        for i in range(n):
            rid = c.next_id()
            if i % 2:
                c.send_json({"type": "search", "id": rid, "room": self.room,
                             "q": "zzzrare common", "limit": 100})
            else:
                # 200 messages of 4 KB read and rendered.
                c.send_json({"type": "history", "id": rid,
                             "room": self.heavy, "after": 0, "limit": 200})
            ids.append(rid)
        return ids

    def test_queue_full_is_refused_with_retry_after(self):
        c = self.chat()
        ids = self.slow_requests(c, 20)
        replies = [c.wait(None, timeout=30, id=rid) for rid in ids]
        refused = [r for r in replies if r.get("type") == "error"]
        self.assertTrue(refused, "nothing was refused")
        for r in refused:
            self.assertEqual(r["code"], "RATE_LIMIT", r)
            self.assertIsInstance(r["retry_after_ms"], int)
            self.assertGreaterEqual(r["retry_after_ms"], 1)
        for r in replies:
            self.assertIn(r["type"], ("history", "search_results", "error"))
        # Nothing waits now: waiting out what the server said, it answers.
        time.sleep(max(r["retry_after_ms"] for r in refused) / 1000.0)
        r = after_retries(c, "history", "history", room=self.room, limit=5)
        self.assertEqual(len(r["messages"]), 5)

    def test_close_with_reads_in_flight(self):
        """The results of a connection that went are dropped; the broker
        goes on (and the sanitizers see no use after free or leak)."""
        for _ in range(3):
            c = self.chat()
            self.slow_requests(c, 6)
            c.abort()
        c = self.chat()
        r = after_retries(c, "history", "history", room=self.room, limit=1)
        self.assertEqual(len(r["messages"]), 1)

    def test_stop_with_reads_in_flight(self):
        """A daemon stopped while its readers work exits cleanly."""
        d = Daemon().start(config(reader_threads=2, reader_queue=4,
                                  query_timeout_ms=10000))
        self.addCleanup(d.cleanup)
        room = uniq("stop")
        populate(d, {room: ["common %d" % i for i in range(20000)]})
        c = self.chat(daemon=d)
        for _ in range(4):
            c.send_json({"type": "search", "id": c.next_id(), "room": room,
                         "q": "zzzrare common", "limit": 100})
        c.flush()
        self.assertEqual(d.stop(), 0)


class LoopLatencyTest(ChatTestCase):
    """One user's expensive reads, within the default rate limits, do not
    move another user's round trip on the broker's loop (presence) by more
    than a generous factor.  (With the reads on the loop, each search for a
    missing word held every other request for its whole run.)"""

    # presence is the round trip measured: its own class out of the way.
    config = {"limits": {"max_conns_per_user": 10, "list_rate": 100000,
                         "list_burst": 100000}}
    PHASE_S = 2.0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.room = uniq("lat")
        populate(cls.daemon, {cls.room: ["common word %d %s" % (i, "t" * 100)
                                         for i in range(50000)]})

    def p99(self, c):
        out, end = [], time.monotonic() + self.PHASE_S
        while time.monotonic() < end:
            t = time.monotonic()
            c.ok("presence", "presence", timeout=60, room=self.room)
            out.append(time.monotonic() - t)
        out.sort()
        return out[int(len(out) * 0.99)], len(out)

    def test_expensive_reads_leave_the_loop_alone(self):
        healthy = self.chat()
        before, n_before = self.p99(healthy)
        stop = threading.Event()
        answers = []

        def attack():
            a = self.chat()
            while not stop.is_set():
                for q in ("zzzrare", "common word"):
                    r = a.request("search", timeout=60, room=self.room, q=q,
                                  limit=100)
                    answers.append(r.get("code") or r["type"])
                    if r.get("code") == "RATE_LIMIT":
                        time.sleep(r["retry_after_ms"] / 1000.0)
                r = a.request("join", timeout=60, room=self.room, since=0,
                              history=200)
                answers.append(r.get("code") or r["type"])

        t = threading.Thread(target=attack)
        t.start()
        try:
            during, n_during = self.p99(healthy)
        finally:
            stop.set()
            t.join()
        self.assertTrue(answers)
        self.assertLessEqual(during, max(20 * before, 0.1),
                             "p99 %.1f ms before (%d), %.1f ms during (%d); "
                             "attack answers %s" % (
                                 before * 1000, n_before, during * 1000,
                                 n_during, sorted(set(answers))))


class DeadlineTest(ChatTestCase):
    """query_timeout_ms = 1: a read that takes longer answers TOO_EXPENSIVE
    and the connection goes on."""

    config = config(query_timeout_ms=1)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.room = uniq("deep")
        populate(cls.daemon, {cls.room: ["common word %d %s" % (i, "z" * 100)
                                         for i in range(20000)]})

    def test_expensive_reads_answer_too_expensive(self):
        # A search the index answers may finish within 1 ms (and SQLite
        # checks the deadline between statement steps, not inside the
        # full-text index), so searches may pass or be stopped; the
        # recovery below always runs out of time.
        c = self.chat()
        codes = []
        for q in ("zzzrare", "common", "common word"):
            r = c.request("search", room=self.room, q=q, limit=100)
            if r["type"] == "error":
                self.assertEqual(r["code"], "TOO_EXPENSIVE", r)
                self.assertIsInstance(r["message"], str)
            else:
                self.assertEqual(r["type"], "search_results")
            codes.append(r.get("code"))
        # A join whose recovery reads 1000 rows runs out of time as well;
        # the connection is not left in the room.
        r = c.request("join", room=self.room, since=0)
        self.assertEqual((r["type"], r.get("code")), ("error",
                                                      "TOO_EXPENSIVE"), r)
        c.err("send", "NOT_IN_ROOM", room=self.room, text="x")
        c.flush()
        st, _, body = self.daemon.api_request("GET", "/metrics", key=False)
        self.assertEqual(st, 200)
        m = dict(l.split() for l in body.decode().splitlines()
                 if l and not l.startswith("#") and "{" not in l)
        self.assertGreaterEqual(int(m["parley_reads_too_expensive_total"]),
                                codes.count("TOO_EXPENSIVE") + 1)
        self.assertEqual(int(m["parley_reads_pending"]), 0)


class DeadlineSnapshotTest(ChatTestCase):
    """Joins that always run past the deadline, on one reader: each one's
    read transaction still ends, so the next read sees the newest commit
    (an interrupted COMMIT left the reader on its old snapshot)."""

    config = {"limits": dict(NO_RATE_LIMITS, recovery_limit=100000),
              "store": {"query_timeout_ms": 1, "reader_threads": 1}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.room = uniq("deep")
        populate(cls.daemon, {cls.room: ["word %d %s" % (i, "z" * 100)
                                         for i in range(20000)]})

    def test_reads_after_expensive_joins_see_the_newest_commit(self):
        c, w = self.chat(), self.chat()
        live = uniq("live")
        w.join(live)
        # The COMMIT that ends a snapshot is checked against the deadline
        # every 1000 VM steps over its runs: a few hundred joins cross it.
        for i in range(700):
            # A recovery of 20,000 rows: always past 1 ms.
            r = c.request("join", room=self.room, since=0)
            self.assertEqual(r.get("code"), "TOO_EXPENSIVE", r["type"])
            seq = w.send(live, "n %d" % i)["seq"]
            while True:
                h = c.request("history", room=live, limit=1)
                if h.get("code") != "TOO_EXPENSIVE":
                    break
            self.assertEqual(h["type"], "history", h)
            self.assertEqual(seqs(h["messages"]), [seq],
                             "after %d joins" % (i + 1))


if __name__ == "__main__":
    unittest.main()
