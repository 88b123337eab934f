"""permessage-deflate (RFC 7692) against the real daemon: negotiation, the
echo endpoint with python3-websockets and with a raw client that compresses
by hand (zlib), the inflated-size limit (1009), corrupt data (1007), the
chat endpoint (replies and fan-out arrive compressed), and
permessage_deflate = no."""

import asyncio
import json
import os
import zlib

from harness import (OP_BINARY, OP_CONT, OP_PING, OP_TEXT,
                     CrashCheckedTestCase, WSClient, main)
from chatlib import NO_RATE_LIMITS, ChatClient, uniq

PMD = "permessage-deflate"
TAIL = b"\x00\x00\xff\xff"


class DeflateMixin:
    """A WSClient that speaks permessage-deflate: frames may carry RSV1;
    compressed messages are inflated (context kept across messages unless
    reset_inflater); send_compressed() deflates like a browser does."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.inflater = zlib.decompressobj(-15)
        self.deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.reset_inflater = False     # server_no_context_takeover agreed
        self.compress_json = False      # send_json compresses
        self.last_compressed = None     # was the last message compressed?
        self.compressed_count = 0

    @property
    def extensions(self):
        return self.response[1].get("sec-websocket-extensions")

    def check_rsv(self, fr):
        """RSV1 is allowed (permessage-deflate, kept in .rsv); RSV2/RSV3
        still fail, as does RSV1 where RFC 7692 forbids it."""
        if fr.rsv & 3:
            raise AssertionError("server frame with RSV2/3 0x%x" % fr.rsv)
        if fr.rsv and fr.opcode >= 8:
            raise AssertionError("compressed control frame %r" % (fr,))
        if fr.rsv and fr.opcode == OP_CONT:
            raise AssertionError("RSV1 on a continuation frame")

    def message_payload(self, rsv, data):
        """Inflate a message whose first frame had RSV1."""
        compressed = bool(rsv & 4)
        self.last_compressed = compressed
        if compressed:
            if self.extensions is None:
                raise AssertionError("RSV1 without negotiation")
            self.compressed_count += 1
            data = self.inflater.decompress(data + TAIL)
            if self.reset_inflater:
                self.inflater = zlib.decompressobj(-15)
        return data

    def compress(self, payload):
        if isinstance(payload, str):
            payload = payload.encode()
        z = self.deflater.compress(payload) + self.deflater.flush(zlib.Z_SYNC_FLUSH)
        assert z.endswith(TAIL)
        return z[:-4]

    def send_compressed(self, opcode, payload):
        self.send_frame(opcode, self.compress(payload), rsv=4)

    def send_json(self, obj):
        data = json.dumps(obj, separators=(",", ":")).encode()
        if self.compress_json:
            self.send_compressed(OP_TEXT, data)
        else:
            self.send_frame(OP_TEXT, data)


class DeflateClient(DeflateMixin, WSClient):
    pass


class DeflateChatClient(DeflateMixin, ChatClient):
    pass


def raw_deflate(payload, flush=zlib.Z_SYNC_FLUSH):
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = z.compress(payload) + z.flush(flush)
    return out[:-4] if flush == zlib.Z_SYNC_FLUSH else out


class DeflateBase(CrashCheckedTestCase):

    def dconnect(self, path="/echo", offer=PMD, cls=DeflateClient, **kw):
        headers = dict(kw.pop("headers", {}) or {})
        if offer is not None:
            headers["Sec-WebSocket-Extensions"] = offer
        c = cls().connect(self.daemon.ws_port, path, headers=headers, **kw)
        self.addCleanup(c.abort)
        return c


class EchoDeflateTest(DeflateBase):
    MAX = 4096
    config = {"websocket": {"max_message_bytes": MAX}}

    # --- negotiation ---------------------------------------------------------

    def test_negotiation_answers(self):
        cases = [
            (PMD, PMD),
            ("permessage-deflate; client_max_window_bits", PMD),
            ("permessage-deflate; server_no_context_takeover",
             "permessage-deflate; server_no_context_takeover"),
            ("permessage-deflate; client_no_context_takeover",
             "permessage-deflate; client_no_context_takeover"),
            ("permessage-deflate; server_max_window_bits=10",
             "permessage-deflate; server_max_window_bits=10"),
            ("permessage-deflate; client_max_window_bits=11",
             "permessage-deflate; client_max_window_bits=11"),
            ("x-unknown, permessage-deflate", PMD),
            ("permessage-deflate; server_max_window_bits=8", None),
            # RFC 7692 5: a declined offer falls back to the next one.
            ("permessage-deflate; server_max_window_bits=8, "
             "permessage-deflate", PMD),
            ("permessage-deflate; server_max_window_bits=8, "
             "permessage-deflate; bogus_param, "
             "permessage-deflate; server_max_window_bits=9; "
             "client_no_context_takeover",
             "permessage-deflate; client_no_context_takeover; "
             "server_max_window_bits=9"),
            ("permessage-deflate; bogus_param", None),
            ("x-unknown", None),
        ]
        for offer, want in cases:
            with self.subTest(offer=offer):
                c = self.dconnect(offer=offer)
                self.assertEqual(c.extensions, want)
                c.close()

    def test_no_offer_no_header_and_rsv1_is_1002(self):
        c = self.dconnect(offer=None)
        self.assertIsNone(c.extensions)
        c.send_frame(OP_TEXT, raw_deflate(b"hello"), rsv=4)
        c.expect_close(1002)

    def test_declined_offer_rsv1_is_1002(self):
        c = self.dconnect(offer="permessage-deflate; server_max_window_bits=8")
        self.assertIsNone(c.extensions)
        c.send_frame(OP_TEXT, raw_deflate(b"hello"), rsv=4)
        c.expect_close(1002)

    # --- raw client ------------------------------------------------------------

    def test_raw_compressed_echo(self):
        c = self.dconnect()
        self.assertEqual(c.extensions, PMD)
        text = ('{"type":"send","room":"lobby","text":"%s"}'
                % ("hello deflate " * 20)).encode()
        for _ in range(3):      # context takeover both ways
            c.send_compressed(OP_TEXT, text)
            self.assertEqual(c.recv_message(), (OP_TEXT, text))
            self.assertTrue(c.last_compressed, "echo not compressed")
        # binary, compressed
        blob = bytes(range(256)) * 4
        c.send_compressed(OP_BINARY, blob)
        self.assertEqual(c.recv_message(), (OP_BINARY, blob))
        self.assertTrue(c.last_compressed)
        # an uncompressed message on a deflate connection is fine
        c.send_frame(OP_TEXT, text)
        self.assertEqual(c.recv_message(), (OP_TEXT, text))
        # a short message comes back uncompressed (allowed)
        c.send_compressed(OP_TEXT, b"hi")
        self.assertEqual(c.recv_message(), (OP_TEXT, b"hi"))
        self.assertFalse(c.last_compressed)
        c.close()

    def test_empty_compressed_message(self):
        # A zero-length payload with RSV1 is an empty message and leaves the
        # inflater alone; the usual 0x00 form works too; and the context
        # still carries over afterwards.
        c = self.dconnect()
        text = ("after empty messages " * 10).encode()
        c.send_compressed(OP_TEXT, text)
        self.assertEqual(c.recv_message(), (OP_TEXT, text))
        c.send_frame(OP_TEXT, b"", rsv=4)
        self.assertEqual(c.recv_message(), (OP_TEXT, b""))
        c.send_compressed(OP_TEXT, b"")
        self.assertEqual(c.recv_message(), (OP_TEXT, b""))
        c.send_compressed(OP_TEXT, text)
        self.assertEqual(c.recv_message(), (OP_TEXT, text))
        c.close()

    def test_fragmented_compressed_message(self):
        c = self.dconnect()
        text = ("fragmented and compressed " * 30).encode()
        z = c.compress(text)
        third = len(z) // 3
        c.send_frame(OP_TEXT, z[:third], fin=False, rsv=4)
        c.send_frame(OP_CONT, z[third:2 * third], fin=False)
        c.send_ping(b"in between")
        c.send_frame(OP_CONT, z[2 * third:], fin=True)
        self.assertEqual(c.recv_message(), (OP_TEXT, text))
        c.close()

    def test_rsv1_on_continuation_1002(self):
        c = self.dconnect()
        z = c.compress(b"a" * 100)
        c.send_frame(OP_TEXT, z[:2], fin=False, rsv=4)
        c.send_frame(OP_CONT, z[2:], fin=True, rsv=4)
        c.expect_close(1002)

    def test_rsv1_on_control_1002(self):
        c = self.dconnect()
        c.send_frame(OP_PING, b"p", rsv=4)
        c.expect_close(1002)

    def test_bfinal_block_message(self):
        c = self.dconnect()
        text = ("final block " * 20).encode()
        c.send_frame(OP_TEXT, raw_deflate(text, zlib.Z_FINISH), rsv=4)
        self.assertEqual(c.recv_message(), (OP_TEXT, text))
        c.deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
        c.send_compressed(OP_TEXT, text)
        self.assertEqual(c.recv_message(), (OP_TEXT, text))
        c.close()

    def test_no_context_takeover_both_ways(self):
        c = self.dconnect(offer="permessage-deflate; server_no_context_takeover;"
                          " client_no_context_takeover")
        self.assertEqual(c.extensions, "permessage-deflate; "
                         "server_no_context_takeover; client_no_context_takeover")
        c.reset_inflater = True
        text = ("no context " * 30).encode()
        for _ in range(3):
            c.send_frame(OP_TEXT, raw_deflate(text), rsv=4)   # fresh each time
            self.assertEqual(c.recv_message(), (OP_TEXT, text))
            self.assertTrue(c.last_compressed)
        c.close()

    def test_small_server_window(self):
        c = self.dconnect(offer="permessage-deflate; server_max_window_bits=9")
        c.inflater = zlib.decompressobj(-9)
        text = "".join("%05d" % (i * 7919 % 100000) for i in range(800)).encode()
        c.send_compressed(OP_TEXT, text)
        self.assertEqual(c.recv_message(), (OP_TEXT, text))
        c.close()

    # --- limits ----------------------------------------------------------------

    def test_exactly_max_inflated_accepted(self):
        c = self.dconnect()
        text = b"a" * self.MAX
        c.send_compressed(OP_TEXT, text)
        self.assertEqual(c.recv_message(), (OP_TEXT, text))
        c.close()

    def test_one_over_max_inflated_1009(self):
        c = self.dconnect()
        c.send_compressed(OP_TEXT, b"a" * (self.MAX + 1))
        c.expect_close(1009)

    def test_zip_bomb_1009(self):
        c = self.dconnect()
        z = raw_deflate(b"\0" * (2 * 1024 * 1024))
        self.assertLess(len(z), self.MAX, "bomb should be small on the wire")
        c.send_frame(OP_BINARY, z, rsv=4)
        c.expect_close(1009)

    def test_incompressible_max_accepted(self):
        # deflate output for random data is a little longer than the input:
        # the limit is on the inflated size.
        c = self.dconnect()
        blob = os.urandom(self.MAX)
        z = raw_deflate(blob)
        self.assertGreater(len(z), self.MAX)
        c.send_frame(OP_BINARY, z, rsv=4)
        self.assertEqual(c.recv_message(), (OP_BINARY, blob))
        c.close()

    def test_uncompressed_over_max_still_1009(self):
        c = self.dconnect()
        c.send_frame(OP_TEXT, b"b" * self.MAX)
        self.assertEqual(c.recv_message(), (OP_TEXT, b"b" * self.MAX))
        c.send_frame(OP_TEXT, b"b" * (self.MAX + 1))
        c.expect_close(1009)

    def test_fragmented_uncompressed_over_max_1009(self):
        c = self.dconnect()
        c.send_frame(OP_TEXT, b"b" * self.MAX, fin=False)
        c.send_frame(OP_CONT, b"b", fin=True)
        c.expect_close(1009)

    # --- bad data ----------------------------------------------------------------

    def test_corrupt_data_1007(self):
        for bad in (b"\x07\x00", b"\x00\x05\x00\x00\x00hello",
                    b"\x4b\x04\x02\x50\x00\x00"):
            with self.subTest(bad=bad):
                c = self.dconnect()
                c.send_frame(OP_TEXT, bad, rsv=4)
                _, reason = c.expect_close(1007)
                self.assertIn(b"compressed", reason)
                c.abort()

    def test_compressed_invalid_utf8_1007(self):
        c = self.dconnect()
        c.send_compressed(OP_TEXT, b"valid start \xc3\x28 then junk")
        c.expect_close(1007)

    def test_compressed_truncated_utf8_1007(self):
        c = self.dconnect()
        c.send_compressed(OP_TEXT, b"ends mid-sequence \xe2\x82")
        c.expect_close(1007)

    # --- python3-websockets ---------------------------------------------------------

    def test_websockets_default_compression(self):
        import websockets

        url = self.daemon.url("/echo")

        async def run():
            async with websockets.connect(url, open_timeout=5,
                                          close_timeout=5, max_size=None) as ws:
                ext = ws.response_headers.get("Sec-WebSocket-Extensions")
                got = []
                for i in range(5):
                    msg = "compressed round trip %d " % i * 40
                    await ws.send(msg)
                    got.append((msg, await asyncio.wait_for(ws.recv(), 5)))
                await ws.send(b"\x00\x01" * 500)
                got.append((b"\x00\x01" * 500,
                            await asyncio.wait_for(ws.recv(), 5)))
                await ws.send("\u20ac" * 1000)
                got.append(("\u20ac" * 1000, await asyncio.wait_for(ws.recv(), 5)))
                return ext, got, ws

        ext, got, ws = asyncio.run(run())
        self.assertIn(PMD, ext or "")
        for sent, back in got:
            self.assertEqual(back, sent)
        self.assertEqual(ws.close_code, 1000)

    def test_websockets_all_parameters(self):
        import websockets
        from websockets.extensions.permessage_deflate import \
            ClientPerMessageDeflateFactory

        url = self.daemon.url("/echo")
        factory = ClientPerMessageDeflateFactory(
            server_no_context_takeover=True, client_no_context_takeover=True,
            server_max_window_bits=10, client_max_window_bits=10)

        async def run():
            async with websockets.connect(url, extensions=[factory],
                                          compression=None, open_timeout=5,
                                          close_timeout=5) as ws:
                ext = ws.response_headers.get("Sec-WebSocket-Extensions")
                out = []
                for i in range(3):
                    msg = "parameters %d " % i * 50
                    await ws.send(msg)
                    out.append((msg, await asyncio.wait_for(ws.recv(), 5)))
                return ext, out

        ext, out = asyncio.run(run())
        for p in ("server_no_context_takeover", "client_no_context_takeover",
                  "server_max_window_bits=10", "client_max_window_bits=10"):
            self.assertIn(p, ext)
        for sent, back in out:
            self.assertEqual(back, sent)


class LargeDeflateTest(DeflateBase):
    """Messages that inflate to many 16 KiB chunks: UTF-8 sequences cross
    the chunk boundaries."""
    config = {"websocket": {"max_message_bytes": 262144}}

    def test_large_multibyte_text(self):
        c = self.dconnect()
        text = ("\u20ac" * 60000 + "\U0001F600" * 1000).encode()
        c.send_compressed(OP_TEXT, text)
        self.assertEqual(c.recv_message(), (OP_TEXT, text))
        self.assertTrue(c.last_compressed)
        c.close()

    def test_late_invalid_utf8_1007(self):
        c = self.dconnect()
        c.send_compressed(OP_TEXT, "\u20ac".encode() * 40000 + b"\xff")
        c.expect_close(1007)

    def test_large_bomb_1009(self):
        c = self.dconnect()
        c.send_frame(OP_TEXT, raw_deflate(b"a" * (20 * 1024 * 1024)), rsv=4)
        c.expect_close(1009)


class DeflateOffTest(DeflateBase):
    config = {"websocket": {"permessage_deflate": False}}

    def test_offer_ignored_and_rsv1_1002(self):
        c = self.dconnect()
        self.assertIsNone(c.extensions)
        c.send_frame(OP_TEXT, b"plain")
        self.assertEqual(c.recv_message(), (OP_TEXT, b"plain"))
        self.assertFalse(c.last_compressed)
        c.send_frame(OP_TEXT, raw_deflate(b"hello"), rsv=4)
        c.expect_close(1002)

    def test_websockets_without_extension(self):
        import websockets

        async def run():
            async with websockets.connect(self.daemon.url("/echo"),
                                          open_timeout=5) as ws:
                await ws.send("x" * 500)
                return (ws.response_headers.get("Sec-WebSocket-Extensions"),
                        await asyncio.wait_for(ws.recv(), 5))

        ext, back = asyncio.run(run())
        self.assertIsNone(ext)
        self.assertEqual(back, "x" * 500)


class ChatDeflateTest(DeflateBase):
    config = {"limits": dict(NO_RATE_LIMITS)}

    def chat(self, offer=PMD, compress_json=True):
        sub = uniq("u")
        tok = self.daemon.make_token(sub, name="N" * 40)
        c = self.dconnect("/ws", offer=offer, cls=DeflateChatClient,
                          query={"token": tok})
        c.compress_json = compress_json and offer is not None
        c.reset_inflater = offer is not None and \
            "server_no_context_takeover" in offer
        w = c.recv_json()
        self.assertEqual(w.get("type"), "welcome", w)
        c.sub = sub
        return c

    def test_chat_messages_compressed(self):
        room = uniq("r")
        a = self.chat()                                  # context takeover
        b = self.chat("permessage-deflate; server_no_context_takeover")
        b2 = self.chat("permessage-deflate; server_no_context_takeover")
        p = self.chat(offer=None)                        # no deflate
        self.assertEqual(a.extensions, PMD)
        self.assertIsNone(p.extensions)
        for c in (a, b, b2, p):
            c.send_json({"type": "join", "room": room, "id": "j"})
            c.wait("joined", room=room)
        texts = ["message %d: %s" % (i, "lorem ipsum dolor sit amet " * 4)
                 for i in range(4)]
        for i, t in enumerate(texts):
            a.send_json({"type": "send", "room": room, "text": t,
                         "id": "s%d" % i})
            a.wait("ack", id="s%d" % i)
        for c in (a, b, b2, p):
            before = c.compressed_count
            for t in texts:
                m = c.wait("message", room=room, text=t)
                self.assertEqual(m["user"], a.sub)
            if c is p:
                self.assertEqual(p.compressed_count, 0)
            else:
                self.assertGreaterEqual(c.compressed_count - before, 1,
                                        "no compressed message for %s" % c.sub)
        # a compressed request that is not valid JSON still gets an error
        a.send_compressed(OP_TEXT, b"{not json" + b" " * 100)
        a.wait("error", code="PARSE_ERROR")
        for c in (a, b, b2, p):
            c.close()

    def test_chat_binary_compressed_1003(self):
        c = self.chat()
        c.send_compressed(OP_BINARY, b"\x00" * 100)
        c.expect_close(1003)


if __name__ == "__main__":
    main()
