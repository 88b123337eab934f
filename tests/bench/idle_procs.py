"""idle_procs.py: idle memory per connection, per parley process.

bench.py's idle workload (N authenticated connections, N / 100 rooms of 100
members, wsbench idle) against a fresh parleyd with workers = 1, reporting
each process's VmRSS before and after, in bytes per connection; with
--mallinfo also malloc's bytes in use (mallinfo2 through gdb), which tells
live records from the free pages a heap keeps.

    python3 tests/bench/idle_procs.py -c 10000 --mallinfo

(PARLEYD and WSBENCH default to this tree's parleyd and tests/bench/wsbench.)
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
# the daemon runs in a temporary directory: absolute paths (set before
# bench and harness read them)
for var, default in (("PARLEYD", "parleyd"),
                     ("WSBENCH", "tests/bench/wsbench")):
    os.environ[var] = os.path.abspath(os.environ.get(var) or
                                      os.path.join(TOP, default))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import bench  # noqa: E402


def procs(root):
    """pid -> (title, VmRSS kB) for root's process tree."""
    out = {}
    for pid in bench.tree(root):
        try:
            with open("/proc/%d/cmdline" % pid) as f:
                title = f.read().replace("\0", " ").strip()
            with open("/proc/%d/status" % pid) as f:
                rss = [int(line.split()[1]) for line in f
                       if line.startswith("VmRSS:")][0]
            out[pid] = (title, rss)
        except (OSError, IndexError):
            pass
    return out


def malloc_in_use(pid):
    """malloc's bytes in use in pid (gdb calls mallinfo2), or None."""
    r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex",
                        "print (size_t)mallinfo2().uordblks"],
                       capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if line.startswith("$"):
            return int(line.split("=")[1])
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-c", "--conns", type=int, default=10000)
    ap.add_argument("--settle", type=float, default=8.0,
                    help="seconds between READY and the reading")
    ap.add_argument("--mallinfo", action="store_true")
    opts = ap.parse_args()
    n = opts.conns
    bench.raise_nofile()
    s = bench.Parley(tempfile.mkdtemp()).start()
    try:
        time.sleep(1)
        before = procs(s.pid)
        mb = {p: malloc_in_use(p) for p in before} if opts.mallinfo else {}
        argv = [bench.WSBENCH, "idle", "-p", str(s.port), "-c", str(n),
                "-R", str(max(1, n // 100)), "-A", "8", "-t", "120",
                "-q"] + s.tokens(n)
        gen = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        try:
            line = gen.stdout.readline()
            if not line.startswith("READY"):
                sys.exit("wsbench: %s" % (line.strip() or "no READY"))
            time.sleep(opts.settle)
            after = procs(s.pid)
            ma = {p: malloc_in_use(p) for p in after} if opts.mallinfo \
                else {}
        finally:
            gen.send_signal(signal.SIGTERM)
            gen.stdout.read()
            gen.wait()
        total = 0
        for pid, (title, rss) in sorted(after.items()):
            d = rss - before.get(pid, (title, 0))[1]
            total += d
            extra = ""
            if mb.get(pid) is not None and ma.get(pid) is not None:
                extra = ", malloc in use %.0f B/conn" % (
                    (ma[pid] - mb[pid]) / n)
            print("%-22s RSS %6d -> %6d kB: %5.0f B/conn%s" % (
                title[:22], before.get(pid, (title, 0))[1], rss,
                d * 1024.0 / n, extra))
        print("all processes: %.0f B/conn at %d connections" % (
            total * 1024.0 / n, n))
    finally:
        s.stop()


if __name__ == "__main__":
    main()
