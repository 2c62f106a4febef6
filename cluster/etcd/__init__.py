"""etcd in the simulation: Raft consensus (raft/), the MVCC store and watches (mvcc/), and
the member component that joins them on the simulated network (member.py).

    from cluster.etcd import build_members, etcd_view, find_leader
    members = build_members(sim, 3, profile)        # etcd-0..etcd-2, added to sim
"""

from .member import EtcdMember
from .members import MAX_MEMBERS, MIN_MEMBERS, build_members, etcd_view, find_leader, member_names

__all__ = ["EtcdMember", "MAX_MEMBERS", "MIN_MEMBERS", "build_members", "etcd_view", "find_leader", "member_names"]
