"""The process model against the real daemon: readiness files, parleyctl
status, load spread over workers, crash and restart of a worker or the
broker, graceful shutdown, config check (-t)."""

import json
import os
import re
import signal
import socket
import stat
import subprocess
import shutil
import tempfile
import time
import unittest

import harness
from harness import ConnectionClosed, DaemonTestCase, OP_TEXT, main, wait_for


def pid_alive(pid):
    return harness._pid_alive(pid)


def echo_ok(c, text, timeout=5):
    """True when c echoes text; False when the server closed it."""
    try:
        c.send_text(text)
        return c.recv_message(timeout) == (OP_TEXT, text.encode())
    except (ConnectionClosed, BrokenPipeError, ConnectionResetError):
        return False


class StatusTest(DaemonTestCase):

    def test_ports_json(self):
        with open(os.path.join(self.daemon.run_dir, "ports.json")) as f:
            ports = json.load(f)
        self.assertEqual(set(ports), {"ws", "api", "tls"})
        self.assertGreater(ports["ws"], 0)
        self.assertGreater(ports["api"], 0)    # [api] listen = 127.0.0.1:0
        self.assertEqual(ports["tls"], 0)      # no [tls] listen
        with socket.create_connection(("127.0.0.1", ports["ws"]), timeout=5):
            pass
        with socket.create_connection(("127.0.0.1", ports["api"]), timeout=5):
            pass

    def test_pidfile_and_control_socket(self):
        with open(self.daemon.pidfile) as f:
            self.assertEqual(int(f.read().strip()), self.daemon.pid)
        self.assertTrue(stat.S_ISSOCK(os.stat(self.daemon.sock).st_mode))

    def test_status_format(self):
        rc, out, err = self.daemon.ctl("status")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 5, out)
        self.assertRegex(lines[0], r"^supervisor pid=\d+ uptime=\d+$")
        self.assertRegex(lines[1], r"^broker pid=\d+ uptime=\d+$")
        self.assertRegex(lines[2], r"^worker 1 pid=\d+ uptime=\d+ connections=\d+$")
        self.assertRegex(lines[3], r"^worker 2 pid=\d+ uptime=\d+ connections=\d+$")
        self.assertRegex(lines[4], r"^total connections=\d+$")
        st = harness.parse_status(out)
        self.assertEqual(st["supervisor"]["pid"], self.daemon.pid)
        pids = [st["broker"]["pid"]] + [w["pid"] for w in st["workers"].values()]
        self.assertEqual(len(set(pids)), 3, out)
        self.assertEqual(set(pids), self.daemon.children(),
                         "status pids are not the supervisor's children")
        self.assertEqual(st["total"],
                         sum(w["connections"] for w in st["workers"].values()))

    def test_status_via_config_file(self):
        rc, out, err = self.daemon.ctl("status", use_config=True)
        self.assertEqual(rc, 0, err)
        st = harness.parse_status(out)
        self.assertEqual(st["supervisor"]["pid"], self.daemon.pid)

    def test_unknown_command(self):
        rc, out, err = self.daemon.ctl("no-such-command")
        self.assertNotEqual(rc, 0)
        self.assertTrue(err.strip(), "no error message on stderr")

    def test_unreachable_daemon(self):
        r = subprocess.run([harness.PARLEYCTL, "-s",
                            os.path.join(self.daemon.tmp, "nope.sock"), "status"],
                           capture_output=True, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertTrue(r.stderr.strip(), "no error message on stderr")

    def test_chat_and_echo_connections_counted(self):
        d = self.daemon
        d.wait_total(0)
        cs = [self.connect("/ws") for _ in range(2)]     # before auth
        cs.append(self.connect("/echo"))
        d.wait_total(3)
        for c in cs:
            c.abort()
        d.wait_total(0)

    def test_connections_counted(self):
        d = self.daemon
        d.wait_total(0)
        cs = [self.connect("/echo") for _ in range(5)]
        st = d.wait_total(5)
        self.assertEqual(sum(w["connections"] for w in st["workers"].values()), 5)
        for c in cs[:3]:
            c.close()
        d.wait_total(2)
        for c in cs[3:]:
            c.abort()                  # no close handshake: TCP drop
        d.wait_total(0)


class DistributionTest(DaemonTestCase):
    N = 200

    def test_connections_spread_over_workers(self):
        d = self.daemon
        cs = [self.connect("/echo") for _ in range(self.N)]
        st = d.wait_total(self.N, timeout=15)
        self.assertEqual(sorted(st["workers"]), [1, 2])
        for n, w in st["workers"].items():
            self.assertGreaterEqual(w["connections"], self.N // 4,
                                    "worker %d has %d of %d connections"
                                    % (n, w["connections"], self.N))
        # Every connection works.
        for i, c in enumerate(cs):
            c.send_text("c%d" % i)
        for i, c in enumerate(cs):
            self.assertEqual(c.recv_message(), (OP_TEXT, b"c%d" % i))
        for c in cs:
            c.abort()
        d.wait_total(0, timeout=15)


class WorkerCrashTest(DaemonTestCase):
    daemon_scope = "test"
    N = 40

    def test_kill_worker(self):
        d = self.daemon
        cs = [self.connect("/echo") for _ in range(self.N)]
        st = d.wait_total(self.N)
        n1 = st["workers"][1]["connections"]
        n2 = st["workers"][2]["connections"]
        self.assertTrue(n1 > 0 and n2 > 0, st)
        old1, old2 = st["workers"][1]["pid"], st["workers"][2]["pid"]
        broker = st["broker"]["pid"]

        os.kill(old1, signal.SIGKILL)
        wait_for(lambda: not pid_alive(old1), 5, msg="worker 1 gone")

        alive = [c for i, c in enumerate(cs) if echo_ok(c, "after-kill %d" % i)]
        self.assertEqual(len(alive), n2,
                         "%d connections survived; worker 2 had %d, worker 1 %d"
                         % (len(alive), n2, n1))

        st = d.wait_status(lambda s: 1 in s["workers"]
                           and s["workers"][1]["pid"] not in (old1, 0),
                           msg="a new worker 1 pid")
        self.assertEqual(st["workers"][2]["pid"], old2, "worker 2 was replaced")
        self.assertEqual(st["broker"]["pid"], broker, "broker was replaced")
        self.assertTrue(pid_alive(st["workers"][1]["pid"]))

        # The dead worker's connections are no longer counted.
        d.wait_total(n2)

        # New connections work (some land on the new worker).
        new = [self.connect("/echo") for _ in range(20)]
        for i, c in enumerate(new):
            self.assertTrue(echo_ok(c, "new %d" % i), "new connection %d" % i)
        st = d.wait_total(n2 + 20)
        self.assertGreater(st["workers"][1]["connections"], 0, st)

        # The other worker's connections were unaffected throughout.
        for i, c in enumerate(alive):
            self.assertTrue(echo_ok(c, "still %d" % i))

    def test_worker_killed_repeatedly_comes_back(self):
        d = self.daemon
        for round_ in range(3):
            st = d.status()
            old = st["workers"][2]["pid"]
            t0 = time.monotonic()
            os.kill(old, signal.SIGKILL)
            d.wait_status(lambda s: 2 in s["workers"]
                          and s["workers"][2]["pid"] != old,
                          timeout=10, msg="worker 2 restart %d" % round_)
            # Back-off starts near 100 ms and doubles: a few restarts in a
            # row must still be quick.
            self.assertLess(time.monotonic() - t0, 5.0, "restart %d" % round_)
        c = self.connect("/echo")
        self.assertTrue(echo_ok(c, "ok"))
        self.assertTrue(d.alive())


class BrokerCrashTest(DaemonTestCase):
    daemon_scope = "test"
    N = 12

    def test_kill_broker(self):
        d = self.daemon
        cs = [self.connect("/echo") for _ in range(self.N)]
        st = d.wait_total(self.N)
        old = st["broker"]["pid"]
        workers = {n: w["pid"] for n, w in st["workers"].items()}

        os.kill(old, signal.SIGKILL)
        wait_for(lambda: not pid_alive(old), 5, msg="broker gone")
        # The echo connections stay open and keep working meanwhile.
        for i, c in enumerate(cs):
            self.assertTrue(echo_ok(c, "during %d" % i),
                            "connection %d lost with the broker" % i)

        # While the broker is away parleyctl either answers (new broker) or
        # fails with a message on stderr; it never fails silently.
        silent = []

        def restarted():
            rc, out, err = d.ctl("status")
            if rc != 0:
                if not err.strip():
                    silent.append(rc)
                return None
            s = harness.parse_status(out)
            return s if (s["broker"]["pid"] != old
                         and s["total"] == self.N) else None
        st = wait_for(restarted, 10,
                      msg="new broker with all %d connections" % self.N)
        self.assertEqual(silent, [], "parleyctl failed without a message")
        self.assertEqual({n: w["pid"] for n, w in st["workers"].items()},
                         workers, "workers were replaced")
        for i, c in enumerate(cs):
            self.assertTrue(echo_ok(c, "after %d" % i))

        # Open and close after the restart are tracked by the new broker.
        extra = [self.connect("/echo") for _ in range(3)]
        d.wait_total(self.N + 3)
        for c in extra + cs[:2]:
            c.close()
        d.wait_total(self.N - 2)


class ShutdownTest(DaemonTestCase):
    daemon_scope = "test"

    def _shutdown(self, sig, nclients):
        d = self.daemon
        cs = [self.connect("/echo") for _ in range(nclients)]
        cs.append(self.connect("/ws"))      # chat clients too (before auth)
        d.wait_total(nclients + 1)
        st = d.status()
        pids = {st["broker"]["pid"]} | {w["pid"] for w in st["workers"].values()}
        d.proc.send_signal(sig)
        for i, c in enumerate(cs):
            with self.subTest(client=i):
                c.expect_close(1001, timeout=5)
        rc = d.stop(None, timeout=5)      # already signalled once
        self.assertEqual(rc, 0, "parleyd exit status")
        wait_for(lambda: not any(pid_alive(p) for p in pids), 5,
                 msg="children exit with the supervisor")

    def test_sigterm_closes_clients_with_1001(self):
        self._shutdown(signal.SIGTERM, 6)

    def test_sigint_closes_clients_with_1001(self):
        self._shutdown(signal.SIGINT, 2)

    def test_sigterm_idle(self):
        rc = self.daemon.stop(signal.SIGTERM, timeout=5)
        self.assertEqual(rc, 0)


class DescriptorLimitTest(DaemonTestCase):
    """A worker out of file descriptors (EMFILE) backs off and accepts again
    once some are free; nothing crashes and no connection is lost."""

    workers = 1

    def test_emfile_backoff(self):
        import resource
        pid = self.daemon.child_pid("worker", 1)
        used = len(os.listdir("/proc/%d/fd" % pid))
        old = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (used + 3, old[1]))
        first = [self.connect("/echo") for _ in range(3)]
        for i, c in enumerate(first):
            self.assertTrue(echo_ok(c, "first %d" % i))
        # The next ones wait in the listen queue: the worker cannot accept.
        waiting = []
        for i in range(3):
            s = socket.create_connection(("127.0.0.1", self.daemon.ws_port))
            self.addCleanup(s.close)
            waiting.append(s)
        wait_for(lambda: any(e.get("ev") == "accept"
                             for e in self.daemon.log_events()) or None, 5,
                 msg="the worker logged the failed accept")
        resource.prlimit(pid, resource.RLIMIT_NOFILE, old)
        for c in first:
            c.close()
        # Accepting resumes after the back-off; the waiting ones are served.
        for s in waiting:
            s.close()
        c = harness.WSClient()
        c.connect(self.daemon.ws_port, "/echo")
        self.addCleanup(c.abort)
        self.assertTrue(echo_ok(c, "after the back-off"))
        self.assertEqual(self.daemon.child_pid("worker", 1), pid)


