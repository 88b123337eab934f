"""Authentication against the real daemon (PROTOCOL.md section 2): the three
ways to present a JWT, the welcome, every verification rule with its
INVALID_TOKEN message and close 4401, the auth timeout (4408), requests
before auth, refresh and expiry of a live connection."""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

import jwt  # python3-jwt

import harness
from chatlib import (ChatTestCase, ISO_MS, parse_iso_ms, raw_jwt, uniq,
                     NO_RATE_LIMITS)


class TokenMixin:

    def assert_rejected(self, token, words, method="query"):
        """INVALID_TOKEN whose message names the check (one of words),
        then close 4401."""
        c = self.open(token, method)
        e = c.wait("error", 5)
        self.assertEqual(e.get("code"), "INVALID_TOKEN", e)
        msg = (e.get("message") or "").lower()
        if words:
            self.assertTrue(any(w in msg for w in words),
                            "INVALID_TOKEN message %r names none of %r"
                            % (e.get("message"), words))
        c.expect_close(4401, 5)
        return e

    def assert_accepted(self, token, sub, method="query"):
        c = self.open(token, method)
        w = c.recv_json()
        self.assertEqual(w.get("type"), "welcome", w)
        self.assertEqual(w.get("user"), sub)
        return c


class AuthTest(TokenMixin, ChatTestCase):
    """HS256, leeway 30 (defaults)."""

    def now(self):
        return int(time.time())

    # --- the three methods ----------------------------------------------

    def check_welcome(self, w, sub, name):
        self.assertEqual(w["type"], "welcome")
        self.assertEqual(w["user"], sub)
        self.assertEqual(w["name"], name)
        self.assertIsInstance(w["conn"], str)
        self.assertTrue(w["conn"])
        self.assertRegex(w["server_time"], ISO_MS)
        self.assertLess(abs(parse_iso_ms(w["server_time"]) - time.time()), 5)
        self.assertEqual(w["ping_interval"], 25)

    def test_query_token(self):
        sub = uniq("q")
        c = self.chat(sub, name="Query User")
        self.check_welcome(c.welcome, sub, "Query User")
        c.ok("ping", "pong")

    def test_bearer_header(self):
        sub = uniq("h")
        c = self.chat(sub, method="header", name="Header User")
        self.check_welcome(c.welcome, sub, "Header User")
        c.ok("ping", "pong")

    def test_auth_message(self):
        sub = uniq("m")
        c = self.open(None, None)
        c.ok("ping", "pong")                    # allowed before auth
        c.send_json({"type": "auth", "token": self.token(sub, name="Msg")})
        self.check_welcome(c.wait("welcome"), sub, "Msg")
        c.join(uniq("r"))

    def test_connection_ids_distinct(self):
        sub = uniq("d")
        a, b = self.chat(sub), self.chat(sub)
        self.assertNotEqual(a.welcome["conn"], b.welcome["conn"])

    def test_before_auth_only_auth_and_ping(self):
        c = self.open(None, None)
        for req in ({"type": "join", "room": "x"},
                    {"type": "send", "room": "x", "text": "hi"},
                    {"type": "rooms"}, {"type": "history", "room": "x"},
                    {"type": "refresh", "token": self.token(uniq("z"))}):
            rid = c.next_id()
            req = dict(req, id=rid)
            c.send_json(req)
            e = c.wait(None, id=rid)
            self.assertEqual(e.get("type"), "error", e)
            self.assertEqual(e.get("code"), "NOT_AUTHENTICATED", (req, e))
        r = c.request("ping")
        self.assertEqual(r["type"], "pong")
        sub = uniq("late")
        c.send_json({"type": "auth", "token": self.token(sub)})
        self.assertEqual(c.wait("welcome")["user"], sub)

    # --- verification failures --------------------------------------------

    def test_bad_signature_all_methods(self):
        tok = harness.Daemon.make_token(self.daemon, uniq("s"), key="wrong-secret")
        for method in ("query", "header", "message"):
            with self.subTest(method=method):
                self.assert_rejected(tok, ["signature"], method)

    def test_alg_none(self):
        now = self.now()
        tok = raw_jwt({"alg": "none", "typ": "JWT"},
                      {"sub": uniq("n"), "iat": now, "exp": now + 600})
        self.assert_rejected(tok, ["alg"])
        self.assert_rejected(tok, ["alg"], "message")

    def test_alg_none_with_signature(self):
        now = self.now()
        tok = raw_jwt({"alg": "none", "typ": "JWT"},
                      {"sub": uniq("n"), "iat": now, "exp": now + 600},
                      self.daemon.secret, alg="HS256")
        self.assert_rejected(tok, ["alg"])

    def test_other_hmac_algorithm(self):
        tok = self.daemon.make_token(uniq("a"), algorithm="HS384")
        self.assert_rejected(tok, ["alg"])
        tok = self.daemon.make_token(uniq("a"), algorithm="HS512")
        self.assert_rejected(tok, ["alg"])

    def test_malformed(self):
        for tok in ("abc", "a.b.c", "a.b", self.token(uniq("x")) + "x",
                    "eyJhbGciOiJIUzI1NiJ9.."):
            with self.subTest(tok=tok[:30]):
                self.assert_rejected(tok, None)

    def test_expired_beyond_leeway(self):
        now = self.now()
        tok = self.token(uniq("e"), iat=now - 600, exp=now - 60)
        self.assert_rejected(tok, ["exp"])

    def test_expired_within_leeway(self):
        now = self.now()
        sub = uniq("e")
        self.assert_accepted(self.token(sub, iat=now - 600, exp=now - 10), sub)

    def test_missing_exp(self):
        tok = self.token(uniq("e"), exp=None)
        self.assert_rejected(tok, ["exp"])

    def test_nbf_future(self):
        now = self.now()
        self.assert_rejected(self.token(uniq("n"), nbf=now + 120), ["nbf", "not before", "not yet"])
        sub = uniq("n")
        self.assert_accepted(self.token(sub, nbf=now + 10), sub)   # leeway
        sub = uniq("n")
        self.assert_accepted(self.token(sub, nbf=now - 10), sub)

    def test_iat_future(self):
        now = self.now()
        self.assert_rejected(self.token(uniq("i"), iat=now + 120), ["iat", "issued"])
        sub = uniq("i")
        self.assert_accepted(self.token(sub, iat=now + 10), sub)   # leeway

    def test_missing_sub(self):
        self.assert_rejected(self.daemon.make_token(None), ["sub"])

    def test_bad_sub(self):
        for sub in ("", "a b", "x" * 65, "caf\u00e9", "a/b", "a:b", 42):
            with self.subTest(sub=sub):
                now = self.now()
                tok = raw_jwt({"alg": "HS256", "typ": "JWT"},
                              {"sub": sub, "iat": now, "exp": now + 600},
                              self.daemon.secret, "HS256")
                self.assert_rejected(tok, ["sub"])
        ok = "A-z_0.9@x-" + "y" * 54
        self.assertEqual(len(ok), 64)
        self.assert_accepted(self.token(ok), ok)

    def test_name_length(self):
        sub = uniq("nm")
        self.assert_accepted(self.token(sub, name="n" * 64), sub)
        self.assert_rejected(self.token(uniq("nm"), name="n" * 65), ["name"])
        # characters, not bytes: 64 two-byte characters are fine
        sub = uniq("nm")
        self.assert_accepted(self.token(sub, name="\u00e9" * 64), sub)

    def test_bad_claim_types(self):
        self.assert_rejected(self.token(uniq("t"), rooms="lobby"), ["room"])
        self.assert_rejected(self.token(uniq("t"), exp="soon"), ["exp"])

    # --- refresh ------------------------------------------------------------

    def test_refresh_same_sub(self):
        sub = uniq("rf")
        c = self.chat(sub)
        exp = self.now() + 7200
        r = c.ok("refresh", "refreshed", token=self.token(sub, exp=exp))
        self.assertEqual(r["exp"], exp)

    def test_refresh_other_sub(self):
        c = self.chat(uniq("rf"))
        e = c.err("refresh", "INVALID_TOKEN", token=self.token(uniq("other")))
        self.assertTrue(any(w in e["message"].lower() for w in ("sub", "user")), e)
        c.ok("ping", "pong")                   # still open

    def test_refresh_bad_token_keeps_connection(self):
        sub = uniq("rf")
        c = self.chat(sub)
        c.err("refresh", "INVALID_TOKEN",
              token=harness.Daemon.make_token(self.daemon, sub, key="nope"))
        c.err("refresh", "INVALID_TOKEN", token="garbage")
        c.ok("ping", "pong")
        r = c.ok("refresh", "refreshed", token=self.token(sub))
        self.assertIsInstance(r["exp"], int)


