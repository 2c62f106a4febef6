"""The etcd member's client protocol, watches, view and determinism."""

import json
import pickle

import pytest

from cluster.etcd import build_members, etcd_view, find_leader, member_names
from cluster.kernel import SECOND, Component, Simulation, state_hash
from cluster.net import Network
from cluster.profiles import PROFILES

from .etcd_harness import MILLISECOND, Invariants, add_client, make_etcd, run, run_until_leader


def setup(count=3, seed=1, **options):
    sim, members = make_etcd(count, seed=seed, **options)
    client = add_client(sim)
    checker = Invariants(members)
    leader = run_until_leader(sim, members, 5 * SECOND, checker)
    run(sim, sim.now + 300 * MILLISECOND, checker)
    return sim, members, client, checker, leader


def ask(sim, client, member, op, checker=None, wait=SECOND, **fields):
    rid = client.request(member, op, **fields)
    run(sim, sim.now + wait, checker)
    return client.responses.get(rid)


def test_build_members_names_peers_and_timings():
    sim = Simulation(seed=1)
    sim.net = Network(sim, base_latency_us=1000, jitter_us=0)
    profile = PROFILES["realistic"]
    members = build_members(sim, 5, profile, pre_vote=False, heartbeat_us=200_000)
    assert [m.name for m in members] == member_names(5) == ["etcd-0", "etcd-1", "etcd-2", "etcd-3", "etcd-4"]
    assert all(sim.components[m.name] is m for m in members)
    raft = members[0].raft
    assert raft.peers == member_names(5) and raft.quorum == 3 and raft.pre_vote is False
    assert (raft.heartbeat_us, raft.election_min_us, raft.election_max_us) == (200_000, profile.raft_election_min_us, profile.raft_election_max_us)
    for bad in (0, 8, True, "3"):
        with pytest.raises(ValueError):
            build_members(sim, bad, profile)


def test_writes_reads_and_transactions():
    sim, members, client, checker, leader = setup()
    follower = next(m.name for m in members if m.name != leader)
    assert ask(sim, client, follower, "put", checker, key="/a", value="1") == {"id": 1, "ok": True, "revision": 2}
    # (ids below: the client numbers its requests 1, 2, ...)
    assert ask(sim, client, leader, "put", checker, key="/b", value="2")["revision"] == 3
    got = ask(sim, client, follower, "get", checker, key="/a")
    assert (got["value"], got["mod_revision"], got["create_revision"], got["version"], got["revision"]) == ("1", 2, 2, 1, 3)
    absent = ask(sim, client, follower, "get", checker, key="/zz")
    assert absent["ok"] and absent["value"] is None and absent["mod_revision"] is None
    listed = ask(sim, client, follower, "get", checker, key="/", prefix=True)
    assert [kv["key"] for kv in listed["kvs"]] == ["/a", "/b"] and listed["count"] == 2
    assert ask(sim, client, follower, "cas", checker, key="/a", expected="1", value="3") == {"id": 6, "ok": True, "revision": 4, "succeeded": True}
    assert ask(sim, client, follower, "cas", checker, key="/a", expected="1", value="4")["succeeded"] is False
    assert ask(sim, client, follower, "cas", checker, key="/new", expected=None, value="x")["succeeded"] is True
    txn = ask(
        sim,
        client,
        follower,
        "txn",
        checker,
        compare=[{"key": "/b", "target": "version", "result": "=", "value": 1}],
        success=[{"op": "put", "key": "/b", "value": "22"}, {"op": "get", "key": "/a"}],
        failure=[],
    )
    assert txn["ok"] and txn["succeeded"] and txn["responses"][1]["kv"]["value"] == "3"
    deleted = ask(sim, client, leader, "delete", checker, key="/", prefix=True)
    assert deleted["ok"] and deleted["deleted"] == 3
    old = ask(sim, client, follower, "get", checker, key="/a", revision=4)
    assert old["value"] == "3"
    compacted = ask(sim, client, leader, "compact", checker, revision=5)
    assert compacted["ok"] and compacted["compact_revision"] == 5
    gone = ask(sim, client, follower, "get", checker, key="/a", revision=4)
    assert gone["ok"] is False and gone["outcome"] == "failed" and gone["compact_revision"] == 5 and "compacted" in gone["error"]
    kinds = [e["kind"] for e in sim.log.events if e["kind"].startswith("etcd.")]
    assert {"etcd.put", "etcd.read", "etcd.txn", "etcd.delete", "etcd.compact", "etcd.error"} <= set(kinds)


