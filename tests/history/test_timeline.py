"""The in-memory timeline without a server: following recorded commands, splitting off the
future, where two timelines part, checkpoints that keep the state hash."""

import pickle

from cluster.cluster import Cluster, ClusterConfig
from cluster.kernel import SECOND
from dashboard.history.recorder import parting
from dashboard.history.timeline import CHECKPOINT_EVENTS, ReplayError, Timeline, checkpoint_bytes, follow, position, rebuild

CONFIG = ClusterConfig(name="t", seed=4, nodes=0, profile="realistic")


def recorded_run() -> tuple[Cluster, list[dict]]:
    """A cluster driven live: commands at odd positions, one in the middle of a timestamp."""
    cluster = Cluster(CONFIG)
    cluster.advance(3 * SECOND)
    cluster.command({"type": "fault", "action": "crash", "target": "etcd-0"})
    cluster.sim.run_until(cluster.sim.now + 2 * SECOND, max_actions=57)  # stops part way, as a slice does
    cluster.command({"type": "etcd", "op": "put", "key": "/k", "value": "v"})
    cluster.advance(4 * SECOND)
    cluster.command({"type": "fault", "action": "restart", "target": "etcd-0"})
    cluster.advance(3 * SECOND)
    entries = [{"seq": i, **e} for i, e in enumerate(cluster.command_log, start=1)]
    entries.insert(1, {"seq": 99, "at": entries[0]["at"], "after": entries[0]["after"], "command": {"type": "clock", "paused": True, "speed": 2.0}})
    return cluster, entries


def test_follow_applies_each_command_where_it_was_recorded():
    live, entries = recorded_run()
    replayed = rebuild(CONFIG, Timeline(entries, (0, 0), 100), live.sim.now, live.sim.processed)
    assert position(replayed) == position(live)
    assert replayed.state_hash() == live.state_hash()
    assert replayed.event_digest() == live.event_digest()


def test_follow_in_slices_with_a_deadline_reaches_the_same_state():
    live, entries = recorded_run()
    cluster, timeline = Cluster(CONFIG), Timeline(entries, (0, 0), 100)
    slices = 0
    while not follow(cluster, timeline, live.sim.now, live.sim.processed, deadline=0.0):  # always past: one batch per call
        slices += 1
    assert slices > 5 and cluster.state_hash() == live.state_hash()


def test_seeking_back_from_a_checkpoint_then_forward_is_exact():
    live, entries = recorded_run()
    timeline = Timeline(entries, position(live), 100)
    early = rebuild(CONFIG, Timeline(entries, (0, 0), 100), 4 * SECOND)
    saved = pickle.loads(checkpoint_bytes(early))
    assert saved.state_hash() == early.state_hash()
    back = rebuild(CONFIG, timeline, 6 * SECOND, checkpoint=saved)
    assert not timeline.live(back) and len(back.command_log) == 2
    assert timeline.entries[timeline.next]["command"]["action"] == "restart"  # still ahead
    follow(back, timeline, live.sim.now, live.sim.processed)
    assert back.state_hash() == live.state_hash() and timeline.live(back)


def test_a_checkpoint_from_another_timeline_is_not_used():
    live, entries = recorded_run()
    other = Cluster(CONFIG)
    other.advance(3 * SECOND)
    other.command({"type": "fault", "action": "crash", "target": "etcd-2"})
    timeline = Timeline(entries, (0, 0), 100)
    assert not timeline.matches(other)
    rebuilt = rebuild(CONFIG, timeline, live.sim.now, live.sim.processed, checkpoint=other)
    assert rebuilt.state_hash() == live.state_hash()


def test_a_log_that_cannot_be_reached_is_a_replay_error():
    cluster = Cluster(CONFIG)
    impossible = [{"seq": 1, "at": 5 * SECOND, "after": 0, "command": {"type": "fault", "action": "heal"}}]
    try:
        follow(cluster, Timeline(impossible, (0, 0), 2), 6 * SECOND)
    except ReplayError as exc:
        assert "command 1" in str(exc)
    else:
        raise AssertionError("the replay should have refused a command it cannot reach")


def test_split_keeps_the_old_future_whole():
    live, entries = recorded_run()
    timeline = Timeline(entries, position(live), 100)
    past = rebuild(CONFIG, timeline, 6 * SECOND)
    branch = timeline.split(past)
    assert branch["entries"] == entries and branch["head"] == position(live)
    assert timeline.entries == entries[: timeline.next] and timeline.head == position(past)
    assert timeline.live(past)


def test_parting_points():
    a = [{"seq": 1, "at": 10, "after": 3, "command": {"x": 1}}, {"seq": 2, "at": 20, "after": 8, "command": {"x": 2}}]
    b = [a[0], {"seq": 3, "at": 15, "after": 5, "command": {"x": 3}}]
    assert parting(a, (30, 9), b, (40, 12)) == (15, 5)  # the first entry that differs, the earlier of the two
    assert parting(a[:1], (12, 4), a, (30, 9)) == (20, 8)  # one continues the other: where it goes on
    assert parting(a, (25, 8), a, (30, 9)) == (25, 8)  # the same entries: the shorter head


def test_a_checkpoint_keeps_only_the_newest_events_and_the_state_hash():
    cluster = Cluster(ClusterConfig(name="big", seed=1))
    cluster.advance(200 * SECOND)
    assert len(cluster.sim.log.events) > CHECKPOINT_EVENTS
    restored = pickle.loads(checkpoint_bytes(cluster))
    assert len(restored.sim.log.events) == CHECKPOINT_EVENTS
    assert restored.sim.log.events[-1] == cluster.sim.log.events[-1]
    assert restored.state_hash() == cluster.state_hash()
    assert len(cluster.sim.log.events) > CHECKPOINT_EVENTS  # the live log is untouched
