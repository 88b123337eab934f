#!/usr/bin/python3
# auth_tokens.py: tokens for check_auth made by a second, independent JWT
# implementation (PyJWT), so the C verifier is not only tested against
# libjwt's own encoder.  Run from the source tree and commit the output:
#
#     /usr/bin/python3 tests/unit/auth_tokens.py > tests/unit/auth_tokens.tsv
#
# Output: one token per line, "name<TAB>profile<TAB>expect<TAB>detail<TAB>
# token".  profile names a verifier configuration in check_auth.c; expect
# is "ok" (detail: the expected user) or "fail" (detail: a substring of
# the reason).  All times are relative to a fixed NOW that check_auth.c
# passes to auth_verify, so the file never goes stale.  ES256 signatures
# are randomised: a rerun changes those lines, not their meaning.

import base64
import hashlib
import hmac
import json
import os
import sys

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

NOW = 1800000000        # check_auth.c: AUTH_TEST_NOW
LEEWAY = 30             # check_auth.c: every profile's leeway
HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = os.path.join(HERE, "keys")


def read(name):
    with open(os.path.join(KEYS, name), "rb") as f:
        return f.read()


SECRET = read("hs.secret")
if SECRET.endswith(b"\n"):     # the verifier drops one trailing newline
    SECRET = SECRET[:-1]
RS_PRIV = read("rs256.pem")
RS_PUB = read("rs256.pub.pem")
ES_PRIV = read("es256.pem")

OTHER_RS = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_ES = ec.generate_private_key(ec.SECP256R1())

rows = []


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def enc_json(obj):
    return b64(json.dumps(obj, separators=(",", ":"),
                          ensure_ascii=False).encode())


def hs(header, claims, key=SECRET, digest=hashlib.sha256):
    """Hand-built HMAC token: any header we like, any key bytes."""
    signing = enc_json(header) + "." + enc_json(claims)
    mac = hmac.new(key, signing.encode(), digest).digest()
    return signing + "." + b64(mac)


def add(name, profile, expect, detail, token):
    for field in (name, profile, expect, detail, token):
        assert "\t" not in field and "\n" not in field, name
    rows.append("\t".join((name, profile, expect, detail, token)))


def ok(name, profile, claims, alg="HS256", key=SECRET, headers=None):
    add(name, profile, "ok", claims["sub"],
        jwt.encode(claims, key, algorithm=alg, headers=headers))


def bad(name, profile, why, claims, alg="HS256", key=SECRET,
        headers=None):
    add(name, profile, "fail", why,
        jwt.encode(claims, key, algorithm=alg, headers=headers))


def base(**kw):
    c = {"sub": "alice", "exp": NOW + 3600}
    c.update(kw)
    return {k: v for k, v in c.items() if v is not None}


# Each algorithm, right and wrong key.
ok("hs256", "hs256", base())
ok("hs384", "hs384", base(), alg="HS384")
ok("hs512", "hs512", base(), alg="HS512")
ok("rs256", "rs256", base(), alg="RS256", key=RS_PRIV)
ok("es256", "es256", base(), alg="ES256", key=ES_PRIV)
ok("kid header", "hs256", base(), headers={"kid": "k1"})
bad("hs256 wrong secret", "hs256", "bad signature", base(),
    key=b"another-secret-another-secret-xx")
bad("hs256 secret with newline", "hs256", "bad signature", base(),
    key=SECRET + b"\n")
bad("rs256 wrong key", "rs256", "bad signature", base(), alg="RS256",
    key=OTHER_RS)
bad("es256 wrong key", "es256", "bad signature", base(), alg="ES256",
    key=OTHER_ES)

# The algorithm is pinned.
bad("hs384 on hs256", "hs256", "algorithm not allowed", base(), alg="HS384")
bad("hs256 on hs512", "hs512", "algorithm not allowed", base())
bad("rs256 on es256", "es256", "algorithm not allowed", base(), alg="RS256",
    key=RS_PRIV)
bad("es256 on rs256", "rs256", "algorithm not allowed", base(), alg="ES256",
    key=ES_PRIV)
add("alg none", "hs256", "fail", "algorithm not allowed",
    enc_json({"alg": "none", "typ": "JWT"}) + "." + enc_json(base()) + ".")
add("alg lower case", "hs256", "fail", "algorithm not allowed",
    hs({"alg": "hs256", "typ": "JWT"}, base()))
add("no alg", "hs256", "fail", "algorithm not allowed",
    hs({"typ": "JWT"}, base()))
add("rs256 public key as hs256 secret", "rs256", "fail",
    "algorithm not allowed",
    hs({"alg": "HS256", "typ": "JWT"}, base(), key=RS_PUB))
add("no typ", "hs256", "ok", "alice", hs({"alg": "HS256"}, base()))
add("crit header", "hs256", "fail", "crit",
    hs({"alg": "HS256", "crit": ["exp"]}, base()))

# Times, with the leeway.
ok("exp at edge", "hs256", base(exp=NOW - LEEWAY + 1))
bad("exp past edge", "hs256", "expired", base(exp=NOW - LEEWAY))
bad("exp long ago", "hs256", "expired", base(exp=NOW - 86400))
ok("exp float", "hs256", base(exp=NOW - LEEWAY + 0.5))
bad("exp float past edge", "hs256", "expired",
    base(exp=NOW - LEEWAY - 0.5))
bad("exp string", "hs256", "invalid exp", base(exp=str(NOW + 3600)))
bad("exp bool", "hs256", "invalid exp", base(exp=True))
bad("exp missing", "hs256", "missing exp", base(exp=None))
ok("exp missing, not required", "hs256-noexp", base(exp=None))
bad("exp expired, not required", "hs256-noexp", "expired",
    base(exp=NOW - 3600))
