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
- `entries`: the log, `entries[i]` holding index i + 1. Entries are dicts
  {"index", "term", "data"} and are never changed once written (they may be shared
  with the Raft node and with messages in flight).
- `save(hard_state, entries)`: `hard_state` is None or {"term", "vote"}; `entries`
  is a contiguous run whose first index is at most len(entries) + 1. Every stored
  entry at or after that first index is replaced (a follower truncating a conflicting
  suffix); entries before it stay.

Nothing else survives a crash: commit index, applied index, role, leader, votes
received, replication progress, pending reads. The member rebuilds its key-value store
after a restart by applying the log again as the commit index becomes known (the
paper's model; etcd instead keeps a snapshot of the store on disk, which this
simulation does not need because its logs are never compacted).
"""


class Storage:
    __slots__ = ("term", "vote", "entries")

    def __init__(self, term: int = 0, vote: str | None = None, entries: list | None = None):
        self.term = term
        self.vote = vote
        self.entries: list[dict] = list(entries) if entries else []

    def save(self, hard_state: dict | None, entries: list) -> None:
        if hard_state is not None:
            self.term = hard_state["term"]
            self.vote = hard_state["vote"]
        if entries:
            first = entries[0]["index"]
            if first > len(self.entries) + 1:
                raise ValueError(f"storage: entries start at {first}, after the last stored index {len(self.entries)} + 1")
            del self.entries[first - 1 :]
            self.entries.extend(entries)

    @property
    def last_index(self) -> int:
        return len(self.entries)

    def __getstate__(self):
        return {"term": self.term, "vote": self.vote, "entries": self.entries}

    def __setstate__(self, state):
        self.term = state["term"]
        self.vote = state["vote"]
        self.entries = state["entries"]

    def __repr__(self):
        return f"Storage(term={self.term}, vote={self.vote!r}, last_index={len(self.entries)})"
