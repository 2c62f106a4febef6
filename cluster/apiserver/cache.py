"""The watch cache: the API server's copy of everything under /registry/, fed by one
etcd watch, with a window of recent changes for watches and consistent snapshots.

A worked example (capacity 3 events):

    cache.replace([kv(/registry/pods/default/a, rev 5)], revision=7)   revision 7, floor 7
    cache.apply(PUT  /registry/pods/default/b  rev 8)  -> ADDED b        events: [8]
    cache.apply(PUT  /registry/pods/default/a  rev 9)  -> MODIFIED a     events: [8, 9]
    cache.apply(DEL  /registry/pods/default/b  rev 10) -> DELETED b      events: [8, 9, 10]
    cache.apply(PUT  /registry/pods/default/c  rev 11) -> ADDED c        events: [9, 10, 11], floor 8
    cache.events_since(8, "pods")   -> the events of revisions 9, 10, 11
    cache.events_since(7, "pods")   -> Expired("too old resource version: 7 (8)")
    cache.snapshot("pods", 9)       -> {a (rev 9), b (rev 8)}: the state right after revision 9

`floor` is the oldest resourceVersion a watch or an exact list can start from: every
change after it is still in the window. A compaction of etcd (done by the API server's
compactor) raises it too, so the cache never promises history that etcd no longer has.

An event is a tuple (revision, plural, type, key, object, previous object); DELETED
carries the last state with the deletion's resourceVersion, as kube-apiserver sends it.
Objects are shared between the map and the events: treat them as read-only and copy
before changing (meta.copy_json).
"""

import bisect
from collections.abc import Iterator

from .meta import decode
from .resources import parse_key

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"


class Expired(Exception):
    def __init__(self, requested: int, floor: int):
        super().__init__(f"too old resource version: {requested} ({floor})")
        self.requested = requested
        self.floor = floor


def _rev_of(event: tuple) -> int:
    return event[0]


