"""A cluster's active timeline: every recorded entry, and which of them still lie ahead.

No Django here: this is the in-memory half of history (store.py is the durable half).

An entry is `{"seq", "at", "after", "command"}`: the command took effect when the clock
read `at` (virtual microseconds) and `after` actions had run. A position is the pair
(at, processed); both only grow, so positions compare as tuples.

    entries   e1 ─ e2 ─ e3 ─ e4 ─ e5              (all stored, in seq order)
    cluster   ─────────▲                          applied e1, e2 (`next` = 2)
    head      ──────────────────────────▲         the furthest the timeline has run

Live, the cluster stands at the head and `next` is past the last entry. After a seek into
the past, `follow` moves the cluster forward and applies e3, e4, e5 at their recorded
positions, so playing forward shows the same history again. An action taken before the
head cannot join this timeline: the old future is set aside as a branch first
(`split`), and the timeline goes on from here.
"""

import copy
import itertools
import time
from collections import deque

from cluster.cluster import Cluster, ClusterConfig

BATCH_ACTIONS = 200  # actions between two looks at the wall clock
CHECKPOINT_EVENTS = 10_000  # newest events kept in a checkpoint (older ones: 410 on /events)


class ReplayError(RuntimeError):
    """The recorded position of an entry cannot be reached: the log does not belong to
    this configuration (or the simulation is not deterministic any more)."""


def is_clock(entry: dict) -> bool:
    return entry["command"].get("type") == "clock"


def position(cluster: Cluster) -> tuple[int, int]:
    return (cluster.sim.now, cluster.sim.processed)


class Timeline:
    def __init__(self, entries: list[dict], head: tuple[int, int], next_seq: int):
        self.entries = entries
        self.head = tuple(head)
        self.next = 0  # index of the first entry not applied to the cluster yet
        self.next_seq = next_seq

    def cluster_entries(self) -> list[dict]:
        return [e for e in self.entries if not is_clock(e)]

    def live(self, cluster: Cluster) -> bool:
        """True when nothing recorded lies ahead of the cluster."""
        return self.next >= len(self.entries) and position(cluster) >= self.head

    def touch(self, cluster: Cluster) -> None:
        """Move the head along with a live cluster."""
        if self.next >= len(self.entries) and position(cluster) > self.head:
            self.head = position(cluster)

    def append(self, entry: dict) -> dict:
        stored = {"seq": self.next_seq, **entry}
        self.next_seq += 1
        self.entries.append(stored)
        self.next = len(self.entries)
        return stored

    def split(self, cluster: Cluster) -> dict:
        """Set the future aside: the whole timeline as it was (a branch to come back to),
        and keep only what the cluster has applied; the head comes back to the cluster."""
        branch = {"entries": self.entries, "head": self.head, "fork": position(cluster)}
        self.entries = self.entries[: self.next]
        self.head = position(cluster)
        return branch

    def sync_to(self, cluster: Cluster) -> None:
        """Point `next` after the entries a (restored) cluster has applied."""
        applied = len(cluster.command_log)
        count = 0
        self.next = len(self.entries)
        for index, entry in enumerate(self.entries):
            if is_clock(entry):
                continue
            if count == applied:
                self.next = index
                return
            count += 1

    def matches(self, cluster: Cluster) -> bool:
        """Does the cluster's own command log agree with this timeline so far?"""
        ours = self.cluster_entries()
        theirs = cluster.command_log
        if len(theirs) > len(ours):
            return False
        return all(a["at"] == b["at"] and a["after"] == b["after"] and a["command"] == b["command"] for a, b in zip(theirs, ours, strict=False))


def follow(cluster: Cluster, timeline: Timeline, target_us: int, stop_processed: int | None = None, deadline: float | None = None) -> bool:
    """Run the cluster towards target_us (and no further than stop_processed actions),
    applying the timeline's entries at their recorded positions. With a wall-clock
    deadline (time.perf_counter), return False when it passes first; True when reached."""
    sim = cluster.sim
    limit = stop_processed if stop_processed is not None else float("inf")
    entries = timeline.entries
    while timeline.next < len(entries):
        entry = entries[timeline.next]
        if entry["at"] > target_us or entry["after"] > limit:
            break
        if not is_clock(entry):
            while sim.processed < entry["after"]:
                reached = sim.run_until(entry["at"], max_actions=min(BATCH_ACTIONS, entry["after"] - sim.processed))
                if reached and sim.processed < entry["after"]:
                    raise ReplayError(f"command {entry['seq']} was recorded after {entry['after']} actions; the replay ran out at {sim.processed}")
                if deadline is not None and time.perf_counter() > deadline:
                    return False
            upcoming = sim.next_time()
            if upcoming is not None and upcoming < entry["at"]:
                raise ReplayError(f"command {entry['seq']} was recorded at {entry['at']} us after {entry['after']} actions, but an action is due before then")
            sim.move_clock(entry["at"])
            cluster.command(copy.deepcopy(entry["command"]))
        timeline.next += 1
    while True:
        budget = BATCH_ACTIONS if stop_processed is None else min(BATCH_ACTIONS, stop_processed - sim.processed)
        if budget <= 0:
            sim.move_clock(min(target_us, sim.next_time() if sim.next_time() is not None else target_us))
            break
        if sim.run_until(target_us, max_actions=budget):
            break
        if deadline is not None and time.perf_counter() > deadline:
            return False
    timeline.touch(cluster)
    return True


def rebuild(config: ClusterConfig, timeline: Timeline, at_us: int, processed: int | None = None, checkpoint: Cluster | None = None) -> Cluster:
    """The cluster at a position of the timeline: from the checkpoint when it agrees with
    the timeline, otherwise from time zero."""
    cluster = checkpoint if checkpoint is not None and timeline.matches(checkpoint) and position(checkpoint) <= (at_us, processed if processed is not None else float("inf")) else None
    if cluster is None:
        cluster = Cluster(config)
    timeline.sync_to(cluster)
    follow(cluster, timeline, at_us, processed)
    return cluster


def checkpoint_bytes(cluster: Cluster) -> bytes:
    """The pickled cluster, its event window cut to the newest CHECKPOINT_EVENTS (the
    window is history, not state: the state hash does not change)."""
    log = cluster.sim.log
    events = log.events
    log.events = deque(itertools.islice(events, max(0, len(events) - CHECKPOINT_EVENTS), None))
    try:
        return cluster.checkpoint()
    finally:
        log.events = events
