"""One short run of each wsbench workload against a real parleyd (issue 9):
`make bench` is not part of `make check`, but its load generator must not
rot.  Each run is a second or less; every test fails when wsbench prints
FAILED, exits non-zero, or reports loss, gaps or no traffic.  The numbers
themselves are not judged (the machine is shared): only that work was done
and checked."""

import os
import signal
import subprocess
import unittest

from harness import DaemonTestCase

TOP = os.environ.get("PARLEY_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
WSBENCH = os.environ.get("WSBENCH") or os.path.join(TOP, "tests", "bench",
                                                    "wsbench")


def parse(line):
    return dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)


class BenchSmoke(DaemonTestCase):
    workers = 1
    config = {"limits": {"max_conns_per_user": 1000, "send_rate": 100000,
                         "send_burst": 100000, "join_rate": 100000}}

    def tokens(self, n):
        path = os.path.join(self.daemon.tmp, "tokens-%d.txt" % n)
        with open(path, "w") as f:
            for i in range(n):
                f.write(self.daemon.make_token("smoke-u%d" % i) + "\n")
        return path

    def wsbench(self, *args, timeout=30):
        argv = [WSBENCH] + [str(a) for a in args] + [
            "-p", str(self.daemon.ws_port), "-q"]
        p = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout)
        self.assertEqual(p.returncode, 0, "%s\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(argv), p.stdout, p.stderr))
        self.assertNotIn("FAILED", p.stdout)
        return [parse(l) for l in p.stdout.splitlines()
                if l.startswith("RESULT ")]

    def test_echo(self):
        for size in (32, 1024):
            r = self.wsbench("echo", "-c", 4, "-k", 2, "-s", size, "-d",
                             0.5, "-W", 0.1)
            self.assertEqual(len(r), 1)
            self.assertGreater(int(r[0]["msgs"]), 0, r)
            self.assertGreater(float(r[0]["p99_us"]), 0, r)

    def test_broadcast_ladder(self):
        toks = self.tokens(20)
        r = self.wsbench("broadcast", "-c", 20, "-K", 2, "-L", "20,40",
                         "-d", 0.5, "-W", 0.2, "-x", 10000, "-T", toks)
        self.assertEqual([x["step"] for x in r], ["-1", "0", "1"])
        for x in r:
            self.assertGreater(int(x["sent"]), 0, x)
            self.assertEqual(int(x["delivered"]), int(x["sent"]) * 20, x)
            self.assertEqual((x["lost"], x["gaps"], x["dups"]),
                             ("0", "0", "0"), x)

    def test_ingest_closed_and_open_loop(self):
        toks = self.tokens(5)
        r = self.wsbench("ingest", "-c", 5, "-k", 2, "-d", 0.5, "-W", 0.1,
                         "-T", toks)
        self.assertGreater(int(r[0]["acked"]), 0, r)
        r = self.wsbench("ingest", "-c", 5, "-L", 100, "-d", 0.5, "-W", 0,
                         "-T", toks)
        self.assertGreater(int(r[0]["acked"]), 0, r)
        self.assertGreater(int(r[0]["samples"]), 0, r)

    def test_idle_holds_until_sigterm(self):
        toks = self.tokens(40)
        p = subprocess.Popen([WSBENCH, "idle", "-c", "40", "-R", "4", "-A",
                              "4", "-T", toks, "-p",
                              str(self.daemon.ws_port), "-q"],
                             stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(p.stdout.readline().strip(), "READY 40")
            self.daemon.wait_total(40)
        finally:
            p.send_signal(signal.SIGTERM)
            out, _ = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0, out)
        self.assertIn("open=40 ready=40", out)

    def test_a_refused_connection_fails_the_run(self):
        path = os.path.join(self.daemon.tmp, "bad-token.txt")
        with open(path, "w") as f:
            f.write("not.a.token\n")
        p = subprocess.run([WSBENCH, "idle", "-c", "2", "-T", path, "-p",
                            str(self.daemon.ws_port), "-q", "-t", "5"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("FAILED", p.stdout)

    def test_driver_compiles(self):
        for name in ("bench.py", "peer_echo.py"):
            with open(os.path.join(TOP, "tests", "bench", name)) as f:
                compile(f.read(), name, "exec")


class BenchSmokeStalled(BenchSmoke):
    """The `stalled` workload, short: members that join and never read are
    closed by the slow-consumer policy (1013, in the server's log: a client
    that never reads never sees the close frame) while the others lose
    nothing.  max_output_bytes is 256 KiB here (the members that
    read must stay under it through bursts), but the kernel's send buffer
    (autotuned up to tcp_wmem's 4 MiB) fills first: 5 s of 8 KiB messages
    at 160/s (about 6.5 MB per member) pass both.  Few, large messages: a
    sanitizer build's broker keeps up with them."""
    config = {"limits": {"max_conns_per_user": 1000, "send_rate": 100000,
                         "send_burst": 100000, "join_rate": 100000,
                         "max_text": 10000},
              "websocket": {"max_output_bytes": 262144}}

    def test_stalled_members_closed_with_1013(self):
        toks = self.tokens(23)
        argv = [WSBENCH, "broadcast", "-c", "20", "-K", "2", "-L", "160",
                "-s", "8192", "-d", "5", "-W", "0", "-S", "3", "-T", toks,
                "-p",
                str(self.daemon.ws_port), "-q"]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        lines = p.stdout.splitlines()
        r = [parse(l) for l in lines if l.startswith("RESULT ")]
        st = [parse(l) for l in lines if l.startswith("STALLED ")]
        self.assertEqual(len(r), 1, p.stdout)
        self.assertEqual(len(st), 1, p.stdout)
        self.assertGreater(int(r[0]["sent"]), 0, r)
        self.assertEqual(int(r[0]["delivered"]), int(r[0]["sent"]) * 20, r)
        self.assertEqual((r[0]["lost"], r[0]["gaps"], r[0]["dups"]),
                         ("0", "0", "0"), r)
        self.assertEqual((st[0]["closed"], st[0]["still_open"]), ("3", "0"),
                         st)
        with open(self.daemon.log_path, errors="replace") as f:
            log = f.read()
        self.assertEqual(log.count('"slow_consumer"'), 3)
        self.assertEqual(log.count("sending 1013"), 3)

    # the workloads above run once, in BenchSmoke
    test_echo = test_broadcast_ladder = None
    test_ingest_closed_and_open_loop = None
    test_idle_holds_until_sigterm = None
    test_a_refused_connection_fails_the_run = test_driver_compiles = None


if __name__ == "__main__":
    unittest.main(verbosity=2)
