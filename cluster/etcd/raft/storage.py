"""`Storage`: a Raft node's disk, the state that survives a crash.

Raft needs exactly three things to be durable: the current term, the vote cast in it,
and the log. A member owns one `Storage`; the Raft node reads it once, when it is
created (at start and after every restart), and from then on hands every change over
through `Ready` (`hard_state` and `entries`). The member writes them here before it
sends the messages of the same `Ready` ("persist before send"). In the simulation a
whole `Ready` is handled inside one kernel action and a crash happens between actions,
so a write is never torn.

Contract:
- `term`, `vote`: the last hard state saved (0 and None on a fresh disk).
- `snapshot`: None, or {"index", "term", "data"}: the state machine (an MVCC store,
  never changed once taken) after applying every entry up to "index", whose term is
  "term". Taken by the member every few thousand entries, or received from the leader.
- `entries`: the log after the compaction point `offset` (whose term is `offset_term`):
  `entries[i]` holds index offset + i + 1. Entries are dicts {"index", "term", "data"}
  and are never changed once written (they may be shared with the Raft node and with
  messages in flight). `offset` is at most the snapshot's index: a member keeps some
  entries the snapshot already covers (etcd's catch-up entries), so that a follower a
  little behind gets entries, not the whole snapshot.
- `save(hard_state, entries)`: `hard_state` is None or {"term", "vote"}; `entries`
  is a contiguous run whose first index is after `offset` and at most last_index + 1.
  Every stored entry at or after that first index is replaced (a follower truncating a
  conflicting suffix); entries before it stay.
- `save_snapshot(snapshot)`: a snapshot from the leader replaces the whole log.
- `compact(snapshot, index, term)`: keep the member's own new snapshot and forget the
  entries up to `index` (term `term`).

Nothing else survives a crash: commit index, applied index, role, leader, votes
received, replication progress, pending reads. After a restart the member's store is
the snapshot's (or empty), and the entries after it are applied again as the commit
index becomes known (etcd's model: snapshot plus write-ahead log).
"""


class Storage:
    __slots__ = ("term", "vote", "entries", "snapshot", "offset", "offset_term")

    def __init__(self, term: int = 0, vote: str | None = None, entries: list | None = None):
        self.term = term
        self.vote = vote
        self.entries: list[dict] = list(entries) if entries else []
        self.snapshot: dict | None = None
        self.offset = 0
        self.offset_term = 0

    def save(self, hard_state: dict | None, entries: list) -> None:
        if hard_state is not None:
            self.term = hard_state["term"]
            self.vote = hard_state["vote"]
        if entries:
            first = entries[0]["index"]
            last = self.offset + len(self.entries)
            if first > last + 1:
                raise ValueError(f"storage: entries start at {first}, after the last stored index {last} + 1")
            if first <= self.offset:
                raise ValueError(f"storage: entries start at {first}, at or before the compaction point {self.offset}")
            del self.entries[first - self.offset - 1 :]
            self.entries.extend(entries)

    def save_snapshot(self, snapshot: dict) -> None:
        self.snapshot = snapshot
        self.entries = []
        self.offset = snapshot["index"]
        self.offset_term = snapshot["term"]

    def compact(self, snapshot: dict, index: int, term: int) -> None:
        if not self.offset <= index <= snapshot["index"] <= self.last_index:
            raise ValueError(f"storage: cannot compact to {index} with a snapshot at {snapshot['index']} (log {self.offset}..{self.last_index})")
        self.snapshot = snapshot
        del self.entries[: index - self.offset]
        self.offset = index
        self.offset_term = term

    @property
    def last_index(self) -> int:
        return self.offset + len(self.entries)

    @property
    def snapshot_index(self) -> int:
        return self.snapshot["index"] if self.snapshot is not None else 0

    def __getstate__(self):
        state = {"term": self.term, "vote": self.vote, "entries": self.entries}
        if self.snapshot is not None or self.offset:
            state.update(snapshot=self.snapshot, offset=self.offset, offset_term=self.offset_term)
        return state

    def __setstate__(self, state):
        self.term = state["term"]
        self.vote = state["vote"]
        self.entries = state["entries"]
        self.snapshot = state.get("snapshot")
        self.offset = state.get("offset", 0)
        self.offset_term = state.get("offset_term", 0)

    def __repr__(self):
        return f"Storage(term={self.term}, vote={self.vote!r}, snapshot_index={self.snapshot_index}, offset={self.offset}, last_index={self.last_index})"
