"""dashboard/scaleout's process, in one process (the in-memory channel layer, the test
database): what needs no second server. tests/scaleout runs the real deployment."""

import asyncio
import json

import pytest

from cluster.cluster import Cluster, ClusterConfig
from cluster.kernel import SECOND
from dashboard import scenarios
from dashboard.classroom import service as classrooms
from dashboard.history import store
from dashboard.history.timeline import position
from dashboard.scaleout import leases
from dashboard.scaleout.node import Node


@pytest.fixture
async def node(settings, registry):
    """This process joined (its row, its channel) with its loops stopped: the test beats by hand."""
    settings.PERSIST_CLUSTERS = True
    joined = Node()
    await joined.ready()
    for task in joined._tasks:
        task.cancel()
    yield joined
    store.owner, scenarios.run_suffix, classrooms.scaleout = None, "", None


@pytest.mark.django_db(transaction=True)
async def test_a_takeover_replays_off_the_event_loop_which_keeps_serving(node, registry):
    # A cluster another process ran for 800 virtual seconds and released, with no checkpoint:
    # taking it over replays all of it (about a second of CPU).
    config = ClusterConfig(name="slow", seed=3, nodes=3)
    reference = Cluster(config)
    reference.advance_to(800 * SECOND)
    at_us, processed = position(reference)
    await store.acall(store.create, config=config.as_dict(), paused=True, speed=1.0, at_us=at_us, processed=processed)
    await store.acall(leases.release, "slow", node.channel)
    other = registry.create(ClusterConfig(name="other", seed=1))

    adopting = asyncio.ensure_future(node.adopt("slow"))
    while "slow" not in node.rebuilding and not adopting.done():
        await asyncio.sleep(0)
    assert "slow" in node.rebuilding, "the rebuild ran on the event loop"
    # Meanwhile the loop serves: another cluster moves, requests for this one are told to wait,
    # and the heartbeat renews the leases, the one being rebuilt too.
    before = other.cluster.time
    await registry.advance(other, 1.0)
    assert other.cluster.time == before + 1.0
    where, why = await node.locate("slow", wait_seconds=0)
    assert where == "unavailable" and "being rebuilt" in why
    await node._heartbeat()
    assert not adopting.done() and "slow" in node.rebuilding
    assert await store.acall(leases.owner_of, "slow") == (node.channel, True)

    assert await adopting is True
    handle = registry.get("slow")
    assert (handle.cluster.time, handle.cluster.state_hash(), handle.paused) == (800.0, reference.state_hash(), True)
    assert not node.rebuilding
    assert await node.locate("slow") == ("local", handle)


async def post(client, path, body):
    return await client.post(path, data=json.dumps(body), content_type="application/json")


async def test_a_request_waiting_when_its_cluster_moves_away_is_told_the_truth(async_client, registry):
    """A drain (or a lost lease) hands the cluster over while requests wait on its simulation:
    their commands are in the log and run on the new owner; the 503 says so, not "deleted"."""
    assert (await post(async_client, "/api/clusters", {"name": "lab", "seed": 2, "paused": True})).status_code == 201
    handle = registry.get("lab")
    recorded = len(handle.history.timeline.entries)
    waiting_etcd = asyncio.ensure_future(post(async_client, "/api/clusters/lab/etcd", {"op": "put", "key": "k", "value": "v", "timeout": 30}))
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "notes"}, "data": {"a": "b"}}
    waiting_kube = asyncio.ensure_future(post(async_client, "/k8s/lab/api/v1/namespaces/default/configmaps", configmap))
    while len(handle.history.timeline.entries) < recorded + 2:  # both commands recorded; paused, nothing answers
        await asyncio.sleep(0.01)

    Node().evict("lab", "handed over (test)")

    etcd, kube = await asyncio.wait_for(asyncio.gather(waiting_etcd, waiting_kube), 20)
    assert etcd.status_code == 503 and kube.status_code == 503
    for message in (etcd.json()["error"], kube.json()["message"]):
        assert "moving to another server process" in message and "in its log" in message and "retry" in message, message
        assert "deleted" not in message
    # A real deletion still says so.
    assert (await post(async_client, "/api/clusters", {"name": "gone", "seed": 2, "paused": True})).status_code == 201
    waiting = asyncio.ensure_future(post(async_client, "/api/clusters/gone/etcd", {"op": "put", "key": "k", "value": "v", "timeout": 30}))
    gone = registry.get("gone")
    while not gone.history.timeline.entries:
        await asyncio.sleep(0.01)
    assert (await async_client.delete("/api/clusters/gone")).status_code == 204
    assert "was deleted" in (await asyncio.wait_for(waiting, 20)).json()["error"]


