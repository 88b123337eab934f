"""The house rules that the compiler cannot see, checked on the source tree.

The per-folder include paths (Makefile.am) already stop an include across
the layers.  This test keeps the rest of docs/ARCHITECTURE.md's map true:

- no circle between files: if a.c includes b.h and b.c includes a.h, the two
  files are one job or one of them reaches back up.  The few pairs that are
  one job on purpose are listed in ONE_JOB, with the reason;
- each process's context (state.h) is data only: it includes no file of its
  own folder, so every file of the process can include it without a circle;
- no source file over MAX_LINES lines.
"""
import os
import re
import sys
import unittest

SRCDIR = os.environ.get("PARLEY_SRCDIR",
                        os.path.join(os.path.dirname(__file__), "..", ".."))
FOLDERS = ["common", "proto", "worker", "broker", "daemon"]
# Which folders a folder's files may include (docs/ARCHITECTURE.md, Layers).
MAY_INCLUDE = {
    "common": {"common"},
    "proto": {"proto", "common"},
    "worker": {"worker", "proto", "common"},
    "broker": {"broker", "proto", "common"},
    "daemon": set(FOLDERS),
}
MAX_LINES = 700
# Groups of files that are one job on purpose (a circle inside is allowed).
ONE_JOB = [
    # xmalloc dies through fatal(); the logger formats with util's helpers.
    {"common/log", "common/util"},
    # A connection enters the registry at birth and leaves at death; the
    # registry walks the connections for re-registration.  conn_int.h is
    # conn.c's private half, shared with conn_upgrade/read/out.c.
    {"worker/conn", "worker/conn_int", "worker/registry"},
]
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)\.h"', re.M)


def sources():
    for folder in FOLDERS:
        d = os.path.join(SRCDIR, folder)
        for name in sorted(os.listdir(d)):
            if name.endswith((".c", ".h")):
                yield folder, name, os.path.join(d, name)


def include_graph():
    """stem ("folder/name" for name.c and name.h) -> set of stems it includes"""
    stems = {f"{folder}/{name[:-2]}" for folder, name, _ in sources()}
    graph = {s: set() for s in stems}
    for folder, name, path in sources():
        me = f"{folder}/{name[:-2]}"
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for inc in INCLUDE_RE.findall(text):
            # Own folder first, then the lower layers, as -I orders them.
            for cand in [f"{folder}/{inc}"] + [f"{d}/{inc}" for d in
                                               ("common", "proto")]:
                if cand in stems and cand != me:
                    graph[me].add(cand)
                    break
    return graph


def circles(graph):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


class LayerTest(unittest.TestCase):
    def test_includes_respect_the_layers(self):
        graph = include_graph()
        bad = [f"{a} includes {b}" for a in sorted(graph)
               for b in sorted(graph[a])
               if b.split("/")[0] not in MAY_INCLUDE[a.split("/")[0]]]
        self.assertEqual(bad, [], "includes across the layers")

    def test_no_circles_between_files(self):
        bad = []
        for comp in circles(include_graph()):
            if not any(comp <= group for group in ONE_JOB):
                bad.append(" <-> ".join(sorted(comp)))
        self.assertEqual(bad, [], "files that include each other in a "
                         "circle; cut it, or if they are one job on purpose "
                         "add them to ONE_JOB with the reason")

    def test_process_context_is_data_only(self):
        graph = include_graph()
        for proc in ("broker", "worker"):
            own = {s for s in graph[f"{proc}/state"]
                   if s.startswith(proc + "/")}
            self.assertEqual(own, set(), f"{proc}/state.h includes {own}")

    def test_no_file_over_the_size_limit(self):
        big = []
        for folder, name, path in sources():
            with open(path, encoding="utf-8") as f:
                n = sum(1 for _ in f)
            if n > MAX_LINES:
                big.append(f"{folder}/{name}: {n} lines")
        self.assertEqual(big, [], f"split files over {MAX_LINES} lines")

    def test_the_checker_finds_a_circle(self):
        # The test must be able to fail: a made-up circle is found.
        graph = {"x/a": {"x/b"}, "x/b": {"x/c"}, "x/c": {"x/a"}, "x/d": set()}
        self.assertEqual(circles(graph), [{"x/a", "x/b", "x/c"}])


if __name__ == "__main__":
    unittest.main(verbosity=2)
