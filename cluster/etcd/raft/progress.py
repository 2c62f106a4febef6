"""What a leader knows about each follower's log (etcd-io/raft's Progress, reduced).

    match   the highest index known to be identical on the follower (0: nothing known)
    next    the next index to send

A follower is in one of three states:

    PROBE ──(AppendEntries accepted)──> REPLICATE
     ^  │ ^                                 │
     │  │ └─────(AppendEntries rejected)────┘
     │  │ the entries it needs are compacted
     │  v
    SNAPSHOT ──(accepted at or past the snapshot)──> REPLICATE
       └──(the snapshot was lost: back to PROBE)

PROBE: the leader does not know where the logs agree. It sends one AppendEntries and
waits (`probe_sent`) for the answer or the next heartbeat response before sending
another, backing `next` off with the follower's reject hint.
REPLICATE: the logs agree up to `match`; the leader streams new entries as they come and
moves `next` past them optimistically, without waiting for each answer.

SNAPSHOT: the follower needs entries the leader has compacted away; the leader sent it
its snapshot (`pending_snapshot`: its index) and sends nothing else until it is answered.

`recent_active` is set by any response and cleared by the leader's check-quorum round:
a leader that has not heard from a quorum in an election timeout steps down.
"""

PROBE = "probe"
REPLICATE = "replicate"
SNAPSHOT = "snapshot"


class Progress:
    __slots__ = ("match", "next", "state", "probe_sent", "recent_active", "pending_snapshot")

    def __init__(self, next_index: int):
        self.match = 0
        self.next = next_index
        self.state = PROBE
        self.probe_sent = False
        self.recent_active = True
        self.pending_snapshot = 0

    def __repr__(self):
        return f"Progress(match={self.match}, next={self.next}, state={self.state})"
