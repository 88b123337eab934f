"""bench.py: `make bench`: parley beside its peers (node + ws, Python
websockets), every server started fresh per workload and pinned to CPU0, the
load generator (wsbench) pinned to CPU1.  Builds nothing.

    PARLEYD=... WSBENCH=... /usr/bin/python3 tests/bench/bench.py [options]

Workloads (docs/BENCHMARKS.md says what each measures):
  echo       32 B and 1 KiB, 100 connections, one message in flight each
  broadcast  1000 members, 10 senders, a ladder of offered rates; each
             server's highest rate with p99 < 50 ms and nothing lost, and the
             server's CPU per delivery
  ingest     parley only: 100 senders in 100 rooms, durable acks, closed loop
             and open loop at 10k/s
  stalled    parley only (the peers have no 1013 policy): the broadcast at
             one fixed rate twice, each on a fresh server: plain, then with
             S more members that join and never read; the others' p99 must
             not move by more than 10% and the stalled must be closed (1013)
  idle       RSS per authenticated, joined connection at 10k (and 100k when
             RLIMIT_NOFILE allows), summed over the server's process tree

Output: markdown tables on stdout and in tests/bench/results/, the raw
RESULT lines (results/raw-*.txt), and results/broadcast.png (gnuplot: p99
against offered rate per server), copied to docs/bench-broadcast.png with
--docs.  Server CPU is utime + stime from /proc/PID/stat, summed over the
server's process tree, sampled as each step starts and ends.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import pickle
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import harness  # noqa: E402  (tests/lib: starts parleyd like the tests do)

WSBENCH = os.environ.get("WSBENCH") or os.path.join(TOP, "tests", "bench",
                                                    "wsbench")
PYTHON = "/usr/bin/python3"
HZ = os.sysconf("SC_CLK_TCK")
SERVER_CPU, CLIENT_CPU = "0", "1"
LADDER = [5e3, 10e3, 20e3, 35e3, 50e3, 75e3, 100e3, 150e3, 200e3, 300e3,
          400e3, 500e3, 600e3, 800e3]   # offered deliveries/s
MAX_P99_MS = 50.0       # a rung passes: p99 below this and nothing lost
LADDER_STOP_MS = 1000.0  # the ladder goes on while p99 stays below this


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# processes: CPU and memory of a tree

def _stat_fields(pid):
    with open("/proc/%d/stat" % pid) as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()


def tree(root):
    """root and every process descended from it (via /proc)."""
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                parents[int(name)] = int(_stat_fields(int(name))[1])
            except (OSError, ValueError, IndexError):
                pass
    out, frontier = {root}, {root}
    while frontier:
        frontier = {p for p, pp in parents.items()
                    if pp in frontier and p not in out}
        out |= frontier
    return out


def cpu_seconds(root):
    """utime + stime of the whole tree, in seconds."""
    total = 0
    for pid in tree(root):
        try:
            f = _stat_fields(pid)
            total += int(f[11]) + int(f[12])
        except (OSError, ValueError, IndexError):
            pass
    return total / HZ


def rss_kb(root):
    total = 0
    for pid in tree(root):
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


# --------------------------------------------------------------------------
# servers

def hs256_token(secret, sub):
    """A JWT for parley (HS256), made here: 10k of them in well under 1 s."""
    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=")
    now = int(time.time())
    head = b64(b'{"alg":"HS256","typ":"JWT"}')
    body = b64(json.dumps({"sub": sub, "iat": now, "exp": now + 7200},
                          separators=(",", ":")).encode())
    sig = b64(hmac.new(secret.encode(), head + b"." + body,
                       hashlib.sha256).digest())
    return (head + b"." + body + b"." + sig).decode()


class PinnedDaemon(harness.Daemon):
    """harness.Daemon with parleyd started under `taskset -c 0`: the
    supervisor, the broker and the workers all inherit CPU0."""

    def _spawn(self, timeout):
        # harness.Daemon._spawn with the command under taskset (which
        # execs parleyd: the pid is the supervisor's)
        self._log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                ["taskset", "-c", SERVER_CPU, harness.PARLEYD, "-f", "-c",
                 self.config_path],
                stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                cwd=self.tmp, start_new_session=True)
            self._seen_pids.add(self.proc.pid)
            self._sids.add(self.proc.pid)
            self._wait_ready(timeout)
        except BaseException:
            self.cleanup()
            raise


class Parley:
    name = "parley"

    def __init__(self, tmp):
        self.tmp = tmp
        self.d = None

    def start(self):
        self.d = PinnedDaemon().start({
            "server": {"workers": 1},
            "store": {"synchronous": "full"},
            "limits": {"max_conns_per_ip": 1000000,
                       "conn_rate_per_ip": 1000000,
                       "conn_burst_per_ip": 1000000,
                       "max_conns_per_user": 1000000,
                       "send_rate": 1000000, "send_burst": 1000000,
                       "join_rate": 1000000},
        }, workers=1, timeout=20)
        self.port = self.d.ws_port
        self.pid = self.d.pid
        return self

    def tokens(self, n):
        path = os.path.join(self.d.tmp, "tokens-%d.txt" % n)
        if not os.path.exists(path):
            with open(path, "w") as f:
                for i in range(n):
                    f.write(hs256_token(self.d.secret, "bench-u%d" % i) + "\n")
        return ["-T", path]

    def version(self):
        return "parleyd (this tree), workers = 1, synchronous = full"

    def stop(self):
        if self.d is not None:
            self.d.cleanup()
            self.d = None


class Peer:
    """A peer server in one process, started under taskset -c 0."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.proc = None

    def start(self):
        portfile = os.path.join(self.tmp, "%s.port" % self.name)
        if os.path.exists(portfile):
            os.unlink(portfile)
        self.logf = open(os.path.join(self.tmp, "%s.log" % self.name), "ab")
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU] + self.argv(portfile),
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=self.logf,
            cwd=HERE, start_new_session=True)
        deadline = time.monotonic() + 15
        while not os.path.exists(portfile):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("%s did not start; see %s" %
                                   (self.name, self.logf.name))
            time.sleep(0.05)
        with open(portfile) as f:
            self.port = int(f.read())
        self.pid = self.proc.pid
        return self

    def tokens(self, n):
        return []

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self.logf.close()


