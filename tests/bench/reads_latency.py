"""A healthy client's round trip on the broker's loop (`presence`) before and
during an attack of expensive reads by another user (searches for a word no
message has, in a room of N messages), within the default rate limits.

  PARLEYD=./parleyd PYTHONPATH=tests/lib /usr/bin/python3 \
      tests/bench/reads_latency.py [messages] [seconds]

Prints p50/p99/max in ms for both phases.  Not part of `make check`."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integ"))

from chatlib import ChatClient, uniq          # noqa: E402
from harness import Daemon                    # noqa: E402
from test_reads import populate               # noqa: E402


def connect(d, sub):
    c = ChatClient()
    c.connect(d.ws_port, "/ws", query={"token": d.make_token(sub)})
    c.welcome = c.recv_json()
    return c


def rtts(c, room, seconds):
    out, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.monotonic()
        c.ok("presence", "presence", timeout=120, room=room)
        out.append((time.monotonic() - t) * 1000)
    out.sort()
    return out


def show(name, v):
    print("%-7s n=%5d p50=%7.2f ms p99=%8.2f ms max=%8.2f ms" % (
        name, len(v), v[len(v) // 2], v[int(len(v) * 0.99)], v[-1]))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5
    d = Daemon().start({"limits": {"max_conns_per_user": 10}})
    try:
        room = uniq("bench")
        populate(d, {room: ["common word %d %s" % (i, "t" * 100)
                            for i in range(n)]})
        healthy = connect(d, uniq("h"))
        show("before", rtts(healthy, room, seconds))
        stop = threading.Event()

        def attack():
            a = connect(d, uniq("a"))
            while not stop.is_set():
                r = a.request("search", timeout=300, room=room, q="zzzrare",
                              limit=100)
                if r.get("code") == "RATE_LIMIT":
                    time.sleep(r["retry_after_ms"] / 1000.0)
            a.abort()

        t = threading.Thread(target=attack)
        t.start()
        time.sleep(0.2)
        show("during", rtts(healthy, room, seconds))
        stop.set()
        t.join()
        healthy.abort()
    finally:
        d.cleanup()


if __name__ == "__main__":
    main()
