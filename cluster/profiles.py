"""Timing profiles: how fast things happen in virtual time.

`teaching` (the default) is slow enough to follow one Raft message and an election by
eye at speed 1, yet a three-replica Deployment runs within about half a minute.
`realistic` uses the defaults of etcd (100 ms heartbeat, 1000 ms election timeout, a
snapshot every 10,000 entries keeping 5,000) and of Kubernetes, with a LAN's latency.
"""

from dataclasses import asdict, dataclass

from .kernel import MILLISECOND


@dataclass(frozen=True)
class Profile:
    name: str
    net_latency_us: int  # base one-way latency of a message
    net_jitter_us: int  # plus a uniform draw in [0, jitter]
    raft_heartbeat_us: int  # leader heartbeat interval
    raft_election_min_us: int  # election timeout drawn uniformly in [min, max)
    raft_election_max_us: int
    # etcd's --snapshot-count: an etcd member snapshots its store after this many applied
    # entries, then compacts its Raft log, keeping this many entries before the snapshot
    # for followers a little behind (etcd's catch-up entries).
    etcd_snapshot_count: int = 10_000
    etcd_snapshot_catchup: int = 5_000

    def as_dict(self) -> dict:
        """JSON for the view, durations in milliseconds (named *_ms)."""
        return {(k[:-3] + "_ms" if k.endswith("_us") else k): (v / 1000 if k.endswith("_us") else v) for k, v in asdict(self).items()}


TEACHING = Profile(
    name="teaching",
    net_latency_us=250 * MILLISECOND,
    net_jitter_us=100 * MILLISECOND,
    raft_heartbeat_us=1_000 * MILLISECOND,
    raft_election_min_us=3_000 * MILLISECOND,
    raft_election_max_us=6_000 * MILLISECOND,
    # Small enough to watch happen in a lesson (a busy cluster writes 100 entries in a few
    # minutes): a snapshot every 100 entries, keeping the 50 before it.
    etcd_snapshot_count=100,
    etcd_snapshot_catchup=50,
)

REALISTIC = Profile(
    name="realistic",
    net_latency_us=1 * MILLISECOND,
    net_jitter_us=1 * MILLISECOND,
    raft_heartbeat_us=100 * MILLISECOND,
    raft_election_min_us=1_000 * MILLISECOND,
    raft_election_max_us=2_000 * MILLISECOND,
)

PROFILES = {p.name: p for p in (TEACHING, REALISTIC)}
