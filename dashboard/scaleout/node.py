"""This server process among the others: its channel on the channel layer, its loops, and
where each cluster lives.

    node.locate(name)   ("local", handle) | ("remote", channel) | ("missing", None) | ("unavailable", why)
    node.placement()    the channel of the least loaded process (a new cluster goes there)

Loops (on the server's event loop, started when daphne's reactor starts):
  receive    every message to this process's channel: forwarded requests and their replies
             (forward.py), group batches for mirrored clusters (mirror.py), interest, take
  heartbeat  every LEASE_SECONDS/3: renew the process row and every lease in one transaction;
             drop a cluster whose lease was lost; take orphaned clusters while this process
             is among the least loaded (a dead owner's clusters come back here, rebuilt from
             their logs in a thread); keep mirrors, forwarded streams and classroom seats honest
  publish    every PUBLISH_SECONDS: one group message per cluster that has remote viewers,
             with every event since the last one and the clock

SIGTERM drains: each cluster's position is saved after its last recorded command, its lease
released and the least loaded other process told to take it; then the server stops.
"""

import asyncio
import logging
import os
import signal
import socket
import sys
import time

from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings

from .. import scenarios
from ..history import store
from ..runner import registry
from . import leases

log = logging.getLogger("clusterscope.scaleout")

PUBLISH_SECONDS = 0.1  # one group message per cluster at most this often
PUBLISH_MAX_EVENTS = 5000  # more pending than this: viewers elsewhere take a fresh snapshot
INTEREST_SECONDS = 30.0  # a mirror says it is still watching every third of this
OWNER_CACHE_SECONDS = 1.0


def group(name: str) -> str:
    return f"cluster.{name}"