class AuthTimeoutTest(TokenMixin, ChatTestCase):
    config = {"auth": {"auth_timeout": 1}, "limits": dict(NO_RATE_LIMITS)}

    def test_auth_timeout_4408(self):
        c = self.open(None, None)
        t0 = time.monotonic()
        c.expect_close(4408, 5)
        self.assertGreater(time.monotonic() - t0, 0.5)

    def test_ping_does_not_extend_auth_timeout(self):
        c = self.open(None, None)
        t0 = time.monotonic()
        c.ok("ping", "pong")
        c.expect_close(4408, 5)
        self.assertLess(time.monotonic() - t0, 3)

    def test_auth_in_time_survives(self):
        sub = uniq("t")
        c = self.open(self.token(sub), "message")
        self.assertEqual(c.wait("welcome")["user"], sub)
        # past the auth timeout the authenticated connection still answers
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            c.ok("ping", "pong")
            c.expect_silence(0.1)


class ExpiryTest(TokenMixin, ChatTestCase):
    config = {"auth": {"leeway": 0}, "limits": dict(NO_RATE_LIMITS)}

    def test_exp_passing_closes_4401(self):
        sub = uniq("x")
        c = self.chat(sub, exp=int(time.time()) + 2)
        code, reason = c.expect_close(4401, 6)
        self.assertEqual(reason, b"token expired")

    def test_refresh_postpones_expiry(self):
        sub = uniq("x")
        exp0 = int(time.time()) + 2
        c = self.chat(sub, exp=exp0)
        c.ok("refresh", "refreshed", token=self.token(sub, exp=exp0 + 3600))
        # keep talking until well past the first exp: no close
        while time.time() < exp0 + 1.5:
            c.ok("ping", "pong")
            c.expect_silence(0.2)

    def test_expired_no_leeway(self):
        now = int(time.time())
        self.assert_rejected(self.token(uniq("x"), exp=now - 2), ["exp"])


