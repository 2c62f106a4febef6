"""Viewers at the same place share one encoding of each frame (dashboard/consumers.py, shared):
the bytes are those each would have been sent on its own, encoded once; a viewer elsewhere
(behind, or after a change of clock) gets its own."""

import json

import pytest

from cluster.kernel import SECOND
from dashboard import consumers
from tests.dashboard.test_stream import add_cluster, collect_until, connect, receive

pytestmark = pytest.mark.asyncio


async def test_viewers_in_step_share_each_encoding_and_get_what_they_would_alone(registry, monkeypatch):
    encoded = []
    original = consumers.dumps

    def counting(frame):
        encoded.append(frame["type"])
        return original(frame)

    monkeypatch.setattr(consumers, "dumps", counting)
    handle = add_cluster(registry)
    handle.cluster.advance(3 * SECOND)
    viewers = [await connect() for _ in range(5)]
    snapshots = [await receive(v) for v in viewers]
    assert encoded.count("snapshot") == 1 and all(s == snapshots[0] for s in snapshots)
    assert snapshots[0]["state"]["time"] == 3.0 and snapshots[0]["seq"] == handle.cluster.last_seq  # the whole state, not a stub

    handle.cluster.advance(4 * SECOND)
    registry.notify(handle)
    received = [await collect_until(v, handle.cluster.last_seq) for v in viewers]
    frames = [[json.dumps(f, sort_keys=True) for f in got] for got, _events in received]
    assert all(f == frames[0] for f in frames)
    assert encoded.count("events") == len(frames[0])  # once per frame, not once per viewer
    alone = original(received[0][0][0])  # the same bytes a viewer alone is sent
    assert json.loads(alone) == received[0][0][0]

    # a clock change: the snapshot a new viewer gets carries the new clock, encoded anew
    handle.set_clock(paused=True, speed=3.0)
    late = await connect()
    snapshot = await receive(late)
    assert snapshot["state"]["clock"]["speed"] == 3.0 and encoded.count("snapshot") == 2
    for v in viewers + [late]:
        await v.disconnect()
