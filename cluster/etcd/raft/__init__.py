"""Raft consensus as a pure state machine (the model of etcd-io/raft, timers as RaftScope's
stored deadlines). See node.py for the state machine and its diagram, messages.py for
the wire format, storage.py for what survives a crash, progress.py for replication.

A driver (cluster/etcd/member.py) owns one `Raft` and repeats:

    raft.tick(now)                      # or raft.step(message), raft.propose(data), ...
    if raft.has_ready():
        rd = raft.ready()
        storage.save_snapshot(rd.snapshot)         # 1. persist (a leader's snapshot, if any)
        storage.save(rd.hard_state, rd.entries)
        send(rd.messages)                         # 2. send
        restore(rd.snapshot); apply(rd.committed); serve(rd.read_states)  # 3. apply
        raft.advance(rd)
        every so often: snapshot the state machine, storage.compact(...), raft.compact(...)
    set a timer for raft.next_deadline()
"""

from .messages import (
    APPEND,
    APPEND_RESP,
    HEARTBEAT,
    HEARTBEAT_RESP,
    PRE_VOTE,
    PRE_VOTE_RESP,
    PROPOSE,
    READ_INDEX,
    READ_INDEX_RESP,
    SNAPSHOT,
    VOTE,
    VOTE_RESP,
)
from .node import CANDIDATE, FOLLOWER, LEADER, NO_LEADER, PRE_CANDIDATE, ROLES, Raft, Ready
from .progress import PROBE, REPLICATE, Progress
from .storage import Storage

__all__ = [
    "APPEND",
    "APPEND_RESP",
    "CANDIDATE",
    "FOLLOWER",
    "HEARTBEAT",
    "HEARTBEAT_RESP",
    "LEADER",
    "NO_LEADER",
    "PRE_CANDIDATE",
    "PRE_VOTE",
    "PRE_VOTE_RESP",
    "PROBE",
    "PROPOSE",
    "Progress",
    "READ_INDEX",
    "READ_INDEX_RESP",
    "REPLICATE",
    "ROLES",
    "Raft",
    "Ready",
    "SNAPSHOT",
    "Storage",
    "VOTE",
    "VOTE_RESP",
]
