"""The scheduling queue (scheduling_queue.go): activeQ, backoffQ and the unschedulable pool.

    add(key, priority, gated, now)          a new pending pod: activeQ (or gated: held by PreEnqueue)
    pop(now) -> key                          the head of activeQ (PrioritySort: priority, then queue time)
    failed(key, plugins, now)                after an unsuccessful cycle: the unschedulable pool, keyed by
                                             the plugins that rejected it; with no plugin (an error) or
                                             when a cluster event arrived during its cycle: backoffQ
    move(event, interested_plugins, now)     a cluster event: unschedulable pods rejected by a plugin that
                                             cares go back, to backoffQ while their back-off lasts,
                                             to activeQ after
    flush(now)                               backoffQ pods whose back-off is over -> activeQ (every 1 s);
                                             pods unschedulable for 5 minutes -> back (every 30 s)

            add ──▶ activeQ ──pop──▶ in flight ──scheduled──▶ (gone; the binding is on its way)
                      ▲  ▲                 │
          back-off over│  └──event──┐      └──failed──▶ unschedulable ──event / 5 min──┐
                    backoffQ ◀───────┴──────────(still backing off)◀────────────────────┘

Back-off: 1 s after the first failed attempt, doubling up to 10 s (podInitialBackoffDuration,
podMaxBackoffDuration), counted from the time of the failure.

State is plain data: heaps of tuples with lazy deletion (each entry carries a version; a
stale heap item is skipped when it surfaces).
"""

import heapq

from ..kernel import SECOND

QUEUES = ("active", "backoff", "unschedulable", "gated", "in_flight")


