"""chatlib.py: chat-protocol helpers on top of harness.py (PROTOCOL.md 2-4, 6, 7).

    class T(ChatTestCase):
        def test_x(self):
            room = uniq("r")
            a = self.chat("alice"); a.join(room)
            ack = a.ok("send", "ack", room=room, text="hi")

ChatClient keeps a backlog: frames read while waiting for something else are
kept and searched by later wait() calls, so the order in which unrelated
events (presence, typing, ...) arrive never makes a test flaky.  Nothing here
sleeps to synchronise: every wait is a socket read with a deadline.
"""

import base64
import hashlib
import hmac
import itertools
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time

import harness
from harness import (CloseReceived, ConnectionClosed, DaemonTestCase,
                     WSClient, wait_for)

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

# Rate limits out of the way for functional suites (section 5 has its own).
NO_RATE_LIMITS = {
    "send_rate": 100000, "send_burst": 100000, "typing_rate": 100000,
    "join_rate": 100000, "query_rate": 100000, "abuse_threshold": 100000,
    "list_rate": 100000, "list_burst": 100000, "read_rate": 100000,
    "read_burst": 100000,
    "max_conns_per_user": 1000,
}

_counter = itertools.count(1)

PARLEY_FILL = os.environ.get("PARLEY_FILL", "tests/tools/parley_fill")


def fill_rooms(daemon, rooms, user="filler"):
    """Give rooms a big history fast: stop daemon, append {room: [text, ...]}
    to its database through the broker's own store code (tests/tools/
    parley_fill: every index and counter kept as the broker keeps it), then
    start it again.  Texts must not hold a newline."""
    daemon.stop()
    db = os.path.join(daemon.data_dir, "parley.db")
    for room, texts in rooms.items():
        data = "".join(t + "\n" for t in texts).encode()
        r = subprocess.run([PARLEY_FILL, db, room, user], input=data,
                           capture_output=True, timeout=300)
        if r.returncode != 0:
            raise AssertionError("parley_fill %s: %s" % (
                room, r.stderr.decode("utf-8", "replace")))
    daemon.restart()


def uniq(prefix="x"):
    """A unique room/user name (valid for both alphabets)."""
    return "%s%d_%s" % (prefix, next(_counter), secrets.token_hex(3))


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_jwt(header, payload, key=b"", alg=None):
    """Hand-built JWT: alg None -> empty signature ('alg: none'), 'HS256' /
    'HS384' / 'HS512' -> HMAC with key (bytes, any: e.g. a PEM public key)."""
    h = b64url(json.dumps(header, separators=(",", ":")))
    p = b64url(json.dumps(payload, separators=(",", ":")))
    signing = ("%s.%s" % (h, p)).encode()
    if alg is None:
        sig = ""
    else:
        dig = {"HS256": hashlib.sha256, "HS384": hashlib.sha384,
               "HS512": hashlib.sha512}[alg]
        if isinstance(key, str):
            key = key.encode()
        sig = b64url(hmac.new(key, signing, dig).digest())
    tok = "%s.%s.%s" % (h, p, sig)
    harness.capture("jwt", tok)
    return tok


def parse_iso_ms(s):
    """ISO 8601 UTC with milliseconds -> epoch seconds (float)."""
    if not isinstance(s, str) or not ISO_MS.match(s):
        raise AssertionError("not an ISO 8601 UTC timestamp with ms: %r" % (s,))
    import calendar
    t = time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")
    return calendar.timegm(t) + int(s[20:23]) / 1000.0


