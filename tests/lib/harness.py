"""harness.py: drive the real parley daemon from Python integration tests.

Standard library plus Debian's python3-jwt (tokens).  Nothing here sleeps to
synchronise: readiness and state changes are awaited by polling against a
deadline (Daemon.wait_for) or by socket reads with timeouts.

    d = Daemon().start({"websocket": {"max_message_bytes": 1000}})
    c = WSClient().connect(d.ws_port, "/echo")
    c.send_text("hi"); assert c.recv_message() == (OP_TEXT, b"hi")
    c.close(); d.stop()

Environment: PARLEYD and PARLEYCTL name the binaries (default: the ones built
at the top of the source tree); PARLEY_KEEP_TMP=1 keeps temp dirs;
PARLEY_TEST_VERBOSE=1 prints the daemon's log tail after every test.
"""

import atexit
import base64
import hashlib
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

_TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PARLEYD = os.environ.get("PARLEYD") or os.path.join(_TOP, "parleyd")
PARLEYCTL = os.environ.get("PARLEYCTL") or os.path.join(_TOP, "parleyctl")

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

DEFAULT_TIMEOUT = 5.0


# --------------------------------------------------------------------------
# Polling helper

class WaitTimeout(AssertionError):
    pass


# --------------------------------------------------------------------------
# Fuzz corpus capture: with PARLEY_FUZZ_CAPTURE=DIR, what the tests send
# (upgrade heads, frames, client JSON, tokens, API bodies, configs) is also
# written to DIR/<fuzz target>/, one file per distinct input, for
# tests/fuzz/grow_corpus.py to pick seeds from.

_CAPTURE_DIR = os.environ.get("PARLEY_FUZZ_CAPTURE")
_CAPTURE_MAX = 4096     # bytes; larger inputs make poor seeds


def capture(target, data):
    if not _CAPTURE_DIR or data is None:
        return
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if len(data) > _CAPTURE_MAX:
        return
    d = os.path.join(_CAPTURE_DIR, target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, hashlib.sha1(data).hexdigest()[:16])
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)


def wait_for(predicate, timeout=10.0, interval=0.05, msg=None):
    """Call predicate() until it returns a truthy value (returned) or the
    deadline passes (WaitTimeout, naming msg and the last exception or value).
    Exceptions raised by predicate count as "not yet"."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = predicate()
            if v:
                return v
            last = "last value: %r" % (v,)
        except Exception as e:      # noqa: BLE001 - keep polling
            last = "last error: %s: %s" % (type(e).__name__, e)
        if time.monotonic() >= deadline:
            raise WaitTimeout("timed out after %.1fs waiting for %s (%s)"
                              % (timeout, msg or getattr(predicate, "__name__",
                                                         "condition"), last))
        time.sleep(interval)       # poll interval inside a deadline loop


# --------------------------------------------------------------------------
# The daemon

def default_config(tmp):
    """The harness's base configuration, as {section: {key: value}}.
    Per-address connection limits are relaxed so that suites opening many
    connections quickly are not rate-limited; tests of the limits override."""
    return {
        "server": {
            "listen": "127.0.0.1:0",
            "workers": 2,
            "data_dir": os.path.join(tmp, "lib"),
            "run_dir": os.path.join(tmp, "run"),
        },
        "websocket": {
            "path": "/ws",
            "echo_path": "/echo",
        },
        "auth": {
            "secret_file": os.path.join(tmp, "jwt.secret"),
            "algorithm": "HS256",
        },
        "limits": {
            "max_conns_per_ip": 10000,
            "conn_rate_per_ip": 10000,
            "conn_burst_per_ip": 10000,
        },
        "api": {
            "listen": "127.0.0.1:0",
            "key_file": os.path.join(tmp, "api.key"),
        },
    }


def write_private(path, text, mode=0o600):
    """Write a secret or key file the way parleyd wants it: mode 0600
    (parleyd refuses one that group or others may read)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(fd, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def merge_config(base, overrides):
    """Merge {section: {key: value}} overrides into base (in place).  A value
    of None removes the key; a section of None removes the section."""
    for sec, keys in (overrides or {}).items():
        if keys is None:
            base.pop(sec, None)
            continue
        dst = base.setdefault(sec, {})
        for k, v in keys.items():
            if v is None:
                dst.pop(k, None)
            else:
                dst[k] = v
    return base


def render_config(cfg):
    out = ["; written by tests/lib/harness.py"]
    for sec, keys in cfg.items():
        out.append("[%s]" % sec)
        for k, v in keys.items():
            if isinstance(v, bool):
                v = "yes" if v else "no"
            out.append("%s = %s" % (k, v))
        out.append("")
    text = "\n".join(out)
    capture("config", text)
    return text


class DaemonError(RuntimeError):
    pass


_STATUS_RE = {
    "supervisor": re.compile(r"^supervisor pid=(\d+) uptime=(\d+)$"),
    "broker": re.compile(r"^broker pid=(\d+) uptime=(\d+)$"),
    "worker": re.compile(r"^worker (\d+) pid=(\d+) uptime=(\d+) connections=(\d+)$"),
    "total": re.compile(r"^total connections=(\d+)$"),
}


def parse_status(text):
    """Parse `parleyctl status` output; every line must match the contract."""
    st = {"supervisor": None, "broker": None, "workers": {}, "total": None}
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _STATUS_RE["supervisor"].match(line)
        if m:
            st["supervisor"] = {"pid": int(m[1]), "uptime": int(m[2])}
            continue
        m = _STATUS_RE["broker"].match(line)
        if m:
            st["broker"] = {"pid": int(m[1]), "uptime": int(m[2])}
            continue
        m = _STATUS_RE["worker"].match(line)
        if m:
            st["workers"][int(m[1])] = {"pid": int(m[2]), "uptime": int(m[3]),
                                        "connections": int(m[4])}
            continue
        m = _STATUS_RE["total"].match(line)
        if m:
            st["total"] = int(m[1])
            continue
        raise ValueError("unexpected status line: %r" % line)
    for k in ("supervisor", "broker", "total"):
        if st[k] is None:
            raise ValueError("status output lacks the %s line: %r" % (k, text))
    return st


def _pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def _sid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[3])
    except (OSError, ValueError, IndexError):
        return None


