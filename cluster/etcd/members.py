"""Building the etcd members of a cluster, and the cluster-wide etcd picture.

    from cluster.etcd import build_members, etcd_view
    members = build_members(sim, 3, PROFILES["teaching"])          # etcd-0, etcd-1, etcd-2
    members = build_members(sim, 5, profile, pre_vote=False, election_max_us=...)
    snapshot["etcd"] = etcd_view(members)

`sim.net` must be set before members are added (they register as network endpoints).
Timings default to the profile's raft_* values, snapshots to its etcd_snapshot_* values;
each can be overridden per cluster.
"""

from ..kernel import Simulation
from .member import EtcdMember
from .raft import LEADER

MIN_MEMBERS = 1
KEYSPACE_LIMIT = 200  # keys shown by the key-space browser (the snapshot stays small)
VALUE_PREVIEW = 120  # characters of each value shown there (objects under /registry are long JSON)


def _preview(kv: dict) -> dict:
    value = kv.get("value")
    if isinstance(value, str) and len(value) > VALUE_PREVIEW:
        return {**kv, "value": value[:VALUE_PREVIEW] + "…", "truncated": True, "size": len(value)}
    return kv
MAX_MEMBERS = 7


def member_names(count: int) -> list[str]:
    return [f"etcd-{i}" for i in range(count)]


def build_members(
    sim: Simulation,
    count: int,
    profile,
    *,
    pre_vote: bool = True,
    check_quorum: bool = True,
    heartbeat_us: int | None = None,
    election_min_us: int | None = None,
    election_max_us: int | None = None,
    request_timeout_us: int | None = None,
    snapshot_count: int | None = None,
    snapshot_catchup: int | None = None,
) -> list[EtcdMember]:
    """Create etcd-0 .. etcd-(count-1), add them to `sim` and return them."""
    if isinstance(count, bool) or not isinstance(count, int) or not MIN_MEMBERS <= count <= MAX_MEMBERS:
        raise ValueError(f"etcd members must be a whole number from {MIN_MEMBERS} to {MAX_MEMBERS}")
    names = member_names(count)
    timings = {
        "heartbeat_us": heartbeat_us or profile.raft_heartbeat_us,
        "election_min_us": election_min_us or profile.raft_election_min_us,
        "election_max_us": election_max_us or profile.raft_election_max_us,
        "snapshot_count": snapshot_count or profile.etcd_snapshot_count,
        "snapshot_catchup": profile.etcd_snapshot_catchup if snapshot_catchup is None else snapshot_catchup,
    }
    members = []
    for name in names:
        member = EtcdMember(sim, name, names, pre_vote=pre_vote, check_quorum=check_quorum, request_timeout_us=request_timeout_us, **timings)
        members.append(member)
    for member in members:
        sim.add(member)
    return members


def find_leader(members) -> EtcdMember | None:
    """The live member that leads in the highest term (a stale leader in a minority
    partition may still believe it leads in an older one)."""
    best = None
    for member in members:
        raft = member.raft
        if member.alive and raft is not None and raft.role == LEADER and (best is None or raft.term > best.raft.term):
            best = member
    return best


def etcd_view(members) -> dict:
    """The snapshot's "etcd" part: {"members": [view, ...], "keyspace" (up to KEYSPACE_LIMIT
    keys of the leader's store), "keyspace_from", "watches" (every watch the live members
    serve), "leader", "revision", "quorum", "alive", "size"}. "revision" is the leader's store revision (the newest
    any live member has, when there is no leader)."""
    members = list(members)
    leader = find_leader(members)
    alive = [m for m in members if m.alive]
    if leader is not None:
        revision = leader.store.revision
    else:
        revision = max((m.store.revision for m in alive if m.store is not None), default=None)
    # The key-space browser reads the most up-to-date store: the leader's, else the newest live one.
    source = leader or max((m for m in alive if m.store is not None), key=lambda m: m.store.revision, default=None)
    return {
        "members": [m.view() for m in members],
        "keyspace": [_preview(kv) for kv in source.keyspace(limit=KEYSPACE_LIMIT)] if source is not None else [],
        "keyspace_from": source.name if source is not None else None,
        "watches": [dict(w, member=m.name) for m in alive for w in m.watch_view()],
        "leader": leader.name if leader else None,
        "revision": revision,
        "size": len(members),
        "alive": len(alive),
        "quorum": len(members) // 2 + 1,
    }