class SchedulingQueue:
    def __init__(self, *, initial_backoff_us: int = 1 * SECOND, max_backoff_us: int = 10 * SECOND, max_unschedulable_us: int = 300 * SECOND):
        self.initial_backoff_us = initial_backoff_us
        self.max_backoff_us = max_backoff_us
        self.max_unschedulable_us = max_unschedulable_us
        self.entries: dict[str, dict] = {}
        self.active: list = []  # heap of (-priority, timestamp, seq, key, version)
        self.backoff: list = []  # heap of (until, seq, key, version)
        self.counts = {q: 0 for q in QUEUES}
        self.unschedulable: dict[str, None] = {}  # the keys in the unschedulable pool (moves look only here)
        self.seq = 0
        self.cycle = 0  # scheduling cycles started
        self.move_cycle = -1  # the cycle at the last move request (moveRequestCycle)

    # --- entries ----------------------------------------------------------------------------------
    def _place(self, entry: dict, where: str) -> None:
        old = entry["where"]
        if old in self.counts:
            self.counts[old] -= 1
        if old == "unschedulable":
            del self.unschedulable[entry["key"]]
        elif where == "unschedulable":
            self.unschedulable[entry["key"]] = None
        entry["where"] = where
        self.counts[where] += 1
        entry["version"] += 1
        if where == "active":
            self.seq += 1
            heapq.heappush(self.active, (-entry["priority"], entry["timestamp"], self.seq, entry["key"], entry["version"]))
        elif where == "backoff":
            self.seq += 1
            heapq.heappush(self.backoff, (entry["backoff_until"], self.seq, entry["key"], entry["version"]))

    def add(self, key: str, priority: int, gated: bool, now: int) -> str:
        """A pod the scheduler should place; returns the sub-queue it went to."""
        entry = self.entries.get(key)
        if entry is not None:
            return self.update(key, priority, gated, now, changed=True)
        entry = {"key": key, "priority": priority, "timestamp": now, "initial": now, "attempts": 0, "backoff_until": 0, "plugins": [],
                 "since": now, "where": "new", "version": 0, "cycle": 0}
        self.entries[key] = entry
        self._place(entry, "gated" if gated else "active")
        return entry["where"]

    def update(self, key: str, priority: int, gated: bool, now: int, changed: bool) -> str | None:
        """The pod changed. A gated pod whose gates are gone, or an unschedulable one whose spec
        changed (it might fit now), moves on; anything else stays where it is."""
        entry = self.entries.get(key)
        if entry is None:
            return self.add(key, priority, gated, now)
        entry["priority"] = priority
        where = entry["where"]
        if gated:
            if where in ("active", "backoff", "unschedulable"):
                self._place(entry, "gated")
            return entry["where"]
        if where == "gated":
            self._place(entry, "active")
        elif where == "unschedulable" and changed:
            self._requeue(entry, now)
        elif where == "active" and changed:
            self._place(entry, "active")  # re-sort with the new priority
        return entry["where"]

    def delete(self, key: str) -> bool:
        entry = self.entries.pop(key, None)
        if entry is None:
            return False
        self.counts[entry["where"]] -= 1
        self.unschedulable.pop(key, None)
        return True

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def where(self, key: str) -> str | None:
        entry = self.entries.get(key)
        return entry["where"] if entry else None

    # --- the cycle ---------------------------------------------------------------------------------
    def has_active(self) -> bool:
        return self.counts["active"] > 0

    def pop(self) -> str | None:
        while self.active:
            _p, _t, _s, key, version = heapq.heappop(self.active)
            entry = self.entries.get(key)
            if entry is None or entry["version"] != version or entry["where"] != "active":
                continue
            self.cycle += 1
            entry["cycle"] = self.cycle
            entry["attempts"] += 1
            self._place(entry, "in_flight")
            return key
        return None

    def attempts(self, key: str) -> int:
        entry = self.entries.get(key)
        return entry["attempts"] if entry else 0

    def done(self, key: str) -> None:
        """Scheduled (the binding is on its way): the pod leaves the queue."""
        self.delete(key)

    def failed(self, key: str, plugins, now: int) -> str | None:
        """AddUnschedulableIfNotPresent after a failed cycle."""
        entry = self.entries.get(key)
        if entry is None or entry["where"] != "in_flight":
            return None
        entry["timestamp"] = now
        entry["plugins"] = sorted(p for p in plugins if p)
        entry["backoff_until"] = now + self.backoff_duration(entry["attempts"])
        entry["since"] = now
        if self.move_cycle >= entry["cycle"] or not entry["plugins"]:
            self._place(entry, "backoff")
        else:
            self._place(entry, "unschedulable")
        return entry["where"]

    def backoff_now(self, key: str, now: int) -> None:
        """Straight to backoffQ (a binding that failed: an error, not a rejection)."""
        entry = self.entries.get(key)
        if entry is None:
            return
        entry["timestamp"] = entry["since"] = now
        entry["backoff_until"] = now + self.backoff_duration(max(1, entry["attempts"]))
        self._place(entry, "backoff")

    def backoff_duration(self, attempts: int) -> int:
        duration = self.initial_backoff_us
        for _ in range(1, attempts):
            if duration > self.max_backoff_us - duration:
                return self.max_backoff_us
            duration += duration
        return duration

    # --- cluster events -------------------------------------------------------------------------------
    def move(self, interested: set | None, now: int) -> list[str]:
        """MoveAllToActiveOrBackoffQueue: unschedulable pods rejected by one of `interested`
        (None: every pod) go back. Returns the keys moved, in order."""
        self.move_cycle = self.cycle
        moved = []
        for key in sorted(self.unschedulable):
            entry = self.entries[key]
            if interested is None or any(p in interested for p in entry["plugins"]):
                self._requeue(entry, now)
                moved.append(key)
        return moved

    def _requeue(self, entry: dict, now: int) -> None:
        self._place(entry, "backoff" if entry["backoff_until"] > now else "active")

    def flush(self, now: int) -> list[str]:
        """Back-off over -> activeQ (flushBackoffQCompleted)."""
        moved = []
        while self.backoff and self.backoff[0][0] <= now:
            _until, _seq, key, version = heapq.heappop(self.backoff)
            entry = self.entries.get(key)
            if entry is None or entry["version"] != version or entry["where"] != "backoff":
                continue
            self._place(entry, "active")
            moved.append(key)
        return moved

    def flush_leftover(self, now: int) -> list[str]:
        """Pods unschedulable for longer than 5 minutes go back (flushUnschedulablePodsLeftover)."""
        moved = []
        for key in sorted(self.unschedulable):
            entry = self.entries[key]
            if now - entry["since"] > self.max_unschedulable_us:
                self._requeue(entry, now)
                moved.append(key)
        return moved

    def next_backoff(self) -> int | None:
        while self.backoff:
            until, _seq, key, version = self.backoff[0]
            entry = self.entries.get(key)
            if entry is not None and entry["version"] == version and entry["where"] == "backoff":
                return until
            heapq.heappop(self.backoff)
        return None

    # --- view -------------------------------------------------------------------------------------------
    def view(self, limit: int = 20) -> dict:
        """Each sub-queue's first `limit` pods in its own order, and the counts."""
        active = heapq.nsmallest(limit, (item for item in self.active if self._live(item[3], item[4], "active")))
        backoff = heapq.nsmallest(limit, (item for item in self.backoff if self._live(item[2], item[3], "backoff")))
        unschedulable = sorted((self.entries[k] for k in self.unschedulable), key=lambda e: (e["since"], e["key"]))[:limit]
        gated = sorted(k for k, e in self.entries.items() if e["where"] == "gated")[:limit]
        in_flight = sorted(k for k, e in self.entries.items() if e["where"] == "in_flight")
        return {
            "active": [{"pod": key, "priority": -p, "attempts": self.entries[key]["attempts"], "since": t / SECOND} for p, t, _s, key, _v in active],
            "backoff": [{"pod": key, "until": until / SECOND, "attempts": self.entries[key]["attempts"]} for until, _s, key, _v in backoff],
            "unschedulable": [{"pod": e["key"], "since": e["since"] / SECOND, "plugins": list(e["plugins"]), "attempts": e["attempts"]} for e in unschedulable],
            "gated": gated,
            "in_flight": in_flight,
            "counts": {q: self.counts[q] for q in ("active", "backoff", "unschedulable", "gated", "in_flight")},
        }

    def _live(self, key: str, version: int, where: str) -> bool:
        entry = self.entries.get(key)
        return entry is not None and entry["version"] == version and entry["where"] == where