class NodePeer(Peer):
    name = "node"

    def argv(self, portfile):
        return ["node", os.path.join(HERE, "peer_node.js"), portfile]

    def version(self):
        ws = json.load(open(os.path.join(HERE, "node_modules", "ws",
                                         "package.json")))["version"]
        node = subprocess.run(["node", "--version"], capture_output=True,
                              text=True).stdout.strip()
        return "node %s, ws %s" % (node, ws)


class PythonPeer(Peer):
    name = "python"

    def argv(self, portfile):
        return [PYTHON, os.path.join(HERE, "peer_echo.py"), portfile]

    def version(self):
        v = subprocess.run([PYTHON, "-c", "import websockets, sys; print("
                            "websockets.__version__, sys.version.split()[0])"],
                           capture_output=True, text=True).stdout.split()
        return "Python %s, websockets %s" % (v[1], v[0])


class TrivialPeer(Peer):
    """tests/bench/peer_trivial (C, epoll, no JSON): not a peer to compare
    with but the yardstick of wsbench's own ceiling (--servers ...,trivial).
    It has one room: it serves broadcast and echo, not ingest or idle."""
    name = "trivial"

    def argv(self, portfile):
        return [os.environ.get("PEER_TRIVIAL") or
                os.path.join(TOP, "tests", "bench", "peer_trivial"), portfile]

    def version(self):
        return "tests/bench/peer_trivial.c"


SERVERS = {"parley": Parley, "node": NodePeer, "python": PythonPeer,
           "trivial": TrivialPeer}


def ensure_tool(binary, package):
    """Install a missing Debian package (the driver runs as root here)."""
    if shutil.which(binary) is not None:
        return
    log("%s missing: apt-get install %s" % (binary, package))
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends",
           package]
    if subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], stdout=subprocess.DEVNULL)
        subprocess.run(cmd, stdout=subprocess.DEVNULL)


def ensure_node_modules():
    ensure_tool("node", "nodejs")
    ensure_tool("npm", "npm")
    if os.path.isdir(os.path.join(HERE, "node_modules", "ws")):
        return
    log("npm ci in %s (node_modules is missing)" % HERE)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE,
                   check=True)


# --------------------------------------------------------------------------
# running wsbench

class WsbenchFailed(RuntimeError):
    pass


def parse_kv(line):
    return dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)


