"""The real-time runner: the one place in Clusterscope that reads the wall clock.

Each running cluster advances at `speed` x wall time. The runner lives on the server's
event loop: every tick it gives each running cluster a slice of virtual time, executing
actions in small batches and handing the loop back whenever a slice has used its wall
budget, so HTTP and WebSocket traffic is never stalled. A cluster that cannot keep up
(more events than the CPU can simulate at that speed) falls behind; the lag is bounded
and reported rather than accumulated.

All access to a cluster happens on the event loop thread (views and consumers are
async), so clusters need no locks.
"""

import asyncio
import logging
import time

from django.conf import settings

from cluster.cluster import Cluster, ClusterConfig
from cluster.commands import CommandError
from cluster.kernel import SECOND

from . import demo

log = logging.getLogger("clusterscope.runner")

MIN_SPEED, MAX_SPEED = 0.01, 100.0
BATCH_ACTIONS = 200  # actions executed between two looks at the wall clock
MAX_LAG_SECONDS = 1.0  # wall seconds of owed virtual time kept before the rest is dropped


class ClusterHandle:
    """A cluster plus its real-time clock settings."""

    def __init__(self, cluster: Cluster, *, speed: float, paused: bool):
        self.cluster = cluster
        self.speed = speed
        self.paused = paused
        self.owed_us = 0.0  # virtual time due but not simulated yet
        self.lagging = False
        self.subscribers: set = set()  # consumers to wake after each tick

    @property
    def name(self) -> str:
        return self.cluster.config.name

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
            "raft": {"heartbeat_ms": c.profile.raft_heartbeat_us / 1000, "election_min_ms": c.profile.raft_election_min_us / 1000, "election_max_ms": c.profile.raft_election_max_us / 1000},
            "counts": c.counts(),
            "last_seq": c.last_seq,
            "lagging": self.lagging,
            "state_hash": c.state_hash(),
        }

    def clock(self) -> dict:
        return {"time": self.cluster.time, "paused": self.paused, "speed": self.speed, "lagging": self.lagging}


def run_for(handle: ClusterHandle, target_us: int, budget_seconds: float) -> bool:
    """Advance towards target_us for at most budget_seconds of wall time. True if reached."""
    sim = handle.cluster.sim
    deadline = time.perf_counter() + budget_seconds
    while not sim.run_until(target_us, max_actions=BATCH_ACTIONS):
        if time.perf_counter() > deadline:
            return False
    return True


class Registry:
    """Every cluster this process runs, and the ticker that moves them."""

    def __init__(self):
        self.handles: dict[str, ClusterHandle] = {}
        self._ticker: asyncio.Task | None = None
        self._loop = None

    # --- clusters --------------------------------------------------------------------
    def create(self, config: ClusterConfig, *, speed: float = 1.0, paused: bool = False) -> ClusterHandle:
        if config.name in self.handles:
            raise CommandError(f"cluster {config.name} already exists", "name", status=409)
        if len(self.handles) >= settings.MAX_CLUSTERS:
            raise CommandError(f"this server runs at most {settings.MAX_CLUSTERS} clusters", "name", status=429)
        handle = ClusterHandle(Cluster(config), speed=speed, paused=paused)
        self.handles[config.name] = handle
        log.info("created cluster %s", config.name)
        return handle

    def get(self, name: str) -> ClusterHandle | None:
        return self.handles.get(name)

    def delete(self, name: str) -> bool:
        handle = self.handles.pop(name, None)
        if handle is None:
            return False
        for consumer in list(handle.subscribers):
            consumer.cluster_gone()
        return True

    def ensure_demo(self) -> None:
        name = settings.DEMO_CLUSTER
        if name and name not in self.handles and not getattr(self, "_demo_made", False):
            self._demo_made = True
            handle = self.create(ClusterConfig(name=name, seed=1))
            demo.seed(handle.cluster)

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
                try:
                    self._tick(handle, wall)
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
        self.notify(handle)

    def notify(self, handle: ClusterHandle) -> None:
        for consumer in list(handle.subscribers):
            consumer.wake()


registry = Registry()