class WatchCache:
    def __init__(self, capacity: int = 5000):
        self.capacity = max(1, capacity)
        self.revision = 0
        self.floor = 0
        self.objects: dict[str, dict[str, dict]] = {}  # plural -> key -> object
        self.keys: dict[str, list[str]] = {}  # plural -> sorted keys
        self.events: list[tuple] = []
        self.ready = False

    # --- feeding ----------------------------------------------------------------------------
    def replace(self, kvs: list[dict], revision: int) -> None:
        """Start over from a full list of etcd at `revision` (the initial list or a relist)."""
        self.objects = {}
        self.keys = {}
        for kv in kvs:
            parsed = parse_key(kv["key"])
            if parsed is None:
                continue
            plural = parsed[0]["plural"]
            try:
                obj = decode(kv["value"], kv["mod_revision"])
            except ValueError:
                continue
            self.objects.setdefault(plural, {})[kv["key"]] = obj
        for plural, objs in self.objects.items():
            self.keys[plural] = sorted(objs)
        self.events = []
        self.revision = revision
        self.floor = revision
        self.ready = True

    def apply(self, event: dict) -> tuple | None:
        """Apply one etcd watch event ({"type": PUT|DELETE, "kv", "prev_kv"}); the cache
        event it makes, or None (a key outside the API, an event already seen)."""
        kv = event["kv"]
        revision = kv["mod_revision"]
        if revision <= self.revision and self.events and self.events[-1][0] >= revision and self._seen(kv["key"], revision):
            return None
        self.revision = max(self.revision, revision)
        parsed = parse_key(kv["key"])
        if parsed is None:
            return None
        plural = parsed[0]["plural"]
        key = kv["key"]
        objs = self.objects.setdefault(plural, {})
        prev = objs.get(key)
        if event["type"] == "DELETE":
            if prev is None:
                return None
            gone = dict(prev)
            gone["metadata"] = dict(prev.get("metadata") or {}, resourceVersion=str(revision))
            del objs[key]
            keys = self.keys[plural]
            del keys[bisect.bisect_left(keys, key)]
            out = (revision, plural, DELETED, key, gone, prev)
        else:
            try:
                obj = decode(kv["value"], revision)
            except ValueError:
                return None
            objs[key] = obj
            if prev is None:
                bisect.insort(self.keys.setdefault(plural, []), key)
            out = (revision, plural, ADDED if prev is None else MODIFIED, key, obj, prev)
        self.events.append(out)
        if len(self.events) > self.capacity + self.capacity // 4:
            self._trim(len(self.events) - self.capacity)
        return out

    def _seen(self, key: str, revision: int) -> bool:
        i = bisect.bisect_left(self.events, revision, key=_rev_of)
        while i < len(self.events) and self.events[i][0] == revision:
            if self.events[i][3] == key:
                return True
            i += 1
        return False

    def advance(self, revision: int) -> None:
        """etcd says everything up to `revision` has been sent (a progress notification)."""
        self.revision = max(self.revision, revision)

    def _trim(self, count: int) -> None:
        if count <= 0:
            return
        self.floor = max(self.floor, self.events[count - 1][0])
        del self.events[:count]

    def compacted(self, revision: int) -> None:
        """etcd history up to `revision` is gone: promise nothing older."""
        if revision <= self.floor:
            return
        i = bisect.bisect_right(self.events, revision, key=_rev_of)
        del self.events[:i]
        self.floor = revision

    # --- reading ------------------------------------------------------------------------------
    def get(self, plural: str, key: str) -> dict | None:
        return self.objects.get(plural, {}).get(key)

    def count(self, plural: str) -> int:
        return len(self.objects.get(plural, {}))

    def items(self, plural: str, prefix: str = "", start: str = "") -> list[tuple[str, dict]]:
        """(key, object) pairs of the resource, sorted by key, under `prefix`, from `start` on."""
        keys = self.keys.get(plural, [])
        objs = self.objects.get(plural, {})
        i = bisect.bisect_left(keys, max(prefix, start))
        out = []
        while i < len(keys) and keys[i].startswith(prefix):
            out.append((keys[i], objs[keys[i]]))
            i += 1
        return out

    def snapshot(self, plural: str, revision: int) -> dict[str, dict]:
        """The resource's objects as they were right after `revision` (floor <= revision <=
        self.revision), undoing the window's later changes."""
        if revision < self.floor:
            raise Expired(revision, self.floor)
        state = dict(self.objects.get(plural, {}))
        for rev, plural_, kind, key, _obj, prev in reversed(self.events):
            if rev <= revision:
                break
            if plural_ != plural:
                continue
            if kind == ADDED:
                state.pop(key, None)
            else:
                state[key] = prev
        return state

    def walk(self, plural: str, prefix: str = "", start: str = "", revision: int | None = None) -> Iterator[tuple[str, dict]]:
        """(key, object) pairs under `prefix` from `start` on, sorted by key, as they were right
        after `revision` (None: now), one at a time: a page of a list reads only its own keys
        and the window's later changes, never the whole resource (a 150,000-pod list is 300 pages)."""
        keys = self.keys.get(plural, [])
        objs = self.objects.get(plural, {})
        lo = max(prefix, start)
        undo = self._undo(plural, revision)
        # keys deleted since `revision`: in the snapshot, no longer in the sorted keys
        gone = sorted(k for k, before in undo.items() if before is not None and k not in objs and k.startswith(prefix) and k >= lo)
        i, j = bisect.bisect_left(keys, lo), 0
        while True:
            here = keys[i] if i < len(keys) and keys[i].startswith(prefix) else None
            was = gone[j] if j < len(gone) else None
            if here is None and was is None:
                return
            if was is None or (here is not None and here < was):
                key, i = here, i + 1
            else:
                key, j = was, j + 1
            obj = undo[key] if key in undo else objs[key]
            if obj is not None:
                yield key, obj

    def count_after(self, plural: str, prefix: str, after: str, revision: int | None = None) -> int:
        """How many keys under `prefix` sort after `after`, as of `revision` (a list's remainingItemCount)."""
        keys = self.keys.get(plural, [])
        objs = self.objects.get(plural, {})
        end = bisect.bisect_left(keys, prefix + "\U0010ffff") if prefix else len(keys)
        count = max(0, end - bisect.bisect_right(keys, after))
        for key, before in self._undo(plural, revision).items():
            if key > after and key.startswith(prefix):
                count += (before is not None) - (key in objs)
        return count

    def _undo(self, plural: str, revision: int | None) -> dict[str, dict | None]:
        """Each key the window changed after `revision`: its object then (None: it did not exist)."""
        if revision is None or revision >= self.revision:
            return {}
        if revision < self.floor:
            raise Expired(revision, self.floor)
        undo: dict[str, dict | None] = {}
        for rev, plural_, kind, key, _obj, prev in reversed(self.events):
            if rev <= revision:
                break
            if plural_ == plural:
                undo[key] = None if kind == ADDED else prev  # the earliest change after `revision` has the last word
        return undo

    def events_since(self, revision: int, plural: str | None = None) -> list[tuple]:
        """The events after `revision` (of one resource, or all), oldest first."""
        if revision < self.floor:
            raise Expired(revision, self.floor)
        i = bisect.bisect_right(self.events, revision, key=_rev_of)
        if plural is None:
            return self.events[i:]
        return [e for e in self.events[i:] if e[1] == plural]

    def view(self) -> dict:
        return {
            "revision": self.revision,
            "floor": self.floor,
            "window": len(self.events),
            "objects": {plural: len(objs) for plural, objs in sorted(self.objects.items()) if objs},
        }
