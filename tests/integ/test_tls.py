"""TLS (wss://) against the real daemon: the workers terminate TLS with
the configured certificate; the echo and chat endpoints work over it, a
plain-text client on the TLS port gets nowhere, and a bad certificate
stops parleyd -t."""

import asyncio
import json
import os
import shutil
import socket
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

    def handshake(self, ctx):
        """TLS handshake with ctx on the TLS port: (version, cipher) or the
        ssl.SSLError the server's refusal raised."""
        raw = socket.create_connection(("127.0.0.1", self.daemon.tls_port),
                                       timeout=10)
        try:
            with ctx.wrap_socket(raw) as s:
                return s.version(), s.cipher()[0]
        except ssl.SSLError as e:
            return e
        finally:
            raw.close()

    def tls12_ctx(self, ciphers):
        ctx = self.client_ctx()
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(ciphers)
        return ctx

    def test_cbc_and_rsa_key_exchange_refused(self):
        # The server's defaults: ECDHE with AES-GCM or ChaCha20-Poly1305.
        # A client that offers only CBC suites (with or without ECDHE), or
        # only RSA key exchange, finds nothing in common.
        for ciphers in ("AES128-SHA", "AES256-SHA256",
                        "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA384",
                        "AES128-GCM-SHA256:AES256-GCM-SHA384"):
            with self.subTest(ciphers=ciphers):
                got = self.handshake(self.tls12_ctx(ciphers + ":@SECLEVEL=0"))
                self.assertIsInstance(got, ssl.SSLError, got)

    def test_forward_secret_aead_accepted(self):
        for ciphers in ("ECDHE-RSA-AES128-GCM-SHA256",
                        "ECDHE-RSA-AES256-GCM-SHA384",
                        "ECDHE-RSA-CHACHA20-POLY1305"):
            with self.subTest(ciphers=ciphers):
                self.assertEqual(self.handshake(self.tls12_ctx(ciphers)),
                                 ("TLSv1.2", ciphers))
        # A normal client: TLS 1.3 with an AEAD suite.
        version, cipher = self.handshake(self.client_ctx())
        self.assertEqual(version, "TLSv1.3")
        self.assertIn(cipher, ("TLS_AES_128_GCM_SHA256",
                               "TLS_AES_256_GCM_SHA384",
                               "TLS_CHACHA20_POLY1305_SHA256"))

    def test_tls11_refused(self):
        ctx = self.client_ctx()
        try:
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError) as e:
            self.skipTest("this OpenSSL cannot offer TLS 1.1: %s" % e)
        self.assertIsInstance(self.handshake(ctx), ssl.SSLError)

    def test_plain_port_still_plain(self):
        c = self.connect("/echo")
        c.send_text("plain")
        self.assertEqual(c.recv_message(5)[1], b"plain")


class TLSSettingsTest(DaemonTestCase):
    """[tls] min_version, ciphers and ciphersuites set by the operator."""

    @classmethod
    def setUpClass(cls):
        cls.certdir = tempfile.mkdtemp(prefix="parley-tls-")
        cls.cert, cls.key = make_cert(cls.certdir)
        cls.config = {"tls": {"listen": "127.0.0.1:0", "cert_file": cls.cert,
                              "key_file": cls.key, "min_version": "TLSv1.3",
                              "ciphersuites": "TLS_CHACHA20_POLY1305_SHA256",
                              "ciphers": "ECDHE-RSA-AES256-GCM-SHA384"}}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.certdir, ignore_errors=True)

    handshake = TLSTest.handshake
    tls12_ctx = TLSTest.tls12_ctx
    client_ctx = TLSTest.client_ctx

    def test_min_version_and_suites(self):
        got = self.handshake(self.tls12_ctx("ECDHE-RSA-AES256-GCM-SHA384"))
        self.assertIsInstance(got, ssl.SSLError, got)
        self.assertEqual(self.handshake(self.client_ctx()),
                         ("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256"))


class TLSConfigTest(unittest.TestCase):
    def test_bad_certificate_fails_config_check(self):
        tmp = tempfile.mkdtemp(prefix="parley-tls-")
        self.addCleanup(shutil.rmtree, tmp, True)
        cfg = harness.default_config(tmp)
        harness.write_private(os.path.join(tmp, "jwt.secret"),
                              "0123456789abcdef0123456789abcdef")
        bogus = os.path.join(tmp, "cert.pem")
        harness.write_private(bogus, "not a certificate\n")
        cfg["tls"] = {"listen": "127.0.0.1:0", "cert_file": bogus,
                      "key_file": bogus}
        path = os.path.join(tmp, "p.conf")
        with open(path, "w") as f:
            f.write(harness.render_config(cfg))
        r = subprocess.run([harness.PARLEYD, "-t", "-c", path],
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"[tls]", r.stderr)

    def check(self, tls, key_mode=0o600):
        tmp = tempfile.mkdtemp(prefix="parley-tls-")
        self.addCleanup(shutil.rmtree, tmp, True)
        cert, key = make_cert(tmp)
        os.chmod(key, key_mode)
        cfg = harness.default_config(tmp)
        harness.write_private(os.path.join(tmp, "jwt.secret"), "s" * 32)
        cfg["tls"] = dict({"listen": "127.0.0.1:0", "cert_file": cert,
                           "key_file": key}, **tls)
        path = os.path.join(tmp, "p.conf")
        with open(path, "w") as f:
            f.write(harness.render_config(cfg))
        r = subprocess.run([harness.PARLEYD, "-t", "-c", path],
                           capture_output=True, timeout=10)
        return r.returncode, r.stderr.decode()

    def test_bad_cipher_settings_fail_config_check(self):
        rc, err = self.check({"ciphers": "NO-SUCH-CIPHER"})
        self.assertEqual(rc, 1, err)
        self.assertIn("[tls] ciphers", err)
        rc, err = self.check({"ciphersuites": "TLS_NOPE"})
        self.assertEqual(rc, 1, err)
        self.assertIn("[tls] ciphersuites", err)
        rc, err = self.check({"min_version": "TLSv1.1"})
        self.assertEqual(rc, 1, err)
        self.assertIn("[tls] min_version", err)
        rc, err = self.check({})
        self.assertEqual(rc, 0, err)

    def test_key_open_to_others_fails_config_check(self):
        rc, err = self.check({}, key_mode=0o640)
        self.assertEqual(rc, 1, err)
        self.assertRegex(err, r"\[tls\] key_file \S+/key.pem has mode 0640; "
                         r"it must not be readable or writable by group or "
                         r"others \(chmod 600\)")


if __name__ == "__main__":
    unittest.main(verbosity=2)
