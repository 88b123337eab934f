"""peer_echo.py: the Python peer for tests/bench/bench.py (and run_bench.sh).

An asyncio server on Debian's python3-websockets with /echo (every message
sent back as it came) and a broadcast room on /ws in the wire shape wsbench
speaks (docs/BENCHMARKS.md, "The peers' wire shape"): no auth, no storage,
only join, send and broadcast.  Binds 127.0.0.1 on a free port and writes
the port to PORTFILE once listening.  Run it with /usr/bin/python3.

    /usr/bin/python3 tests/bench/peer_echo.py PORTFILE
"""

import asyncio
import json
import os
import signal
import sys

import websockets

ROOMS = {}  # name -> {"seq": int, "members": set of connections}


async def echo(ws):
    async for msg in ws:
        await ws.send(msg)


async def chat(ws):
    joined = []
    await ws.send('{"type":"welcome"}')
    try:
        async for data in ws:
            try:
                m = json.loads(data)
            except ValueError:
                await ws.close(1007, "bad JSON")
                return
            kind = m.get("type")
            if kind == "join":
                room = ROOMS.setdefault(m.get("room"),
                                        {"seq": 0, "members": set()})
                room["members"].add(ws)
                joined.append(room)
                await ws.send(json.dumps(
                    {"type": "joined", "id": m.get("id"), "room": m.get("room"),
                     "last_seq": room["seq"]}, separators=(",", ":")))
            elif kind == "send":
                room = ROOMS.get(m.get("room"))
                if room is None or ws not in room["members"]:
                    await ws.send(json.dumps(
                        {"type": "error", "id": m.get("id"),
                         "code": "NOT_MEMBER", "message": "join first"}))
                    continue
                room["seq"] += 1
                await ws.send(json.dumps(
                    {"type": "ack", "id": m.get("id"), "room": m.get("room"),
                     "seq": room["seq"]}, separators=(",", ":")))
                out = json.dumps({"type": "message", "room": m.get("room"),
                                  "seq": room["seq"], "text": m.get("text")},
                                 separators=(",", ":"))
                websockets.broadcast(room["members"], out)
    finally:
        for room in joined:
            room["members"].discard(ws)


async def route(ws, path=None):
    path = (path or getattr(ws, "path", "")).split("?")[0]
    try:
        if path == "/echo":
            await echo(ws)
        elif path == "/ws":
            await chat(ws)
        else:
            await ws.close(1008, "no such path")
    except websockets.ConnectionClosed:
        pass    # the generator hangs up at the end of a run


async def main(portfile):
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(route, "127.0.0.1", 0, compression=None,
                                max_size=None, max_queue=None) as server:
        port = server.sockets[0].getsockname()[1]
        tmp = portfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, portfile)
        await stop


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
