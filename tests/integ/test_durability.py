"""Durability and ordering against the real daemon (PROTOCOL.md section 4):
concurrent senders on different workers, the broker killed with SIGKILL
while they send; clients retry with the same client_msg_id on UNAVAILABLE
or a lost connection.  Afterwards every acked message is stored exactly
once with its acked seq, seqs are gap-free, and every member saw the room's
messages in strictly increasing seq order."""

import signal
import socket
import threading
import time
import unittest

from chatlib import (ChatClient, ChatTestCase, CloseReceived, ConnectionClosed,
                     uniq, wait_for)


class Sender(threading.Thread):
    """Sends n messages one at a time, each with its own client_msg_id,
    retrying (same id) on UNAVAILABLE, a lost connection or a lost reply."""

    def __init__(self, case, room, sub, n):
        super().__init__(daemon=True)
        self.case, self.room, self.sub, self.n = case, room, sub, n
        self.acks = {}            # client_msg_id -> ack
        self.retries = 0
        self.reconnects = 0
        self.lost_replies = 0
        self.errors = []
        self.c = None

    def connect(self):
        d = self.case.daemon
        deadline = time.monotonic() + 20
        while True:
            try:
                c = ChatClient().connect(d.ws_port, "/ws",
                                         query={"token": d.make_token(self.sub)})
                w = c.recv_json()
                assert w["type"] == "welcome", w
                r = c.request("join", room=self.room)
                if r["type"] == "joined":
                    self.c = c
                    return
                c.abort()
            except (OSError, ConnectionClosed, CloseReceived, AssertionError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError("%s could not reconnect" % self.sub)
            time.sleep(0.05)     # reconnect back-off (not a synchronisation)

    def run(self):
        try:
            self.connect()
            for i in range(self.n):
                cmid = "%s-%d" % (self.sub, i)
                while True:
                    try:
                        r = self.c.request("send", 5.0, room=self.room,
                                           text="msg %s" % cmid,
                                           client_msg_id=cmid)
                    except AssertionError as e:
                        if "timed out" in str(e):
                            self.lost_replies += 1
                        self.reconnects += 1
                        self.c.abort()
                        self.connect()
                        continue
                    except (OSError, ConnectionClosed, CloseReceived):
                        self.reconnects += 1
                        self.c.abort()
                        self.connect()
                        continue
                    if r["type"] == "ack":
                        self.acks[cmid] = r
                        break
                    if r.get("code") in ("UNAVAILABLE", "RATE_LIMIT"):
                        self.retries += 1
                        time.sleep(0.02)   # retry back-off (not a synchronisation)
                        continue
                    self.errors.append(r)
                    break
        except Exception as e:      # noqa: BLE001 - reported by the test
            self.errors.append(repr(e))
        finally:
            if self.c:
                self.c.abort()


class Receiver(threading.Thread):
    """Records the seqs of the room's messages as they arrive."""

    def __init__(self, c, room):
        super().__init__(daemon=True)
        self.c, self.room = c, room
        self.seqs = []
        self.stop = threading.Event()
        self.error = None

    def run(self):
        while not self.stop.is_set():
            try:
                o = self.c.recv_json(0.2)
            except socket.timeout:
                continue
            except Exception as e:    # noqa: BLE001
                self.error = repr(e)
                return
            if o.get("type") == "message" and o.get("room") == self.room:
                self.seqs.append(o["seq"])


class DurabilityTest(ChatTestCase):
    daemon_scope = "test"

    def spread_clients(self, room, n_senders, n_receivers):
        """Receivers connected so that both workers host some; sender users
        connect themselves."""
        recv = []
        while len(recv) < n_receivers or not all(
                w["connections"] > 0 for w in self.daemon.status()["workers"].values()):
            c = self.chat(uniq("rx"))
            c.join(room)
            recv.append(c)
            self.assertLess(len(recv), 30, "all connections on one worker")
        return recv

    def check_history(self, room, senders):
        c = self.chat(uniq("check"))
        hist = c.history_all(room)
        seqs = [m["seq"] for m in hist]
        self.assertEqual(seqs, list(range(1, len(hist) + 1)), "seqs not gap-free")
        cmids = [m.get("client_msg_id") for m in hist]
        dups = {x for x in cmids if cmids.count(x) > 1}
        self.assertEqual(dups, set(), "client_msg_ids stored twice")
        by_cmid = {m["client_msg_id"]: m for m in hist}
        acked = {}
        for s in senders:
            acked.update(s.acks)
        for cmid, ack in acked.items():
            self.assertIn(cmid, by_cmid, "acked message %s lost" % cmid)
            self.assertEqual(by_cmid[cmid]["seq"], ack["seq"],
                             "acked seq differs from stored seq for %s" % cmid)
            self.assertEqual(by_cmid[cmid]["msg_id"], ack["msg_id"])
        self.assertEqual(set(by_cmid), set(acked),
                         "stored messages that were never acked")
        return hist

    def run_senders(self, room, n_senders, per_sender, during=None):
        senders = [Sender(self, room, uniq("tx"), per_sender) for _ in range(n_senders)]
        for s in senders:
            s.start()
        if during:
            during(senders)
        for s in senders:
            s.join(60)
            self.assertFalse(s.is_alive(), "sender %s stuck" % s.sub)
        for s in senders:
            self.assertEqual(s.errors, [], "sender %s" % s.sub)
            self.assertEqual(len(s.acks), per_sender)
        return senders

    def test_concurrent_order(self):
        room = uniq("room")
        recv = self.spread_clients(room, 4, 3)
        rx = [Receiver(c, room) for c in recv]
        for r in rx:
            r.start()
        senders = self.run_senders(room, 4, 60)
        total = 4 * 60
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(len(r.seqs) < total for r in rx):
            time.sleep(0.05)   # poll the receiver threads against a deadline
        for r in rx:
            r.stop.set()
            r.join(5)
            self.assertIsNone(r.error)
            self.assertEqual(r.seqs, list(range(1, total + 1)),
                             "a member saw messages out of order or missing")
        self.check_history(room, senders)
        self.assertEqual(sum(s.retries + s.reconnects for s in senders), 0)

    def test_broker_kill_while_sending(self):
        room = uniq("room")
        recv = self.spread_clients(room, 3, 2)
        rx = [Receiver(c, room) for c in recv]
        for r in rx:
            r.start()
        kills = []

        def during(senders):
            d = self.daemon
            for target in (40, 120):
                wait_for(lambda: sum(len(s.acks) for s in senders) >= target
                         or all(not s.is_alive() for s in senders), 30,
                         msg="%d acks" % target)
                if all(not s.is_alive() for s in senders):
                    break
                old = d.kill_child("broker", sig=signal.SIGKILL)
                kills.append(old)
                d.wait_status(lambda st: st["broker"]["pid"] != old, 15,
                              "broker restarted")
        senders = self.run_senders(room, 3, 80, during)
        self.assertEqual(len(kills), 2, "senders finished before the kills")
        hist = self.check_history(room, senders)
        self.assertEqual(len(hist), 3 * 80)
        total = len(hist)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(
                (r.seqs[-1] if r.seqs else 0) < total and r.error is None for r in rx):
            time.sleep(0.05)   # poll the receiver threads against a deadline
        for r in rx:
            r.stop.set()
            r.join(5)
            self.assertIsNone(r.error, "a member's connection broke")
            self.assertTrue(all(x < y for x, y in zip(r.seqs, r.seqs[1:])),
                            "a member saw seqs out of order: %r" % r.seqs)
        # the room survived the crashes: same epoch, recovery with since works
        epoch = recv[0].request("join", room=room)["epoch"]
        late = self.chat(recv[0].sub)
        j = late.join(room, since=total - 3, epoch=epoch)
        self.assertIs(j.get("recovered"), True, j)
        self.assertEqual([m["seq"] for m in j["messages"]],
                         [total - 2, total - 1, total])
        for r in rx:
            missing = sorted(set(range(1, total + 1)) - set(r.seqs))
            self.assertEqual(missing, [], "a live member (never disconnected) "
                             "silently missed these seqs across the broker "
                             "kills: %r" % missing[:20])
        lost = sum(s.lost_replies for s in senders)
        self.assertEqual(lost, 0, "%d send requests got no reply within 5 s "
                         "(neither ack nor UNAVAILABLE) across %d broker kills; "
                         "UNAVAILABLE retries: %d, reconnects: %d"
                         % (lost, len(kills), sum(s.retries for s in senders),
                            sum(s.reconnects for s in senders)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
