"""RFC 6455 section 5 frame layer against the real daemon, through the echo
endpoint: framing, fragmentation, control frames, close codes, UTF-8, size
limits; plus a third-party client (python3-websockets)."""

import asyncio
import select
import socket
import struct
import time

from harness import (ConnectionClosed, CrashCheckedTestCase, OP_BINARY,
                     OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, build_frame,
                     close_payload, main)


class FrameTestBase(CrashCheckedTestCase):
    """Frame tests on /echo; every test also checks no child crashed."""

    def echo(self, c, opcode, payload):
        c.send_frame(opcode, payload)
        op, got = c.recv_message()
        self.assertEqual(op, opcode, "echo opcode")
        if got != payload:
            self.fail("echo differs: sent %d bytes %r..., got %d bytes %r..."
                      % (len(payload), payload[:40], len(got), got[:40]))


class FrameTest(FrameTestBase):
    config = {"websocket": {"max_message_bytes": 1000}}

    # --- basic framing ------------------------------------------------------

    def test_text_and_binary_echo(self):
        c = self.connect()
        self.echo(c, OP_TEXT, b"hello")
        self.echo(c, OP_BINARY, bytes(range(256)))
        self.echo(c, OP_BINARY, b"\xff\xfe\x00 not utf-8 is fine in binary")
        self.echo(c, OP_TEXT, "h\u00e9llo \u20ac \U0001F600".encode())
        c.close()

    def test_empty_messages(self):
        c = self.connect()
        self.echo(c, OP_TEXT, b"")
        self.echo(c, OP_BINARY, b"")
        c.close()

    def test_server_frames_unmasked_and_final(self):
        c = self.connect()
        c.send_text("x" * 200)
        fr = c.recv_frame()          # recv_frame asserts the mask bit is 0
        self.assertEqual((fr.fin, fr.opcode, fr.payload), (True, OP_TEXT, b"x" * 200))

    def test_16bit_length_for_small_message(self):
        c = self.connect()
        c.send_frame(OP_TEXT, b"hello", length_form=16)
        self.assertEqual(c.recv_message(), (OP_TEXT, b"hello"))

    def test_64bit_length_for_small_message(self):
        c = self.connect()
        c.send_frame(OP_TEXT, b"hello", length_form=64)
        self.assertEqual(c.recv_message(), (OP_TEXT, b"hello"))

    def test_64bit_length_top_bit_set_1002(self):
        c = self.connect()
        hdr = struct.pack("!BBQ", 0x81, 0x80 | 127, (1 << 63) | 5) + b"\0\0\0\0"
        c.send_frame(OP_TEXT, b"hello", header=hdr)
        c.expect_close(1002)

    def test_unmasked_client_frame_1002(self):
        c = self.connect()
        c.send_frame(OP_TEXT, b"hello", mask=False)
        c.expect_close(1002)

    def test_rsv_bits_1002(self):
        for rsv in (4, 2, 1, 7):
            with self.subTest(rsv=rsv):
                c = self.connect()
                c.send_frame(OP_TEXT, b"hello", rsv=rsv)
                c.expect_close(1002)
                c.abort()

    def test_rsv_on_control_frame_1002(self):
        c = self.connect()
        c.send_frame(OP_PING, b"p", rsv=4)
        c.expect_close(1002)

    def test_reserved_opcodes_1002(self):
        for op in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF):
            with self.subTest(opcode=op):
                c = self.connect()
                c.send_frame(op, b"x")
                c.expect_close(1002)
                c.abort()

    def test_header_split_byte_by_byte(self):
        c = self.connect()
        data = build_frame(OP_TEXT, b"a" * 300)          # 16-bit length
        for i in range(len(data) if len(data) < 20 else 20):
            c.send_raw(data[i:i + 1])
        c.send_raw(data[20:])
        self.assertEqual(c.recv_message(), (OP_TEXT, b"a" * 300))

    def test_pipelined_small_frames_in_order(self):
        c = self.connect()
        msgs = [("m%03d" % i).encode() for i in range(300)]
        c.send_raw(b"".join(build_frame(OP_TEXT, m) for m in msgs))
        got = [c.recv_message() for _ in msgs]
        self.assertEqual(got, [(OP_TEXT, m) for m in msgs])

    # --- control frames -----------------------------------------------------

    def test_ping_pong_same_payload(self):
        c = self.connect()
        for payload in (b"", b"ping!", bytes(range(125))):
            with self.subTest(n=len(payload)):
                c.send_frame(OP_PING, payload)
                fr = c.recv_frame()
                self.assertEqual((fr.fin, fr.opcode, fr.payload),
                                 (True, OP_PONG, payload))

    def test_unsolicited_pong_ignored(self):
        c = self.connect()
        c.send_frame(OP_PONG, b"unsolicited")
        self.echo(c, OP_TEXT, b"after pong")

    def test_control_payload_126_1002(self):
        c = self.connect()
        c.send_frame(OP_PING, b"p" * 126)
        c.expect_close(1002, skip_data=False)

    def test_fragmented_ping_1002(self):
        c = self.connect()
        c.send_frame(OP_PING, b"abc", fin=False)
        c.expect_close(1002, skip_data=False)

    def test_fragmented_close_1002(self):
        c = self.connect()
        c.send_frame(OP_CLOSE, close_payload(1000), fin=False)
        c.close_sent = False
        c.expect_close(1002, skip_data=False)

    # --- fragmentation ------------------------------------------------------

    def test_fragmented_text(self):
        c = self.connect()
        c.send_frame(OP_TEXT, b"Hel", fin=False)
        c.send_frame(OP_CONT, b"lo ", fin=False)
        c.send_frame(OP_CONT, b"world", fin=True)
        self.assertEqual(c.recv_message(), (OP_TEXT, b"Hello world"))

    def test_fragmented_binary_many_pieces(self):
        c = self.connect()
        data = bytes(i % 251 for i in range(900))
        pieces = [data[i:i + 9] for i in range(0, len(data), 9)]
        out = [build_frame(OP_BINARY, pieces[0], fin=False)]
        out += [build_frame(OP_CONT, p, fin=False) for p in pieces[1:-1]]
        out.append(build_frame(OP_CONT, pieces[-1], fin=True))
        c.send_raw(b"".join(out))
        self.assertEqual(c.recv_message(), (OP_BINARY, data))

    def test_empty_fragments(self):
        c = self.connect()
        c.send_frame(OP_TEXT, b"", fin=False)
        c.send_frame(OP_CONT, b"ab", fin=False)
        c.send_frame(OP_CONT, b"", fin=True)
        self.assertEqual(c.recv_message(), (OP_TEXT, b"ab"))

    def test_ping_interleaved_in_fragmented_message(self):
        c = self.connect()
        c.send_frame(OP_TEXT, b"Hel", fin=False)
        c.send_frame(OP_PING, b"p1")
        c.send_frame(OP_CONT, b"lo ", fin=False)
        c.send_frame(OP_CONT, b"world", fin=True)
        fr = c.recv_frame()
        self.assertEqual((fr.opcode, fr.payload), (OP_PONG, b"p1"))
        fr = c.recv_frame()
        self.assertEqual((fr.fin, fr.opcode, fr.payload),
                         (True, OP_TEXT, b"Hello world"))

    def test_continuation_without_start_1002(self):
        c = self.connect()
        c.send_frame(OP_CONT, b"orphan", fin=True)
        c.expect_close(1002, skip_data=False)

    def test_continuation_after_complete_message_1002(self):
        c = self.connect()
        c.send_frame(OP_TEXT, b"done")
        self.assertEqual(c.recv_message(), (OP_TEXT, b"done"))
        c.send_frame(OP_CONT, b"more", fin=True)
        c.expect_close(1002, skip_data=False)

    def test_new_data_frame_inside_fragmented_message_1002(self):
        for op in (OP_TEXT, OP_BINARY):
            with self.subTest(opcode=op):
                c = self.connect()
                c.send_frame(OP_TEXT, b"start", fin=False)
                c.send_frame(op, b"again", fin=True)
                c.expect_close(1002, skip_data=False)
                c.abort()

    # --- close handshake ----------------------------------------------------

    def test_close_valid_codes_echoed(self):
        for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                     3000, 3999, 4000, 4999):
            with self.subTest(code=code):
                c = self.connect()
                c.send_close(code, b"bye")
                c.expect_close(code, skip_data=False)
                c.abort()

    def test_close_with_utf8_reason(self):
        c = self.connect()
        c.send_close(1000, "au revoir \u00e9\u20ac".encode())
        c.expect_close(1000, skip_data=False)

    def test_close_empty_payload(self):
        c = self.connect()
        c.send_frame(OP_CLOSE, b"")
        fr = c.recv_frame()
        self.assertEqual(fr.opcode, OP_CLOSE)
        self.assertIn(fr.payload, (b"", struct.pack("!H", 1000)))
        c.expect_tcp_close()

    def test_close_invalid_codes_1002(self):
        for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999,
                     5000, 65535):
            with self.subTest(code=code):
                c = self.connect()
                c.send_close(code)
                c.close_sent = False     # we still owe the reply
                c.expect_close(1002, skip_data=False)
                c.abort()

    def test_close_one_byte_payload_1002(self):
        c = self.connect()
        c.send_frame(OP_CLOSE, b"\x03")
        c.close_sent = False
        c.expect_close(1002, skip_data=False)

    def test_close_reason_invalid_utf8_1007(self):
        c = self.connect()
        c.send_frame(OP_CLOSE, struct.pack("!H", 1000) + b"bad \xff\xfe")
        c.close_sent = False
        c.expect_close(1007, skip_data=False)

    def test_data_pending_before_close_is_echoed_first(self):
        c = self.connect()
        c.send_raw(build_frame(OP_TEXT, b"one") + build_frame(OP_TEXT, b"two")
                   + build_frame(OP_CLOSE, close_payload(1000)))
        c.close_sent = True
        self.assertEqual(c.recv_message(), (OP_TEXT, b"one"))
        self.assertEqual(c.recv_message(), (OP_TEXT, b"two"))
        c.expect_close(1000, skip_data=False)

    # --- UTF-8 --------------------------------------------------------------

    def test_text_invalid_utf8_1007(self):
        for bad in (b"\xff", b"ab\xc0\xaf", b"\xed\xa0\x80",
                    b"\xf4\x90\x80\x80", b"\xe0\x80\x80", b"\x80abc",
                    b"\xf8\x88\x80\x80\x80"):
            with self.subTest(data=bad):
                c = self.connect()
                c.send_frame(OP_TEXT, bad)
                c.expect_close(1007, skip_data=False)
                c.abort()

    def test_invalid_utf8_in_later_fragment_1007(self):
        c = self.connect()
        c.send_frame(OP_TEXT, b"hello ", fin=False)
        c.send_frame(OP_CONT, b"\xff", fin=False)
        c.send_frame(OP_CONT, b" world", fin=True)
        c.expect_close(1007, skip_data=False)

    def test_truncated_sequence_at_message_end_1007(self):
        c = self.connect()
        c.send_frame(OP_TEXT, b"abc\xe2\x82", fin=True)
        c.expect_close(1007, skip_data=False)

    def test_truncated_sequence_at_end_of_fragments_1007(self):
        c = self.connect()
        c.send_frame(OP_TEXT, b"abc", fin=False)
        c.send_frame(OP_CONT, b"\xf0\x9f\x98", fin=True)
        c.expect_close(1007, skip_data=False)

    def test_codepoint_split_across_fragments_ok(self):
        c = self.connect()
        euro = "\u20ac".encode()
        c.send_frame(OP_TEXT, b"x" + euro[:1], fin=False)
        c.send_frame(OP_CONT, euro[1:2], fin=False)
        c.send_frame(OP_CONT, euro[2:] + b"y", fin=True)
        self.assertEqual(c.recv_message(), (OP_TEXT, b"x" + euro + b"y"))

    # --- size limits (max_message_bytes = 1000) -----------------------------

    def test_message_of_exactly_max_echoed(self):
        c = self.connect()
        self.echo(c, OP_TEXT, b"t" * 1000)
        self.echo(c, OP_BINARY, b"\x01" * 1000)

    def test_message_over_max_1009(self):
        c = self.connect()
        c.send_frame(OP_TEXT, b"t" * 1001)
        c.expect_close(1009, skip_data=False)

    def test_fragmented_message_over_max_1009(self):
        c = self.connect()
        c.send_frame(OP_BINARY, b"b" * 600, fin=False)
        c.send_frame(OP_CONT, b"b" * 401, fin=True)
        c.expect_close(1009, skip_data=False)

    def test_fragmented_message_of_exactly_max_echoed(self):
        c = self.connect()
        c.send_frame(OP_TEXT, b"t" * 600, fin=False)
        c.send_frame(OP_CONT, b"t" * 400, fin=True)
        self.assertEqual(c.recv_message(), (OP_TEXT, b"t" * 1000))

    def test_huge_advertised_length_1009_without_payload(self):
        # The header alone says too big: close at once, do not wait for 1 TB.
        c = self.connect()
        c.send_frame(OP_BINARY, b"", length_form=64, length=1 << 40)
        c.expect_close(1009, skip_data=False)

    # --- chat endpoint --------------------------------------------------------

    def test_binary_on_chat_endpoint_1003(self):
        c = self.connect("/ws")
        c.send_frame(OP_BINARY, b"\x00\x01binary")
        c.expect_close(1003)

    def test_frame_errors_on_chat_endpoint_before_auth(self):
        c = self.connect("/ws")
        c.send_frame(OP_TEXT, b"{}", mask=False)
        c.expect_close(1002)


