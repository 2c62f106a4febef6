"""The WebSocket stream, through Channels' communicator (no server needed)."""

import asyncio
import json

import pytest
from channels.testing import WebsocketCommunicator

from cluster.cluster import ClusterConfig
from cluster.kernel import SECOND
from dashboard.asgi import application
from dashboard.consumers import WINDOW
from dashboard.runner import ClusterHandle
from tests.cluster.kernel.pingers import PingCluster

pytestmark = pytest.mark.asyncio


def add_cluster(registry, name="ws", paused=True, seed=3):
    handle = ClusterHandle(PingCluster(ClusterConfig(name=name, seed=seed, nodes=0)), speed=1.0, paused=paused)
    registry.handles[name] = handle
    return handle


async def connect(name="ws", query=""):
    communicator = WebsocketCommunicator(application, f"/ws/clusters/{name}/{query}", headers=[(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")])
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive(communicator, timeout=2):
    return json.loads(await communicator.receive_from(timeout=timeout))


async def collect_until(communicator, seq, timeout=5):
    """Receive frames until events up to `seq` arrived; returns (frames, events)."""
    frames, events = [], []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not events or events[-1]["seq"] < seq:
        frame = await receive(communicator, timeout=max(0.1, deadline - loop.time()))
        frames.append(frame)
        if frame["type"] == "events":
            events += frame["events"]
    return frames, events


async def test_snapshot_first_then_contiguous_events(registry):
    handle = add_cluster(registry)
    handle.cluster.advance(5 * SECOND)
    ws = await connect()
    first = await receive(ws)
    assert first["type"] == "snapshot" and first["seq"] == handle.cluster.last_seq
    assert first["state"]["time"] == 5.0 and first["state"]["clock"]["paused"] is True
    handle.cluster.advance(20 * SECOND)
    registry.notify(handle)
    _, events = await collect_until(ws, handle.cluster.last_seq)
    assert [e["seq"] for e in events] == list(range(first["seq"] + 1, handle.cluster.last_seq + 1))
    assert all(set(e) == {"seq", "time", "kind", "source", "target", "summary", "data"} for e in events)
    await ws.disconnect()


async def test_resume_after_a_seq_sends_only_missed_events(registry):
    handle = add_cluster(registry)
    handle.cluster.advance(10 * SECOND)
    resume_from = handle.cluster.last_seq - 5
    ws = await connect(query=f"?after={resume_from}")
    frame = await receive(ws)
    assert frame["type"] == "events"
    assert [e["seq"] for e in frame["events"]] == list(range(resume_from + 1, handle.cluster.last_seq + 1))
    await ws.disconnect()


async def test_resume_from_a_forgotten_seq_gets_a_fresh_snapshot(registry):
    handle = add_cluster(registry)
    handle.cluster.sim.log.window = 50
    handle.cluster.advance(30 * SECOND)
    assert handle.cluster.sim.log.first_seq > 10
    ws = await connect(query="?after=3")
    frame = await receive(ws)
    assert frame["type"] == "snapshot" and frame["seq"] == handle.cluster.last_seq
    await ws.disconnect()


async def test_resume_from_beyond_the_last_seq_gets_a_fresh_snapshot(registry):
    # A browser that followed another history (the server restarted) asks for more than exists.
    handle = add_cluster(registry)
    handle.cluster.advance(2 * SECOND)
    ws = await connect(query=f"?after={handle.cluster.last_seq + 500}")
    frame = await receive(ws)
    assert frame["type"] == "snapshot" and frame["seq"] == handle.cluster.last_seq
    await ws.disconnect()


async def test_two_clients_see_the_same_events(registry):
    handle = add_cluster(registry)
    one, two = await connect(), await connect()
    s1, s2 = await receive(one), await receive(two)
    assert s1["seq"] == s2["seq"]
    handle.cluster.advance(15 * SECOND)
    registry.notify(handle)
    _, e1 = await collect_until(one, handle.cluster.last_seq)
    _, e2 = await collect_until(two, handle.cluster.last_seq)
    assert e1 == e2 and len(e1) > 20
    await one.disconnect()
    await two.disconnect()


async def test_a_running_cluster_streams_by_itself(registry):
    handle = add_cluster(registry, paused=False)
    handle.speed = 20
    ws = await connect()
    registry.ensure_ticker()
    snap = await receive(ws)
    frames, events = await collect_until(ws, snap["seq"] + 30)
    assert events[0]["seq"] == snap["seq"] + 1
    assert any(f.get("clock", {}).get("time", 0) > 0 for f in frames)
    await ws.disconnect()


async def test_a_slow_client_is_held_at_its_window_and_coalesced(registry):
    handle = add_cluster(registry)
    slow, fast = await connect(), await connect()
    snap = await receive(slow)
    await receive(fast)
    await slow.send_to(text_data=json.dumps({"type": "ack", "seq": snap["seq"]}))  # turns flow control on
    assert await slow.receive_nothing(timeout=0.1)  # let the consumer take the ack in
    frames_before = []
    for _ in range(WINDOW + 6):  # many bursts while the slow client acknowledges nothing
        handle.cluster.advance(2 * SECOND)
        registry.notify(handle)
        await asyncio.sleep(0.01)
    while not await slow.receive_nothing(timeout=0.2):
        frames_before.append(await receive(slow))
    assert 0 < len(frames_before) <= WINDOW
    # The fast client, which never acknowledged, got everything meanwhile.
    _, fast_events = await collect_until(fast, handle.cluster.last_seq)
    assert fast_events[-1]["seq"] == handle.cluster.last_seq
    # Once the slow client acknowledges, everything pending comes in few frames.
    await slow.send_to(text_data=json.dumps({"type": "ack", "seq": frames_before[-1]["events"][-1]["seq"]}))
    rest = []
    while not await slow.receive_nothing(timeout=0.3):
        rest.append(await receive(slow))
    seqs = [e["seq"] for f in frames_before + rest if f["type"] == "events" for e in f["events"]]
    assert seqs == list(range(seqs[0], handle.cluster.last_seq + 1))
    assert len(rest) <= WINDOW
    await slow.disconnect()
    await fast.disconnect()


async def test_unknown_cluster_gets_an_error_and_close(registry):
    ws = await connect("missing")
    frame = await receive(ws)
    assert frame == {"type": "error", "error": "cluster missing not found"}
    closed = await ws.receive_output(timeout=1)
    assert closed["type"] == "websocket.close" and closed["code"] == 4404


@pytest.mark.parametrize("garbage", ["not json", "[1]", '{"type": "explode"}', "x" * 10_000])
async def test_garbage_frames_get_an_error_and_the_stream_goes_on(registry, garbage):
    handle = add_cluster(registry)
    ws = await connect()
    await receive(ws)
    await ws.send_to(text_data=garbage)
    assert (await receive(ws))["type"] == "error"
    handle.cluster.advance(5 * SECOND)
    registry.notify(handle)
    _, events = await collect_until(ws, handle.cluster.last_seq)
    assert events
    await ws.disconnect()


async def test_resync_request_sends_a_snapshot(registry):
    add_cluster(registry)
    ws = await connect()
    await receive(ws)
    await ws.send_to(text_data=json.dumps({"type": "resync"}))
    assert (await receive(ws))["type"] == "snapshot"
    await ws.disconnect()


async def test_deleting_the_cluster_closes_its_streams(registry):
    add_cluster(registry)
    ws = await connect()
    await receive(ws)
    registry.delete("ws")
    assert (await receive(ws))["type"] == "error"


async def test_acks_do_not_hop_to_a_thread_to_close_database_connections(registry, monkeypatch):
    """Channels closes stale database connections before every handler, in a worker thread; the
    stream's consumer skips that for the browser's frames (a quarter of the server's CPU with 200
    viewers), and keeps it for connect and disconnect."""
    import channels.consumer

    closed = []

    async def counting():
        closed.append(1)

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counting)
    handle = add_cluster(registry)
    ws = await connect()
    snapshot = await receive(ws)
    connects = len(closed)
    assert connects >= 1  # websocket.connect still goes through Channels' dispatch
    for _ in range(5):
        await ws.send_to(text_data=json.dumps({"type": "ack", "seq": snapshot["seq"]}))
    await ws.send_to(text_data=json.dumps({"type": "ping"}))  # answered with an error: every frame before it was handled
    assert (await receive(ws))["error"].startswith("unknown frame type")
    assert len(closed) == connects
    handle.cluster.advance(3 * SECOND)
    registry.notify(handle)
    _, events = await collect_until(ws, handle.cluster.last_seq)  # acknowledged: frames flow
    assert events[-1]["seq"] == handle.cluster.last_seq
    await ws.disconnect()
