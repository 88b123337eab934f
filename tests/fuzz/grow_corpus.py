#!/usr/bin/python3
"""Grow the fuzz seed corpus, tests/fuzz/corpus/<target>/, from real traffic.

Runs integration tests with PARLEY_FUZZ_CAPTURE set: the harness then keeps
every upgrade head, frame, client JSON message, token, API body and config
it sends (tests/lib/harness.py, capture()).  Adds the fuzz_smoke driver's
built-in seeds (`fuzz_smoke -w`; the only source for ipc, which no client
sees) and JWTs re-signed with fuzz_jwt's secret so that the claim checks
behind the signature are reached.  Then keeps, per target, the built-in
seeds and up to --per-target captured inputs, chosen by hash (a spread, not
the first test's), replacing the directory's content.

    tests/fuzz/grow_corpus.py [--builddir DIR] [--per-target N]
                              [--capture DIR] [test_x.py ...]

With --capture DIR, a capture made before is used and no test is run.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(TOP, "tests", "fuzz", "corpus")
TARGETS = ("ws_frame", "http_upgrade", "ipc", "chat_req", "inflate", "jwt",
           "api_body", "config")
MAX_SEED = 4096


def fuzz_h_define(name):
    with open(os.path.join(TOP, "tests", "fuzz", "fuzz.h")) as f:
        m = re.search(r"#define\s+%s\s+(.*)" % name, f.read())
    v = m.group(1).strip()
    if v.startswith('"'):
        return json.loads(v)
    return int(re.sub(r"INT64_C\((\d+)\)", r"\1", v))


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def resign(tokens):
    """Captured HS* tokens, re-signed with fuzz_jwt's secret and issuer /
    audience, their times moved to fuzz_jwt's clock."""
    import jwt  # python3-jwt
    secret = fuzz_h_define("FUZZ_JWT_SECRET")
    now = fuzz_h_define("FUZZ_JWT_NOW")
    shift = now - int(time.time())
    out = []
    for tok in tokens:
        try:
            h, p, _ = tok.split(".")
            header = json.loads(b64url_decode(h))
            payload = json.loads(b64url_decode(p))
        except (ValueError, UnicodeDecodeError):
            continue
        if not isinstance(header, dict) or not isinstance(payload, dict):
            continue
        alg = header.get("alg")
        if alg not in ("HS256", "HS384", "HS512"):
            continue
        for k in ("iat", "nbf", "exp"):
            if isinstance(payload.get(k), int):
                payload[k] += shift
        payload.setdefault("iss", fuzz_h_define("FUZZ_JWT_ISS"))
        payload.setdefault("aud", fuzz_h_define("FUZZ_JWT_AUD"))
        extra = {k: v for k, v in header.items() if k not in ("alg", "typ")}
        try:
            t = jwt.encode(payload, secret, algorithm="HS256",
                           headers=extra or None)
        except Exception:
            continue
        out.append(t.decode() if isinstance(t, bytes) else t)
    return out


def run_tests(builddir, capture, tests):
    env = dict(os.environ,
               PARLEYD=os.path.join(builddir, "parleyd"),
               PARLEYCTL=os.path.join(builddir, "parleyctl"),
               PARLEY_SRCDIR=TOP,
               PYTHONPATH=os.path.join(TOP, "tests", "lib"),
               PYTHONDONTWRITEBYTECODE="1",
               PARLEY_FUZZ_CAPTURE=capture)
    for t in tests:
        path = t if os.path.exists(t) else os.path.join(TOP, "tests",
                                                        "integ", t)
        print("grow_corpus: running %s" % os.path.basename(path))
        r = subprocess.run([sys.executable, path], env=env,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            print("grow_corpus: %s failed (its capture is kept)" % path)


def files_of(d):
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, n) for n in os.listdir(d))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", default=TOP)
    ap.add_argument("--per-target", type=int, default=40)
    ap.add_argument("--capture")
    ap.add_argument("tests", nargs="*")
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="parley-corpus-")
    try:
        capture = a.capture
        if capture is None:
            capture = os.path.join(work, "capture")
            tests = a.tests or sorted(
                n for n in os.listdir(os.path.join(TOP, "tests", "integ"))
                if n.startswith("test_") and n.endswith(".py"))
            run_tests(a.builddir, capture, tests)
        builtin = os.path.join(work, "builtin")
        os.makedirs(builtin)
        subprocess.run([os.path.join(a.builddir, "tests", "fuzz",
                                     "fuzz_smoke"), "-w", builtin],
                       check=True)
        for target in TARGETS:
            seeds = {}
            for p in files_of(os.path.join(builtin, target)):
                seeds[os.path.basename(p)] = read(p)
            have = set(seeds.values())
            captured = []
            for p in files_of(os.path.join(capture, target)):
                data = read(p)
                if len(data) <= MAX_SEED and data not in have:
                    have.add(data)
                    captured.append(data)
            # By hash: a spread over every test, stable for one capture.
            captured.sort(key=lambda d: hashlib.sha1(d).hexdigest())
            if target == "jwt":
                # Half re-signed with fuzz_jwt's key: they get past the
                # signature to the claim checks.
                ours = [t.encode() for t in
                        resign([d.decode("ascii", "replace")
                                for d in captured])]
                ours.sort(key=lambda d: hashlib.sha1(d).hexdigest())
                half = a.per_target // 2
                captured = ours[:half] + captured
            for data in captured[:a.per_target]:
                seeds[hashlib.sha1(data).hexdigest()[:16]] = data
            out = os.path.join(CORPUS, target)
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            for name, data in seeds.items():
                with open(os.path.join(out, name), "wb") as f:
                    f.write(data)
            print("grow_corpus: %-12s %d built-in, %d captured (of %d)"
                  % (target, len(seeds) - min(len(captured), a.per_target),
                     min(len(captured), a.per_target), len(captured)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
