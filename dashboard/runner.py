"""The real-time runner: the one place in Clusterscope that reads the wall clock.

Each running cluster advances at `speed` x wall time. The runner lives on the server's
event loop: every tick it gives each running cluster a slice of virtual time, executing
actions in small batches and handing the loop back whenever a slice has used its wall
budget, so HTTP and WebSocket traffic is never stalled. A cluster that cannot keep up
(more events than the CPU can simulate at that speed) falls behind; the lag is bounded
and reported rather than accumulated.

All access to a cluster happens on the event loop thread (views and consumers are
async), so clusters need no locks.

Every cluster is also kept in the database (dashboard/history): each command is stored
before it takes effect, and `Registry.load` rebuilds every stored cluster when the
server starts, at the moment it had reached, running or paused as it was.
"""

import asyncio
import logging
import time
from dataclasses import replace

from django.conf import settings

from cluster.clients.kubectl import ENDPOINT
from cluster.cluster import Cluster, ClusterConfig
from cluster.commands import CommandError
from cluster.kernel import SECOND

from . import demo, limits
from .history import store, transfer
from .history.recorder import History
from .history.timeline import Timeline, follow, position, rebuild

log = logging.getLogger("clusterscope.runner")

MIN_SPEED, MAX_SPEED = 0.01, 100.0
BATCH_ACTIONS = 200  # actions executed between two looks at the wall clock
MAX_LAG_SECONDS = 1.0  # wall seconds of owed virtual time kept before the rest is dropped


