"""History of one running cluster: its timeline in memory, kept in step with the database.

The runner's ClusterHandle owns one History. Everything that changes what a cluster will
do passes through it, in this order: validate, store (wait for the commit), apply. If the
store fails nothing is applied and the caller gets a StoreError (503).

    history.command(cluster, {"type": "fault", ...})   record, then apply
    history.clock(cluster, paused=True, speed=1.0)     a clock change is recorded too
    history.saved(cluster, ...)                        every second: where the clock stands
    await history.seek(handle, target_us)              a cluster at another moment
"""

import asyncio
import itertools
import logging
import time

from django.conf import settings

from cluster.cluster import Cluster, ClusterConfig
from cluster.commands import CommandError
from cluster.kernel import SECOND

from . import store
from .timeline import Timeline, checkpoint_bytes, follow, position

log = logging.getLogger("clusterscope.history")

SLICE_SECONDS = 0.02  # wall time a seek may hold the loop before serving other traffic


class History:
    def __init__(self, config: ClusterConfig, timeline: Timeline, pk: int | None):
        self.config = config
        self.timeline = timeline
        self.pk = pk  # the StoredCluster row, None when clusters are not persisted
        self.busy = False  # a seek or a switch is rebuilding the cluster
        self.checkpointed: set[int] = set()  # CHECKPOINT_EVERY buckets that have a checkpoint
        self.saved_at = 0.0  # wall time of the last position save
        self.checkpoint_at = 0.0  # wall time of the last checkpoint (pickling holds the loop ~0.1 s)
        # Futures set aside by acting in the past: id -> {"entries", "head", "fork", "created"}.
        self.branches: dict[int, dict] = {}
        self._branch_ids = itertools.count(1)  # used when nothing is stored

    # --- recording -----------------------------------------------------------------------
    def command(self, cluster: Cluster, cmd: dict) -> dict:
        self._not_busy()
        return cluster.command(cmd, store=lambda entry: self._store(cluster, entry))

    def _store(self, cluster: Cluster, entry: dict, clock: dict | None = None) -> None:
        tl = self.timeline
        here = position(cluster)
        split = None
        if not tl.live(cluster):  # acting in the past: the old future becomes a branch
            split = {"entries": tl.entries, "kept": tl.next, "head": tl.head, "fork": here}
        stored = {"seq": tl.next_seq, **entry}
        branch_id = None
        if self.pk is not None:
            branch_id = store.call(store.record, self.pk, stored, head=here, clock=clock, split=split)
        if split is not None:
            self.branches[branch_id or next(self._branch_ids)] = {"entries": split["entries"], "head": split["head"], "fork": here}
            tl.entries = tl.entries[: tl.next]
            self._forget_checkpoints_after(here)
        tl.head = here
        tl.append(entry)

    def clock(self, cluster: Cluster, *, paused: bool, speed: float) -> None:
        """Record a change of the clock. In the past it only moves the stored clock: it
        does not fork the timeline (pausing while scrubbing is not an action)."""
        self._not_busy()
        clock = {"paused": paused, "speed": speed}
        if self.timeline.live(cluster):
            self._store(cluster, {"at": cluster.sim.now, "after": cluster.sim.processed, "command": {"type": "clock", **clock}}, clock=clock)
        elif self.pk is not None:
            store.call(store.save_position, self.pk, at_us=cluster.sim.now, processed=cluster.sim.processed, head=self.timeline.head, **clock)

    def _forget_checkpoints_after(self, here: tuple[int, int]) -> None:
        self.checkpointed = {b for b in self.checkpointed if (b + 1) * self.every <= here[0]}

    def _not_busy(self) -> None:
        if self.busy:
            raise CommandError("the cluster is being rebuilt at another moment of its history; retry in a moment", "name", status=409)

    # --- bookkeeping ---------------------------------------------------------------------
    @property
    def every(self) -> int:
        return int(settings.CHECKPOINT_EVERY_SECONDS * SECOND)

    def save(self, cluster: Cluster, *, paused: bool, speed: float, wait: bool = False) -> None:
        """Store where the clock stands (waiting for it when a reply acknowledges it)."""
        self.saved_at = time.monotonic()
        if self.pk is None:
            return
        args = {"at_us": cluster.sim.now, "processed": cluster.sim.processed, "head": self.timeline.head, "paused": paused, "speed": speed}
        if not wait:
            store.later(store.save_position, self.pk, **args)
            return
        try:
            store.call(store.save_position, self.pk, **args)
        except store.StoreError as exc:  # time has moved already; the next save records it
            log.warning("history: %s", exc.message)

    def tick(self, cluster: Cluster, *, paused: bool, speed: float) -> None:
        """After the runner moved the cluster: save the position now and then, and take a
        checkpoint once per CHECKPOINT_EVERY virtual seconds."""
        if self.pk is None or self.busy:
            return
        if time.monotonic() - self.saved_at >= settings.SAVE_POSITION_EVERY_SECONDS:
            self.save(cluster, paused=paused, speed=speed)
        bucket = cluster.sim.now // self.every
        if bucket > 0 and bucket not in self.checkpointed and time.monotonic() - self.checkpoint_at >= settings.CHECKPOINT_MIN_WALL_SECONDS:
            self.checkpointed.add(bucket)
            self.checkpoint_at = time.monotonic()
            store.later(store.save_checkpoint, self.pk, at_us=cluster.sim.now, processed=cluster.sim.processed, state=checkpoint_bytes(cluster))

    # --- time travel ---------------------------------------------------------------------
    async def seek(self, handle, target_us: int, processed: int | None = None) -> Cluster:
        """The cluster at target_us of this timeline: the same one moved forward, or one
        rebuilt from the nearest checkpoint before it (or from time zero)."""
        cluster = handle.cluster
        self.busy = True
        try:
            if (target_us, processed if processed is not None else float("inf")) < position(cluster) or not self.timeline.matches(cluster):
                cluster = await self._restore(target_us, processed)
            while not follow(cluster, self.timeline, target_us, processed, deadline=time.perf_counter() + SLICE_SECONDS):
                await asyncio.sleep(0)
        except BaseException:
            self.timeline.sync_to(handle.cluster)  # the handle keeps the cluster it had
            raise
        finally:
            self.busy = False
        return cluster

    # --- branches ----------------------------------------------------------------------------
    def branch_list(self) -> list[dict]:
        return [{"id": bid, "fork": b["fork"][0] / SECOND, "head": b["head"][0] / SECOND, "commands": sum(1 for e in b["entries"] if e["command"].get("type") != "clock"),
                 "ahead": _differing(self.timeline.entries, b["entries"])} for bid, b in sorted(self.branches.items())]

    def switch(self, cluster: Cluster, branch_id: int) -> tuple[int, int]:
        """Make a branch the active timeline (the active one is kept as a branch in its
        place); returns the position where the two part, for the caller to seek to."""
        self._not_busy()
        branch = self.branches.get(branch_id)
        if branch is None:
            raise CommandError(f"no branch {branch_id}", "branch", status=404)
        tl = self.timeline
        fork = parting(tl.entries, tl.head, branch["entries"], branch["head"])
        if self.pk is not None:
            new_id = store.call(store.switch, self.pk, branch_id=branch_id, entries=tl.entries, head=tl.head, fork=fork, at=min(fork, position(cluster)))
        else:
            new_id = next(self._branch_ids)
        del self.branches[branch_id]
        self.branches[new_id] = {"entries": tl.entries, "head": tl.head, "fork": fork}
        tl.entries = list(branch["entries"])
        tl.head = tuple(branch["head"])
        tl.next_seq = max(tl.next_seq, 1 + max((e["seq"] for e in tl.entries), default=0))
        self._forget_checkpoints_after(fork)
        if tl.matches(cluster):
            tl.sync_to(cluster)  # what it has applied is common to both timelines
        return fork

    def discard(self, branch_id: int) -> None:
        self._not_busy()
        if branch_id not in self.branches:
            raise CommandError(f"no branch {branch_id}", "branch", status=404)
        if self.pk is not None:
            store.call(store.discard_branch, self.pk, branch_id)
        del self.branches[branch_id]

    async def _restore(self, target_us: int, processed: int | None) -> Cluster:
        base = None
        if self.pk is not None:
            for checkpoint_id, _at, _processed in store.call(store.checkpoints_before, self.pk, target_us, processed):
                candidate = store.call(store.load_checkpoint, checkpoint_id)
                if isinstance(candidate, Cluster) and self.timeline.matches(candidate):
                    base = candidate
                    break
        if base is None:
            base = Cluster(self.config)
        self.timeline.sync_to(base)
        return base


def _key(entry: dict) -> tuple:
    return (entry["at"], entry["after"], entry["command"])


def _differing(ours: list[dict], theirs: list[dict]) -> int:
    """How many entries of `theirs` follow the point where it parts from `ours`."""
    common = 0
    for a, b in zip(ours, theirs, strict=False):
        if _key(a) != _key(b):
            break
        common += 1
    return len(theirs) - common


def parting(entries_a: list[dict], head_a: tuple, entries_b: list[dict], head_b: tuple) -> tuple[int, int]:
    """The position where two timelines part: the first entry that differs, or the end of
    the shorter one's entries when one continues the other."""
    for a, b in zip(entries_a, entries_b, strict=False):
        if _key(a) != _key(b):
            return min((a["at"], a["after"]), (b["at"], b["after"]))
    longer = entries_a if len(entries_a) > len(entries_b) else entries_b
    rest = longer[min(len(entries_a), len(entries_b)):]
    if rest:
        return (rest[0]["at"], rest[0]["after"])
    return min(tuple(head_a), tuple(head_b))
