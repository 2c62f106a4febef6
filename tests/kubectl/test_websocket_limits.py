"""The stream's limits on the real server (daphne), not only in Channels' test communicator:
daphne's WebSocket library sends only close codes 1000 and 3000-4999, so a code outside them
would leave a flooding client connected (the close raised and the socket stayed open)."""

import asyncio
import json

import websockets


async def flood(port: int) -> tuple[int | None, list[dict]]:
    frames: list[dict] = []
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/clusters/demo/", origin=f"http://127.0.0.1:{port}", max_size=None) as ws:
        frames.append(json.loads(await ws.recv()))  # the snapshot
        for _ in range(200):  # four times the default 50 frames a second
            await ws.send("{}")
        try:
            while True:
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=10)))
        except websockets.ConnectionClosed as closed:
            return (closed.rcvd.code if closed.rcvd else None), frames
        except TimeoutError:
            return None, frames


def test_a_flooding_client_is_cut_off_by_the_real_server_with_a_policy_close(server):
    code, frames = asyncio.run(flood(server.port))
    assert frames[0]["type"] == "snapshot"
    assert code == 4008, f"the server did not close the socket with 4008 (got {code})"
    assert frames[-1] == {"type": "error", "error": frames[-1]["error"]} and "too many frames from this client" in frames[-1]["error"]
    assert b"invalid close code" not in server.tmp.joinpath("daphne.log").read_bytes().lower()