def run_wsbench(server, args, raw, label, quiet=False):
    """Run wsbench on CPU1 against server; returns one dict per RESULT line,
    each with srv_cpu_s: the server's CPU from its STEP line (or the start)
    to its RESULT line."""
    argv = ["taskset", "-c", CLIENT_CPU, WSBENCH] + args + ["-p",
                                                           str(server.port)]
    if quiet:
        argv.append("-q")
    raw.write("# %s %s\n+ %s\n" % (label, server.name, " ".join(argv)))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    results, mark, failed = [], cpu_seconds(server.pid), None
    wall = time.time()
    for line in proc.stdout:
        raw.write(line)
        if line.startswith("STEP "):
            mark = cpu_seconds(server.pid)
            wall = time.time()
        elif line.startswith("RESULT "):
            r = parse_kv(line)
            now = cpu_seconds(server.pid)
            r["srv_cpu_s"] = now - mark
            r["wall_start"] = wall
            mark = now
            results.append(r)
        elif line.startswith("STALLED ") and results:
            results[-1].update({"stalled_" + k: v for k, v in
                                parse_kv(line).items()})
        elif line.startswith("FAILED"):
            failed = line.strip()
    rc = proc.wait()
    raw.flush()
    if rc != 0 or failed:
        raise WsbenchFailed("%s on %s: %s (exit %d)" % (label, server.name,
                                                        failed, rc))
    return results


# --------------------------------------------------------------------------
# workloads

def with_server(cls, tmp, fn):
    s = cls(tmp).start()
    try:
        return fn(s)
    finally:
        s.stop()


def bench_echo(opts, tmp, raw):
    out = {}
    for size in (32, 1024):
        for name in opts.servers:
            def run(s):
                r = run_wsbench(s, ["echo", "-c", "100", "-k", "1", "-s",
                                    str(size), "-d", str(opts.secs), "-W",
                                    "1"], raw, "echo-%d" % size)[0]
                r["srv_us_per_msg"] = r["srv_cpu_s"] * 1e6 / \
                    float(r["msgs_all"])
                return r
            r = with_server(SERVERS[name], tmp, run)
            out[(size, name)] = r
            log("echo %d B %s: %s msg/s, p99 %s us, %.2f us CPU/msg" % (
                size, name, r["msg_per_s"], r["p99_us"], r["srv_us_per_msg"]))
    return out


def bench_broadcast(opts, tmp, raw):
    out = {}
    rates = [r for r in LADDER if r <= opts.max_rate]
    for name in opts.servers:
        def run(s):
            msgs = ",".join("%g" % (r / opts.members) for r in rates)
            steps = run_wsbench(s, ["broadcast", "-c", str(opts.members),
                                    "-K", "10", "-L", msgs, "-d",
                                    str(opts.secs), "-x", str(LADDER_STOP_MS),
                                    "-D", "3", "-t", "60", "-W", "2"]
                                + s.tokens(opts.members), raw, "broadcast")
            steps = [st for st in steps if int(st["step"]) >= 0]
            for st in steps:
                d = float(st["delivered"])
                st["srv_us_per_delivery"] = st["srv_cpu_s"] * 1e6 / d if d \
                    else 0.0
                st["srv_cpu_pct"] = 100.0 * st["srv_cpu_s"] / \
                    float(st["secs"])
                # the generator's own cost: its ceiling is about
                # 1 / client_us_per_delivery (it has one CPU)
                st["client_us_per_delivery"] = float(st["client_cpu_s"]) * \
                    1e6 / d if d else 0.0
                st["client_cpu_pct"] = 100.0 * float(st["client_cpu_s"]) / \
                    float(st["secs"])
                st["ok"] = (int(st["lost"]) == 0 and int(st["gaps"]) == 0
                            and float(st["p99_us"]) / 1000 < MAX_P99_MS)
            return steps
        steps = with_server(SERVERS[name], tmp, run)
        out[name] = steps
        best = [st for st in steps if st["ok"]]
        log("broadcast %s: best %s deliveries/s (load average %.1f)" % (
            name, best[-1]["offered_deliveries_per_s"] if best else "none",
            os.getloadavg()[0]))
    return out


