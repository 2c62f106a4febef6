"""Raft log compaction (issue 12 item 4): etcd members snapshot their store every
`snapshot_count` applied entries and keep `snapshot_catchup` entries before the snapshot;
a follower that needs a compacted entry gets the snapshot (InstallSnapshot). Small
thresholds here, so that a few hundred writes go past many of them."""

import pytest

from cluster.etcd import find_leader
from cluster.etcd.raft import SNAPSHOT

from .etcd_harness import FAST, MILLISECOND, SECOND, Invariants, add_client, make_etcd, run, run_until_leader
from .test_linearizability import check_run
from .test_raft_invariants import assert_watched_everything, chaos_run

COUNT, CATCHUP = 40, 10


def events_of(sim, kind, source=None):
    return [e for e in sim.log.events if e["kind"] == kind and (source is None or e["source"] == source)]


def write(sim, client, members, n, *, key="k", every_us=5 * MILLISECOND, checker=None):
    """`n` puts through the leader, `every_us` apart; all must be acknowledged."""
    leader = run_until_leader(sim, members, sim.now + 5 * SECOND, checker)
    rids = []
    for i in range(n):
        rids.append(client.request(leader, "put", key=f"{key}{i % 7}", value=str(i)))
        run(sim, sim.now + every_us, checker)
    run(sim, sim.now + 2 * SECOND, checker)
    assert all(client.responses.get(rid, {}).get("ok") for rid in rids)


def setup(seed, writes, checker=None):
    """Three members with small thresholds, `writes` puts done: (sim, members, client,
    checker, leader, a follower). `checker`: check the Raft invariants after every step."""
    sim, members = make_etcd(3, seed=seed, snapshot_count=COUNT, snapshot_catchup=CATCHUP)
    client = add_client(sim)
    checker = Invariants(members) if checker else None
    write(sim, client, members, writes, checker=checker)
    leader = find_leader(members)
    return sim, members, client, checker, leader, next(m for m in members if m is not leader)


def assert_same_state(members):
    """Every member applied the same entries to equal stores, and their logs agree where
    they overlap (each may start at its own compaction point)."""
    leader = find_leader(members)
    for m in members:
        assert m.raft.applied == leader.raft.applied == leader.raft.commit
        assert m.store == leader.store and m.store.digest() == leader.store.digest()
        common = max(m.raft.offset, leader.raft.offset)
        mine = [(e["index"], e["term"]) for e in m.raft.log if e["index"] > common]
        theirs = [(e["index"], e["term"]) for e in leader.raft.log if e["index"] > common]
        assert mine == theirs


def test_the_log_stays_bounded_in_a_long_write_heavy_run():
    sim, members = make_etcd(3, seed=3, snapshot_count=COUNT, snapshot_catchup=CATCHUP)
    client = add_client(sim)
    checker = Invariants(members)
    peak = 0
    for _round in range(10):
        write(sim, client, members, 60, checker=checker)
        for m in members:
            peak = max(peak, len(m.raft.log), len(m.disk.entries))
            assert m.disk.entries == m.raft.log and m.disk.offset == m.raft.offset
    leader = find_leader(members)
    assert leader.raft.last_index > 600  # far past the thresholds...
    # ...yet a log holds at most a snapshot's worth plus the catch-up tail (and the entries
    # proposed but not yet applied, none once the writes are answered).
    assert peak < COUNT + CATCHUP
    for m in members:
        assert m.raft.snapshot["index"] > leader.raft.last_index - COUNT
        assert m.raft.offset == m.raft.snapshot["index"] - CATCHUP
        assert len(events_of(sim, "raft.snapshot", m.name)) >= 600 // COUNT
    assert not events_of(sim, "raft.send_snapshot")  # nobody fell behind
    assert_same_state(members)
    view = leader.view()
    assert view["snapshot_index"] == leader.raft.snapshot["index"] and view["snapshot_term"] == leader.raft.snapshot["term"]
    assert view["log_kept"] == len(leader.raft.log) < COUNT + CATCHUP and view["log_offset"] == leader.raft.offset
    assert view["log_length"] == view["log"][-1]["index"] == leader.raft.last_index


def test_a_follower_back_after_the_leader_compacted_its_entries_gets_the_snapshot():
    sim, members, client, checker, leader, lagging = setup(5, 20, checker=True)
    behind = lagging.raft.last_index
    sim.crash(lagging.name)
    write(sim, client, members, 200, key="while-down", checker=checker)
    assert leader.raft.offset > behind  # the entries it needs are gone from the leader
    sim.restart(lagging.name)
    run(sim, sim.now + 3 * SECOND, checker)

    sent = events_of(sim, "raft.send_snapshot", leader.name)
    assert sent and sent[-1]["target"] == lagging.name and sent[-1]["data"]["needed"] <= behind + 1
    restored = events_of(sim, "raft.restore", lagging.name)
    assert len(restored) == 1 and restored[0]["target"] == leader.name
    assert restored[0]["data"]["index"] >= leader.raft.offset
    delivered = [e for e in sim.log.events if e["kind"] == "net.deliver" and e["data"]["kind"] == "raft." + SNAPSHOT]
    assert delivered and delivered[-1]["target"] == lagging.name
    assert lagging.raft.offset == restored[0]["data"]["index"]  # its old log is gone
    # The store restored from the snapshot is the leader's, and both go on together.
    assert_same_state(members)
    write(sim, client, members, 30, key="after", checker=checker)
    assert_same_state(members)
    assert lagging.store.get("after1")["value"] == "29"  # the last of the 30 puts (29 % 7 == 1)
    assert lagging.store.revision == leader.store.revision


