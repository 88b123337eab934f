"""Costs behind the bounds on growth (docs/BENCHMARKS.md, "Join and the
bounds on growth"): broker CPU per join at join_rate (10/s), for a new
room and for a rejoin of a listed room, and the counts bounds.c makes
(every room once at start-up, a user's memberships once when first
needed) on a database of 1,000,000 rooms.

  PARLEYD=./parleyd PARLEYCTL=./parleyctl PYTHONPATH=tests/lib \
      python3 tests/bench/bounds_cost.py
"""
import os
import sqlite3
import time

from chatlib import NO_RATE_LIMITS, ChatClient, uniq
from harness import Daemon


def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        p = f.read().rsplit(")", 1)[1].split()
    return (int(p[11]) + int(p[12])) / os.sysconf("SC_CLK_TCK")


def client(d, tok):
    c = ChatClient()
    c.connect(d.ws_port, "/ws", query={"token": tok})
    c.wait("welcome")
    return c


def join_cost(d, n=200):
    bpid = d.child_pid("broker")
    tok = d.make_token("joiner")
    rooms = [uniq("r") for _ in range(n)]
    for label in ("new room + membership", "rejoin, listed"):
        conn = client(d, tok)
        t0, c0 = time.monotonic(), cpu(bpid)
        lat = []
        for i, r in enumerate(rooms):
            s = time.monotonic()
            conn.ok("join", "joined", room=r, history=0)
            lat.append(time.monotonic() - s)
            # Paced at 10/s, the default join_rate.
            time.sleep(max(0, t0 + (i + 1) / 10.0 - time.monotonic()))
        el, used = time.monotonic() - t0, cpu(bpid) - c0
        lat.sort()
        print("%-22s %d joins in %.1f s: broker CPU %.1f ms/join (%.1f%% of "
              "a core), round trip p50 %.1f ms p99 %.1f ms"
              % (label, n, el, 1000 * used / n, 100 * used / el,
                 1000 * lat[n // 2], 1000 * lat[int(n * 0.99)]))


def count_cost(d):
    d.stop()
    db = sqlite3.connect(os.path.join(d.data_dir, "parley.db"))
    db.execute("BEGIN")
    db.executemany("INSERT INTO rooms (room, epoch, last_seq, created_ts) "
                   "VALUES (?, ?, 0, 0)", (("room:%07d" % i, "%032x" % i)
                                           for i in range(1000000)))
    db.executemany("INSERT INTO memberships (user, room) VALUES ('u', ?)",
                   (("room:%07d" % i,) for i in range(1000)))
    db.commit()
    for q, a in (("SELECT count(*) FROM rooms", ()),
                 ("SELECT count(*) FROM memberships WHERE user = ?", ("u",))):
        t = time.perf_counter()
        n = db.execute(q, a).fetchone()[0]
        print("%-48s %7d rows %6.1f ms" % (q, n,
                                          1000 * (time.perf_counter() - t)))
    db.close()
    d.restart()
    print([e["msg"] for e in d.log_events() if e.get("ev") == "bounds"][-1])


def main():
    d = Daemon().start({"limits": dict(NO_RATE_LIMITS)}, 1)
    try:
        join_cost(d)
        count_cost(d)
    finally:
        d.cleanup()


if __name__ == "__main__":
    main()