def creation_epoch() -> str:
    """Now, as the epoch of a cluster created now (ClusterConfig.epoch: virtual time 0 stands
    for this instant, so kubectl's own age arithmetic shows seconds, not months). Recorded
    in the config, so a replay stamps the same timestamps."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class ClusterHandle:
    """A cluster plus its real-time clock settings."""

    def __init__(self, cluster: Cluster, *, speed: float, paused: bool, history: History | None = None):
        self.cluster = cluster
        # Without a stored history (tests that build a handle by hand), one kept in memory.
        self.history = history or History(cluster.config, Timeline([], position(cluster), 1), None)
        self.speed = speed
        self.paused = paused
        self.owed_us = 0.0  # virtual time due but not simulated yet
        self.lagging = False
        self.subscribers: set = set()  # consumers to wake after each tick
        self.orphans_at_us: int | None = None  # rebuilt at start: when to cancel watches left by the old process
        self.moving = False  # handed to another server process (dashboard/scaleout): waiters are told so, not "deleted"

    @property
    def name(self) -> str:
        return self.cluster.config.name

    def command(self, cmd: dict) -> dict:
        """Validate, store, then apply one command (raises CommandError, StoreError)."""
        return self.history.command(self.cluster, cmd)

    def set_clock(self, *, paused: bool, speed: float) -> None:
        self.history.clock(self.cluster, paused=paused, speed=speed)
        self.paused, self.speed = paused, speed
        self.owed_us = 0.0

    def summary(self) -> dict:
        c = self.cluster
        return {
            "name": self.name,
            "seed": c.config.seed,
            "time": c.time,
            "paused": self.paused,
            "speed": self.speed,
            "profile": c.config.profile,
            "etcd_members": c.config.etcd_members,
            "nodes": c.config.nodes,
            "rbac": c.config.rbac,
            "proxy_mode": c.config.proxy_mode,
            "ipvs_scheduler": c.config.ipvs_scheduler,
            "pre_vote": c.config.pre_vote,
            "epoch": c.config.epoch,
            "raft": {"heartbeat_ms": c.profile.raft_heartbeat_us / 1000, "election_min_ms": c.profile.raft_election_min_us / 1000, "election_max_ms": c.profile.raft_election_max_us / 1000},
            "counts": c.counts(),
            "last_seq": c.last_seq,
            "lagging": self.lagging,
            "state_hash": c.state_hash(),
            "history": self.history_summary(),
        }

    def history_summary(self) -> dict:
        """Where the cluster stands on its timeline: head (virtual seconds) is the furthest
        it has run; `live` is false after a seek into the past."""
        tl = self.history.timeline
        return {"head": tl.head[0] / SECOND, "live": tl.live(self.cluster), "ahead": len(tl.entries) - tl.next, "commands": len(tl.entries)}

    def clock(self) -> dict:
        return {"time": self.cluster.time, "paused": self.paused, "speed": self.speed, "lagging": self.lagging}


def run_for(handle: ClusterHandle, target_us: int, budget_seconds: float) -> bool:
    """Advance towards target_us for at most budget_seconds of wall time. True if reached.
    After a seek into the past, the recorded commands ahead are applied on the way."""
    return follow(handle.cluster, handle.history.timeline, target_us, deadline=time.perf_counter() + budget_seconds)


class Registry:
    """Every cluster this process runs, and the ticker that moves them."""

    def __init__(self):
        self.handles: dict[str, ClusterHandle] = {}
        self._ticker: asyncio.Task | None = None
        self._loop = None
        self._loaded = False

    # --- clusters --------------------------------------------------------------------
    def create(self, config: ClusterConfig, *, speed: float = 1.0, paused: bool = False) -> ClusterHandle:
        config = limits.capped(config)
        if config.name in self.handles:
            raise CommandError(f"cluster {config.name} already exists", "name", status=409)
        if len(self.handles) >= settings.MAX_CLUSTERS:
            raise CommandError(f"this server runs at most {settings.MAX_CLUSTERS} clusters", "name", status=429)
        cluster = Cluster(config)
        pk = store.call(store.create, config=config.as_dict(), paused=paused, speed=speed) if store.enabled() else None
        handle = ClusterHandle(cluster, speed=speed, paused=paused, history=History(config, Timeline([], position(cluster), 1), pk))
        self.handles[config.name] = handle
        log.info("created cluster %s", config.name)
        return handle

    def adopt(self, stored: dict) -> ClusterHandle:
        """A cluster rebuilt from its stored timeline (at start, or imported): replayed from
        its newest usable checkpoint to the position it had reached."""
        handle = self.build(stored)
        self.handles[handle.name] = handle
        return handle

    def build(self, stored: dict) -> ClusterHandle:
        """adopt without running it here: touches nothing shared, so a scale-out takeover
        replays in a thread while the event loop serves everything else."""
        config = ClusterConfig(**stored["config"])
        timeline = Timeline(stored["entries"], stored["head"], stored["next_seq"])
        at_us, processed = stored["position"]  # saved with every command, and every second
        checkpoint = None
        if stored.get("pk") is not None:
            for checkpoint_id, _at, _processed in store.call(store.checkpoints_before, stored["pk"], at_us, processed):
                checkpoint = store.call(store.load_checkpoint, checkpoint_id)
                if isinstance(checkpoint, Cluster) and checkpoint.config == config and timeline.matches(checkpoint):
                    break
                checkpoint = None
        cluster = rebuild(config, timeline, at_us, processed, checkpoint)
        history = History(config, timeline, stored.get("pk"))
        history.branches = dict(stored.get("branches") or {})
        history.checkpointed = {b for b in range(1, cluster.sim.now // history.every + 1)}  # taken before, or not needed
        return ClusterHandle(cluster, speed=stored["speed"], paused=stored["paused"], history=history)

    def load(self) -> None:
        """Rebuild every stored cluster (once, at the first request after the server starts)."""
        if self._loaded or not store.enabled():
            return
        if settings.SCALEOUT:  # among other processes: each takes its share (dashboard/scaleout)
            self._loaded = True
            return
        found = store.call(store.load_all)  # a database that cannot answer: retried by the next request
        self._loaded = True
        for stored in found:
            try:
                self.rebuild(stored)
            except Exception:  # one broken log must not keep the others down
                log.exception("cluster %s could not be rebuilt from its log", stored["config"].get("name"))

    def rebuild(self, stored: dict, built: ClusterHandle | None = None) -> ClusterHandle:
        """A stored cluster rebuilt and run here (at start, or taken over from a process that
        died: then `built` by `build` in a thread)."""
        started = time.perf_counter()
        handle = built or self.build(stored)
        self.handles[handle.name] = handle
        # Watches whose HTTP clients died with the old process are cancelled, as a client
        # that goes away cancels its watch; but only past anything a browser may have seen
        # before the kill (the position is saved every SAVE_POSITION_EVERY_SECONDS), so that
        # the rebuilt history repeats the old one event for event up to there.
        margin = 0 if handle.paused else int(2 * settings.SAVE_POSITION_EVERY_SECONDS * handle.speed * SECOND)
        handle.orphans_at_us = handle.cluster.now + margin
        self._close_orphan_watches(handle)
        log.info("rebuilt cluster %s at %.3fs (%d commands) in %.2fs", handle.name, handle.cluster.time, len(stored["entries"]), time.perf_counter() - started)
        return handle

    def _close_orphan_watches(self, handle: ClusterHandle) -> None:
        if handle.orphans_at_us is None or handle.cluster.now < handle.orphans_at_us:
            return
        handle.orphans_at_us = None
        client = handle.cluster.sim.components.get(ENDPOINT)
        if client is None or not handle.history.timeline.live(handle.cluster):
            return
        for rid in sorted(rid for rid, entry in client.requests.items() if entry["state"] in ("pending", "watching") and entry["request"].get("watch")):
            handle.command({"type": "kube", "verb": "cancel", "watch": rid})

    def get(self, name: str) -> ClusterHandle | None:
        return self.handles.get(name)

    def delete(self, name: str) -> bool:
        handle = self.handles.get(name)
        if handle is None:
            return False
        if handle.history.pk is not None:
            store.call(store.delete, handle.history.pk)
        del self.handles[name]
        for consumer in list(handle.subscribers):
            consumer.cluster_gone()
        return True

    def ensure_demo(self) -> None:
        self.load()
        name = settings.DEMO_CLUSTER
        if name and name not in self.handles and not getattr(self, "_demo_made", False):
            self._demo_made = True
            try:
                handle = self.create(ClusterConfig(name=name, seed=1, epoch=creation_epoch()))
            except CommandError as exc:  # another server process made it (dashboard/scaleout)
                if exc.status != 409:
                    raise
                return
            demo.seed(handle)  # through the handle: its commands are stored like any other

    # --- time ------------------------------------------------------------------------
    def ensure_ticker(self) -> None:
        """Start the ticker on the running loop (once per loop)."""
        loop = asyncio.get_running_loop()
        if self._ticker is not None and self._loop is loop and not self._ticker.done():
            return
        self._loop = loop
        self._ticker = loop.create_task(self._tick_forever(), name="clusterscope-runner")

    async def _tick_forever(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(settings.RUNNER_TICK_SECONDS)
            now = time.perf_counter()
            wall = now - last
            last = now
            for handle in list(self.handles.values()):
                if handle.history.busy:
                    continue
                try:
                    self._tick(handle, wall)
                    handle.history.tick(handle.cluster, paused=handle.paused, speed=handle.speed)
                    self._close_orphan_watches(handle)
                except Exception:  # a broken cluster must not stop the others
                    log.exception("cluster %s failed while advancing; pausing it", handle.name)
                    handle.paused = True
                self.notify(handle)
                await asyncio.sleep(0)

    def _tick(self, handle: ClusterHandle, wall_seconds: float) -> None:
        if handle.paused:
            handle.owed_us = 0.0
            return
        handle.owed_us += wall_seconds * handle.speed * SECOND
        cap = MAX_LAG_SECONDS * handle.speed * SECOND
        handle.lagging = handle.owed_us > cap
        handle.owed_us = min(handle.owed_us, cap)
        owed = int(handle.owed_us)
        if owed <= 0:
            return
        start = handle.cluster.now
        run_for(handle, start + owed, settings.RUNNER_SLICE_BUDGET_SECONDS)
        handle.owed_us -= handle.cluster.now - start

    async def advance(self, handle: ClusterHandle, seconds: float) -> None:
        """Advance a paused cluster as fast as the CPU allows, yielding to other traffic."""
        target = handle.cluster.now + int(round(seconds * SECOND))
        while not run_for(handle, target, settings.RUNNER_SLICE_BUDGET_SECONDS):
            self.notify(handle)
            await asyncio.sleep(0)
        handle.history.save(handle.cluster, paused=handle.paused, speed=handle.speed, wait=True)
        self.notify(handle)

    def step(self, handle: ClusterHandle) -> bool:
        """Execute exactly one action (and, in the past, the recorded commands due first)."""
        sim = handle.cluster.sim
        if sim.next_time() is None:
            return False
        follow(handle.cluster, handle.history.timeline, sim.next_time(), stop_processed=sim.processed + 1)
        handle.history.save(handle.cluster, paused=handle.paused, speed=handle.speed, wait=True)
        return True

    async def seek(self, handle: ClusterHandle, target_us: int, processed: int | None = None) -> None:
        """Move a cluster to another moment of its timeline (dashboard/history)."""
        handle.cluster = await handle.history.seek(handle, target_us, processed)
        handle.owed_us = 0.0
        handle.history.save(handle.cluster, paused=handle.paused, speed=handle.speed, wait=True)
        self.notify(handle)

    async def switch_branch(self, handle: ClusterHandle, branch_id: int) -> None:
        """Return to a branch: the cluster goes back to where the timelines part (if it is
        past it), and playing forward follows the branch's future."""
        fork = handle.history.switch(handle.cluster, branch_id)
        await self.seek(handle, *min(fork, position(handle.cluster)))

    async def import_cluster(self, stored: dict) -> tuple[ClusterHandle, bool]:
        """A cluster from an exported file (dashboard/history/transfer.py), replayed to the
        position it was exported at; stored, then run like any other. Also whether the
        file's checkpoint was used."""
        name = stored["config"]["name"]
        if name in self.handles:
            raise CommandError(f"cluster {name} already exists: import it under another name (?name=)", "name", status=409)
        if len(self.handles) >= settings.MAX_CLUSTERS:
            raise CommandError(f"this server runs at most {settings.MAX_CLUSTERS} clusters", "name", status=429)
        cluster, timeline, used = await transfer.replay(stored, settings.RUNNER_SLICE_BUDGET_SECONDS)
        if name in self.handles:
            raise CommandError(f"cluster {name} already exists", "name", status=409)
        pk = None
        if store.enabled():
            pk = store.call(store.create, config=stored["config"], paused=stored["paused"], speed=stored["speed"], entries=timeline.entries,
                            at_us=cluster.sim.now, processed=cluster.sim.processed, head=timeline.head)
        handle = ClusterHandle(cluster, speed=stored["speed"], paused=stored["paused"], history=History(cluster.config, timeline, pk))
        self.handles[name] = handle
        # A file that allows more pods or objects than this server does (or sets no cap) is
        # replayed as it is, then held to the server's caps from now on by a recorded command.
        over = limits.caps_over(cluster.apiserver)
        if over:
            handle.command({"type": "caps", **{field: limits.get(limits.CAPS[field]) for field in over}})
        log.info("imported cluster %s at %.3fs (%d commands)", name, cluster.time, len(timeline.entries))
        return handle, used

    async def fork(self, handle: ClusterHandle, name: str, target_us: int) -> ClusterHandle:
        """A new cluster (paused) with this one's configuration and seed and the commands of
        its timeline up to target_us: its own log from then on; the parent is untouched."""
        if name in self.handles:
            raise CommandError(f"cluster {name} already exists", "name", status=409)
        if len(self.handles) >= settings.MAX_CLUSTERS:
            raise CommandError(f"this server runs at most {settings.MAX_CLUSTERS} clusters", "name", status=429)
        config = replace(handle.cluster.config, name=name)
        entries = [{**e, "seq": i} for i, e in enumerate((e for e in handle.history.timeline.cluster_entries() if e["at"] <= target_us), start=1)]
        cluster = Cluster(config)
        timeline = Timeline(entries, (0, 0), len(entries) + 1)
        while not follow(cluster, timeline, target_us, deadline=time.perf_counter() + settings.RUNNER_SLICE_BUDGET_SECONDS):
            await asyncio.sleep(0)
        if name in self.handles:  # created while this one was being built
            raise CommandError(f"cluster {name} already exists", "name", status=409)
        pk = None
        if store.enabled():
            pk = store.call(store.create, config=config.as_dict(), paused=True, speed=handle.speed, entries=entries, at_us=cluster.sim.now, processed=cluster.sim.processed)
        forked = ClusterHandle(cluster, speed=handle.speed, paused=True, history=History(config, timeline, pk))
        self.handles[name] = forked
        log.info("forked cluster %s from %s at %.3fs", name, handle.name, cluster.time)
        return forked

    def notify(self, handle: ClusterHandle) -> None:
        for consumer in list(handle.subscribers):
            consumer.wake()


registry = Registry()
