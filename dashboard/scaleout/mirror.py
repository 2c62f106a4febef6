"""A cluster another process runs, as this process's WebSocket viewers see it.

The owner sends ONE group message per cluster per batch (`cluster.<name>`, node.py) to the
processes that watch it, whatever their number of viewers; each process relays it to its
own viewers. A mirror looks like the runner's ClusterHandle to the consumer
(dashboard/consumers.py): `cluster.events_since`, `cluster.last_seq`, `cluster.snapshot()`,
`clock()`, `subscribers`, so flow control, coalescing and resnapshots work unchanged.

It holds the owner's latest snapshot (fetched once, through forward.capture, shared by every
viewer) and the events after it. A gap (a message dropped by the channel layer, which drops
silently past a channel's capacity) or too many events since the snapshot fetch a fresh one;
a new owner (the old one died or drained) closes the viewers with 4012, and they reconnect
(static/js/stream.js) to wherever the cluster runs now.
"""

import asyncio
import json
import logging
import time

from . import leases
from .forward import capture
from .node import INTEREST_SECONDS, group

log = logging.getLogger("clusterscope.scaleout")

KEEP_EVENTS = 20_000  # events after the snapshot; beyond, a fresh snapshot
IDLE_SECONDS = 10.0  # a mirror nobody watches is dropped after this


class MirrorCluster:
    """The owner's snapshot at seq `base` and the contiguous events after it."""

    def __init__(self, state: dict):
        self.state = state
        self.base = state["seq"]
        self.events: list[dict] = []

    @property
    def snapshot_key(self) -> tuple:
        """Viewers sent the same fetched snapshot share one encoding of it (consumers.shared)."""
        return (id(self.state), self.base)

    @property
    def snapshot_seq(self) -> int:
        """The seq the snapshot stands at (the consumer sends the events after it)."""
        return self.base

    @property
    def last_seq(self) -> int:
        return self.events[-1]["seq"] if self.events else self.base

    def snapshot(self) -> dict:
        return dict(self.state)

    def events_since(self, after: int, limit: int) -> list[dict] | None:
        if after < self.base:
            return None
        start = after - self.base
        return self.events[start:start + limit]

    def extend(self, events: list[dict]) -> bool:
        """Append a batch; False when it does not follow on (a gap)."""
        fresh = [e for e in events if e["seq"] > self.last_seq]
        if fresh and fresh[0]["seq"] != self.last_seq + 1:
            return False
        self.events += fresh
        return True

    def rebase(self, state: dict) -> None:
        """A newer snapshot of the same history: events up to it are dropped."""
        self.state, self.base = state, state["seq"]
        self.events = [e for e in self.events if e["seq"] > self.base]
        if self.events and self.events[0]["seq"] != self.base + 1:
            self.events = []


