"""A process's mirror of a cluster another process runs (dashboard/scaleout/mirror.py): when the
cluster changes hands, the viewers on the old mirror reconnect, however this process learns it.
(tests/scaleout kills a real owner; there a viewer arriving before the owner's "moved" message
replaced the mirror and left the earlier viewers on one nobody fed: a page frozen.)"""

import asyncio

import pytest

from dashboard.scaleout import mirror as mirrors
from dashboard.scaleout.mirror import Mirror, viewer_source


class Layer:
    def __init__(self):
        self.calls: list[tuple] = []

    async def group_add(self, group, channel):
        self.calls.append(("add", group))

    async def group_discard(self, group, channel):
        self.calls.append(("discard", group))


class Node:
    """What viewer_source and Mirror use of the scale-out node."""

    def __init__(self, where: tuple):
        self.where, self.mirrors, self.channel, self.layer = where, {}, "this-process", Layer()

    async def locate(self, name):
        return self.where


class Viewer:
    def __init__(self):
        self.moved = 0

    def cluster_moved(self):
        self.moved += 1

    def cluster_gone(self):
        raise AssertionError("the cluster was not deleted")


@pytest.fixture
def started(monkeypatch):
    async def start(self):  # the owner's snapshot: not needed here
        return True
    monkeypatch.setattr(Mirror, "start", start)


async def test_a_viewer_that_finds_a_new_owner_first_sends_the_old_mirrors_viewers_to_reconnect(started):
    node = Node(("remote", "new-owner"))
    old = Mirror(node, "live", "dead-owner", [])
    earlier = Viewer()
    old.subscribers.add(earlier)
    node.mirrors["live"] = old

    source = await viewer_source(node, "live", [])
    assert source is not old and source.owner == "new-owner" and node.mirrors["live"] is source
    assert old.closed and earlier.moved == 1
    for _ in range(3):
        await asyncio.sleep(0)  # a discard would be a task by now
    assert ("discard", "cluster.live") not in node.layer.calls  # the new mirror keeps the group


async def test_a_process_that_took_the_cluster_over_closes_its_mirror_of_the_old_owner(started):
    handle = object()
    node = Node(("local", handle))
    old = Mirror(node, "live", "dead-owner", [])
    earlier = Viewer()
    old.subscribers.add(earlier)
    node.mirrors["live"] = old

    assert await viewer_source(node, "live", []) is handle
    assert old.closed and earlier.moved == 1 and "live" not in node.mirrors


async def test_a_viewer_of_the_same_owner_shares_the_mirror(started):
    node = Node(("remote", "owner"))
    first = await viewer_source(node, "live", [])
    viewer = Viewer()
    first.subscribers.add(viewer)
    assert await viewer_source(node, "live", []) is first
    assert not first.closed and viewer.moved == 0
    assert mirrors.group("live") == "cluster.live"
