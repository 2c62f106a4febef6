"""The fan-out benchmark's reference: a bare `websockets` broadcast server, nothing else.

    python -m bench.fanout_bare <port> <frames per second> <bytes per frame>

Every 1/rate seconds it makes one frame of about `size` bytes, {"t": <time.time() when made>,
"pad": "..."}, and hands it to websockets.broadcast for every connected client (encoded once,
written to each socket). Clients' messages are read and dropped.
"""

import asyncio
import json
import sys
import time

from websockets.asyncio.server import broadcast, serve


async def main(port: int, rate: float, size: int) -> None:
    clients = set()

    async def handler(ws):
        clients.add(ws)
        try:
            async for _message in ws:
                pass
        finally:
            clients.discard(ws)

    async with serve(handler, "127.0.0.1", port, max_size=None, ping_interval=None):
        pad = "x" * max(0, size - 40)
        interval = 1.0 / max(rate, 0.1)
        due = time.monotonic()
        while True:
            due += interval
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            broadcast(clients, f'{{"t": {time.time()!r}, "pad": {json.dumps(pad)}}}')


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])))