def bench_ingest(opts, tmp, raw):
    if "parley" not in opts.servers:
        return {}
    out = {}
    for label, extra in (("closed loop, 1 in flight per sender",
                          ["-k", "1"]),
                         ("closed loop, 8 in flight per sender",
                          ["-k", "8"]),
                         ("open loop, 10k/s offered", ["-L", "10000"])):
        def run(s):
            r = run_wsbench(s, ["ingest", "-c", "100", "-d", str(opts.secs),
                                "-W", "1", "-D", "5"] + extra
                            + s.tokens(100), raw, "ingest")[0]
            a = float(r["sent"])
            r["srv_us_per_msg"] = r["srv_cpu_s"] * 1e6 / a if a else 0.0
            return r
        r = with_server(Parley, tmp, run)
        out[label] = r
        log("ingest %s: %s acks/s, p99 %s us" % (label, r["acks_per_s"],
                                                 r["p99_us"]))
    return out


def bench_stalled(opts, tmp, raw):
    """issue 9: the slow-consumer policy (1013 past max_output_bytes) with
    a stalled reader in the busy room: the others' p99, plain and stalled."""
    if "parley" not in opts.servers:
        return {}
    out = {}
    n = opts.members
    rounds = getattr(opts, "stalled_rounds", 1)
    for label, stalled in [(("plain #%d" % (i + 1)), 0) if k == 0 else
                           (("stalled #%d" % (i + 1)), opts.stalled)
                           for i in range(rounds) for k in (0, 1)]:
        def run(s):
            extra = ["-S", str(stalled)] if stalled else []
            st = run_wsbench(s, ["broadcast", "-c", str(n), "-K", "10", "-L",
                                 "%g" % (opts.stalled_rate / n), "-d",
                                 str(opts.stalled_secs), "-s",
                                 str(opts.stalled_size), "-D", "3", "-t",
                                 "60",
                                 "-W", "0"] + extra
                             + s.tokens(n + stalled), raw,
                             "stalled-" + label)[-1]
            d = float(st["delivered"])
            st["srv_us_per_delivery"] = st["srv_cpu_s"] * 1e6 / d if d \
                else 0.0
            # when the server closed them: its log's slow_consumer lines
            # (JSON, "ts" in UTC), in seconds after the rung started
            after, sent1013 = [], 0
            with open(s.d.log_path, errors="replace") as f:
                for line in f:
                    if '"ws_close"' in line and "sending 1013" in line:
                        sent1013 += 1
                    if '"slow_consumer"' not in line:
                        continue
                    try:
                        ts = json.loads(line)["ts"].rstrip("Z")
                        t = datetime.datetime.fromisoformat(ts).replace(
                            tzinfo=datetime.timezone.utc).timestamp()
                        after.append(t - st["wall_start"])
                    except (ValueError, KeyError):
                        after.append(float("nan"))
            st["slow_consumer_logged"] = len(after)
            st["sent_1013_logged"] = sent1013
            st["closed_after_s"] = ("%.1f..%.1f s" % (min(after), max(after))
                                    if after else "-")
            return st
        r = with_server(Parley, tmp, run)
        r["stalled"] = stalled
        out[label] = r
        log("stalled (%s): %s deliveries/s, p99 %s us, lost %s%s" % (
            label, r["deliveries_per_s"], r["p99_us"], r["lost"],
            ", stalled closed %s/%s (1013: %s)" % (
                r.get("stalled_closed"), stalled, r.get("stalled_code1013"))
            if stalled else ""))
    return out


# Enough for 100k connections on each side, plus the servers' own fds.
NOFILE_WANTED = 262144