class Node:
    def __init__(self):
        self.layer = None
        self.channel: str | None = None
        self.pk: int | None = None  # this process's row (ServerProcess)
        self.app = None  # the Django ASGI app, served to forwarded requests
        self.draining = False
        self.interest: dict[str, float] = {}  # cluster -> until (monotonic): processes watch it
        self.published: dict[str, tuple] = {}  # cluster -> (cluster object, last seq, last clock, wall)
        self.pending: dict[str, asyncio.Queue] = {}  # forwarded requests sent: their replies
        self.served: dict[str, dict] = {}  # forwarded requests served here: receive queue, requester
        self.mirrors: dict = {}  # cluster -> Mirror
        self.owners: dict[str, tuple[str, float]] = {}  # cluster -> (owner channel, cached until)
        self.live: dict[str, dict] = {}  # channel -> process row, refreshed by the heartbeat
        self._adopting: dict[str, asyncio.Lock] = {}
        self.seats = None  # classroom viewers and frames among processes (seats.py)
        self.rebuilding: set[str] = set()  # taken over, replaying in a thread: leased, not served yet
        self._started: asyncio.Future | None = None
        self._tasks: list[asyncio.Task] = []
        self._beats = 0

    # --- start ---------------------------------------------------------------------------
    async def ready(self) -> None:
        """Start once (the first caller does it; others wait)."""
        if self._started is None:
            self._started = asyncio.get_running_loop().create_future()
            try:
                await self._start()
                self._started.set_result(None)
            except BaseException as exc:
                self._started.set_exception(exc)
                self._started = None
                raise
        await asyncio.shield(self._started)

    async def _start(self) -> None:
        self.layer = get_channel_layer()
        # The default prefix, as every consumer's: channels_redis reads a process's channels
        # under one receive lock, blocking on the key of whoever holds it, so a channel with a
        # prefix of its own waits up to 5 s behind a consumer's idle read.
        self.channel = await self.layer.new_channel()
        store.owner = self.channel
        self.pk = await store.acall(leases.register, self.channel, f"{socket.gethostname()}:{os.getpid()}")
        scenarios.run_suffix = f"-p{self.pk}"  # run ids unique among processes, and saying which one holds the run
        from ..classroom import service as classrooms  # noqa: PLC0415 - seats imports this module
        from .seats import Seats  # noqa: PLC0415

        self.seats = classrooms.scaleout = Seats(self)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(f(), name=f"clusterscope-{f.__name__}") for f in (self._receive_forever, self._heartbeat_forever, self._publish_forever)]
        registry.ensure_ticker()
        log.info("process %s joined (lease %ss)", self.channel, settings.LEASE_SECONDS)

    def autostart(self) -> None:
        """Under daphne: join as soon as the reactor runs (before any request), so this process
        takes its share of orphaned clusters even if nobody asks it anything; and drain on SIGTERM."""
        reactor = sys.modules.get("twisted.internet.reactor")
        if reactor is None:
            return

        def started():
            loop = asyncio.get_event_loop()
            loop.create_task(self.ready())
            signal.signal(signal.SIGTERM, lambda *_: loop.call_soon_threadsafe(lambda: loop.create_task(self.drain(reactor.stop))))

        reactor.callWhenRunning(started)

    # --- where clusters live ---------------------------------------------------------------
    async def locate(self, name: str, wait_seconds: float = 3.0):
        await self.ready()
        deadline = time.monotonic() + wait_seconds
        while True:
            handle = registry.get(name)
            if handle is not None:
                return "local", handle
            cached = self.owners.get(name)
            if cached and cached[1] > time.monotonic() and cached[0] != self.channel:
                return "remote", cached[0]
            found = await store.acall(leases.owner_of, name)
            if found is None:
                return "missing", None
            owner, valid = found
            if valid and owner != self.channel:
                self.owners[name] = (owner, time.monotonic() + OWNER_CACHE_SECONDS)
                return "remote", owner
            if not valid and not self.draining:
                if await self._take_orphan(name):
                    return "local", registry.get(name)
                if time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                    continue  # another process took it first (or takes it with its companions): ask again
            if time.monotonic() > deadline:  # draining, rebuilding, or our own lease with nothing here
                if name in self.rebuilding:
                    return "unavailable", f"cluster {name} is being rebuilt from its log on this server process; retry in a moment"
                return "unavailable", f"cluster {name} is moving to another server process; retry in a moment"
            await asyncio.sleep(0.1)

    def forget_owner(self, name: str) -> None:
        self.owners.pop(name, None)

    async def still_owner(self, channel: str, path: str) -> bool:
        """Does `channel` still run what `path` is about (a valid lease, or a live process)?"""
        from .forward import ROUTED  # noqa: PLC0415 - forward imports this module

        match = ROUTED.match(path)
        if match is None:
            return channel in {row["channel"] for row in await store.acall(leases.processes)}
        found = await store.acall(leases.owner_of, match.group(1))
        return found is not None and found == (channel, True)

    async def placement(self) -> str:
        """The least loaded live process (this one on a tie): where a new cluster goes."""
        await self.ready()
        mine = len(registry.handles)
        best, fewest = self.channel, (mine if not self.draining else float("inf"))
        for row in self.live.values():
            if row["channel"] != self.channel and not row["draining"] and row["clusters"] < fewest:
                best, fewest = row["channel"], row["clusters"]
        if best != self.channel:  # counted now, not at the next heartbeat
            self.live[best] = {**self.live[best], "clusters": self.live[best]["clusters"] + 1}
        return best

    async def _take_orphan(self, name: str) -> bool:
        """A request for an orphan takes it at once, and its lesson run's other orphans with it;
        not when the rest of that run already runs in another live process (that one takes it)."""
        for names, holder in await store.acall(leases.orphan_groups):
            if name in names:
                if holder and holder != self.channel and holder in self.live:
                    return False
                await self.adopt_together(names)
                return registry.get(name) is not None
        return await self.adopt(name)  # taken or released meanwhile: adopt sees which

    async def adopt_together(self, names: list[str]) -> None:
        """Take the leases of clusters that must run together (a lesson run's, leases.together)
        first, then rebuild them one by one: meanwhile they are held here, so a process looking
        for orphans does not take one of them elsewhere."""
        taken = []
        for name in names:
            if registry.get(name) is None and name not in self.rebuilding and await store.acall(leases.take, name, self.channel):
                taken.append(name)
                self.rebuilding.add(name)  # renewed by the heartbeat until it is rebuilt
        for name in taken:
            try:
                await self.adopt(name, leased=True)
            finally:
                self.rebuilding.discard(name)

    async def adopt(self, name: str, leased: bool = False) -> bool:
        """Take a cluster nobody runs and rebuild it here from its log (dashboard/history);
        `leased`: its lease is taken already (adopt_together)."""
        lock = self._adopting.setdefault(name, asyncio.Lock())
        async with lock:
            if registry.get(name) is not None:
                return True
            if not leased and not await store.acall(leases.take, name, self.channel):
                return False
            stored = await store.acall(store.load_one, name)
            if stored is None:
                return False
            # The replay runs in a thread: this loop keeps serving the other clusters and
            # renewing every lease (this one's too: `rebuilding`); requests for this cluster
            # wait (locate) until it is registered below.
            self.rebuilding.add(name)
            try:
                built = await asyncio.to_thread(registry.build, stored)
            except Exception:
                log.exception("cluster %s could not be rebuilt from its log; releasing it", name)
                await store.acall(leases.release, name, self.channel)
                return False
            finally:
                self.rebuilding.discard(name)
            held = await store.acall(leases.heartbeat, self.channel, [*registry.handles, name], viewers=0, draining=self.draining)
            if name not in held or self.draining:  # lost it meanwhile, or this process is leaving
                if name in held:
                    await store.acall(leases.release, name, self.channel)
                return False
            registry.rebuild(stored, built)
            await self._tell_group(name, {"type": "cluster.moved", "cluster": name})
            return True

    def evict(self, name: str, why: str) -> None:
        """Stop running a cluster here (lost or handed over); its viewers reconnect elsewhere."""
        handle = registry.handles.pop(name, None)
        self.published.pop(name, None)
        if handle is not None:
            handle.moving = True
            log.warning("cluster %s leaves this process: %s", name, why)
            self._goodbye(handle)

    @staticmethod
    def _goodbye(handle) -> None:
        for subscriber in list(handle.subscribers):  # WebSocket viewers reconnect; kubectl waits end
            (getattr(subscriber, "cluster_moved", None) or subscriber.cluster_gone)()

    # --- loops -----------------------------------------------------------------------------
    async def _receive_forever(self) -> None:
        from . import forward  # noqa: PLC0415 - forward imports this module

        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away for a moment: retry, do not die
                log.exception("channel layer receive failed")
                await asyncio.sleep(1)
                continue
            kind = message.get("type", "")
            try:
                if kind == "fwd.request":
                    asyncio.get_running_loop().create_task(forward.serve(self, message))
                elif kind in ("fwd.cancel", "fwd.go"):
                    served = self.served.get(message["id"])
                    if served:
                        served["receive"].put_nowait({"type": "http.disconnect"} if kind == "fwd.cancel" else message)
                elif kind.startswith("fwd."):
                    queue = self.pending.get(message["id"])
                    if queue is not None:
                        queue.put_nowait(message)
                elif kind in ("cluster.classroom", "scaleout.classroom"):
                    self.seats.on_frame(message)
                elif kind == "scaleout.seats":
                    self.seats.on_report(message)
                elif kind.startswith("cluster."):
                    mirror = self.mirrors.get(message.get("cluster"))
                    if mirror is not None:
                        mirror.on_message(message)
                elif kind == "scaleout.watch":
                    self.interest[message["cluster"]] = time.monotonic() + INTEREST_SECONDS
                elif kind == "scaleout.take" and not self.draining:
                    asyncio.get_running_loop().create_task(self.adopt_together(message.get("clusters") or [message["cluster"]]))
            except Exception:
                log.exception("message %s could not be handled", kind)

    async def _heartbeat_forever(self) -> None:
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(settings.LEASE_SECONDS / 3)
            try:
                await self._heartbeat()
                renewed = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("heartbeat failed: %s", exc)
                if time.monotonic() - renewed > settings.LEASE_SECONDS * 0.8:
                    for name in list(registry.handles):  # another process may hold them by now
                        self.evict(name, "its lease could not be renewed")

    async def _heartbeat(self) -> None:
        names = [*registry.handles, *self.rebuilding]  # a cluster being rebuilt keeps its lease
        viewers = sum(len(h.subscribers) for h in registry.handles.values()) + sum(len(m.subscribers) for m in self.mirrors.values())
        held = await store.acall(leases.heartbeat, self.channel, names, viewers=viewers, draining=self.draining)
        for name in registry.handles.keys() & set(names):
            if name not in held:
                self.evict(name, "another process holds its lease")
        self.live = {row["channel"]: row for row in await store.acall(leases.processes)}
        self._beats += 1
        if self._beats % 1000 == 1:
            await store.acall(leases.forget_dead)
        if not self.draining:
            await self._take_orphans()
        for mirror in list(self.mirrors.values()):
            await mirror.maintain()
        await self.seats.upkeep()
        for served in list(self.served.values()):  # streams whose requester died
            if served["reply"] not in self.live:
                served["receive"].put_nowait({"type": "http.disconnect"})

    async def _take_orphans(self) -> None:
        for names, holder in await store.acall(leases.orphan_groups):
            if holder and holder != self.channel and holder in self.live:
                continue  # the rest of a lesson run's clusters run there: that process takes these
            others = [row["clusters"] for c, row in self.live.items() if c != self.channel and not row["draining"]]
            if holder != self.channel and others and len(registry.handles) > min(others):
                return  # a less loaded process takes the rest
            await self.adopt_together(names)

    async def _publish_forever(self) -> None:
        while True:
            await asyncio.sleep(PUBLISH_SECONDS)
            now = time.monotonic()
            for name, until in list(self.interest.items()):
                if until < now:
                    del self.interest[name]
                    self.published.pop(name, None)
                    continue
                handle = registry.get(name)
                if handle is None:
                    continue
                try:
                    await self._publish(name, handle)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("publishing %s failed: %s", name, exc)

    async def _publish(self, name: str, handle) -> None:
        cluster = handle.cluster
        clock = handle.clock()
        last = self.published.get(name)
        if last is None or last[0] is not cluster:
            # first time, or the cluster was rebuilt (a seek): mirrors start from a snapshot
            self.published[name] = (cluster, cluster.last_seq, clock)
            await self._tell_group(name, {"type": "cluster.reset", "cluster": name})
            return
        events = cluster.events_since(last[1], PUBLISH_MAX_EVENTS + 1)
        if events is None or len(events) > PUBLISH_MAX_EVENTS:
            self.published[name] = (cluster, cluster.last_seq, clock)
            await self._tell_group(name, {"type": "cluster.reset", "cluster": name})
            return
        if not events and clock == last[2]:
            return
        self.published[name] = (cluster, events[-1]["seq"] if events else last[1], clock)
        await self._tell_group(name, {"type": "cluster.batch", "cluster": name, "events": events, "clock": clock})

    async def _tell_group(self, name: str, message: dict) -> None:
        await self.layer.group_send(group(name), message)

    async def send(self, channel: str, message: dict) -> bool:
        try:
            await self.layer.send(channel, message)
            return True
        except ChannelFull:
            log.warning("channel %s is full: message %s dropped", channel, message.get("type"))
            return False

    # --- graceful shutdown -------------------------------------------------------------------
    async def drain(self, then=None) -> None:
        """Hand every cluster to the other processes without losing a command, then stop."""
        if self.draining:
            return
        self.draining = True
        log.warning("draining: handing %d clusters to other processes", len(registry.handles))
        try:
            await self.ready()
            await store.acall(leases.heartbeat, self.channel, list(registry.handles), viewers=0, draining=True)
            self.live = {row["channel"]: row for row in await store.acall(leases.processes)}
            # A lesson run's clusters go to one process together (leases.together).
            for names in await store.acall(leases.together, list(registry.handles)):
                for name in names:
                    handle = registry.handles[name]
                    while handle.history.busy:  # a seek finishing
                        await asyncio.sleep(0.05)
                    handle.moving = True  # requests waiting on it end with 503 "moving" (their commands are in the log)
                    registry.handles.pop(name)  # from here on, requests for it are forwarded
                    self.published.pop(name, None)
                    # Commands are recorded on the one database thread in order: this save is
                    # written after the last of them, and the release after the save.
                    handle.history.save(handle.cluster, paused=handle.paused, speed=handle.speed, wait=True)
                    await store.acall(leases.release, name, self.channel)
                    self._goodbye(handle)
                target = await self.placement()
                if target != self.channel:
                    await self.send(target, {"type": "scaleout.take", "clusters": names})
            await store.acall(leases.leave, self.channel)
        except Exception:
            log.exception("drain failed part way; what was not handed over is taken once its lease runs out")
        finally:
            if then is not None:
                then()


node = Node()
