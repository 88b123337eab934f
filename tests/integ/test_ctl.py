"""parleyctl against the real daemon, beyond status (test_processes.py):
kick closes every connection of a user with 4403, rooms lists the rooms
with live members, and bad admin commands get a clear error."""

import unittest

from chatlib import ChatTestCase, uniq


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


if __name__ == "__main__":
    unittest.main(verbosity=2)
