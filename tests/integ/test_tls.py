"""TLS (wss://) against the real daemon: the workers terminate TLS with
the configured certificate; the echo and chat endpoints work over it, a
plain-text client on the TLS port gets nowhere, and a bad certificate
stops parleyd -t."""

import asyncio
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import unittest

import websockets

import harness
from harness import DaemonTestCase


def make_cert(directory):
    key = os.path.join(directory, "key.pem")
    cert = os.path.join(directory, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class TLSTest(DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.certdir = tempfile.mkdtemp(prefix="parley-tls-")
        cls.cert, cls.key = make_cert(cls.certdir)
        cls.config = {"tls": {"listen": "127.0.0.1:0", "cert_file": cls.cert,
                              "key_file": cls.key}}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.certdir, ignore_errors=True)

    def client_ctx(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.check_hostname = False      # the certificate names 127.0.0.1
        return ctx

    def run_async(self, coro):
        return asyncio.run(asyncio.wait_for(coro, 20))

    def test_echo_over_tls(self):
        url = "wss://127.0.0.1:%d/echo" % self.daemon.tls_port

        async def go():
            async with websockets.connect(url, ssl=self.client_ctx()) as ws:
                await ws.send("over tls")
                self.assertEqual(await ws.recv(), "over tls")
                big = "z" * 40000
                await ws.send(big)
                self.assertEqual(await ws.recv(), big)
                await ws.send(b"\x00\x01")
                self.assertEqual(await ws.recv(), b"\x00\x01")
        self.run_async(go())

    def test_chat_over_tls(self):
        token = self.daemon.make_token("tls-user")
        url = "wss://127.0.0.1:%d/ws?token=%s" % (self.daemon.tls_port, token)

        async def go():
            async with websockets.connect(url, ssl=self.client_ctx()) as ws:
                welcome = json.loads(await ws.recv())
                self.assertEqual(welcome["type"], "welcome")
                self.assertEqual(welcome["user"], "tls-user")
                await ws.send(json.dumps({"type": "join", "room": "tls",
                                          "id": 1}))
                self.assertEqual(json.loads(await ws.recv())["type"], "joined")
                await ws.send(json.dumps({"type": "send", "room": "tls",
                                          "text": "secret", "id": 2}))
                got = [json.loads(await ws.recv()) for _ in range(2)]
                self.assertEqual(sorted(m["type"] for m in got),
                                 ["ack", "message"])
        self.run_async(go())

    def test_plaintext_on_tls_port_is_refused(self):
        head, _ = harness.upgrade_request("/echo")
        status, _, _ = harness.raw_request(self.daemon.tls_port, head)
        self.assertIsNone(status)       # no HTTP answer in plain text

    def test_plain_port_still_plain(self):
        c = self.connect("/echo")
        c.send_text("plain")
        self.assertEqual(c.recv_message(5)[1], b"plain")


class TLSConfigTest(unittest.TestCase):
    def test_bad_certificate_fails_config_check(self):
        tmp = tempfile.mkdtemp(prefix="parley-tls-")
        self.addCleanup(shutil.rmtree, tmp, True)
        cfg = harness.default_config(tmp)
        with open(os.path.join(tmp, "jwt.secret"), "w") as f:
            f.write("0123456789abcdef0123456789abcdef")
        bogus = os.path.join(tmp, "cert.pem")
        with open(bogus, "w") as f:
            f.write("not a certificate\n")
        cfg["tls"] = {"listen": "127.0.0.1:0", "cert_file": bogus,
                      "key_file": bogus}
        path = os.path.join(tmp, "p.conf")
        with open(path, "w") as f:
            f.write(harness.render_config(cfg))
        r = subprocess.run([harness.PARLEYD, "-t", "-c", path],
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"[tls]", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
