"""What the broker sends a worker goes in IPC_DELIVER batches (one per
group commit, docs/ARCHITECTURE.md); a client must not be able to tell:
against the real daemon, several senders in one room at once, each client
gets its ack before its own broadcast and every broadcast in seq order with
no gap, while members are kicked or go away mid-stream; and many messages
went to the workers in fewer batches than messages."""

import re
import sys
import threading
import time
import unittest

from chatlib import NO_RATE_LIMITS, ChatTestCase, uniq
from harness import CloseReceived, ConnectionClosed

SENDERS = 4
CHUNK = 10          # sends in flight per sender
MIN_PER_SENDER = 60
MAX_PER_SENDER = 3000
BATCH_RE = re.compile(r"^worker \d+: (\d+) items, \d+ bytes$")


class Stream:
    """Everything one client got, in order, read on its own thread."""

    def __init__(self, client, room, want=None, stop_after=None):
        self.client = client
        self.room = room
        self.frames = []
        self.closed = None          # the close, if the server closed it
        self.error = None
        self.want = want            # done when want(self) is true
        self.stop_after = stop_after    # messages, then abort (goes away)
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def messages(self):
        return [f for f in list(self.frames) if f.get("type") == "message"
                and f.get("room") == self.room]

    def acks(self):
        return [f for f in list(self.frames) if f.get("type") == "ack"]

    def run(self):
        try:
            self.read()
        except Exception as e:      # reported by the test's thread
            self.error = e

    def read(self):
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if self.want is not None and self.want(self):
                return
            if (self.stop_after is not None and
                    len(self.messages()) >= self.stop_after):
                self.client.abort()
                return
            try:
                f = self.client.recv_json(1.0)
            except (CloseReceived, ConnectionClosed) as e:
                self.closed = e
                return
            except OSError:         # socket.timeout: read on
                continue
            with self.cond:
                self.frames.append(f)
                self.cond.notify_all()
        raise AssertionError("stream timed out with %d messages"
                             % len(self.messages()))


