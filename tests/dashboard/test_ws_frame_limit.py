"""The WebSocket frame size limit at the server: daphne itself (its runserver, as `make run`
starts it, reads DAPHNE_WEBSOCKET_MAX_FRAME_SIZE from the settings) cuts off a frame over
ws_server_frame_bytes with close code 1009 before the application sees it; a smaller one over
ws_message_bytes reaches the consumer, which answers with an error frame and keeps the socket;
the server's own snapshots, larger than that frame cap, still go out. A real server, a real
client (the websockets library)."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def runserver(tmp_path):
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", "CLUSTERSCOPE_VAR": str(tmp_path), "CLUSTERSCOPE_PERSIST": "0",
           "CLUSTERSCOPE_DEMO": "demo", "CLUSTERSCOPE_LIMITS": json.dumps({"ws_message_bytes": 1000, "ws_server_frame_bytes": 20_000}), "PYTHONUNBUFFERED": "1"}
    env.pop("REDIS_URL", None)
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"runserver did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    yield port, log
    process.kill()
    process.wait(10)


def test_daphne_cuts_off_a_huge_message_and_the_consumer_answers_a_large_one(runserver):
    port, log = runserver

    async def scenario():
        url, origin = f"ws://127.0.0.1:{port}/ws/clusters/demo/", f"http://127.0.0.1:{port}"
        async with connect(url, origin=origin, max_size=None) as ws:
            snapshot = await ws.recv()
            assert json.loads(snapshot)["type"] == "snapshot" and len(snapshot) > 20_000  # outgoing messages are not held to the frame cap
            await ws.send(json.dumps({"type": "resync", "pad": "x" * 5000}))  # over the consumer's 1000, under daphne's 20000
            while (frame := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] != "error":
                pass
            assert frame["error"] == "frames must be JSON text of at most 1000 bytes"
            await ws.send(json.dumps({"type": "resync"}))  # the socket is still served
            while json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] != "snapshot":
                pass
            await ws.send(json.dumps({"type": "resync", "pad": "x" * 100_000}))  # one frame over daphne's limit
            with pytest.raises(ConnectionClosedError) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            # 1009 "message too big"; or, when the unread rest of the message makes the kernel reset
            # the connection, no close frame at all
            assert closed.value.rcvd is None or closed.value.rcvd.code == 1009
        # another client is not affected
        async with connect(url, origin=origin, max_size=None) as ws:
            first = json.loads(await ws.recv())
            assert first["type"] == "snapshot", {k: v for k, v in first.items() if k != "events"}

    asyncio.run(scenario())
    assert "Traceback" not in log.read_text(errors="replace")