def raise_nofile():
    """Soft limit up to the hard one; as root (CAP_SYS_RESOURCE) the hard
    one too, up to NOFILE_WANTED (and fs.nr_open).  The servers and
    wsbench inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < NOFILE_WANTED:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (NOFILE_WANTED, NOFILE_WANTED))
        except (ValueError, OSError):
            pass
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def bench_idle(opts, tmp, raw):
    soft, hard = raise_nofile()
    out = {"nofile": (soft, hard), "runs": {}}
    log("RLIMIT_NOFILE: soft %d, hard %d" % (soft, hard))
    for n in opts.idle_conns:
        if n + 64 > soft:
            log("idle %d: skipped, RLIMIT_NOFILE is %d (each side needs one"
                " fd per connection)" % (n, soft))
            out["runs"][n] = None
            continue
        for name in opts.servers:
            if name == "trivial":
                continue
            def run(s):
                time.sleep(1)
                before = rss_kb(s.pid)
                argv = ["taskset", "-c", CLIENT_CPU, WSBENCH, "idle", "-p",
                        str(s.port), "-c", str(n), "-R", str(max(1, n // 100)),
                        "-A", "8", "-t", "120", "-q"] + s.tokens(n)
                raw.write("# idle %s\n+ %s\n" % (s.name, " ".join(argv)))
                proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                        text=True)
                try:
                    line = proc.stdout.readline()
                    raw.write(line)
                    if not line.startswith("READY"):
                        raise WsbenchFailed("idle %d on %s: %s" % (
                            n, s.name, line.strip() or "no READY"))
                    time.sleep(6)   # settle: parley trims its heap every 5 s
                    after = rss_kb(s.pid)
                finally:
                    proc.send_signal(signal.SIGTERM)
                    raw.write(proc.stdout.read())
                    proc.wait()
                return {"conns": n, "rss_before_kb": before,
                        "rss_after_kb": after,
                        "bytes_per_conn": (after - before) * 1024.0 / n}
            r = with_server(SERVERS[name], tmp, run)
            out["runs"][(n, name)] = r
            log("idle %d %s: %.0f bytes/connection" % (n, name,
                                                      r["bytes_per_conn"]))
    return out


# --------------------------------------------------------------------------
# report

def ratio(a, b, higher_is_better=True):
    a, b = float(a), float(b)
    if a == 0 or b == 0:
        return "-"
    return "%.2fx" % (a / b if higher_is_better else b / a)


def report(opts, res, versions):
    L = []
    peers = [s for s in opts.servers if s not in ("parley", "trivial")]
    L.append("Servers: " + "; ".join("%s: %s" % (k, v)
                                      for k, v in versions.items()))
    L.append("")
    if "echo" in res:
        L.append("### Echo (100 connections, 1 in flight, %g s window)" %
                 opts.secs)
        L.append("")
        L.append("| size | server | msg/s | p50 us | p99 us | p99.9 us | "
                 "server CPU us/msg | " + " | ".join(
                     "msg/s parley / %s" % p for p in peers) + " |")
        L.append("|---|---|---|---|---|---|---|" + "---|" * len(peers))
        for (size, name), r in res["echo"].items():
            pr = res["echo"].get((size, "parley"))
            L.append("| %d B | %s | %s | %s | %s | %s | %.2f | %s |" % (
                size, name, r["msg_per_s"], r["p50_us"], r["p99_us"],
                r["p999_us"], r["srv_us_per_msg"], " | ".join(
                    ratio(pr["msg_per_s"], res["echo"][(size, p)]["msg_per_s"])
                    if pr and name == "parley" and (size, p) in res["echo"]
                    else "" for p in peers)))
        L.append("")
    if "broadcast" in res:
        L.append("### Broadcast (%d members, 10 senders, %g s per rung, "
                 "p99 < %g ms and nothing lost)" % (opts.members, opts.secs,
                                                     MAX_P99_MS))
        L.append("")
        L.append("| server | highest rate passed (deliveries/s) | p50 ms | "
                 "p99 ms | server CPU us/delivery | server CPU %% | "
                 "first rung that failed (why) | highest rate kept up with "
                 "(nothing lost, p99 < %g s) |" % (LADDER_STOP_MS / 1000))
        L.append("|---|---|---|---|---|---|---|---|")
        best = {}
        for name, steps in res["broadcast"].items():
            ok = [st for st in steps if st["ok"]]
            bad = [st for st in steps if not st["ok"]]
            b = ok[-1] if ok else None
            best[name] = float(b["deliveries_per_s"]) if b else 0.0
            why = ""
            if bad:
                f = bad[0]
                why = "%s offered: %s/s done, p99 %.1f ms, lost %s" % (
                    f["offered_deliveries_per_s"], f["deliveries_per_s"],
                    float(f["p99_us"]) / 1000, f["lost"])
            elif steps:
                why = "none failed: the ladder ends at %s" % (
                    steps[-1]["offered_deliveries_per_s"])
            kept = [st for st in steps if int(st["lost"]) == 0 and
                    int(st["gaps"]) == 0 and
                    float(st["p99_us"]) / 1000 < LADDER_STOP_MS]
            k = ("%s (p99 %.0f ms, %.2f us CPU/delivery)" % (
                kept[-1]["offered_deliveries_per_s"],
                float(kept[-1]["p99_us"]) / 1000,
                kept[-1]["srv_us_per_delivery"]) if kept else "none")
            if b:
                L.append("| %s | %s (%s done) | %.1f | %.1f | %.2f | %.0f |"
                         " %s | %s |" % (name, b["offered_deliveries_per_s"],
                                         b["deliveries_per_s"],
                                         float(b["p50_us"]) / 1000,
                                         float(b["p99_us"]) / 1000,
                                         b["srv_us_per_delivery"],
                                         b["srv_cpu_pct"], why, k))
            else:
                L.append("| %s | none | | | | | %s | %s |" % (name, why, k))
        if "parley" in best:
            L.append("")
            L.append("parley's highest passing rate / the peer's: " + ", ".join(
                "%s vs %s" % (ratio(best["parley"], best[p]), p)
                for p in peers if p in best) + ".")
        L.append("")
        L.append("Every rung (offered deliveries/s: p99 ms, server CPU "
                 "us/delivery, lost; wsbench CPU us/delivery and %):")
        L.append("")
        for name, steps in res["broadcast"].items():
            L.append("- %s: " % name + "; ".join(
                "%s: %.1f ms, %.2f us, %s; %.2f us, %.0f%%" % (
                    st["offered_deliveries_per_s"],
                    float(st["p99_us"]) / 1000, st["srv_us_per_delivery"],
                    st["lost"], st["client_us_per_delivery"],
                    st["client_cpu_pct"]) for st in steps))
        L.append("")
    if res.get("ingest"):
        L.append("### Durable ingest (parley, 100 senders in 100 rooms, "
                 "acks after COMMIT, synchronous = full)")
        L.append("")
        L.append("| load | acks/s | refused (UNAVAILABLE) | ack p50 ms | "
                 "p99 ms | p99.9 ms | server CPU us/msg |")
        L.append("|---|---|---|---|---|---|---|")
        for label, r in res["ingest"].items():
            L.append("| %s | %s | %s | %.1f | %.1f | %.1f | %.1f |" % (
                label, r["acks_per_s"], r.get("refused", "0"),
                float(r["p50_us"]) / 1000,
                float(r["p99_us"]) / 1000, float(r["p999_us"]) / 1000,
                r["srv_us_per_msg"]))
        L.append("")
    if res.get("stalled"):
        st = res["stalled"]
        L.append("### Slow consumer (parley only: the peers have no 1013 "
                 "policy): %d members, 10 senders, %g deliveries/s offered, "
                 "%d B messages, %g s, plain and with %d stalled members" % (
                     opts.members, opts.stalled_rate, opts.stalled_size,
                     opts.stalled_secs,
                     opts.stalled))
        L.append("")
        L.append("| run | deliveries/s | lost | p50 ms | p99 ms | "
                 "server CPU us/delivery | stalled closed (EOF / reset) | "
                 "close frame 1013 read | slow_consumer in the log | "
                 "\"sending 1013\" in the log | logged after the start |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for label, r in st.items():
            sc = ("%s of %d (%s / %s)" % (
                r.get("stalled_closed", "?"), r["stalled"],
                r.get("stalled_eof", "?"), r.get("stalled_reset", "?"))
                if r["stalled"] else "-")
            L.append("| %s | %s | %s | %.2f | %.2f | %.2f | %s | %s | %s | "
                     "%s | %s |" % (
                         label, r["deliveries_per_s"], r["lost"],
                         float(r["p50_us"]) / 1000, float(r["p99_us"]) / 1000,
                         r["srv_us_per_delivery"], sc,
                         r.get("stalled_code1013", "-") if r["stalled"]
                         else "-",
                         r["slow_consumer_logged"], r["sent_1013_logged"],
                         r["closed_after_s"]))
        plain = [r for r in st.values() if not r["stalled"]]
        stall = [r for r in st.values() if r["stalled"]]
        if plain and stall:
            def median(xs):
                xs = sorted(xs)
                return (xs[(len(xs) - 1) // 2] + xs[len(xs) // 2]) / 2
            a = median([float(r["p99_us"]) for r in plain])
            b = median([float(r["p99_us"]) for r in stall])
            q = b / a if a else float("inf")
            closed = all(r.get("stalled_closed") == str(r["stalled"]) and
                         r["sent_1013_logged"] >= r["stalled"]
                         for r in stall)
            ok = (q <= 1.10 and closed and
                  all(int(r["lost"]) == 0 for r in plain + stall))
            L.append("")
            L.append("p99(stalled) / p99(plain) = %.3f (median of %d runs "
                     "each): %s (<= 1.10, nothing lost, every stalled "
                     "member closed and 1013 sent)." % (
                         q, len(stall), "PASS" if ok else "FAIL"))
        L.append("")
        L.append("A stalled member never reads, so the 1013 close frame "
                 "the server queues behind its full queue never reaches it: "
                 "the server drops the queue and closes the socket after its "
                 "close timeout, and wsbench, reading the socket out after "
                 "the run, finds the data the kernel held, then EOF. The "
                 "server log's slow_consumer and \"sending 1013\" lines "
                 "(timed from the start of the run) say the policy fired.")
        L.append("")
    if "idle" in res:
        soft, hard = res["idle"]["nofile"]
        L.append("### Idle memory per connection (authenticated and joined, "
                 "RSS summed over the process tree)")
        L.append("")
        L.append("RLIMIT_NOFILE: soft %d, hard %d." % (soft, hard))
        L.append("")
        L.append("| connections | server | RSS before kB | RSS after kB | "
                 "bytes/connection | " + " | ".join(
                     "bytes parley / %s (lower: parley smaller)" % p
                     for p in peers) + " |")
        L.append("|---|---|---|---|---|" + "---|" * len(peers))
        for key, r in res["idle"]["runs"].items():
            if r is None:
                L.append("| %d | (skipped: RLIMIT_NOFILE %d) | | | |%s" % (
                    key, soft, " |" * len(peers)))
                continue
            n, name = key
            pr = res["idle"]["runs"].get((n, "parley"))
            L.append("| %d | %s | %d | %d | %.0f | %s |" % (
                n, name, r["rss_before_kb"], r["rss_after_kb"],
                r["bytes_per_conn"], " | ".join(
                    ratio(pr["bytes_per_conn"],
                          res["idle"]["runs"][(n, p)]["bytes_per_conn"])
                    if pr and name == "parley" and (n, p) in
                    res["idle"]["runs"] else "" for p in peers)))
        L.append("")
    return "\n".join(L)


def chart(res, outdir, docs):
    if "broadcast" not in res:
        return None
    if shutil.which("gnuplot") is None:
        ensure_tool("gnuplot", "gnuplot-nox")
    if shutil.which("gnuplot") is None:
        log("no gnuplot: no chart")
        return None
    plots = []
    for name, steps in res["broadcast"].items():
        path = os.path.join(outdir, "broadcast-%s.dat" % name)
        with open(path, "w") as f:
            for st in steps:
                f.write("%s %.3f\n" % (st["offered_deliveries_per_s"],
                                       max(float(st["p99_us"]) / 1000, 0.01)))
        plots.append("'%s' using ($1/1000):2 with linespoints lw 2 title '%s'"
                     % (path, name))
    png = os.path.join(outdir, "broadcast.png")
    script = """set terminal png size 900,560