class LargeFrameTest(FrameTestBase):
    """Default limits (max_message_bytes = 65536)."""

    def test_large_messages_echo(self):
        c = self.connect()
        for n in (125, 126, 127, 65535, 60000):
            with self.subTest(n=n):
                data = bytes((i * 7) % 256 for i in range(n))
                self.echo(c, OP_BINARY, data)
        text = ("0123456789abcdef\u00e9" * 3600).encode()[:60000]
        self.echo(c, OP_TEXT, text)

    def test_default_limit_exact_and_over(self):
        c = self.connect()
        self.echo(c, OP_BINARY, b"z" * 65536)
        try:
            c.send_frame(OP_BINARY, b"z" * 65537)
        except OSError:
            pass        # the server may close before reading it all
        c.expect_close(1009, skip_data=False)

    def test_large_fragmented_message(self):
        c = self.connect()
        data = b"q" * 60000
        c.send_frame(OP_TEXT, data[:20000], fin=False)
        c.send_frame(OP_PING, b"mid")
        c.send_frame(OP_CONT, data[20000:40000], fin=False)
        c.send_frame(OP_CONT, data[40000:], fin=True)
        fr = c.recv_frame()
        self.assertEqual((fr.opcode, fr.payload), (OP_PONG, b"mid"))
        self.assertEqual(c.recv_message(), (OP_TEXT, data))

    def test_several_connections_interleaved(self):
        cs = [self.connect() for _ in range(8)]
        for i, c in enumerate(cs):
            c.send_text("conn %d" % i)
        for i, c in enumerate(cs):
            self.assertEqual(c.recv_message(), (OP_TEXT, b"conn %d" % i))
        for c in cs:
            c.close()