class FdLimitTest(unittest.TestCase):
    """parleyd raises its soft open-file limit for max_connections, up to
    the hard limit, logs what it got, and its children inherit it."""

    def start(self, soft, hard, max_connections):
        d = harness.Daemon()
        d.nofile_limit = (soft, hard)
        self.addCleanup(d.cleanup)
        d.start({"limits": {"max_connections": max_connections}}, workers=1)
        ev = [e for e in d.log_events() if e.get("ev") == "fd_limit"]
        self.assertEqual(len(ev), 1, d.log_tail())
        return d, ev[0]

    def worker_soft_limit(self, d):
        with open("/proc/%d/limits" % d.child_pid("worker", 1)) as f:
            for line in f:
                if line.startswith("Max open files"):
                    return int(line.split()[3])
        self.fail("no open-file limit in /proc")

    def test_raised_to_what_the_config_needs(self):
        d, ev = self.start(256, 4096, 1000)
        # 1000 connections on one worker, plus the reserve (256).
        self.assertEqual(ev.get("lvl"), "info", ev)
        self.assertIn("soft raised to 1256 (hard 4096)", ev.get("msg"), ev)
        self.assertEqual(self.worker_soft_limit(d), 1256)

    def test_hard_limit_raised_when_allowed(self):
        probe = subprocess.run(
            ["/usr/bin/python3", "-c", "import resource as r; "
             "s, h = r.getrlimit(r.RLIMIT_NOFILE); "
             "r.setrlimit(r.RLIMIT_NOFILE, (h + 1, h + 1))"],
            capture_output=True)
        if probe.returncode != 0:
            self.skipTest("this process may not raise its hard limit "
                          "(no CAP_SYS_RESOURCE)")
        d, ev = self.start(256, 2048, 100000)
        self.assertEqual(ev.get("lvl"), "info", ev)
        self.assertIn("soft and hard raised to 100256", ev.get("msg"), ev)
        self.assertEqual(self.worker_soft_limit(d), 100256)

    def test_capped_by_the_hard_limit_with_a_warning(self):
        # More than fs.nr_open: not even root may raise the hard limit.
        with open("/proc/sys/fs/nr_open") as f:
            nr_open = int(f.read())
        want = nr_open + 1000
        d, ev = self.start(256, 2048, want - 256)
        self.assertEqual(ev.get("lvl"), "warn", ev)
        self.assertIn("soft 2048, hard 2048, wanted %d" % want, ev.get("msg"))
        self.assertIn("about 1792 connections", ev.get("msg"))
        self.assertEqual(self.worker_soft_limit(d), 2048)
        # Still serves.
        c = harness.WSClient()
        c.connect(d.ws_port, "/echo")
        self.addCleanup(c.abort)
        self.assertTrue(echo_ok(c, "served"))