def test_malformed_requests_fail_before_they_are_proposed():
    sim, members, client, checker, leader = setup()
    last = find_leader(members).raft.last_index
    for fields, error in [
        ({"op": "frobnicate", "key": "a"}, "unknown op 'frobnicate'"),
        ({"op": "put", "key": "a"}, "put: value must be a string"),
        ({"op": "put", "key": "", "value": "x"}, "put: key must be a non-empty string"),
        ({"op": "get", "key": "a", "consistency": "eventual"}, "consistency must be linearizable or serializable"),
        ({"op": "compact", "revision": "x"}, "compact: revision must be a positive integer"),
    ]:
        op = fields.pop("op")
        response = ask(sim, client, leader, op, checker, wait=100 * MILLISECOND, **fields)
        assert response["ok"] is False and response["error"] == error and response["outcome"] == "failed"
    assert find_leader(members).raft.last_index == last
    # A transaction the store refuses is committed, then fails the same way everywhere.
    bad = ask(sim, client, leader, "txn", checker, compare=[{"key": "a", "target": "nope", "result": "=", "value": 1}])
    assert bad["ok"] is False and bad["outcome"] == "failed" and "target" in bad["error"]


def collect(client, watch_id):
    return [p for _, p in client.watch_events if p["watch_id"] == watch_id]


def test_watch_streams_changes_in_order_with_transactions_whole():
    sim, members, client, checker, leader = setup()
    follower = next(m.name for m in members if m.name != leader)
    writer = add_client(sim, "writer")
    client.watch(follower, "w1", "/k/", prefix=True)
    run(sim, sim.now + 100 * MILLISECOND, checker)
    writer.request(leader, "put", key="/k/a", value="1")
    writer.request(leader, "put", key="/other", value="x")
    writer.request(leader, "txn", compare=[], success=[{"op": "put", "key": "/k/b", "value": "2"}, {"op": "delete", "key": "/k/a"}], failure=[])
    run(sim, sim.now + SECOND, checker)
    messages = collect(client, "w1")
    assert messages[0]["created"] is True and messages[0]["events"] == []
    assert [m["seq"] for m in messages] == [1, 2, 3]
    changes = [[(e["type"], e["kv"]["key"], e["kv"]["mod_revision"]) for e in m["events"]] for m in messages[1:]]
    assert changes == [[("PUT", "/k/a", 2)], [("PUT", "/k/b", 4), ("DELETE", "/k/a", 4)]]
    assert [m["revision"] for m in messages[1:]] == [2, 4]
    assert messages[2]["events"][1]["prev_kv"]["value"] == "1"


def test_watch_resumes_on_another_member_after_a_crash_without_gaps_or_duplicates():
    sim, members, client, checker, leader = setup()
    followers = [m.name for m in members if m.name != leader]
    writer = add_client(sim, "writer")
    client.watch(followers[0], 1, "/k/", prefix=True, start_revision=1)
    for i in range(4):
        writer.request(leader, "put", key=f"/k/{i}", value=str(i))
    run(sim, sim.now + SECOND, checker)
    sim.crash(followers[0])
    for i in range(4, 8):
        writer.request(leader, "put", key=f"/k/{i % 3}", value=str(i))
    run(sim, sim.now + SECOND, checker)
    # The watcher learns that its member is gone (no answer to a progress request),
    # then resumes on another member from its last revision + 1.
    seen = [e for p in collect(client, 1) for e in p["events"]]
    last = seen[-1]["kv"]["mod_revision"]
    assert last == 5
    client.watch(followers[1], 2, "/k/", prefix=True, start_revision=last + 1)
    writer.request(leader, "txn", compare=[], success=[{"op": "put", "key": "/k/x", "value": "t"}, {"op": "put", "key": "/k/y", "value": "t"}], failure=[])
    run(sim, sim.now + SECOND, checker)
    resumed = collect(client, 2)
    assert resumed[0]["created"]
    seen += [e for p in resumed for e in p["events"]]
    revisions = [e["kv"]["mod_revision"] for e in seen]
    assert revisions == [2, 3, 4, 5, 6, 7, 8, 9, 10, 10]
    reference = find_leader(members).store.events_since(1, "/k/", prefix=True)
    assert seen == reference
    assert [len(p["events"]) for p in resumed if p["events"]][-1] == 2  # the txn, whole


