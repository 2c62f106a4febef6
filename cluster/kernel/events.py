"""The event log: everything that happens, in order, with contiguous sequence numbers.

An event is a JSON-safe dict, fixed by shared/DESIGN.md section 4:

    {"seq": 17, "time": 1.25, "kind": "raft.send", "source": "etcd-0", "target": "etcd-2",
     "summary": "etcd-0 asks etcd-2 for its vote (term 2)", "data": {...}}

The log keeps a bounded window of the newest events (older ones are dropped, never
renumbered) and a chained digest of every event ever appended, so two runs can be
compared byte for byte without keeping whole logs. Events are folded into the chain in
fixed blocks of FOLD_EVERY (chain = sha256(chain + JSON list of the block)): encoding a
block in one call is several times cheaper than one event at a time, and fixed block
boundaries keep the digest independent of when anyone asks for it. The chain is a plain
string, so it survives a checkpoint.
"""

import hashlib
import json
from collections import deque

US_PER_SECOND = 1_000_000


FOLD_EVERY = 1024


# Events are trees of plain data, never cyclic: the encoder need not look for cycles (the
# same bytes as json.dumps with these separators, a little cheaper). Encoding is about a
# third of a busy simulation's time (bench/RESULTS.md), so it is kept to one pass.
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, check_circular=False)


def encode_events(events: list[dict]) -> bytes:
    # Insertion order is deterministic (the same code builds every event), so no sort_keys.
    return _ENCODER.encode(events).encode()


class EventLog:
    # The window of recent events is history, not state: the chain digest stands for it.
    _unhashed = ("events", "unfolded")

    def __init__(self, window: int = 200_000):
        self.window = window
        self.events: deque = deque()
        self.last_seq = 0
        self.chain = "0" * 64
        self.unfolded: list[dict] = []

    def append(self, time_us: int, kind: str, source: str, target: str | None, summary: str, data: dict) -> dict:
        seq = self.last_seq = self.last_seq + 1
        event = {"seq": seq, "time": time_us / US_PER_SECOND, "kind": kind, "source": source, "target": target, "summary": summary, "data": data}
        unfolded = self.unfolded
        unfolded.append(event)
        if len(unfolded) >= FOLD_EVERY:
            self.chain = self._fold(self.chain, unfolded)
            self.unfolded = []
        events = self.events
        events.append(event)
        if len(events) > self.window:
            events.popleft()
        return event

    @property
    def first_seq(self) -> int:
        """The oldest sequence number still held (last_seq + 1 when empty)."""
        return self.events[0]["seq"] if self.events else self.last_seq + 1

    def since(self, after: int, limit: int | None = None) -> list[dict] | None:
        """Events with seq > after, oldest first; None when some of them are gone."""
        after = max(after, 0)
        if after >= self.last_seq:
            return []
        if after + 1 < self.first_seq:
            return None
        start = after + 1 - self.first_seq
        stop = len(self.events) if limit is None else min(len(self.events), start + limit)
        return [self.events[i] for i in range(start, stop)]

    @staticmethod
    def _fold(chain: str, block: list[dict]) -> str:
        return hashlib.sha256(chain.encode() + encode_events(block)).hexdigest()

    def digest(self) -> str:
        """The chained sha256 of every event appended so far."""
        return self._fold(self.chain, self.unfolded) if self.unfolded else self.chain