class ChatClient(WSClient):
    """WSClient plus request ids, a backlog and typed waits."""

    def __init__(self):
        super().__init__()
        self.backlog = []
        self.welcome = None
        self.sub = None
        self._ids = itertools.count(1)

    # --- receiving ------------------------------------------------------

    def next_id(self):
        return "q%d" % next(self._ids)

    @staticmethod
    def _matches(o, type_, pred, fields):
        if type_ is not None and o.get("type") != type_:
            return False
        for k, v in fields.items():
            if o.get(k) != v:
                return False
        return pred is None or pred(o)

    def wait(self, type_=None, timeout=5.0, pred=None, **fields):
        """The first frame (backlog first, then the socket) of this type with
        these field values (and pred(frame) true); others go to the backlog."""
        for i, o in enumerate(self.backlog):
            if self._matches(o, type_, pred, fields):
                del self.backlog[i]
                return o
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("timed out (%.1fs) waiting for %s %r; "
                                     "backlog: %s" % (timeout, type_, fields,
                                                      self._show_backlog()))
            try:
                o = self.recv_json(remaining)
            except socket.timeout:
                continue
            except (CloseReceived, ConnectionClosed) as e:
                raise AssertionError("connection closed (%s) while waiting for"
                                     " %s %r; backlog: %s"
                                     % (e, type_, fields, self._show_backlog()))
            if self._matches(o, type_, pred, fields):
                return o
            self.backlog.append(o)

    def _show_backlog(self):
        s = json.dumps(self.backlog, ensure_ascii=False)
        return s if len(s) < 1500 else s[:1500] + "..."

    def take(self, type_=None, pred=None, **fields):
        """Remove and return the backlog frames that match."""
        out, keep = [], []
        for o in self.backlog:
            (out if self._matches(o, type_, pred, fields) else keep).append(o)
        self.backlog = keep
        return out

    def flush(self, timeout=5.0):
        """Ping round trip: returns every frame that arrived before the pong
        (backlog included) and empties the backlog."""
        rid = self.next_id()
        self.send_json({"type": "ping", "id": rid})
        self.wait("pong", timeout, id=rid)
        out, self.backlog = self.backlog, []
        return out

    # --- requests -------------------------------------------------------

    def request(self, type_, timeout=5.0, **fields):
        """Send a request with a fresh id; return the reply carrying it
        (success or error)."""
        rid = self.next_id()
        obj = {"type": type_, "id": rid}
        obj.update(fields)
        self.send_json(obj)
        return self.wait(None, timeout, id=rid)

    def ok(self, type_, reply, timeout=5.0, **fields):
        r = self.request(type_, timeout, **fields)
        if r.get("type") != reply:
            raise AssertionError("%s %r: expected %r reply, got %r"
                                 % (type_, fields, reply, r))
        return r

    def err(self, type_, code, timeout=5.0, field=None, **fields):
        r = self.request(type_, timeout, **fields)
        if r.get("type") != "error" or r.get("code") != code:
            raise AssertionError("%s %r: expected error %s, got %r"
                                 % (type_, fields, code, r))
        if field is not None and r.get("field") != field:
            raise AssertionError("%s: expected field %r in %r" % (type_, field, r))
        if not isinstance(r.get("message"), str):
            raise AssertionError("error without a message: %r" % r)
        return r

    # --- chat shortcuts ---------------------------------------------------

    def join(self, room, **kw):
        return self.ok("join", "joined", room=room, **kw)

    def send(self, room, text, **kw):
        return self.ok("send", "ack", room=room, text=text, **kw)

    def send_many(self, room, texts, timeout=10.0, cmid_prefix=None):
        """Pipeline sends; returns the acks in order."""
        ids = []
        for i, t in enumerate(texts):
            rid = self.next_id()
            obj = {"type": "send", "id": rid, "room": room, "text": t}
            if cmid_prefix:
                obj["client_msg_id"] = "%s%d" % (cmid_prefix, i)
            self.send_json(obj)
            ids.append(rid)
        acks = []
        for rid in ids:
            r = self.wait(None, timeout, id=rid)
            if r.get("type") != "ack":
                raise AssertionError("send: expected ack, got %r" % r)
            acks.append(r)
        return acks

    def history_all(self, room, page=200):
        """Every message of the room, oldest first, paging with before."""
        out, before = [], None
        while True:
            kw = {"limit": page}
            if before is not None:
                kw["before"] = before
            r = self.ok("history", "history", room=room, **kw)
            out = r["messages"] + out
            if not r.get("has_more") or not r["messages"]:
                return out
            before = r["messages"][0]["seq"]

    def sync_room(self, room):
        """A broker round trip (a history request) so that anything the
        broker sent before it has arrived; returns the frames received."""
        self.ok("history", "history", room=room, limit=1)
        out, self.backlog = self.backlog, []
        return out


class ChatTestCase(DaemonTestCase):
    """DaemonTestCase with chat connections.  config defaults to relaxed
    rate limits."""

    config = {"limits": dict(NO_RATE_LIMITS)}

    def token(self, sub, **claims):
        return self.daemon.make_token(sub, **claims)

    def open(self, token=None, method="query", daemon=None):
        """Connect to /ws and present token by method ('query', 'header',
        'message' or None); no welcome is read."""
        d = daemon or self.daemon
        c = ChatClient()
        if method == "query" and token is not None:
            c.connect(d.ws_port, "/ws", query={"token": token})
        elif method == "header" and token is not None:
            c.connect(d.ws_port, "/ws",
                      headers={"Authorization": "Bearer %s" % token})
        else:
            c.connect(d.ws_port, "/ws")
            if method == "message" and token is not None:
                c.send_json({"type": "auth", "token": token})
        self.addCleanup(c.abort)
        return c

    def chat(self, sub=None, method="query", daemon=None, token=None, **claims):
        """An authenticated connection (welcome checked and kept)."""
        sub = sub or uniq("u")
        if token is None:
            token = (daemon or self.daemon).make_token(sub, **claims)
        c = self.open(token, method, daemon)
        w = c.recv_json()
        if w.get("type") != "welcome":
            raise AssertionError("expected welcome for %r, got %r" % (sub, w))
        c.welcome = w
        c.sub = sub
        return c

    def publish(self, body, key=True, daemon=None):
        """POST /api/publish -> (status, parsed JSON body or raw bytes)."""
        st, _, data = (daemon or self.daemon).api_request(
            "POST", "/api/publish", body, key=key)
        try:
            return st, json.loads(data.decode() or "null")
        except ValueError:
            return st, data

    def restart_broker(self, daemon=None, timeout=15.0):
        """kill -9 the broker and wait until status shows a new one."""
        d = daemon or self.daemon
        old = d.kill_child("broker", sig=signal.SIGKILL)
        d.wait_status(lambda s: s["broker"]["pid"] != old and
                      harness._pid_alive(s["broker"]["pid"]), timeout,
                      "a new broker after killing %d" % old)
        return old


def retry_unavailable(fn, timeout=10.0):
    """Call fn() -> reply until it is not an UNAVAILABLE error."""
    deadline = time.monotonic() + timeout
    while True:
        r = fn()
        if not (r.get("type") == "error" and r.get("code") == "UNAVAILABLE"):
            return r
        if time.monotonic() > deadline:
            raise AssertionError("still UNAVAILABLE after %.1fs: %r" % (timeout, r))
        time.sleep(0.05)        # client back-off before a retry (not a sync)


__all__ = ["ChatClient", "ChatTestCase", "ISO_MS", "NO_RATE_LIMITS", "uniq",
           "raw_jwt", "b64url", "parse_iso_ms", "retry_unavailable",
           "wait_for", "CloseReceived", "ConnectionClosed"]