class SlowConsumerTest(FrameTestBase):
    """max_output_bytes: a client that does not read is closed with 1013."""
    config = {"websocket": {"max_output_bytes": 65536}}

    def test_stalled_reader_gets_every_echo_in_order(self):
        # 900 echoes (810 kB, under max_output_bytes) to a client that
        # reads nothing until it sent them all: the server's writes stop
        # short (EV_WRITE armed, the rest kept in its queue) and resume
        # as the client reads; every message arrives, in order, and the
        # connection works afterwards (EV_WRITE disarmed again).
        c = self.connect(rcvbuf=4096)
        msgs = [(b"%05d" % i) * 180 for i in range(900)]
        c.send_raw(b"".join(build_frame(OP_TEXT, m) for m in msgs))
        for i, m in enumerate(msgs):
            op, got = c.recv_message()
            self.assertEqual((op, got[:5]), (OP_TEXT, m[:5]), "message %d" % i)
            self.assertEqual(got, m)
        c.send_frame(OP_PING, b"after")
        self.assertEqual(c.recv_frame(5).opcode, OP_PONG)
        self.echo(c, OP_TEXT, b"still here")

    def test_slow_consumer_1013(self):
        c = self.connect(rcvbuf=4096)
        frame = build_frame(OP_BINARY, b"s" * 60000)
        sent, pending = 0, b""
        deadline = time.monotonic() + 15
        c.sock.setblocking(False)
        # Keep sending echo requests without reading until the server
        # stops accepting them (closed) or 64 MB went out.
        while sent < 64 << 20 and time.monotonic() < deadline:
            _, w, _ = select.select([], [c.sock], [], 0.5)
            if not w:
                continue
            if not pending:
                pending = frame
            try:
                n = c.sock.send(pending)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                break           # reset: the server gave up on us
            pending = pending[n:]
            sent += n
        c.sock.setblocking(True)
        code = None
        while time.monotonic() < deadline + 5:
            try:
                fr = c.recv_frame(5)
            except (ConnectionClosed, socket.timeout) as e:
                self.fail("no close frame (sent %d bytes): %s" % (sent, e))
            if fr.opcode == OP_CLOSE:
                code = c.close_received[0]
                break
        self.assertEqual(code, 1013, "sent %d bytes" % sent)