class Mirror:
    mirrored = True

    def __init__(self, node, name: str, owner: str, headers):
        self.node, self.name, self.owner = node, name, owner
        self.headers = [(k, v) for k, v in headers if k in (b"host", b"origin")]  # what Django checks
        self.cluster: MirrorCluster | None = None
        self.subscribers: set = set()
        self.closed = False
        self._clock = {}
        self._refreshing: asyncio.Task | None = None
        self._held: list[dict] = []  # batches that arrived while a snapshot was on its way
        self._idle_since = time.monotonic()
        self._told = 0.0

    def clock(self) -> dict:
        return self._clock

    async def start(self) -> bool:
        await self.node.layer.group_add(group(self.name), self.node.channel)
        await self._say_watching()
        return await self._refresh()

    async def _say_watching(self) -> None:
        self._told = time.monotonic()
        await self.node.send(self.owner, {"type": "scaleout.watch", "cluster": self.name})

    async def _refresh(self) -> bool:
        code, body = await capture(self.owner, self.node.app, "GET", f"/api/clusters/{self.name}/state", headers=self.headers)
        if code != 200:
            log.warning("mirror %s: the owner answered %s", self.name, code)
            return False
        state = json.loads(body)
        self._clock = state.get("clock") or self._clock
        if self.cluster is None or state["seq"] < self.cluster.base:
            self.cluster = MirrorCluster(state)  # a new object: viewers start from a snapshot
        else:
            self.cluster.rebase(state)
        held, self._held = self._held, []
        for message in held:
            self._apply(message)
        self._wake()
        return True

    def _refresh_soon(self) -> None:
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.get_running_loop().create_task(self._refresh())

    # --- from the owner ------------------------------------------------------------------
    def on_message(self, message: dict) -> None:
        kind = message["type"]
        if kind == "cluster.moved":
            self.close("the cluster moved to another server process")
        elif kind == "cluster.reset":
            self._refresh_soon()
        elif kind == "cluster.batch":
            if self._refreshing is not None and not self._refreshing.done():
                self._held.append(message)
                return
            self._apply(message)
            self._wake()

    def _apply(self, message: dict) -> None:
        self._clock = message.get("clock") or self._clock
        if self.cluster is None:
            return
        if not self.cluster.extend(message.get("events") or []) or len(self.cluster.events) > KEEP_EVENTS:
            self._held.append(message)
            self._refresh_soon()

    def _wake(self) -> None:
        for consumer in list(self.subscribers):
            consumer.wake()

    # --- upkeep (the node's heartbeat) ---------------------------------------------------
    async def maintain(self) -> None:
        if self.subscribers:
            self._idle_since = time.monotonic()
        elif time.monotonic() - self._idle_since > IDLE_SECONDS:
            await self.drop()
            return
        from ..history import store  # noqa: PLC0415

        found = await store.acall(leases.owner_of, self.name)
        if found is None:
            self.close("deleted", gone=True)
        elif found[1] and found[0] != self.owner:
            self.close("the cluster moved to another server process")
        elif time.monotonic() - self._told > INTEREST_SECONDS / 3:
            await self._say_watching()
            await self.node.layer.group_add(group(self.name), self.node.channel)  # renews group_expiry too

    def close(self, why: str, gone: bool = False, leave_group: bool = True) -> None:
        """Viewers reconnect (or, deleted, are told so); the next viewer makes a new mirror
        (`leave_group=False`: one is taking this one's place in the cluster's group now)."""
        if self.closed:
            return
        self.closed = True
        self.node.mirrors.pop(self.name, None)
        log.info("mirror %s closed: %s", self.name, why)
        for consumer in list(self.subscribers):
            (consumer.cluster_gone if gone else getattr(consumer, "cluster_moved", consumer.cluster_gone))()
        if leave_group:
            asyncio.get_running_loop().create_task(self.node.layer.group_discard(group(self.name), self.node.channel))

    async def drop(self) -> None:
        self.closed = True
        self.node.mirrors.pop(self.name, None)
        await self.node.layer.group_discard(group(self.name), self.node.channel)


class Unavailable(Exception):
    """The cluster exists but its process does not answer now (it died, its lease has not
    run out yet): the viewer should try again in a moment."""


async def viewer_source(node, name: str, headers):
    """What a WebSocket viewer of `name` reads: the local handle, a mirror of the owner's
    cluster (shared by every viewer here), or None when there is no such cluster."""
    where, found = await node.locate(name)
    if where == "local":
        stale = node.mirrors.get(name)
        if stale is not None and not stale.closed:  # this process took the cluster over
            stale.close("the cluster moved to this server process")
        return found
    if where == "missing":
        return None
    if where != "remote":
        raise Unavailable(found)
    mirror = node.mirrors.get(name)
    if mirror is not None and mirror.owner != found and not mirror.closed:
        # The cluster has a new owner and this viewer learnt it before the mirror did (the
        # owner's "moved" message or the heartbeat): the mirror's viewers reconnect too, or
        # they would stay on a mirror nobody feeds.
        mirror.close("the cluster moved to another server process", leave_group=False)
    if mirror is None or mirror.owner != found or mirror.closed:
        mirror = Mirror(node, name, found, headers)
        node.mirrors[name] = mirror
        mirror.ready = asyncio.ensure_future(mirror.start())
    if not await asyncio.shield(mirror.ready):
        mirror.closed = True
        if node.mirrors.get(name) is mirror:
            node.mirrors.pop(name)
        node.forget_owner(name)
        raise Unavailable(f"the server process running cluster {name} does not answer")
    return mirror