def test_a_restarted_member_recovers_from_its_snapshot_and_the_log_after_it():
    sim, members, client, _, leader, member = setup(7, 130)
    disk = member.disk
    assert disk.snapshot is not None and disk.entries[0]["index"] == disk.offset + 1
    on_disk = disk.snapshot["data"]
    sim.crash(member.name)
    sim.restart(member.name)
    # Right after the restart, before any commit is known: the snapshot's store, not an empty one.
    assert member.store == on_disk and member.store is not on_disk
    assert member.raft.applied == member.raft.commit == disk.snapshot_index
    restart = events_of(sim, "raft.restart", member.name)[-1]
    assert restart["data"]["snapshot_index"] == disk.snapshot_index and restart["data"]["log"] == len(disk.entries)
    run(sim, sim.now + 3 * SECOND)
    assert_same_state(members)
    assert not events_of(sim, "raft.send_snapshot")  # its own snapshot and log were enough


def test_a_partitioned_follower_catches_its_watchers_up_from_the_snapshot():
    sim, members, client, _, leader, cut = setup(11, 10)
    client.watch(cut.name, 1, "", prefix=True, start_revision=leader.store.revision + 1)
    run(sim, sim.now + 200 * MILLISECOND)
    start = leader.store.revision + 1
    sim.net.partition([[m.name for m in members if m is not cut], [cut.name]])
    write(sim, client, members, 150)
    sim.net.heal()
    run(sim, sim.now + 3 * SECOND)
    assert events_of(sim, "raft.restore", cut.name)
    assert_same_state(members)
    # The watch on the restored member saw every change exactly once, in order.
    messages = [p for source, p in client.watch_events if source == cut.name and p["watch_id"] == 1]
    assert [p["seq"] for p in messages] == list(range(1, len(messages) + 1))
    seen = [e for p in messages for e in p["events"]]
    assert seen == leader.store.events_since(start, "", prefix=True) and len(seen) == 150


def test_a_lost_snapshot_is_sent_again():
    sim, members, client, _, leader, lagging = setup(13, 5)
    sim.crash(lagging.name)
    write(sim, client, members, 120)
    sim.restart(lagging.name)
    while not events_of(sim, "raft.send_snapshot"):
        sim.step()
    sim.crash(lagging.name)  # while the snapshot is on its way: the network drops it
    run(sim, sim.now + SECOND)
    lost = [e for e in sim.log.events if e["kind"] == "net.drop" and e["data"]["kind"] == "raft." + SNAPSHOT]
    assert len(lost) == 1 and not events_of(sim, "raft.restore")
    assert leader.raft.progress[lagging.name].state == "probe"  # not waiting for an answer that cannot come
    sim.restart(lagging.name)
    run(sim, sim.now + 3 * SECOND)
    assert len(events_of(sim, "raft.send_snapshot", leader.name)) == 2
    assert len(events_of(sim, "raft.restore", lagging.name)) == 1
    assert_same_state(members)


@pytest.mark.parametrize("seed", range(1, 7))
def test_linearizable_under_faults_with_compaction(seed):
    outcomes, size, _ = check_run(seed, 3, snapshot_count=20, snapshot_catchup=5)
    assert size > 150


@pytest.mark.parametrize("seed", range(1, 7))
def test_raft_safety_under_faults_with_compaction(seed):
    sim, members, client, chaos, checker = chaos_run(500 + seed, 5, fifo=False, snapshot_count=20, snapshot_catchup=5)
    assert_same_state(members)
    assert_watched_everything(members, chaos.watcher)
    assert events_of(sim, "raft.snapshot")


def test_faults_with_compaction_right_at_the_snapshot_send_snapshots():
    """No catch-up entries (the log compacted up to the snapshot itself): any follower a
    little behind gets the snapshot, and the cluster stays safe and converges."""
    restores = 0
    for seed in range(1, 4):
        sim, members, client, chaos, checker = chaos_run(500 + seed, 5, fifo=False, snapshot_count=10, snapshot_catchup=0)
        assert_same_state(members)
        restores += len(events_of(sim, "raft.restore"))
    assert restores > 5


def test_thresholds_are_checked():
    with pytest.raises(ValueError):
        make_etcd(3, profile=FAST, snapshot_count=10, snapshot_catchup=10)