class BigMessageEchoTest(FrameTestBase):
    """A message the server accepted always fits its output queue: with
    max_message_bytes far over max_output_bytes (default 1 MiB), the echo
    of a large message is not a slow consumer, and the close reply echoes
    the client's 1000 (not 1013)."""
    config = {"websocket": {"max_message_bytes": 16 << 20}}

    def test_echo_over_output_limit_then_clean_close(self):
        for n in (1 << 20, (1 << 20) + 4096, 3 << 20):
            with self.subTest(n=n):
                # A small receive buffer keeps the echo in the server's
                # output queue while it is written, as a mobile client would.
                c = self.connect(rcvbuf=4096)
                data = bytes((i * 31) % 251 for i in range(n))
                c.send_raw(build_frame(OP_BINARY, data) +
                           build_frame(OP_CLOSE, close_payload(1000)))
                c.close_sent = True
                self.assertEqual(c.recv_message(), (OP_BINARY, data))
                c.expect_close(1000, skip_data=False)
                c.abort()


class HeartbeatTest(FrameTestBase):
    """ping_interval / idle_timeout (PROTOCOL.md section 1): the server pings
    a silent connection and closes one that sends nothing with 1001; every
    client frame, pongs included, is activity."""
    config = {"websocket": {"ping_interval": 1, "idle_timeout": 2}}

    def test_silent_client_pinged_then_closed_1001(self):
        c = self.connect()
        t0 = time.monotonic()
        fr = c.recv_frame(4)
        self.assertEqual(fr.opcode, OP_PING, fr)
        self.assertGreater(time.monotonic() - t0, 0.5)
        c.expect_close(1001, timeout=5, skip_data=False)
        elapsed = time.monotonic() - t0
        self.assertGreater(elapsed, 1.5)
        self.assertLess(elapsed, 5.0)

    def test_pongs_keep_connection_alive(self):
        c = self.connect()
        t0 = time.monotonic()
        pings = 0
        while time.monotonic() - t0 < 3.5:        # past idle_timeout
            try:
                fr = c.recv_frame(0.2)
            except socket.timeout:
                continue
            self.assertEqual(fr.opcode, OP_PING, fr)
            pings += 1
            c.send_frame(OP_PONG, fr.payload)
        self.assertGreaterEqual(pings, 2)
        self.echo(c, OP_TEXT, b"still open")

    def test_data_keeps_connection_alive(self):
        c = self.connect()
        c.auto_pong = False
        t0 = time.monotonic()
        i = 0
        while time.monotonic() - t0 < 3.5:
            c.send_text("tick %d" % i)
            # recv_message skips the server's pings without answering them
            self.assertEqual(c.recv_message(), (OP_TEXT, b"tick %d" % i))
            i += 1
            try:
                c.recv_frame(0.5)                  # pacing; pings may come
            except socket.timeout:
                pass
        self.echo(c, OP_TEXT, b"still open")