ok("nbf at edge", "hs256", base(nbf=NOW + LEEWAY))
bad("nbf past edge", "hs256", "not yet valid", base(nbf=NOW + LEEWAY + 1))
bad("nbf string", "hs256", "invalid nbf", base(nbf="soon"))
ok("iat at edge", "hs256", base(iat=NOW + LEEWAY))
bad("iat past edge", "hs256", "issued in the future",
    base(iat=NOW + LEEWAY + 1))
bad("iat null", "hs256", "invalid iat", dict(base(), iat=None))

# Issuer and audience.
ISS = "https://auth.example.com"
AUD = "parley"
ok("iss and aud", "hs256-issaud", base(iss=ISS, aud=AUD))
ok("aud array", "hs256-issaud", base(iss=ISS, aud=["other", AUD]))
ok("aud array with junk", "hs256-issaud", base(iss=ISS, aud=[1, AUD]))
bad("aud array no match", "hs256-issaud", "wrong audience",
    base(iss=ISS, aud=["other", "parley2"]))
bad("aud empty array", "hs256-issaud", "wrong audience",
    base(iss=ISS, aud=[]))
bad("aud wrong", "hs256-issaud", "wrong audience", base(iss=ISS, aud="x"))
bad("aud number", "hs256-issaud", "invalid aud", base(iss=ISS, aud=7))
bad("aud missing", "hs256-issaud", "missing aud", base(iss=ISS))
bad("iss wrong", "hs256-issaud", "wrong issuer",
    base(iss=ISS + "/", aud=AUD))
bad("iss missing", "hs256-issaud", "missing iss", base(aud=AUD))
bad("iss array", "hs256-issaud", "invalid iss", base(iss=[ISS], aud=AUD))
ok("iss/aud ignored unless configured", "hs256",
   base(iss="whoever", aud=["x"]))

# sub.
bad("sub missing", "hs256", "missing sub", base(sub=None))
bad("sub empty", "hs256", "invalid sub", base(sub=""))
bad("sub space", "hs256", "invalid sub", base(sub="al ice"))
bad("sub slash", "hs256", "invalid sub", base(sub="a/b"))
bad("sub colon", "hs256", "invalid sub", base(sub="user:bob"))
bad("sub non-ascii", "hs256", "invalid sub", base(sub="al\u00efce"))
bad("sub number", "hs256", "invalid sub", base(sub=42))
# libjwt's JSON parser refuses these escapes, so they are malformed.
bad("sub nul", "hs256", "malformed token", base(sub="ali\u0000ce"))
ok("sub charset", "hs256", base(sub="A.z_0-9@example.com"))
ok("sub 64 chars", "hs256", base(sub="u" * 64))
bad("sub 65 chars", "hs256", "invalid sub", base(sub="u" * 65))

# name: code points, not bytes.
ok("name ascii", "hs256", base(name="Alice Liddell"))
ok("name empty", "hs256", base(name=""))
ok("name 64 two-byte", "hs256", base(name="\u00e9" * 64))
bad("name 65 two-byte", "hs256", "invalid name", base(name="\u00e9" * 65))
ok("name 64 four-byte", "hs256", base(name="\U0001F600" * 64))
bad("name 65 four-byte", "hs256", "invalid name",
    base(name="\U0001F600" * 65))
bad("name 65 ascii", "hs256", "invalid name", base(name="n" * 65))
bad("name number", "hs256", "invalid name", base(name=7))
bad("name nul", "hs256", "malformed token", base(name="a\u0000b"))
bad("name lone surrogate", "hs256", "malformed token",
    base(name="a\ud800b"))
ok("name surrogate pair", "hs256", base(name="a\U0001F600b"))

# rooms.
ok("rooms", "hs256", base(rooms=["general", "project:42:*", "user:alice"]))
ok("rooms empty", "hs256", base(rooms=[]))
ok("rooms star", "hs256", base(rooms=["*"]))
ok("rooms 128 chars", "hs256", base(rooms=["r" * 128]))
ok("rooms 256 entries", "hs256", base(rooms=["r%d" % i for i in range(256)]))
bad("rooms 257 entries", "hs256", "invalid rooms",
    base(rooms=["r%d" % i for i in range(257)]))
bad("rooms 129 chars", "hs256", "invalid rooms", base(rooms=["r" * 129]))
bad("rooms string", "hs256", "invalid rooms", base(rooms="general"))
bad("rooms empty name", "hs256", "invalid rooms", base(rooms=[""]))
bad("rooms double star", "hs256", "invalid rooms", base(rooms=["**"]))
bad("rooms inner star", "hs256", "invalid rooms", base(rooms=["a*b"]))
bad("rooms space", "hs256", "invalid rooms", base(rooms=["a b"]))
bad("rooms slash", "hs256", "invalid rooms", base(rooms=["a/b"]))
bad("rooms number", "hs256", "invalid rooms", base(rooms=["ok", 3]))
bad("rooms nested", "hs256", "invalid rooms", base(rooms=[["a"]]))

# role.
ok("role moderator", "hs256", base(role="moderator"))
ok("role other", "hs256", base(role="admin"))
bad("role number", "hs256", "invalid role", base(role=1))
bad("role array", "hs256", "invalid role", base(role=["moderator"]))

sys.stdout.write("# generated by auth_tokens.py, NOW=%d LEEWAY=%d; "
                 "name, profile, expect, detail, token\n" % (NOW, LEEWAY))
sys.stdout.write("\n".join(rows) + "\n")
