"""Watchers on one store: who wants which keys, and from which revision.

A watch names a key (or a prefix) and a start revision. It first receives the backlog,
the events already in history from its start revision, and then, apply by apply, the
new events that match it. The hub keeps for every watcher the next revision it has yet
to see, so a client that loses its stream resumes by watching again from that revision.

A worked example (store at revision 5, events at revisions 3, 4 and 5 on keys under /p/):

    hub.add(1, "/p/", True, 4, store)   -> backlog: the events of revisions 4 and 5; next 6
    hub.add(2, "/p/a", False, 0, store) -> "from now": no backlog; next 6
    store.apply(txn writing /p/a and /p/b at revision 6) -> events e1 (/p/a), e2 (/p/b)
    hub.dispatch([e1, e2])              -> [(1, [e1, e2]), (2, [e1])]; both next 7
    hub.add(3, "/p/", True, 2, store)   -> Compacted, if the store compacted at 2 or later

Guarantees, for a caller that dispatches the events of every store apply that wrote
something, in order (the etcd member does, right after applying an entry):
- ordered: a watcher's events arrive in revision order, those of one revision in the
  order applied;
- no duplicates: an event whose revision is below the watcher's next revision (because
  the backlog already had it) is never sent again;
- no gaps: the backlog covers start revision to the store's revision at `add`, and every
  later revision arrives through dispatch; a dispatch that skips a revision raises
  ValueError instead of silently losing it;
- atomic: all the matching events of one revision (one transaction) go out in one batch;
- compaction is explicit: a start revision at or below the compact revision raises
  `Compacted` and registers nothing.

The hub is plain data: {watch_id: [key, prefix, start_revision, next_revision]}. Watch ids
must be mutually comparable (all ints, or all strings): dispatch goes in sorted id order.
"""

from .store import Compacted, Store, event_revision

__all__ = ["WatchHub"]


class WatchHub:
    __slots__ = ("_watchers", "_revision")

    def __init__(self):
        self._watchers: dict = {}
        # The revision of the last batch dispatched (0 before any), to detect gaps.
        self._revision = 0

    def __len__(self) -> int:
        return len(self._watchers)

    def __contains__(self, watch_id) -> bool:
        return watch_id in self._watchers

    def add(self, watch_id, key: str, prefix: bool, start_revision: int | None, store: Store) -> list[dict]:
        """Register a watcher and return its backlog: the events already in the store's
        history from start_revision (None or 0: from now, no backlog). After this call the
        watcher's next revision is store.revision + 1 (or start_revision, if that is
        later), and `dispatch` brings it everything from there.

        Raises Compacted if start_revision <= store.compact_revision, ValueError for a
        watch id in use or a malformed key; in both cases nothing is registered."""
        if watch_id in self._watchers:
            raise ValueError(f"watch id {watch_id!r} is in use")
        if not isinstance(prefix, bool):
            raise ValueError(f"watch: prefix must be true or false, got {prefix!r}")
        backlog = store.events_since(start_revision, key, prefix)
        start = start_revision or 0
        next_revision = max(store.revision + 1, start)
        self._watchers[watch_id] = [key, prefix, start, next_revision]
        self._revision = max(self._revision, store.revision)
        return backlog

    def cancel(self, watch_id) -> bool:
        """Forget a watcher; True if it existed."""
        return self._watchers.pop(watch_id, None) is not None

    def clear(self) -> None:
        """Forget every watcher (the serving member crashed: its streams are gone)."""
        self._watchers.clear()

    def get(self, watch_id) -> tuple | None:
        """(key, prefix, start_revision, next_revision) of one watcher, or None."""
        watcher = self._watchers.get(watch_id)
        return tuple(watcher) if watcher is not None else None

    def watchers(self) -> list[dict]:
        """Every watcher, sorted by id, as JSON-safe dicts (for the key-space browser)."""
        return [
            {"id": watch_id, "key": w[0], "prefix": w[1], "start_revision": w[2], "next_revision": w[3]}
            for watch_id, w in sorted(self._watchers.items())
        ]

    def catch_up(self, store: Store) -> tuple[list, list]:
        """The store jumped ahead (its member restored a snapshot): bring every watcher the
        history it has not seen, as the store now holds it. Returns ([(watch_id, [events])],
        [(watch_id, compact_revision)]): the second, watchers whose next revision the
        store has compacted away, are forgotten (the member cancels them, "compacted")."""
        routed, compacted = [], []
        for watch_id in sorted(self._watchers):
            watcher = self._watchers[watch_id]
            if watcher[3] > store.revision:
                continue
            try:
                events = store.events_since(watcher[3], watcher[0], watcher[1])
            except Compacted as exc:
                compacted.append((watch_id, exc.compact_revision))
                continue
            watcher[3] = store.revision + 1
            if events:
                routed.append((watch_id, events))
        for watch_id, _ in compacted:
            del self._watchers[watch_id]
        self._revision = max(self._revision, store.revision)
        return routed, compacted

    def dispatch(self, events: list[dict]) -> list[tuple]:
        """Route the events of one store apply (all of one revision) to the watchers.

        Returns [(watch_id, [events]), ...] in watch id order, one entry per watcher with
        at least one matching event, its events in the order given. Event dicts are shared
        between watchers: treat them as read-only. Every watcher's next revision moves
        past this revision, matched or not. Raises ValueError if the events span several
        revisions or skip one since the last dispatch."""
        if not events:
            return []
        revision = event_revision(events[0])
        for event in events:
            if event_revision(event) != revision:
                raise ValueError(f"dispatch: events of revisions {revision} and {event_revision(event)} in one batch")
        if self._revision and revision > self._revision + 1:
            raise ValueError(f"dispatch: revision {revision} follows {self._revision}: revisions in between were never dispatched")
        self._revision = max(self._revision, revision)
        out = []
        for watch_id in sorted(self._watchers):
            watcher = self._watchers[watch_id]
            key, prefix, _start, next_revision = watcher
            if revision < next_revision:
                continue
            if prefix:
                matched = [event for event in events if event["kv"]["key"].startswith(key)]
            else:
                matched = [event for event in events if event["kv"]["key"] == key]
            watcher[3] = revision + 1
            if matched:
                out.append((watch_id, matched))
        return out