class ThirdPartyClientTest(FrameTestBase):
    """python3-websockets (10.4) must interoperate with /echo."""

    def test_websockets_client_round_trip(self):
        import websockets

        url = "ws://127.0.0.1:%d/echo" % self.daemon.ws_port

        async def run():
            async with websockets.connect(url, open_timeout=5,
                                          close_timeout=5) as ws:
                await ws.send("hello from websockets")
                t = await asyncio.wait_for(ws.recv(), 5)
                await ws.send(b"\x00\x01\x02 binary")
                b = await asyncio.wait_for(ws.recv(), 5)
                big = "\u20ac" * 5000
                await ws.send(big)
                big_back = await asyncio.wait_for(ws.recv(), 5)
                pong_waiter = await ws.ping(b"are you there")
                await asyncio.wait_for(pong_waiter, 5)
            return t, b, big_back, big, ws.close_code

        t, b, big_back, big, code = asyncio.run(run())
        self.assertEqual(t, "hello from websockets")
        self.assertEqual(b, b"\x00\x01\x02 binary")
        self.assertEqual(big_back, big)
        self.assertEqual(code, 1000)

    def test_websockets_client_without_compression(self):
        import websockets

        url = "ws://127.0.0.1:%d/echo" % self.daemon.ws_port

        async def run():
            async with websockets.connect(url, compression=None,
                                          open_timeout=5) as ws:
                await ws.send("plain")
                return await asyncio.wait_for(ws.recv(), 5)

        self.assertEqual(asyncio.run(run()), "plain")


if __name__ == "__main__":
    main()
