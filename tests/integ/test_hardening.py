"""Hardening against the real daemon: secret and key files that group or
others may read are refused by parleyd -t, at start-up and on reload
(naming the file and its mode); an HMAC secret under 32 bytes is refused;
and what a running daemon creates (data_dir, run_dir, the database and its
WAL, pidfile, ports file) is its own: 0700 directories, 0600 files, with
the control socket still usable by parleyctl."""

import os
import shutil
import signal
import stat
import subprocess
import tempfile
import unittest

import harness
from harness import wait_for
from chatlib import ChatTestCase, uniq

MODE_MSG = ("%s %s has mode %04o; it must not be readable or writable by "
            "group or others (chmod 600)")


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class StartupRefusalTest(unittest.TestCase):
    """parleyd -t and parleyd -f on a config whose secrets are exposed."""

    conf_mode = 0o644

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="parley-hard-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.cfg = harness.default_config(self.tmp)
        self.secret = os.path.join(self.tmp, "jwt.secret")
        self.api_key = os.path.join(self.tmp, "api.key")
        harness.write_private(self.secret, "k" * 64 + "\n")
        harness.write_private(self.api_key, "a" * 48 + "\n")

    def run_parleyd(self, flag):
        path = os.path.join(self.tmp, "p.conf")
        harness.write_private(path, harness.render_config(self.cfg),
                              self.conf_mode)
        # -f: a start-up that passed the checks would run on; the timeout
        # then fails the test instead of hanging it.
        r = subprocess.run([harness.PARLEYD, flag, "-c", path],
                           capture_output=True, timeout=20, cwd=self.tmp)
        return r.returncode, r.stderr.decode("utf-8", "replace")

    def assertRefused(self, needle):
        for flag in ("-t", "-f"):
            with self.subTest(flag=flag):
                rc, err = self.run_parleyd(flag)
                self.assertEqual(rc, 1, err)
                self.assertIn(needle, err)
                self.assertFalse(os.path.exists(os.path.join(
                    self.tmp, "lib", "parley.db")), "started anyway")

    def test_good_config_passes(self):
        rc, err = self.run_parleyd("-t")
        self.assertEqual(rc, 0, err)

    def test_secret_file_readable_by_others(self):
        os.chmod(self.secret, 0o644)
        self.assertRefused("[auth] " + MODE_MSG % ("secret_file", self.secret,
                                                   0o644))

    def test_secret_file_writable_by_group(self):
        os.chmod(self.secret, 0o620)
        self.assertRefused("[auth] " + MODE_MSG % ("secret_file", self.secret,
                                                   0o620))

    def test_api_key_file_readable_by_group(self):
        os.chmod(self.api_key, 0o640)
        self.assertRefused("[api] " + MODE_MSG % ("key_file", self.api_key,
                                                  0o640))

    def test_public_key_may_be_public(self):
        pub = os.path.join(harness._TOP, "tests", "unit", "keys",
                           "rs256.pub.pem")
        self.cfg["auth"] = {"algorithm": "RS256", "public_key_file": pub}
        os.chmod(self.secret, 0o644)    # not used by RS256
        rc, err = self.run_parleyd("-t")
        self.assertEqual(rc, 0, err)

    def test_short_secret_file(self):
        harness.write_private(self.secret, "0123456789abcdef\n")
        self.assertRefused("[auth] secret_file %s: the HS256 secret is 16 "
                           "bytes; it must be at least 32" % self.secret)

    def test_inline_secret_in_readable_config(self):
        self.cfg["auth"] = {"algorithm": "HS256", "secret": "x" * 32}
        self.assertRefused("[auth] " + MODE_MSG % (
            "secret is inline: the configuration",
            os.path.join(self.tmp, "p.conf"), 0o644))
        self.conf_mode = 0o600
        rc, err = self.run_parleyd("-t")
        self.assertEqual(rc, 0, err)

    def test_short_inline_secret(self):
        self.conf_mode = 0o600
        self.cfg["auth"] = {"algorithm": "HS512", "secret": "x" * 31}
        self.assertRefused("[auth] secret: the HS512 secret is 31 bytes; it "
                           "must be at least 32")
        self.cfg["auth"]["secret"] = "x" * 32
        rc, err = self.run_parleyd("-t")
        self.assertEqual(rc, 0, err)


class ReloadRefusalTest(ChatTestCase):
    daemon_scope = "test"

    def test_exposed_secret_fails_reload(self):
        before = self.daemon.status()["broker"]["pid"]
        secret = self.daemon.config["auth"]["secret_file"]
        os.chmod(secret, 0o604)
        os.kill(self.daemon.pid, signal.SIGHUP)
        ev = wait_for(lambda: next((e for e in self.daemon.log_events()
                                    if e.get("ev") == "reload_failed"), None),
                      10, msg="reload_failed logged")
        self.assertIn(MODE_MSG % ("secret_file", secret, 0o604), ev["msg"])
        self.assertEqual(self.daemon.status()["broker"]["pid"], before)
        self.chat().close()             # still serving, old key


class FileModesTest(ChatTestCase):
    """What a running daemon creates, in directories it creates itself."""

    daemon_scope = "own"                # started here, not by the harness

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.state = tempfile.mkdtemp(prefix="parley-modes-")
        os.chmod(cls.state, 0o755)
        cls.config = {"server": {
            "data_dir": os.path.join(cls.state, "data", "db"),
            "run_dir": os.path.join(cls.state, "run")}}
        d = harness.Daemon()
        d.premake_dirs = False
        cls.daemon = d.start(cls.config, cls.workers)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.state, ignore_errors=True)

    def test_created_files_are_private(self):
        # A committed write: the WAL and its index exist from then on.
        room = uniq("modes")
        a = self.chat()
        a.join(room)
        a.send(room, "hello")
        data = self.daemon.config["server"]["data_dir"]
        run = self.daemon.config["server"]["run_dir"]
        for d in (os.path.dirname(data), data, run):
            self.assertEqual(mode_of(d), 0o700, d)
        db = os.path.join(data, "parley.db")
        for f in (db, db + "-wal", db + "-shm",
                  os.path.join(run, "parleyd.pid"),
                  os.path.join(run, "ports.json")):
            self.assertEqual(mode_of(f), 0o600, f)
        self.assertEqual(mode_of(self.daemon.sock), 0o660)
        # The control socket still answers parleyctl.
        self.assertIn("broker", self.daemon.status())


if __name__ == "__main__":
    unittest.main(verbosity=2)
