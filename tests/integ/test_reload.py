"""SIGHUP reload against the real daemon: a good file replaces the broker
and then each worker with the new settings (clients of a replaced worker
get 1001); a bad file changes nothing."""

import os
import signal
import unittest

import harness
from harness import DaemonTestCase, wait_for
from chatlib import ChatTestCase, retry_unavailable, uniq


def pids(st):
    return {"broker": st["broker"]["pid"],
            **{w: v["pid"] for w, v in st["workers"].items()}}


class ReloadTest(DaemonTestCase):
    daemon_scope = "test"

    def rewrite(self, **sections):
        harness.merge_config(self.daemon.config, sections)
        self.daemon._write(self.daemon.config_path,
                           harness.render_config(self.daemon.config), 0o644)

    def test_reload_applies_new_settings(self):
        before = pids(self.daemon.status())
        c = self.connect("/echo")
        c.send_text("x" * 5000)
        self.assertEqual(c.recv_message(5)[1], b"x" * 5000)
        self.rewrite(websocket={"max_message_bytes": 1000})
        os.kill(self.daemon.pid, signal.SIGHUP)
        # the old client's worker is replaced: it is told to go away
        c.expect_close(1001, timeout=15)
        st = self.daemon.wait_status(
            lambda s: all(pids(s)[k] != v for k, v in before.items()) and
            len(s["workers"]) == len(before) - 1, 20,
            "every process replaced")
        self.assertEqual(st["supervisor"]["pid"], self.daemon.pid)
        wait_for(lambda: any(e.get("ev") == "reload_done"
                             for e in self.daemon.log_events()) or None, 10,
                 msg="reload_done logged")
        d = self.connect("/echo")
        d.send_text("y" * 1000)         # exactly the new limit: fine
        self.assertEqual(d.recv_message(5)[1], b"y" * 1000)
        d.send_text("y" * 1001)
        d.expect_close(1009)

    def test_bad_file_changes_nothing(self):
        before = pids(self.daemon.status())
        good = open(self.daemon.config_path).read()
        with open(self.daemon.config_path, "a") as f:
            f.write("\n[server]\nno_such_key = 1\n")
        os.kill(self.daemon.pid, signal.SIGHUP)
        wait_for(lambda: any(e.get("ev") == "reload_failed"
                             for e in self.daemon.log_events()) or None, 10,
                 msg="reload_failed logged")
        self.assertEqual(pids(self.daemon.status()), before)
        c = self.connect("/echo")
        c.send_text("still here")
        self.assertEqual(c.recv_message(5)[1], b"still here")
        with open(self.daemon.config_path, "w") as f:
            f.write(good)

    def test_fixed_settings_need_a_restart(self):
        port = self.daemon.ws_port
        self.rewrite(server={"listen": "127.0.0.1:1"})
        os.kill(self.daemon.pid, signal.SIGHUP)
        wait_for(lambda: any(e.get("ev") == "reload_done"
                             for e in self.daemon.log_events()) or None, 20,
                 msg="reload_done logged")
        self.assertTrue(any("restart parleyd" in e.get("msg", "")
                            for e in self.daemon.log_events()))
        c = self.connect("/echo")       # still on the old port
        self.assertEqual(self.daemon.ws_port, port)
        c.send_text("ok")
        self.assertEqual(c.recv_message(5)[1], b"ok")


class DrainAcksTest(ChatTestCase):
    """A broker that is replaced (reload) or stopped with a batch still
    open commits it and delivers its acks before it goes: no committed
    message is ever answered UNAVAILABLE (which would make clients resend
    it)."""

    daemon_scope = "test"
    config = dict(ChatTestCase.config, store={"commit_delay_ms": 3000})

    def test_open_batch_is_acked_on_reload(self):
        """UNAVAILABLE must mean "not stored": an ack, then the message is
        in history once; UNAVAILABLE (the broker had not read it yet),
        then it is not there at all."""
        room = uniq("room")
        c = self.chat(uniq("ann"))
        c.join(room)
        c.send_json({"type": "send", "room": room, "text": "in the batch",
                     "id": "s1"})
        c.flush()                       # the worker has forwarded it
        os.kill(self.daemon.pid, signal.SIGHUP)
        r = c.wait(timeout=10, pred=lambda o: o.get("id") == "s1")
        self.assertIn((r["type"], r.get("code")),
                      (("ack", None), ("error", "UNAVAILABLE")), r)
        wait_for(lambda: any(e.get("ev") == "reload_done"
                             for e in self.daemon.log_events()) or None, 20,
                 msg="reload_done logged")
        d = self.chat(uniq("bea"))
        h = retry_unavailable(lambda: d.request("history", room=room))
        self.assertEqual([m["text"] for m in h["messages"]],
                         ["in the batch"] if r["type"] == "ack" else [], r)

if __name__ == "__main__":
    unittest.main(verbosity=2)
