"""HTTP upgrade (RFC 6455 section 4, PROTOCOL.md section 1) against the real
daemon: accepted and refused upgrade requests, limits and timeouts."""

import base64
import os
import select
import socket
import time

from harness import (DaemonTestCase, HandshakeError, OP_TEXT, WSClient,
                     accept_key, build_frame, raw_request, upgrade_request,
                     main)


def head(path="/echo", **kw):
    return upgrade_request(path, **kw)


class UpgradeTest(DaemonTestCase):
    config = {"websocket": {"handshake_timeout": 1}}

    def req(self, data, timeout=5):
        return raw_request(self.daemon.ws_port, data, timeout)

    def assertStatus(self, data, want):
        status, hdrs, body = self.req(data)
        self.assertEqual(status, want, "headers %r body %r" % (hdrs, body[:200]))
        return hdrs, body

    # --- accepted ---------------------------------------------------------

    def test_upgrade_ok_and_accept_key(self):
        key = base64.b64encode(os.urandom(16)).decode()
        data, _ = head("/echo", key=key)
        status, hdrs, _ = self.req(data)
        self.assertEqual(status, 101)
        self.assertEqual(hdrs.get("sec-websocket-accept"), accept_key(key))
        self.assertEqual(hdrs.get("upgrade", "").lower(), "websocket")
        self.assertIn("upgrade", [t.strip().lower() for t in
                                  hdrs.get("connection", "").split(",")])

    def test_rfc_sample_key(self):
        # RFC 6455 section 1.3 example.
        data, _ = head("/echo", key="dGhlIHNhbXBsZSBub25jZQ==")
        status, hdrs, _ = self.req(data)
        self.assertEqual(status, 101)
        self.assertEqual(hdrs.get("sec-websocket-accept"),
                         "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")

    def test_upgrade_then_echo(self):
        c = self.connect("/echo")
        c.send_text("hello")
        self.assertEqual(c.recv_message(), (OP_TEXT, b"hello"))
        c.close()

    def test_tokens_case_insensitive_and_comma_separated(self):
        key = base64.b64encode(os.urandom(16)).decode()
        data = ("GET /echo HTTP/1.1\r\n"
                "host: 127.0.0.1\r\n"
                "upgrade: WebSocket\r\n"
                "connection: keep-alive, UPGRADE\r\n"
                "sec-websocket-key: %s\r\n"
                "sec-websocket-version: 13\r\n\r\n" % key).encode()
        status, hdrs, _ = self.req(data)
        self.assertEqual(status, 101, hdrs)
        self.assertEqual(hdrs.get("sec-websocket-accept"), accept_key(key))

    def test_connection_token_list_without_spaces(self):
        data, _ = head("/echo", omit=("connection",),
                       headers=[("Connection", "Upgrade,keep-alive")])
        self.assertStatus(data, 101)

    def test_query_string_allowed(self):
        data, _ = head("/echo?a=1&b=two")
        self.assertStatus(data, 101)
        # The chat endpoint accepts the upgrade; auth happens after it.
        data, _ = head("/ws?token=not.a.jwt")
        self.assertStatus(data, 101)

    def test_chat_path_upgrades(self):
        data, _ = head("/ws")
        self.assertStatus(data, 101)

    def test_head_split_across_writes(self):
        data, key = head("/echo")
        with socket.create_connection(("127.0.0.1", self.daemon.ws_port),
                                      timeout=5) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(0, len(data), 7):
                s.sendall(data[i:i + 7])
                if i + 7 < len(data):
                    # No answer may come before the head is complete.
                    r, _, _ = select.select([s], [], [], 0.01)
                    self.assertFalse(r and s.recv(1, socket.MSG_PEEK),
                                     "server answered an incomplete head")
            s.settimeout(5)
            got = b""
            while b"\r\n\r\n" not in got:
                chunk = s.recv(4096)
                self.assertTrue(chunk, "closed before answering")
                got += chunk
            self.assertTrue(got.startswith(b"HTTP/1.1 101"), got[:100])
            self.assertIn(accept_key(key).encode(), got)

    def test_frame_pipelined_with_head(self):
        # The first frame arrives in the same write as the request head.
        c = WSClient().connect(self.daemon.ws_port, "/echo",
                               extra=build_frame(OP_TEXT, b"early"))
        self.addCleanup(c.abort)
        self.assertEqual(c.recv_message(), (OP_TEXT, b"early"))
        c.close()

    def test_head_just_under_8k_accepted(self):
        base, _ = head("/echo", headers=[("X-Pad", "")])
        pad = 8192 - len(base) - 64
        data, _ = head("/echo", headers=[("X-Pad", "a" * pad)])
        self.assertLess(len(data), 8192)
        self.assertStatus(data, 101)

    # --- refused ----------------------------------------------------------

    def test_post_405(self):
        data, _ = head("/echo", method="POST")
        self.assertStatus(data, 405)

    def test_head_method_405(self):
        data, _ = head("/echo", method="PUT")
        self.assertStatus(data, 405)

    def test_missing_host_400(self):
        data, _ = head("/echo", omit=("host",))
        self.assertStatus(data, 400)

    def test_version_8_426(self):
        data, _ = head("/echo", version="8")
        hdrs, _ = self.assertStatus(data, 426)
        self.assertEqual(hdrs.get("sec-websocket-version"), "13")

    def test_version_14_426(self):
        data, _ = head("/echo", version="14")
        hdrs, _ = self.assertStatus(data, 426)
        self.assertEqual(hdrs.get("sec-websocket-version"), "13")

    def test_missing_version_refused(self):
        data, _ = head("/echo", omit=("sec-websocket-version",))
        status, _, _ = self.req(data)
        self.assertIn(status, (400, 426))

    def test_missing_key_400(self):
        data, _ = head("/echo", omit=("sec-websocket-key",))
        self.assertStatus(data, 400)

    def test_bad_keys_400(self):
        bad = ["abc",                                          # not 16 bytes
               base64.b64encode(os.urandom(15)).decode(),     # 15 bytes
               base64.b64encode(os.urandom(17)).decode(),     # 17 bytes
               "!!!!!!!!!!!!!!!!!!!!!!==",                    # not base64
               ""]
        for key in bad:
            with self.subTest(key=key):
                data, _ = head("/echo", key=key)
                self.assertStatus(data, 400)

    def test_missing_upgrade_header_400(self):
        data, _ = head("/echo", omit=("upgrade",))
        self.assertStatus(data, 400)

    def test_missing_connection_upgrade_400(self):
        data, _ = head("/echo", omit=("connection",),
                       headers=[("Connection", "keep-alive")])
        self.assertStatus(data, 400)

    def test_unknown_paths_404(self):
        for path in ("/", "/other", "/echox", "/ws/extra", "/wsx?token=1",
                     "/ECHO"):
            with self.subTest(path=path):
                data, _ = head(path)
                self.assertStatus(data, 404)

    def test_head_over_8k_431(self):
        data, _ = head("/echo", headers=[("X-Pad", "a" * 9000)])
        self.assertStatus(data, 431)

    def test_incomplete_head_over_8k_431(self):
        # No blank line yet, but already past the limit: answer at once.
        data = b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 9000
        self.assertStatus(data, 431)

    def test_handshake_timeout_closes(self):
        # handshake_timeout = 1: an incomplete head gets the connection
        # closed (with no answer or a 408) soon after one second.
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.daemon.ws_port),
                                      timeout=5) as s:
            s.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
            s.settimeout(5)
            got = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
            except ConnectionResetError:
                pass
            except socket.timeout:
                self.fail("connection still open 5 s after the head started")
        elapsed = time.monotonic() - t0
        self.assertTrue(got == b"" or got.startswith(b"HTTP/1.1 408"), got[:100])
        self.assertGreater(elapsed, 0.5)

    def test_handshake_timeout_is_not_reset_by_trickle(self):
        # Sending a byte every 200 ms must not keep an incomplete head alive:
        # the timeout is for the whole head.
        t0 = time.monotonic()
        closed = False
        with socket.create_connection(("127.0.0.1", self.daemon.ws_port),
                                      timeout=5) as s:
            s.sendall(b"GET /echo HTTP/1.1\r\n")
            while time.monotonic() - t0 < 6 and not closed:
                try:
                    s.sendall(b"X")
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                r, _, _ = select.select([s], [], [], 0.2)   # pacing + detection
                if r:
                    try:
                        if not s.recv(4096, socket.MSG_PEEK):
                            closed = True
                        else:
                            data = s.recv(4096)
                            self.assertTrue(data.startswith(b"HTTP/1.1 408"), data)
                    except ConnectionResetError:
                        closed = True
        self.assertTrue(closed, "trickled head kept the connection open 6 s")
        self.assertLess(time.monotonic() - t0, 4.0)

    def test_refused_upgrade_connection_closed(self):
        # After an error answer the server closes the connection.
        data, _ = head("/nope")
        with socket.create_connection(("127.0.0.1", self.daemon.ws_port),
                                      timeout=5) as s:
            s.sendall(data)
            got = b""
            s.settimeout(5)
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
            except socket.timeout:
                self.fail("connection left open after 404: %r" % got[:100])
            except ConnectionResetError:
                pass
            self.assertTrue(got.startswith(b"HTTP/1.1 404"), got[:100])

    def test_daemon_survives_garbage(self):
        for data in (b"\x00\xff\r\n\r\n", b"GARBAGE\r\n\r\n",
                     b"GET\r\n\r\n", b"\r\n\r\n"):
            with self.subTest(data=data):
                status, _, _ = self.req(data)
                self.assertIn(status, (None, 400, 405, 505))
        c = self.connect("/echo")
        c.send_text("still here")
        self.assertEqual(c.recv_message(), (OP_TEXT, b"still here"))