class DeliveryOrderTest(ChatTestCase):

    config = {"limits": dict(NO_RATE_LIMITS), "server": {"debug": "yes"}}
    workers = 2

    def check_gap_free(self, stream, who):
        seqs = [m["seq"] for m in stream.messages()]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))),
                         "%s: broadcasts out of order or with a gap" % who)
        return seqs

    def batches(self):
        """(batches, items) of the IPC_DELIVER debug lines so far."""
        n = items = 0
        for ev in self.daemon.log_events():
            if ev.get("ev") != "ipc_batch":
                continue
            m = BATCH_RE.match(ev.get("msg", ""))
            self.assertIsNotNone(m, ev)
            n += 1
            items += int(m[1])
        return n, items

    def test_concurrent_senders_in_order(self):
        room = uniq("busy")
        senders = [self.chat(uniq("s")) for _ in range(SENDERS)]
        quiet = [self.chat(uniq("q")) for _ in range(3)]
        kicked = self.chat(uniq("kicked"))
        leaver = self.chat(uniq("leaver"))
        for c in senders + quiet + [kicked, leaver]:
            c.join(room)
            c.flush()
        b0, i0 = self.batches()

        # Every sender keeps CHUNK sends in flight from its own thread
        # until the kick is done and it has sent MIN_PER_SENDER.
        rids = {c.sub: [] for c in senders}
        total = []                  # [n] once every sender is done
        start = threading.Barrier(SENDERS + 1)
        kicked_gone = threading.Event()

        def everything(s):
            return bool(total) and len(s.messages()) >= total[0]

        streams = {c.sub: Stream(c, room, want=lambda s: everything(s) and
                                 len(s.acks()) >= len(rids[s.client.sub]))
                   for c in senders}
        streams.update({c.sub: Stream(c, room, want=everything)
                        for c in quiet})
        streams[kicked.sub] = Stream(kicked, room)
        streams[leaver.sub] = Stream(leaver, room, stop_after=40)

        def send_all(c):
            st = streams[c.sub]
            start.wait()
            after_kick = 0
            while len(rids[c.sub]) < MAX_PER_SENDER:
                if kicked_gone.is_set():
                    if (after_kick >= 2 and
                            len(rids[c.sub]) >= MIN_PER_SENDER):
                        return
                    after_kick += 1
                for _ in range(CHUNK):
                    rid = c.next_id()
                    rids[c.sub].append(rid)
                    c.send_json({"type": "send", "id": rid, "room": room,
                                 "text": "%s-%d" % (c.sub, len(rids[c.sub]))})
                with st.cond:
                    if not st.cond.wait_for(lambda: len(st.acks()) >= len(
                            rids[c.sub]) or st.error, 20):
                        return

        writers = [threading.Thread(target=send_all, args=(c,), daemon=True)
                   for c in senders]
        for s in streams.values():
            s.thread.start()
        for w in writers:
            w.start()
        start.wait()

        # The kicked member goes mid-stream, by the operator's hand.
        kst = streams[kicked.sub]
        self.daemon.wait_for(lambda: len(kst.messages()) >= 80
                             or kst.closed or kst.error, 20,
                             msg="kicked member got 80 messages")
        rc, out, err = self.daemon.ctl("kick", kicked.sub, "mid-stream")
        self.assertEqual(rc, 0, err)
        kst.thread.join(20)
        kicked_gone.set()

        for w in writers:
            w.join(30)
            self.assertFalse(w.is_alive(), "a sender is stuck")
        total.append(sum(len(v) for v in rids.values()))
        # Everyone else reads until it has every broadcast (and senders
        # their acks); the two that left stop on their own.
        for sub, s in streams.items():
            s.thread.join(45)
            self.assertFalse(s.thread.is_alive(), "%s still reading" % sub)
            self.assertIsNone(s.error, "%s: %s" % (sub, s.error))

        for sub, s in streams.items():
            if sub in (kicked.sub, leaver.sub):
                continue
            self.assertIsNone(s.closed, sub)
            self.assertEqual(len(self.check_gap_free(s, sub)), total[0], sub)
        for c in senders:
            frames = streams[c.sub].frames
            where = {}
            for i, f in enumerate(frames):
                if f.get("type") == "ack":
                    where[("ack", f["id"])] = (i, f["seq"])
                elif f.get("type") == "message" and f.get("user") == c.sub:
                    where[("msg", f["seq"])] = i
            acked = []
            for rid in rids[c.sub]:
                self.assertIn(("ack", rid), where, "%s: no ack" % c.sub)
                i, seq = where[("ack", rid)]
                acked.append(seq)
                self.assertIn(("msg", seq), where, c.sub)
                self.assertLess(i, where[("msg", seq)],
                                "%s: broadcast %d before its ack" %
                                (c.sub, seq))
            self.assertEqual(acked, sorted(acked), c.sub)

        # The ones that went: what they got was in order, with no gap.
        ks = streams[kicked.sub]
        self.assertIsNotNone(ks.closed, "the kicked member was not closed")
        self.assertEqual(getattr(ks.closed, "code", 4403), 4403)
        self.assertLess(len(self.check_gap_free(ks, "kicked")), total[0])
        self.check_gap_free(streams[leaver.sub], "leaver")

        # The others are still served after the kick and the abort.
        ack = senders[0].send(room, "after")
        for c in quiet:
            c.backlog = []
            self.assertEqual(c.wait("message", room=room)["seq"], ack["seq"])

        # Under load, the workers got fewer batches than messages.
        b1, i1 = self.daemon.wait_for(
            lambda: (lambda b, i: (b, i) if i - i0 >= total[0] else None)(
                *self.batches()), 10, msg="ipc_batch lines")
        batches, items = b1 - b0, i1 - i0
        sys.stderr.write("%d messages, %d IPC_DELIVER items in %d batches; "
                         "kicked after %d, left after %d\n"
                         % (total[0], items, batches, len(ks.messages()),
                            len(streams[leaver.sub].messages())))
        self.assertLess(batches, total[0],
                        "%d batches for %d messages" % (batches, total[0]))
        self.assertGreater(items, batches)
        # /metrics counts the same batches.
        st, _, body = self.daemon.api_request("GET", "/metrics", key=False)
        self.assertEqual(st, 200)
        line = [l for l in body.decode().splitlines()
                if l.startswith("parley_ipc_batches_total ")]
        self.assertEqual(len(line), 1, body)
        self.assertGreaterEqual(int(line[0].split()[1]), batches)


if __name__ == "__main__":
    unittest.main()