class ForegroundLogTest(DaemonTestCase):
    """-f logs to stderr (PROTOCOL.md Appendix A) even when log_file is set."""

    @classmethod
    def setUpClass(cls):
        cls.logdir = tempfile.mkdtemp(prefix="parley-log-")
        cls.config = {"server": {"log_file":
                                 os.path.join(cls.logdir, "parley.log")}}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.logdir, ignore_errors=True)

    def test_logs_on_stderr(self):
        self.assertTrue(any(e.get("ev") == "ready"
                            for e in self.daemon.log_events()))
        self.assertFalse(os.path.exists(os.path.join(self.logdir,
                                                     "parley.log")))


class ConfigCheckTest(unittest.TestCase):
    """parleyd -t -c FILE: exit 0 for a good config, 1 with FILE:LINE:key."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="parley-cfg-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.cfg = harness.default_config(self.tmp)
        for name in ("jwt.secret", "api.key"):
            harness.write_private(os.path.join(self.tmp, name),
                                  "0123456789abcdef0123456789abcdef")
        for d in ("lib", "run"):
            os.makedirs(os.path.join(self.tmp, d))

    def check(self, text):
        path = os.path.join(self.tmp, "test.conf")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([harness.PARLEYD, "-t", "-c", path],
                           capture_output=True, timeout=10)
        return path, r.returncode, r.stderr.decode("utf-8", "replace")

    def line_of(self, text, needle):
        for i, line in enumerate(text.splitlines(), 1):
            if needle in line:
                return i
        raise AssertionError(needle)

    def test_good_config(self):
        _, rc, err = self.check(harness.render_config(self.cfg))
        self.assertEqual(rc, 0, err)

    def assertBad(self, text, key, needle=None):
        path, rc, err = self.check(text)
        self.assertEqual(rc, 1, err)
        line = self.line_of(text, needle or key)
        self.assertRegex(err, re.escape("%s:%d" % (path, line)), err)
        self.assertIn(key, err)

    def test_bad_value(self):
        harness.merge_config(self.cfg, {"server": {"workers": "banana"}})
        self.assertBad(harness.render_config(self.cfg), "workers")

    def test_unknown_key(self):
        harness.merge_config(self.cfg, {"websocket": {"no_such_key": 1}})
        self.assertBad(harness.render_config(self.cfg), "no_such_key")

    def test_bad_listen(self):
        harness.merge_config(self.cfg, {"server": {"listen": "nonsense"}})
        self.assertBad(harness.render_config(self.cfg), "listen",
                       "listen = nonsense")

    def test_missing_file(self):
        r = subprocess.run([harness.PARLEYD, "-t", "-c",
                            os.path.join(self.tmp, "absent.conf")],
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.strip())


if __name__ == "__main__":
    main()