def _ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


_LIVE_DAEMONS = []


@atexit.register
def _cleanup_live_daemons():
    """Last resort: never leave daemons behind, even after an exception."""
    for d in list(_LIVE_DAEMONS):
        d.cleanup()


class Daemon:
    """One parleyd in its own temp dir.  start() returns self."""

    def __init__(self):
        self.tmp = None
        self.proc = None
        self.ports = None
        self.config = None
        self.config_path = None
        self.secret = None
        self.api_key = None
        self.log_path = None
        self._seen_pids = set()
        self._sids = set()
        self._log = None
        self._final_log = None
        self.exit_code = None
        # False: parleyd makes data_dir and run_dir itself (their modes).
        self.premake_dirs = True
        # (soft, hard) RLIMIT_NOFILE for parleyd, or None to inherit ours.
        self.nofile_limit = None

    # --- life cycle -------------------------------------------------------

    def start(self, config_overrides=None, workers=2, timeout=10.0):
        self.tmp = tempfile.mkdtemp(prefix="parley-test-")
        self.secret = secrets.token_hex(32)
        self.api_key = secrets.token_hex(24)
        cfg = default_config(self.tmp)
        cfg["server"]["workers"] = workers
        merge_config(cfg, config_overrides)
        self.config = cfg
        for d in (cfg["server"].get("data_dir"), cfg["server"].get("run_dir")):
            if d and self.premake_dirs:
                os.makedirs(d, mode=0o700, exist_ok=True)
        self._write(cfg.get("auth", {}).get("secret_file"), self.secret)
        self._write(cfg.get("api", {}).get("key_file"), self.api_key)
        _LIVE_DAEMONS.append(self)
        self.config_path = os.path.join(self.tmp, "parley.conf")
        self._write(self.config_path, render_config(cfg), mode=0o644)
        self.log_path = os.path.join(self.tmp, "parleyd.log")
        self._spawn(timeout)
        return self

    def _spawn(self, timeout):
        self._log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [PARLEYD, "-f", "-c", self.config_path],
                stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                cwd=self.tmp, start_new_session=True,
                preexec_fn=self._child_limits if self.nofile_limit else None)
            self._seen_pids.add(self.proc.pid)
            self._sids.add(self.proc.pid)
            self._wait_ready(timeout)
        except BaseException:
            self.cleanup()
            raise

    def _child_limits(self):
        import resource
        resource.setrlimit(resource.RLIMIT_NOFILE, self.nofile_limit)

    def restart(self, sig=signal.SIGTERM, timeout=10.0):
        """Stop the daemon (sig; SIGKILL kills every parley process at once,
        like a crash) and start it again on the same directory and config.
        Ports change (port 0); the log file is appended to.  Returns the exit
        code of the old supervisor."""
        if sig == signal.SIGKILL:
            self._kill_all()
            self.proc.wait(5)
            wait_for(lambda: not self._our_pids(), 5,
                     msg="all parley processes gone")
            rc = self.proc.returncode
        else:
            rc = self.stop(sig, timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
        try:
            os.unlink(os.path.join(self.run_dir, "ports.json"))
        except FileNotFoundError:
            pass
        self.ports = None
        self._spawn(timeout)
        return rc

    def _write(self, path, text, mode=0o600):
        if not path:
            return
        write_private(path, text, mode)

    def _wait_ready(self, timeout):
        path = os.path.join(self.run_dir, "ports.json")
        deadline = time.monotonic() + timeout
        while True:
            rc = self.proc.poll()
            if rc is not None:
                self.exit_code = rc
                raise DaemonError("parleyd exited with %d before it was ready;"
                                  " log tail:\n%s" % (rc, self.log_tail()))
            try:
                with open(path) as f:
                    self.ports = json.load(f)
                if isinstance(self.ports, dict) and "ws" in self.ports:
                    return
            except (OSError, ValueError):
                pass
            if time.monotonic() >= deadline:
                raise DaemonError("parleyd not ready (no %s) after %.1fs; log"
                                  " tail:\n%s" % (path, timeout, self.log_tail()))
            time.sleep(0.02)

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Send sig to the supervisor and wait for it to exit; returns the exit
        code (negative: killed by that signal).  sig=None only waits.  Past
        the timeout the process group is killed and DaemonError raised."""
        if self.proc is None:
            return self.exit_code
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.exit_code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill_all()
            self.proc.wait(5)
            raise DaemonError("parleyd did not exit within %.1fs of signal %s;"
                              " log tail:\n%s" % (timeout, sig, self.log_tail()))
        return self.exit_code

    def _our_pids(self):
        """Live processes in the sessions of the supervisors we started
        (each is spawned as a session leader), plus its descendants.  Only
        these are ever killed, so a recycled pid is never hit."""
        out = self.descendants()
        for name in os.listdir("/proc"):
            if name.isdigit() and _sid(int(name)) in self._sids \
                    and _pid_alive(int(name)):
                out.add(int(name))
        return out

    def _kill_all(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in self._our_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def cleanup(self):
        """Stop the daemon gracefully (so sanitizer leak checks run in every
        process), kill whatever is left, fail on any sanitizer report in
        its log, and remove the temp dir.  Safe to call twice."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.stop(signal.SIGTERM, timeout=15)
            except DaemonError:
                pass
        if self.proc is not None:
            if self.proc.poll() is None:
                self._kill_all()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            else:
                self._kill_all()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self in _LIVE_DAEMONS:
            _LIVE_DAEMONS.remove(self)
        report = self.sanitizer_report()
        if self.tmp and not os.environ.get("PARLEY_KEEP_TMP"):
            self._final_log = self.log_text()
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        if report:
            raise AssertionError("sanitizer report in the daemon's log:\n"
                                 + report)

    SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                       "runtime error:", "ERROR: UndefinedBehaviorSanitizer")

    def sanitizer_report(self):
        """The first sanitizer report in the log, or "" (checked once)."""
        if getattr(self, "_san_checked", False) or not self.tmp:
            return ""
        self._san_checked = True
        try:
            text = self.log_text()
        except OSError:
            return ""
        for mark in self.SANITIZER_MARKS:
            i = text.find(mark)
            if i >= 0:
                return text[max(0, i - 200):i + 4000]
        return ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    # --- facts ------------------------------------------------------------

    @property
    def pid(self):
        return self.proc.pid

    @property
    def ws_port(self):
        return int(self.ports["ws"])

    def url(self, path="/echo"):
        """ws:// URL for third-party clients."""
        return "ws://127.0.0.1:%d%s" % (self.ws_port, path)

    @property
    def api_port(self):
        return int(self.ports.get("api") or 0)

    @property
    def tls_port(self):
        return int(self.ports.get("tls") or 0)

    @property
    def run_dir(self):
        return self.config["server"]["run_dir"]

    @property
    def data_dir(self):
        return self.config["server"]["data_dir"]

    @property
    def sock(self):
        return os.path.join(self.run_dir, "parleyd.sock")

    @property
    def pidfile(self):
        return os.path.join(self.run_dir, "parleyd.pid")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def descendants(self):
        """Pids whose parent chain leads to the supervisor (via /proc)."""
        if self.proc is None:
            return set()
        parents = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                pp = _ppid(int(name))
                if pp is not None:
                    parents[int(name)] = pp
        out, frontier = set(), {self.proc.pid}
        while frontier:
            nxt = {p for p, pp in parents.items() if pp in frontier and p not in out}
            out |= nxt
            frontier = nxt
        return {p for p in out if _pid_alive(p)}

    def children(self):
        """Live direct children of the supervisor (via /proc)."""
        if self.proc is None:
            return set()
        out = set()
        for name in os.listdir("/proc"):
            if name.isdigit() and _ppid(int(name)) == self.proc.pid \
                    and _pid_alive(int(name)):
                out.add(int(name))
        return out

    def log_text(self):
        if self.tmp is None and self._final_log is not None:
            return self._final_log
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def log_tail(self, lines=40):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def log_events(self):
        """The JSON log lines, parsed (non-JSON lines skipped)."""
        out = []
        for line in self.log_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    # --- control ----------------------------------------------------------

    def ctl(self, *args, timeout=10.0, use_config=False):
        """Run parleyctl against this daemon: (rc, stdout, stderr)."""
        where = ["-c", self.config_path] if use_config else ["-s", self.sock]
        r = subprocess.run([PARLEYCTL] + where + [str(a) for a in args],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
        return (r.returncode, r.stdout.decode("utf-8", "replace"),
                r.stderr.decode("utf-8", "replace"))

    def status(self):
        """Parsed `parleyctl status`; DaemonError when it exits non-zero."""
        rc, out, err = self.ctl("status")
        if rc != 0:
            raise DaemonError("parleyctl status exited %d: %s" % (rc, err.strip()))
        st = parse_status(out)
        self._seen_pids.add(st["supervisor"]["pid"])
        self._seen_pids.add(st["broker"]["pid"])
        for w in st["workers"].values():
            self._seen_pids.add(w["pid"])
        return st

    def wait_for(self, predicate, timeout=10.0, interval=0.05, msg=None):
        return wait_for(predicate, timeout, interval, msg)

    def wait_status(self, predicate, timeout=10.0, msg=None):
        """Poll status() until predicate(status) is true; returns the status."""
        def probe():
            st = self.status()
            return st if predicate(st) else None
        return wait_for(probe, timeout, 0.05, msg)

    def wait_total(self, n, timeout=10.0):
        return self.wait_status(lambda s: s["total"] == n, timeout,
                                "status total connections == %d" % n)

    def child_pid(self, role, n=None):
        st = self.status()
        if role == "worker":
            return st["workers"][n if n is not None else min(st["workers"])]["pid"]
        if role in ("broker", "supervisor"):
            return st[role]["pid"]
        raise ValueError("unknown role %r" % role)

    def kill_child(self, role, n=None, sig=signal.SIGKILL):
        """Signal a child ('worker' n, 'broker'); returns the pid signalled."""
        pid = self.child_pid(role, n)
        os.kill(pid, sig)
        return pid

    # --- credentials --------------------------------------------------------

    def make_token(self, sub, *, key=None, algorithm="HS256", headers=None,
                   **claims):
        """A JWT signed with the daemon's secret.  Defaults: iat=now,
        exp=now+3600; pass exp=None (or any claim=None) to omit it."""
        import jwt  # python3-jwt
        now = int(time.time())
        payload = {"sub": sub, "iat": now, "exp": now + 3600}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        if sub is None:
            payload.pop("sub", None)
        tok = jwt.encode(payload, self.secret if key is None else key,
                         algorithm=algorithm, headers=headers)
        tok = tok.decode() if isinstance(tok, bytes) else tok
        capture("jwt", tok)
        return tok

    def api_request(self, method, path, body=None, key=True, timeout=5.0):
        """HTTP request to the API listener: (status, headers, body bytes)."""
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.api_port,
                                          timeout=timeout)
        hdrs = {}
        if key:
            hdrs["Authorization"] = "Bearer %s" % (self.api_key if key is True else key)
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            hdrs["Content-Type"] = "application/json"
            if path == "/api/publish":
                capture("api_body", data)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()


