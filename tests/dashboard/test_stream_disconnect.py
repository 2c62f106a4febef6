"""A browser that goes while a frame is on its way: daphne's autobahn refuses the send
(Disconnected) before the disconnect reaches the consumer. The flush ends quietly, and the next
one works; the bench saw these as "Task exception was never retrieved" tracebacks when 500
viewers left at once."""

import pytest
from autobahn.exception import Disconnected

from cluster.kernel import SECOND
from dashboard.consumers import ClusterStreamConsumer
from tests.dashboard.test_stream import add_cluster, connect, receive

pytestmark = pytest.mark.asyncio


async def test_a_send_refused_as_disconnected_ends_the_flush_quietly(registry, monkeypatch):
    handle = add_cluster(registry)
    ws = await connect()
    assert (await receive(ws))["type"] == "snapshot"
    [consumer] = handle.subscribers
    real_send = ClusterStreamConsumer.send

    async def gone(self, *args, **kwargs):
        raise Disconnected("Attempt to send on a closed protocol")

    monkeypatch.setattr(ClusterStreamConsumer, "send", gone)
    handle.cluster.advance(2 * SECOND)
    await consumer.flush()  # does not raise
    assert consumer._flushing is False
    monkeypatch.setattr(ClusterStreamConsumer, "send", real_send)
    consumer.cursor = None
    await consumer.flush()
    assert (await receive(ws))["type"] == "snapshot"
    await ws.disconnect()