async def _stored_and_released(node, name: str, seed: int) -> Cluster:
    """A cluster another process ran and gave up: stored, its lease free."""
    config = ClusterConfig(name=name, seed=seed, nodes=1)
    reference = Cluster(config)
    reference.advance_to(5 * SECOND)
    at_us, processed = position(reference)
    await store.acall(store.create, config=config.as_dict(), paused=True, speed=1.0, at_us=at_us, processed=processed)
    await store.acall(leases.release, name, node.channel)
    return reference


def _lesson_run(run_id: str, names: dict) -> None:
    from dashboard.models import LessonRun  # noqa: PLC0415

    LessonRun.objects.create(id=run_id, scenario="etcd-odd-members", names=names, state={})


@pytest.mark.django_db(transaction=True)
def test_a_lesson_runs_clusters_are_grouped_to_run_together():
    _lesson_run("1", {"main": "odd", "two": "odd-two", "four": "odd-four"})
    _lesson_run("2", {"main": "solo"})
    _lesson_run("3", {"main": "odd-four", "five": "odd-five"})  # shares a cluster with run 1: one group
    names = ["lab", "odd-two", "solo", "odd", "odd-five", "odd-four", "spare"]
    assert leases.together(names) == [["lab"], ["odd-two", "odd", "odd-five", "odd-four"], ["solo"], ["spare"]]
    assert leases.together([]) == []


@pytest.mark.django_db(transaction=True)
async def test_orphans_of_one_lesson_run_are_taken_by_one_process(node, registry):
    # A comparison's two clusters lost their owner: the least loaded process takes both, never
    # one each (the run is taken up only where all its clusters run: it answered 410 when split).
    main = await _stored_and_released(node, "cmp", 4)
    two = await _stored_and_released(node, "cmp-two", 5)
    await store.acall(_lesson_run, "7-p1", {"main": "cmp", "two": "cmp-two"})
    await store.acall(leases.register, "specific.other!", "127.0.0.1:1")  # another live process, as loaded as this one
    node.live = {row["channel"]: row for row in await store.acall(leases.processes)}
    assert await store.acall(leases.orphan_groups) == [(["cmp", "cmp-two"], "")]

    await node._take_orphans()
    for name, reference in (("cmp", main), ("cmp-two", two)):
        assert await store.acall(leases.owner_of, name) == (node.channel, True)
        assert registry.get(name).cluster.state_hash() == reference.state_hash()
    assert not node.rebuilding and await store.acall(leases.orphans) == []


@pytest.mark.django_db(transaction=True)
async def test_an_orphan_whose_companion_runs_elsewhere_is_left_to_that_process(node, registry):
    await _stored_and_released(node, "cmp", 4)
    await _stored_and_released(node, "cmp-two", 5)
    await store.acall(_lesson_run, "8-p1", {"main": "cmp", "two": "cmp-two"})
    await store.acall(leases.register, "specific.other!", "127.0.0.1:1")
    assert await store.acall(leases.take, "cmp", "specific.other!")  # the other process runs the main cluster
    node.live = {row["channel"]: row for row in await store.acall(leases.processes)}
    assert await store.acall(leases.orphan_groups) == [(["cmp-two"], "specific.other!")]

    await node._take_orphans()  # this process is the less loaded one, yet leaves it
    assert registry.get("cmp-two") is None
    assert await store.acall(leases.orphans) == ["cmp-two"]
    await store.acall(leases.leave, "specific.other!")  # that process is gone: anyone may take it
    node.live = {row["channel"]: row for row in await store.acall(leases.processes)}
    await node._take_orphans()
    assert await store.acall(leases.owner_of, "cmp-two") == (node.channel, True)