# --------------------------------------------------------------------------
# Raw WebSocket client

class ConnectionClosed(Exception):
    """The server closed TCP (EOF or reset)."""


class CloseReceived(Exception):
    """A close frame arrived where a data message was expected."""

    def __init__(self, code, reason):
        super().__init__("close frame %r %r" % (code, reason))
        self.code = code
        self.reason = reason


class HandshakeError(Exception):
    def __init__(self, status, headers, body):
        super().__init__("upgrade refused: HTTP %r %r" % (status, body[:200]))
        self.status = status
        self.headers = headers
        self.body = body


def accept_key(key):
    k = key.encode() if isinstance(key, str) else key
    return base64.b64encode(hashlib.sha1(k + WS_GUID).digest()).decode()


def mask_bytes(data, key):
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def build_frame(opcode, payload=b"", fin=True, rsv=0, mask=True,
                length_form=None, mask_key=None, length=None):
    """Encode one client frame.  rsv: 3-bit value (4=RSV1, 2=RSV2, 1=RSV3).
    length_form: None (minimal), 7, 16 or 64 to force the encoding.
    length: advertise this length instead of len(payload) (crafted frames)."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    mbit = 0x80 if mask else 0
    form = length_form
    if form is None:
        form = 7 if n < 126 else (16 if n < 65536 else 64)
    if form == 7:
        hdr = struct.pack("!BB", b0, mbit | n)
    elif form == 16:
        hdr = struct.pack("!BBH", b0, mbit | 126, n)
    elif form == 64:
        hdr = struct.pack("!BBQ", b0, mbit | 127, n)
    else:
        raise ValueError("length_form must be 7, 16 or 64")
    if mask:
        key = mask_key if mask_key is not None else os.urandom(4)
        return hdr + key + mask_bytes(payload, key)
    return hdr + payload


def close_payload(code=None, reason=b""):
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode()
    return struct.pack("!H", code) + reason


def _read_http_head(sock, buf, deadline, max_len=65536):
    """Read until CRLFCRLF; returns (head bytes, rest) or (None, buf) on EOF."""
    while b"\r\n\r\n" not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("timed out reading the HTTP response head")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return None, buf
        buf += chunk
        if len(buf) > max_len:
            raise ValueError("HTTP response head too long")
    i = buf.index(b"\r\n\r\n") + 4
    return buf[:i], buf[i:]


def parse_http_head(head):
    """-> (status int, headers {lower name: value}, raw header list)."""
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"^HTTP/1\.[01] (\d{3})(?: .*)?$", lines[0])
    if not m:
        raise ValueError("bad status line %r" % lines[0])
    hdrs, raw = {}, []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        raw.append((name, value))
        hdrs[name] = hdrs[name] + ", " + value if name in hdrs else value
    return int(m[1]), hdrs, raw


def raw_request(port, data, timeout=DEFAULT_TIMEOUT, host="127.0.0.1"):
    """Send raw bytes (an HTTP head) and read the answer.  Returns
    (status, headers, body); status is None when the server closed the
    connection without answering.  The body is read to Content-Length or EOF."""
    if isinstance(data, str):
        data = data.encode("latin-1")
    deadline = time.monotonic() + timeout
    capture("http_upgrade", data)
    with socket.create_connection((host, port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        head, rest = _read_http_head(s, b"", deadline)
        if head is None:
            return None, {}, rest
        status, hdrs, _ = parse_http_head(head)
        want = int(hdrs.get("content-length", "0") or 0) if status != 101 else 0
        body = rest
        while len(body) < want:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            body += chunk
        return status, hdrs, body


def upgrade_request(path="/echo", host="127.0.0.1", key=None, headers=None,
                    version="13", method="GET", omit=()):
    """Build an upgrade request head.  headers: extra (name, value) pairs or a
    dict; omit: header names (lowercase) to leave out."""
    key = key if key is not None else base64.b64encode(os.urandom(16)).decode()
    base = [("Host", host), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", version)]
    lines = ["%s %s HTTP/1.1" % (method, path)]
    for name, value in base:
        if name.lower() not in omit and value is not None:
            lines.append("%s: %s" % (name, value))
    extra = headers.items() if isinstance(headers, dict) else (headers or ())
    for name, value in extra:
        lines.append("%s: %s" % (name, value))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), key


class Frame(tuple):
    """(fin, opcode, payload) plus .rsv."""

    def __new__(cls, fin, opcode, payload, rsv=0):
        self = super().__new__(cls, (fin, opcode, payload))
        self.rsv = rsv
        return self

    def __repr__(self):
        p = self[2]
        shown = repr(p[:60]) + ("...(%d bytes)" % len(p) if len(p) > 60 else "")
        return "Frame(fin=%s, opcode=%d, payload=%s)" % (self[0], self[1], shown)

    fin = property(lambda self: self[0])
    opcode = property(lambda self: self[1])
    payload = property(lambda self: self[2])


class WSClient:
    """A deliberately low-level WebSocket client over a raw TCP socket."""

    def __init__(self):
        self.sock = None
        self.buf = b""
        self.response = None      # (status, headers) of the upgrade
        self.close_sent = False
        self.close_received = None
        self.auto_pong = True
        self.skipped = []         # frames skipped by expect_close / recv_json

    # --- connection ---------------------------------------------------------

    def connect(self, port, path="/echo", headers=None, query=None,
                host="127.0.0.1", timeout=DEFAULT_TIMEOUT, key=None,
                extra=b"", rcvbuf=None, on_sent=None):
        """Open TCP, upgrade, verify 101 and Sec-WebSocket-Accept; returns
        self.  query: dict or string appended after '?'.  extra: bytes sent
        in the same write right after the head.  rcvbuf: SO_RCVBUF set
        before connecting (a slow reader).  on_sent: called once the head
        is sent, before the answer is read.  HandshakeError on refusal."""
        if query:
            if isinstance(query, dict):
                from urllib.parse import urlencode
                query = urlencode(query)
            path = path + "?" + query
        req, key = upgrade_request(path, "%s:%d" % (host, port), key, headers)
        deadline = time.monotonic() + timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect((host, port))
        except OSError:
            self.abort()
            raise
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        capture("http_upgrade", req)
        self.sock.sendall(req + extra)
        if on_sent is not None:
            on_sent()
        head, rest = _read_http_head(self.sock, b"", deadline)
        if head is None:
            self.abort()
            raise HandshakeError(None, {}, rest)
        status, hdrs, _ = parse_http_head(head)
        self.response = (status, hdrs)
        if status != 101:
            self.abort()
            raise HandshakeError(status, hdrs, rest)
        if hdrs.get("sec-websocket-accept") != accept_key(key):
            self.abort()
            raise AssertionError("bad Sec-WebSocket-Accept %r (want %r)"
                                 % (hdrs.get("sec-websocket-accept"), accept_key(key)))
        if "websocket" not in hdrs.get("upgrade", "").lower():
            raise AssertionError("101 without Upgrade: websocket: %r" % hdrs)
        if "upgrade" not in [t.strip().lower() for t in hdrs.get("connection", "").split(",")]:
            raise AssertionError("101 without Connection: Upgrade: %r" % hdrs)
        self.buf = rest
        return self

    def abort(self):
        """Drop TCP without a close handshake."""
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.abort()
        return False

    def fileno(self):
        return self.sock.fileno()

    # --- sending ------------------------------------------------------------

    def send_raw(self, data):
        capture("ws_frame", data)
        self.sock.sendall(data)

    def send_frame(self, opcode, payload=b"", fin=True, rsv=0, mask=True,
                   length_form=None, mask_key=None, length=None, header=None):
        """Send one frame; header (bytes) replaces the encoded header (the
        payload is then sent as given, unmasked by the harness)."""
        if isinstance(payload, str):
            payload = payload.encode()
        if header is not None:
            data = header + payload
        else:
            data = build_frame(opcode, payload, fin, rsv, mask, length_form,
                               mask_key, length)
        capture("ws_frame", data)
        if opcode == OP_TEXT and fin and not rsv:
            capture("chat_req", payload)
        elif rsv & 4:
            # fuzz_inflate: two parameter bytes (window 15, context kept),
            # then the compressed message.
            capture("inflate", b"\x06\x00" + payload)
        self.sock.sendall(data)
        if opcode == OP_CLOSE and fin:
            self.close_sent = True

    def send_text(self, text, **kw):
        self.send_frame(OP_TEXT, text.encode() if isinstance(text, str) else text, **kw)

    def send_binary(self, data, **kw):
        self.send_frame(OP_BINARY, data, **kw)

    def send_ping(self, payload=b""):
        self.send_frame(OP_PING, payload)

    def send_close(self, code=1000, reason=b""):
        self.send_frame(OP_CLOSE, close_payload(code, reason))

    def send_json(self, obj):
        self.send_frame(OP_TEXT, json.dumps(obj, separators=(",", ":")).encode())

    # --- receiving ----------------------------------------------------------

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("timed out waiting for data (have %d of %d"
                                     " bytes)" % (len(self.buf), n))
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(max(65536, n - len(self.buf)))
            except ConnectionResetError:
                raise ConnectionClosed("connection reset by server")
            if not chunk:
                raise ConnectionClosed("server closed TCP (%d bytes pending)"
                                       % len(self.buf))
            self.buf += chunk

    def _take(self, n):
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self, timeout=DEFAULT_TIMEOUT):
        """Next frame as Frame(fin, opcode, payload).  Asserts it is unmasked
        (RFC 6455 5.1).  socket.timeout / ConnectionClosed otherwise."""
        deadline = time.monotonic() + timeout
        self._fill(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        n = b1 & 0x7F
        hlen = 2 + (2 if n == 126 else 8 if n == 127 else 0)
        self._fill(hlen, deadline)
        if n == 126:
            n = struct.unpack("!H", self.buf[2:4])[0]
        elif n == 127:
            n = struct.unpack("!Q", self.buf[2:10])[0]
        if b1 & 0x80:
            raise AssertionError("server sent a masked frame")
        self._fill(hlen + n, deadline)
        self._take(hlen)
        payload = self._take(n)
        fr = Frame(bool(b0 & 0x80), b0 & 0x0F, payload, (b0 >> 4) & 7)
        self.check_rsv(fr)
        if fr.opcode == OP_CLOSE:
            self.close_received = parse_close(payload)
        return fr

    def check_rsv(self, fr):
        """No extension is negotiated here, so no RSV bit may be set (a
        client that negotiates one overrides this)."""
        if fr.rsv:
            raise AssertionError("server frame with RSV bits 0x%x" % fr.rsv)

    def recv_message(self, timeout=DEFAULT_TIMEOUT):
        """Next data message, reassembled: (opcode, payload).  Pings are
        answered (auto_pong) and skipped, pongs skipped; a close frame raises
        CloseReceived."""
        deadline = time.monotonic() + timeout
        opcode, rsv, parts = None, 0, []
        while True:
            fr = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if fr.opcode == OP_PING:
                if self.auto_pong and not self.close_sent:
                    self.send_frame(OP_PONG, fr.payload)
                continue
            if fr.opcode == OP_PONG:
                continue
            if fr.opcode == OP_CLOSE:
                code, reason = parse_close(fr.payload)
                raise CloseReceived(code, reason)
            if opcode is None:
                if fr.opcode == OP_CONT:
                    raise AssertionError("server sent a continuation first")
                opcode, rsv = fr.opcode, fr.rsv
            elif fr.opcode != OP_CONT:
                raise AssertionError("server interleaved a new data frame")
            parts.append(fr.payload)
            if fr.fin:
                return opcode, self.message_payload(rsv, b"".join(parts))

    def message_payload(self, rsv, data):
        """A reassembled message's payload, given its first frame's RSV
        bits (none without an extension; a client that negotiates one
        overrides this)."""
        return data

    def recv_text(self, timeout=DEFAULT_TIMEOUT):
        op, data = self.recv_message(timeout)
        if op != OP_TEXT:
            raise AssertionError("expected a text message, got opcode %d" % op)
        return data.decode("utf-8")

    def recv_json(self, timeout=DEFAULT_TIMEOUT, skip_types=()):
        """Next JSON text message whose type is not in skip_types."""
        deadline = time.monotonic() + timeout
        while True:
            op, data = self.recv_message(max(0.0, deadline - time.monotonic()))
            if op != OP_TEXT:
                raise AssertionError("expected a text (JSON) message, got opcode %d" % op)
            obj = json.loads(data.decode("utf-8"))
            if isinstance(obj, dict) and obj.get("type") in skip_types:
                self.skipped.append(obj)
                continue
            return obj

    def expect(self, type_, timeout=DEFAULT_TIMEOUT, skip_types=(), **fields):
        """Next JSON message (after skip_types) must have this type, and the
        given field values; returns it."""
        obj = self.recv_json(timeout, skip_types)
        if obj.get("type") != type_:
            raise AssertionError("expected %r, got %r" % (type_, obj))
        for k, v in fields.items():
            if obj.get(k) != v:
                raise AssertionError("expected %s=%r in %r" % (k, v, obj))
        return obj

    def expect_error(self, code, timeout=DEFAULT_TIMEOUT, skip_types=()):
        obj = self.expect("error", timeout, skip_types)
        if obj.get("code") != code:
            raise AssertionError("expected error %s, got %r" % (code, obj))
        return obj

    def expect_silence(self, timeout=0.3):
        """Assert nothing arrives within timeout."""
        try:
            fr = self.recv_frame(timeout)
        except socket.timeout:
            return
        raise AssertionError("expected silence, got %r" % (fr,))

    def expect_close(self, code, timeout=DEFAULT_TIMEOUT, skip_data=True):
        """Read until a close frame; assert its code (None: no status), answer
        it, then assert the server closes TCP.  Data/pong frames before it are
        collected in self.skipped (or fail when skip_data is False).
        Returns (code, reason)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                fr = self.recv_frame(max(0.0, deadline - time.monotonic()))
            except ConnectionClosed as e:
                raise AssertionError("expected close %r, but TCP closed without"
                                     " a close frame (%s)" % (code, e))
            except socket.timeout:
                raise AssertionError("expected close %r, got nothing within %.1fs"
                                     % (code, timeout))
            if fr.opcode == OP_CLOSE:
                break
            if not skip_data:
                raise AssertionError("expected close %r, got frame %r" % (code, fr))
            self.skipped.append(fr)
        got, reason = parse_close(fr.payload)
        if got != code:
            raise AssertionError("expected close code %r, got %r (reason %r)"
                                 % (code, got, reason))
        if not self.close_sent:
            try:
                self.send_frame(OP_CLOSE, close_payload(got if got is not None else None))
            except OSError:
                pass
        self.expect_tcp_close(max(0.5, deadline - time.monotonic()))
        return got, reason

    def expect_tcp_close(self, timeout=DEFAULT_TIMEOUT):
        """Assert the server closes TCP within timeout (extra frames after the
        close frame are a failure)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.buf:
                raise AssertionError("data after the close frame: %r" % self.buf[:64])
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("server did not close TCP within %.1fs" % timeout)
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return
            except socket.timeout:
                continue
            if not chunk:
                return
            self.buf += chunk

    def close(self, code=1000, reason=b"", timeout=DEFAULT_TIMEOUT):
        """Clean close: send close, expect the echoed code and TCP close."""
        if self.sock is None:
            return
        try:
            if not self.close_sent:
                self.send_close(code, reason)
            self.expect_close(code, timeout)
        finally:
            self.abort()

    def is_closed_by_peer(self, timeout=0.0):
        """True when TCP is at EOF/reset (data frames are kept in buf)."""
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return False
        try:
            self.sock.settimeout(0.0)
            chunk = self.sock.recv(65536, socket.MSG_PEEK)
        except ConnectionResetError:
            return True
        except (BlockingIOError, socket.timeout):
            return False
        return not chunk


def parse_close(payload):
    """-> (code or None, reason bytes)."""
    if len(payload) == 0:
        return None, b""
    if len(payload) == 1:
        raise AssertionError("server sent a 1-byte close payload")
    return struct.unpack("!H", payload[:2])[0], payload[2:]


def ws_connect(port, path="/echo", **kw):
    return WSClient().connect(port, path, **kw)


# --------------------------------------------------------------------------
# unittest glue

class DaemonTestCase(unittest.TestCase):
    """Owns a daemon per class (daemon_scope='class', the default) or per
    test ('test').  Subclasses set config (overrides dict) and workers.  On
    a failing test the daemon's log tail goes to stderr."""

    config = None
    workers = 2
    daemon_scope = "class"
    daemon = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.daemon = None
        if cls.daemon_scope == "class":
            cls.daemon = Daemon().start(cls.config, cls.workers)

    @classmethod
    def tearDownClass(cls):
        if cls.daemon is not None:
            cls.daemon.cleanup()
            cls.daemon = None
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self._clients = []
        if self.daemon_scope == "test":
            self.daemon = Daemon().start(self.config, self.workers)
            self.addCleanup(self._cleanup_test_daemon)

    def _cleanup_test_daemon(self):
        if self.daemon is not None:
            self.daemon.cleanup()

    def connect(self, path="/echo", **kw):
        """WSClient connected to this daemon, aborted at test end."""
        c = WSClient().connect(self.daemon.ws_port, path, **kw)
        self.addCleanup(c.abort)
        return c

    def run(self, result=None):
        if result is None:
            result = self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        try:
            return super().run(result)
        finally:
            failed = len(result.failures) + len(result.errors) > before
            d = self.daemon
            if (failed or os.environ.get("PARLEY_TEST_VERBOSE")) and d is not None:
                sys.stderr.write("\n---- parleyd log tail (%s) ----\n%s\n----\n"
                                 % (self.id(), d.log_tail()))


def main():
    unittest.main(verbosity=2)


class CrashCheckedTestCase(DaemonTestCase):
    """DaemonTestCase whose every test also checks that no child process
    died or was replaced (a crash would be hidden by the supervisor's
    restart)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.children0 = cls.daemon.children()

    def tearDown(self):
        self.assertTrue(self.daemon.alive(), "parleyd exited")
        self.assertEqual(self.daemon.children(), self.children0,
                         "a child process died or was replaced")
        super().tearDown()
