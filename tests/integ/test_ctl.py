"""parleyctl against the real daemon, beyond status (test_processes.py):
kick closes every connection of a user with 4403, rooms lists the rooms
with live members, and bad admin commands get a clear error."""

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest

from chatlib import NO_RATE_LIMITS, ChatTestCase, uniq
from harness import PARLEYCTL


class CtlTest(ChatTestCase):

    def test_kick_closes_every_connection_of_the_user(self):
        sub = uniq("troll")
        a1 = self.chat(sub)
        a2 = self.chat(sub)
        other = self.chat(uniq("nice"))
        for c in (a1, a2, other):
            c.ok("rooms", "rooms")      # registered with the broker
        rc, out, err = self.daemon.ctl("kick", sub, "be nice")
        self.assertEqual(rc, 0, err)
        self.assertIn("kicked 2 connections", out)
        for c in (a1, a2):
            code, reason = c.expect_close(4403)
            self.assertEqual(reason, b"be nice")
        other.ok("rooms", "rooms")      # untouched

    def test_kick_unknown_user_fails(self):
        rc, out, err = self.daemon.ctl("kick", uniq("nobody"))
        self.assertEqual(rc, 1)
        self.assertIn("no connection of user", err)

    def test_kick_reason_checked(self):
        sub = uniq("x")
        self.chat(sub).ok("rooms", "rooms")
        for bad in ("r" * 101, "line\nbreak"):
            rc, out, err = self.daemon.ctl("kick", sub, bad)
            self.assertEqual(rc, 1, bad)
            self.assertIn("reason", err)

    def test_rooms_lists_live_rooms(self):
        room = uniq("room")
        a = self.chat(uniq("a"))
        b = self.chat(uniq("b"))
        b2 = self.chat(b.sub)
        for c in (a, b, b2):
            c.join(room)
        rc, out, err = self.daemon.ctl("rooms")
        self.assertEqual(rc, 0, err)
        self.assertIn("room %s connections=3 users=2" % room, out.splitlines())
        self.assertRegex(out, r"(?m)^total rooms=\d+$")

    def test_bad_commands(self):
        for args, want in ((("kick",), "usage: kick USER"),
                           (("rooms", "extra"), "usage: rooms"),
                           (("frobnicate",), "unknown command")):
            rc, out, err = self.daemon.ctl(*args)
            self.assertEqual(rc, 1, args)
            self.assertIn(want, err, args)


class CtlLimitsTest(ChatTestCase):
    """control_max_clients = 2, control_timeout = 4: held control clients
    fill the places, one more gets a clear refusal, and the held ones are
    closed after the timeout so parleyctl works again."""

    config = {"limits": dict(NO_RATE_LIMITS),
              "server": {"control_max_clients": 2, "control_timeout": 4}}

    def hold(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(15)
        s.connect(self.daemon.sock)
        self.addCleanup(s.close)
        return s

    def test_idle_clients_hold_the_cap_then_time_out(self):
        held = [self.hold(), self.hold()]
        rc, out, err = self.daemon.ctl("status")
        self.assertEqual(rc, 1, (out, err))
        self.assertIn("too many control clients", err)
        self.assertIn("control_max_clients", err)
        self.assertIn("ctl_refused", self.daemon.log_text())
        # The held ones are closed after control_timeout ...
        for s in held:
            self.assertEqual(s.recv(1), b"")
        self.assertIn("ctl_timeout", self.daemon.log_text())
        # ... and parleyctl works again.
        rc, out, err = self.daemon.ctl("status")
        self.assertEqual(rc, 0, err)

    def test_a_complete_command_within_the_timeout_is_answered(self):
        rc, out, err = self.daemon.ctl("rooms")
        self.assertEqual(rc, 0, err)


class ParleyctlBrokenSocketTest(unittest.TestCase):
    """parleyctl against a socket that closes on it, or never answers:
    a message on stderr and exit status 1, never a silent SIGPIPE."""

    def serve(self, behave):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "s.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(4)
        self.addCleanup(srv.close)

        def run():
            try:
                c, _ = srv.accept()
            except OSError:
                return
            behave(c)
        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.addCleanup(t.join, 10)
        return path

    def ctl(self, path, timeout=30):
        r = subprocess.run([PARLEYCTL, "-s", path, "status"],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
        return r.returncode, r.stderr.decode("utf-8", "replace")

    def test_closed_without_an_answer(self):
        # Closed at once: parleyctl's write may hit EPIPE (SIGPIPE without
        # the fix) or its read sees EOF; either way it says so.
        path = self.serve(lambda c: c.close())
        rc, err = self.ctl(path)
        self.assertEqual(rc, 1, err)
        self.assertRegex(err, r"parleyctl: .*(closed the connection|cannot "
                         r"send the command)")

    def test_closed_after_reading_the_command(self):
        def behave(c):
            c.recv(65536)
            c.close()
        path = self.serve(behave)
        rc, err = self.ctl(path)
        self.assertEqual(rc, 1, err)
        self.assertIn("closed the connection before its answer", err)

    def test_refused_connection(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d, True)
        rc, err = self.ctl(os.path.join(d, "nobody.sock"))
        self.assertEqual(rc, 1, err)
        self.assertIn("cannot connect", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