def test_watch_from_a_compacted_revision_gets_a_clear_error():
    sim, members, client, checker, leader = setup()
    for i in range(4):
        client.request(leader, "put", key="k", value=str(i))
    run(sim, sim.now + SECOND, checker)
    assert ask(sim, client, leader, "compact", checker, revision=4)["ok"]
    client.watch(leader, "w", "k", start_revision=2)
    run(sim, sim.now + 100 * MILLISECOND, checker)
    assert collect(client, "w") == [{"watch_id": "w", "canceled": True, "events": [], "error": "compacted", "compact_revision": 4}]
    client.watch(leader, "w2", "k", start_revision=5)
    run(sim, sim.now + 100 * MILLISECOND, checker)
    history = collect(client, "w2")
    assert history[0]["created"] and [e["kv"]["value"] for e in history[1]["events"]] == ["3"]


def test_watch_cancel_progress_and_loss_on_restart():
    sim, members, client, checker, leader = setup()
    member = next(m for m in members if m.name != leader)
    client.watch(member.name, "a", "k")
    client.watch(member.name, "b", "j")
    run(sim, sim.now + 100 * MILLISECOND, checker)
    assert [w["watch_id"] for w in member.watch_view()] == ["a", "b"]
    client.send(member.name, "etcd.watch_cancel", {"watch_id": "a"})
    client.send(member.name, "etcd.watch_progress", {"watch_id": "b"})
    run(sim, sim.now + 100 * MILLISECOND, checker)
    assert collect(client, "a")[-1] == {"watch_id": "a", "canceled": True, "events": [], "seq": 2, "stream": 1}
    assert collect(client, "b")[-1]["progress"] is True
    sim.crash(member.name)
    sim.restart(member.name)
    client.send(member.name, "etcd.watch_progress", {"watch_id": "b"})
    run(sim, sim.now + 100 * MILLISECOND, checker)
    assert collect(client, "b")[-1] == {"watch_id": "b", "canceled": True, "events": [], "error": "unknown watch"}


def test_a_watch_message_lost_in_flight_shows_as_a_gap_in_seq():
    sim, members, client, checker, leader = setup(jitter_us=0)
    writer = add_client(sim, "writer")
    client.watch(leader, "w", "k")
    run(sim, sim.now + 100 * MILLISECOND, checker)
    sim.net.set_fault(latency_us=500 * MILLISECOND, target=leader, peer="client")
    writer.request(leader, "put", key="k", value="1")
    run(sim, sim.now + 50 * MILLISECOND, checker)
    writer.request(leader, "put", key="k", value="2")
    run(sim, sim.now + 100 * MILLISECOND, checker)
    flying = sorted(m.arrives for m in sim.net.in_flight.values() if m.kind == "etcd.watch_event")
    assert len(flying) == 2 and flying[0] < flying[1]
    # The first event is lost on arrival (a partition at that moment), the second is not.
    sim.net.partition([["client"], [m.name for m in members] + ["writer"]])
    run(sim, flying[0], checker)
    sim.net.heal()
    run(sim, flying[1] + MILLISECOND, checker)
    messages = collect(client, "w")
    assert [m["seq"] for m in messages] == [1, 3]  # the watcher sees that 2 is missing
    assert [e["kv"]["value"] for e in messages[1]["events"]] == ["2"]
    assert find_leader(members).watch_view() == []  # and the member ended the stream


@pytest.mark.skipif(not hasattr(Component, "on_undeliverable"), reason="the kernel does not report undeliverable messages")
def test_a_watch_event_that_cannot_be_delivered_ends_the_watch():
    sim, members, client, checker, leader = setup()
    client.watch(leader, "w", "k")
    run(sim, sim.now + 100 * MILLISECOND, checker)
    writer = add_client(sim, "writer")
    sim.net.set_fault(loss=1.0, target=leader, peer="client")
    writer.request(leader, "put", key="k", value="1")
    writer.request(leader, "put", key="k", value="2")
    run(sim, sim.now + SECOND, checker)
    assert find_leader(members).watch_view() == []
    broken = [e for e in sim.log.events if e["kind"] == "etcd.watch_broken"]
    assert len(broken) == 1  # the second put is not sent: the watch ended at the first