class IssAudTest(TokenMixin, ChatTestCase):
    config = {"auth": {"issuer": "parley-test-iss", "audience": "parley-aud"},
              "limits": dict(NO_RATE_LIMITS)}

    def test_iss_and_aud_ok(self):
        sub = uniq("ia")
        self.assert_accepted(self.token(sub, iss="parley-test-iss",
                                        aud="parley-aud"), sub)

    def test_aud_array(self):
        sub = uniq("ia")
        self.assert_accepted(self.token(sub, iss="parley-test-iss",
                                        aud=["other", "parley-aud"]), sub)
        self.assert_rejected(self.token(uniq("ia"), iss="parley-test-iss",
                                        aud=["other", "third"]), ["aud"])

    def test_wrong_or_missing_iss(self):
        self.assert_rejected(self.token(uniq("ia"), iss="evil",
                                        aud="parley-aud"), ["iss"])
        self.assert_rejected(self.token(uniq("ia"), aud="parley-aud"), ["iss"])

    def test_wrong_or_missing_aud(self):
        self.assert_rejected(self.token(uniq("ia"), iss="parley-test-iss",
                                        aud="parley-audx"), ["aud"])
        self.assert_rejected(self.token(uniq("ia"), iss="parley-test-iss"),
                             ["aud"])


class RS256Test(TokenMixin, ChatTestCase):
    """RS256 with a public key; a token HMAC-signed with the public key's PEM
    as the secret (key confusion) must be refused."""

    @classmethod
    def setUpClass(cls):
        cls.keydir = tempfile.mkdtemp(prefix="parley-rsa-")
        cls.priv = os.path.join(cls.keydir, "key.pem")
        cls.pub = os.path.join(cls.keydir, "pub.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", cls.priv],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", cls.priv, "-pubout", "-out",
                        cls.pub], check=True, capture_output=True)
        cls.config = {"auth": {"algorithm": "RS256", "public_key_file": cls.pub},
                      "limits": dict(NO_RATE_LIMITS)}
        try:
            super().setUpClass()
        except BaseException:
            shutil.rmtree(cls.keydir, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.keydir, ignore_errors=True)

    def rs_token(self, sub, **claims):
        now = int(time.time())
        payload = {"sub": sub, "iat": now, "exp": now + 600}
        payload.update(claims)
        with open(self.priv, "rb") as f:
            tok = jwt.encode(payload, f.read(), algorithm="RS256")
        return tok.decode() if isinstance(tok, bytes) else tok

    def test_rs256_ok(self):
        sub = uniq("rs")
        self.assert_accepted(self.rs_token(sub), sub)
        sub = uniq("rs")
        self.assert_accepted(self.rs_token(sub), sub, "header")

    def test_rs256_tampered(self):
        tok = self.rs_token(uniq("rs"))
        h, p, s = tok.split(".")
        import json
        import base64
        pl = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
        pl["sub"] = "mallory"
        from chatlib import b64url
        forged = "%s.%s.%s" % (h, b64url(json.dumps(pl)), s)
        self.assert_rejected(forged, ["signature"])

    def test_key_confusion_hs256_with_public_key(self):
        now = int(time.time())
        with open(self.pub, "rb") as f:
            pem = f.read()
        payload = {"sub": uniq("conf"), "iat": now, "exp": now + 600}
        for key in (pem, pem.rstrip(b"\n")):
            tok = raw_jwt({"alg": "HS256", "typ": "JWT"}, payload, key, "HS256")
            self.assert_rejected(tok, ["alg"])

    def test_hs256_with_shared_secret_refused(self):
        self.assert_rejected(self.daemon.make_token(uniq("hs")), ["alg"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