class OriginTest(DaemonTestCase):
    config = {"websocket": {
        "allowed_origins": "https://good.example http://also.example:8080"}}

    def test_matching_origin_accepted(self):
        for origin in ("https://good.example", "http://also.example:8080"):
            with self.subTest(origin=origin):
                data, _ = head("/echo", headers=[("Origin", origin)])
                status, _, _ = raw_request(self.daemon.ws_port, data)
                self.assertEqual(status, 101)

    def test_other_origin_403(self):
        for origin in ("https://evil.example", "https://good.example.evil",
                       "http://good.example", "http://also.example",
                       "null"):
            with self.subTest(origin=origin):
                data, _ = head("/echo", headers=[("Origin", origin)])
                status, _, _ = raw_request(self.daemon.ws_port, data)
                self.assertEqual(status, 403)

    def test_no_origin_is_not_a_browser(self):
        data, _ = head("/echo")
        self.assertNotIn(b"Origin", data)
        status, _, _ = raw_request(self.daemon.ws_port, data)
        self.assertEqual(status, 101)

    def test_origin_checked_on_chat_path(self):
        data, _ = head("/ws", headers=[("Origin", "https://evil.example")])
        status, _, _ = raw_request(self.daemon.ws_port, data)
        self.assertEqual(status, 403)

    def test_refused_client_exception(self):
        with self.assertRaises(HandshakeError) as cm:
            WSClient().connect(self.daemon.ws_port, "/echo",
                               headers={"Origin": "https://evil.example"})
        self.assertEqual(cm.exception.status, 403)


if __name__ == "__main__":
    main()