def test_view_is_json_safe_and_follows_the_design_fields():
    sim, members, client, checker, leader = setup()
    ask(sim, client, leader, "put", checker, key="k", value="v")
    required = {"id", "role", "term", "vote", "commit", "applied", "alive", "log", "leader", "election_deadline", "revision", "pre_vote"}
    lead = find_leader(members)
    view = lead.view()
    assert required <= set(view)
    assert view["role"] == "leader" and view["election_deadline"] is None and view["log"][-1] == {"index": 2, "term": view["term"]}
    assert view["progress"] and view["revision"] == 2 and view["commit"] == view["applied"] == 2
    follower = next(m for m in members if m is not lead)
    fview = follower.view()
    assert fview["role"] == "follower" and fview["leader"] == lead.name and fview["election_deadline"] > sim.now / SECOND
    sim.crash(follower.name)
    down = follower.view()
    assert down["alive"] is False and down["role"] == "down" and down["term"] == fview["term"] and down["log"] == fview["log"]
    whole = etcd_view(members)
    assert whole["leader"] == lead.name and whole["revision"] == 2 and (whole["size"], whole["alive"], whole["quorum"]) == (3, 2, 2)
    json.dumps(whole, allow_nan=False)
    assert [kv["key"] for kv in lead.keyspace()] == ["k"]


def test_force_timeout_starts_an_election():
    sim, members, client, checker, leader = setup(pre_vote=False)
    follower = next(m for m in members if m.name != leader)
    term = follower.raft.term
    assert follower.force_timeout() is True
    assert follower.raft.role == "candidate" and follower.raft.term == term + 1
    run(sim, sim.now + SECOND, checker)
    assert find_leader(members).raft.term == term + 1
    assert find_leader(members).force_timeout() is False


def scripted_run(seed, pickle_at=None):
    sim, members = make_etcd(3, seed=seed, fifo=False)
    add_client(sim)
    for i in range(20):
        sim.schedule_call(
            300 * MILLISECOND * i + 700 * MILLISECOND, "client", "request_with", member_names(3)[i % 3], "put", {"key": f"k{i % 4}", "value": str(i)}
        )
    if pickle_at is not None:
        sim.run_until(pickle_at)
        sim = pickle.loads(pickle.dumps(sim))
    sim.run_until(8 * SECOND)
    return sim


def test_same_seed_same_events_and_a_checkpoint_changes_nothing():
    a = scripted_run(5)
    b = scripted_run(5)
    c = scripted_run(5, pickle_at=3 * SECOND + 17)
    assert a.log.digest() == b.log.digest() == c.log.digest()
    assert state_hash(a) == state_hash(b) == state_hash(c)
    assert scripted_run(6).log.digest() != a.log.digest()


def test_histories_under_faults_are_linearizable():
    linearizability = pytest.importorskip("tests.support.linearizability")
    from .test_raft_invariants import chaos_run

    for seed in (11, 12, 13):
        sim, members, client, chaos, checker = chaos_run(seed, 3, fifo=False)
        history = []
        for rid, (call, _member, request) in client.sent.items():
            response = client.responses.get(rid)
            op = request["op"]
            if response is not None and not response["ok"] and response.get("outcome") == "failed":
                continue  # certainly never took effect
            ret = client.answered_at[rid] if response is not None and response["ok"] else None
            if op == "get":
                if request.get("consistency") == "serializable" or ret is None:
                    continue  # serializable reads may be stale by design
                history.append(linearizability.get(request["key"], response["value"], call, ret))
            elif op == "put":
                history.append(linearizability.put(request["key"], request["value"], call, ret))
            elif op == "delete":
                history.append(linearizability.delete(request["key"], call, ret))
            elif op == "cas":
                history.append(
                    linearizability.cas(request["key"], request["expected"], request["value"], response["succeeded"] if ret is not None else None, call, ret)
                )
        result = linearizability.check(history)
        assert result.ok, result.explanation
