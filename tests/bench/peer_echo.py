"""peer_echo.py: the comparison echo server for tests/bench/run_bench.sh.

A minimal asyncio echo server on Debian's python3-websockets: every message
is sent back as it came.  Binds 127.0.0.1 on a free port and writes the port
to PORTFILE once listening.  Run it with /usr/bin/python3.

    /usr/bin/python3 tests/bench/peer_echo.py PORTFILE
"""

import asyncio
import os
import signal
import sys

import websockets


async def echo(ws, path=None):
    async for msg in ws:
        await ws.send(msg)


async def main(portfile):
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(echo, "127.0.0.1", 0, compression=None,
                                max_size=None, max_queue=None) as server:
        port = server.sockets[0].getsockname()[1]
        tmp = portfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, portfile)
        await stop


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