set output '%s'
set title 'Broadcast to 1000 members, 10 senders: p99 latency against offered rate'
set xlabel 'offered deliveries/s (thousands)'
set ylabel 'p99 delivery latency (ms)'
set logscale y
set grid
set key top left
plot %s, %g with lines dt 2 lc rgb 'gray' title 'p99 = %g ms'
""" % (png, ", ".join(plots), MAX_P99_MS, MAX_P99_MS)
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    if docs:
        shutil.copy(png, os.path.join(TOP, "docs", "bench-broadcast.png"))
    return png


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="echo,broadcast,ingest,stalled,idle",
                    help="comma-separated workloads")
    ap.add_argument("--servers", default="parley,node,python")
    ap.add_argument("--secs", type=float, default=5.0,
                    help="measured seconds per run / per ladder rung")
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--max-rate", type=float, default=LADDER[-1],
                    help="highest offered deliveries/s on the ladder")
    ap.add_argument("--stalled-rate", type=float, default=200e3,
                    help="stalled: offered deliveries/s (fixed)")
    ap.add_argument("--stalled-secs", type=float, default=30.0,
                    help="stalled: seconds per run (the stalled members' "
                    "queue must pass max_output_bytes, 1 MiB by default)")
    ap.add_argument("--stalled-size", type=int, default=1024,
                    help="stalled: message text bytes (the kernel's send "
                    "buffer, up to tcp_wmem's 4 MiB, fills before the "
                    "server's queue does: 64 B messages at 200 per second "
                    "take minutes to pass max_output_bytes)")
    ap.add_argument("--stalled-rounds", type=int, default=3,
                    help="stalled: plain/stalled pairs, alternated (the "
                    "ratio is of the medians)")
    ap.add_argument("--stalled", type=int, default=5,
                    help="stalled: members that join and never read")
    ap.add_argument("--idle-conns", default="10000,100000")
    ap.add_argument("--docs", action="store_true",
                    help="copy the chart to docs/bench-broadcast.png")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--report", metavar="PICKLE",
                    help="only redo the tables and the chart from a run's "
                    "results/res-*.pickle")
    opts = ap.parse_args()
    if opts.report:
        with open(opts.report, "rb") as f:
            saved = pickle.load(f)
        docs, out = opts.docs, opts.out
        opts = argparse.Namespace(**saved["opts"])
        opts.docs, opts.out = docs, out
        write_report(opts, saved["res"], saved["versions"], saved["loads"],
                     time.strftime("%Y%m%d-%H%M%S"), time.monotonic())
        return
    opts.servers = opts.servers.split(",")
    opts.idle_conns = [int(x) for x in opts.idle_conns.split(",")]
    only = opts.only.split(",")
    for name in opts.servers + only:
        if name not in SERVERS and name not in ("echo", "broadcast",
                                                "ingest", "stalled",
                                                "idle"):
            ap.error("unknown server or workload %r" % name)
    for path in (harness.PARLEYD, WSBENCH):
        if not os.access(path, os.X_OK):
            sys.exit("bench: %s is not built (make parleyd "
                     "tests/bench/wsbench)" % path)
    if os.cpu_count() < 2:
        sys.exit("bench: needs 2 CPUs (servers on CPU0, wsbench on CPU1)")
    if "node" in opts.servers:
        ensure_node_modules()
    os.makedirs(opts.out, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    tmp = tempfile.mkdtemp(prefix="parley-bench-")
    raise_nofile()
    res, versions, loads = {}, {}, {}
    t0 = time.monotonic()
    try:
        for name in opts.servers:
            s = SERVERS[name](tmp)
            versions[name] = s.version()
        with open(os.path.join(opts.out, "raw-%s.txt" % stamp), "w") as raw:
            raw.write("# %s; %d CPUs; %s\n" % (
                " ".join(sys.argv), os.cpu_count(), os.uname().release))
            for w, fn in (("echo", bench_echo), ("broadcast", bench_broadcast),
                          ("ingest", bench_ingest),
                          ("stalled", bench_stalled), ("idle", bench_idle)):
                if w in only:
                    load = os.getloadavg()
                    log("--- %s (%.0f s so far; load average %.1f)" % (
                        w, time.monotonic() - t0, load[0]))
                    res[w] = fn(opts, tmp, raw)
                    loads[w] = (load[0], os.getloadavg()[0])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        # everything measured, so that --report can redo the tables
        with open(os.path.join(opts.out, "res-%s.pickle" % stamp), "wb") as f:
            pickle.dump({"opts": vars(opts), "res": res, "versions": versions,
                         "loads": loads}, f)
    write_report(opts, res, versions, loads, stamp, t0)


def write_report(opts, res, versions, loads, stamp, t0):
    text = report(opts, res, versions)
    text += "\nLoad average (1 min) before and after each workload: " + \
        ", ".join("%s %.1f/%.1f" % (w, a, b) for w, (a, b) in loads.items()) \
        + " (the machine is shared: anything above ~2 means other work " \
        "competed for both CPUs).\n"
    png = chart(res, opts.out, opts.docs)
    md = os.path.join(opts.out, "bench-%s.md" % stamp)
    with open(md, "w") as f:
        f.write("Command: %s\n\n%s\n" % (" ".join(sys.argv), text))
    print(text)
    log("took %.0f s; tables in %s%s" % (time.monotonic() - t0, md,
                                         "; chart " + png if png else ""))


if __name__ == "__main__":
    main()
