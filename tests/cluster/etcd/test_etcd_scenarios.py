"""etcd members on the kernel and its network: the Raft moments a lesson shows, each with
exact assertions, with the safety invariants checked after every step."""

import pytest

from cluster.etcd import find_leader
from cluster.kernel import SECOND

from .etcd_harness import MILLISECOND, Invariants, add_client, leader_of, make_etcd, run, run_until_leader


def setup(count=3, seed=1, **options):
    sim, members = make_etcd(count, seed=seed, **options)
    client = add_client(sim)
    checker = Invariants(members)
    leader = run_until_leader(sim, members, 5 * SECOND, checker)
    assert leader is not None
    run(sim, sim.now + 300 * MILLISECOND, checker)  # the leader's first entry commits
    assert find_leader(members).raft.commit >= 1
    return sim, members, client, checker, leader


def by_name(members):
    return {m.name: m for m in members}


def events(sim, kind, source=None, after=0):
    return [e for e in sim.log.events if e["kind"] == kind and e["seq"] > after and (source is None or e["source"] == source)]


@pytest.mark.parametrize("profile, limit_s", [("teaching", 15), ("realistic", 3)])
@pytest.mark.parametrize("seed", range(1, 6))
def test_three_members_elect_a_leader_within_a_few_seconds(profile, limit_s, seed):
    sim, members = make_etcd(3, seed=seed, profile=profile)
    checker = Invariants(members)
    leader = run_until_leader(sim, members, limit_s * SECOND, checker, step_us=50 * MILLISECOND)
    assert leader is not None, f"no leader within {limit_s} s"
    run(sim, sim.now + 2 * SECOND, checker)  # a rival candidate hears from the winner
    assert leader_of(members) == leader
    roles = sorted(m.raft.role for m in members)
    assert roles == ["follower", "follower", "leader"]
    assert {m.raft.leader for m in members} == {leader}
    became = events(sim, "raft.role", leader)[-1]
    assert became["summary"] == f"{leader} became leader (term {find_leader(members).raft.term})"


def test_re_election_after_the_leader_crashes_and_the_old_leader_catches_up():
    sim, members, client, checker, first = setup()
    old_term = by_name(members)[first].raft.term
    sim.crash(first)
    second = run_until_leader(sim, members, sim.now + 3 * SECOND, checker)
    assert second is not None and second != first
    assert by_name(members)[second].raft.term > old_term
    rid = client.request(second, "put", key="k", value="v")
    run(sim, sim.now + SECOND, checker)
    assert client.responses[rid]["ok"]
    sim.restart(first)
    run(sim, sim.now + 2 * SECOND, checker)
    old = by_name(members)[first]
    assert old.raft.role == "follower" and old.raft.leader == second
    assert [e["term"] for e in old.raft.log] == [e["term"] for e in by_name(members)[second].raft.log]
    assert old.store.get("k")["value"] == "v"  # its store was rebuilt from the log


def test_no_commit_without_a_majority_and_progress_when_it_returns():
    sim, members, client, checker, leader = setup(request_timeout_us=20 * SECOND)
    followers = [m.name for m in members if m.name != leader]
    node = by_name(members)[leader]
    commit = node.raft.commit
    for name in followers:
        sim.crash(name)
    rid = client.request(leader, "put", key="k", value="v")
    run(sim, sim.now + 3 * SECOND, checker)
    assert rid not in client.responses
    assert node.raft.commit == commit
    assert node.raft.last_index == commit + 1  # the entry waits in the leader's log
    assert node.raft.role != "leader"  # check quorum: it stepped down, heard from no one
    assert events(sim, "raft.step_down", leader)
    # Without a leader, new writes fail at once, certainly not applied.
    refused = client.request(leader, "put", key="k2", value="v")
    run(sim, sim.now + 100 * MILLISECOND, checker)
    assert client.responses[refused] == {"id": refused, "ok": False, "error": "no leader", "outcome": "failed"}
    sim.restart(followers[0])
    run(sim, sim.now + 3 * SECOND, checker)
    assert client.responses[rid]["ok"] is True
    assert node.store.get("k")["value"] == "v"


def test_a_stale_leader_rejoining_steps_down_and_its_uncommitted_entries_are_overwritten():
    # Check quorum off, so that the cut-off leader goes on believing it leads.
    sim, members, client, checker, stale = setup(check_quorum=False, request_timeout_us=8 * SECOND)
    other_client = add_client(sim, "client-2")
    others = [m.name for m in members if m.name != stale]
    sim.net.partition([[stale, "client"], others + ["client-2"]])
    lost = client.request(stale, "put", key="lost", value="1")
    run(sim, sim.now + 2 * SECOND, checker)
    node = by_name(members)[stale]
    assert node.raft.role == "leader" and lost not in client.responses
    assert node.raft.log[-1]["data"]["req"] == {"op": "put", "key": "lost", "value": "1"}
    stale_index = node.raft.last_index
    new = find_leader([m for m in members if m.name != stale])
    assert new is not None and new.raft.term > node.raft.term
    kept = other_client.request(new.name, "put", key="kept", value="2")
    run(sim, sim.now + SECOND, checker)
    assert other_client.responses[kept]["ok"]
    mark = sim.log.last_seq
    sim.net.heal()
    run(sim, sim.now + 2 * SECOND, checker)
    assert node.raft.role == "follower" and node.raft.leader == new.name and node.raft.term == new.raft.term
    truncated = events(sim, "raft.truncate", stale, after=mark)
    assert truncated and truncated[0]["data"]["index"] == stale_index
    assert [e["term"] for e in node.raft.log] == [e["term"] for e in new.raft.log]
    assert node.store.get("lost") is None and node.store.get("kept")["value"] == "2"
    run(sim, sim.now + 5 * SECOND, checker)
    assert client.responses[lost] == {"id": lost, "ok": False, "error": client.responses[lost]["error"], "outcome": "unknown"}


def test_an_isolated_leader_steps_down_by_itself_with_check_quorum():
    sim, members, client, checker, leader = setup()
    sim.net.partition([[leader], [m.name for m in members if m.name != leader]])
    run(sim, sim.now + 2 * SECOND, checker)
    assert by_name(members)[leader].raft.role != "leader"
    assert "heard from only 1 of 3" in events(sim, "raft.step_down", leader)[-1]["summary"]


def test_two_members_with_one_crashed_make_no_progress():
    sim, members, client, checker, leader = setup(2)
    other = next(m.name for m in members if m.name != leader)
    sim.crash(other)
    rid = client.request(leader, "put", key="k", value="v")
    run(sim, sim.now + 10 * SECOND, checker)
    node = by_name(members)[leader]
    assert client.responses[rid]["ok"] is False
    assert node.store.get("k") is None and node.raft.role != "leader"
    for _ in range(3):
        rid = client.request(leader, "put", key="k", value="v")
        run(sim, sim.now + 3 * SECOND, checker)
        assert client.responses[rid] == {"id": rid, "ok": False, "error": "no leader", "outcome": "failed"}
    sim.restart(other)
    assert run_until_leader(sim, members, sim.now + 5 * SECOND, checker)
    rid = client.request(leader, "put", key="k", value="w")
    run(sim, sim.now + 2 * SECOND, checker)
    assert client.responses[rid]["ok"]


def test_three_members_with_one_crashed_make_progress():
    sim, members, client, checker, leader = setup(3)
    follower = next(m.name for m in members if m.name != leader)
    sim.crash(follower)
    rids = [client.request(leader, "put", key=f"k{i}", value=str(i)) for i in range(5)]
    run(sim, sim.now + SECOND, checker)
    assert all(client.responses[r]["ok"] for r in rids)
    assert [client.responses[r]["revision"] for r in rids] == [2, 3, 4, 5, 6]
    # ... and survive the leader's crash too? No: two of three down is no quorum.
    sim.crash(leader)
    survivor = next(m for m in members if m.alive)
    run(sim, sim.now + 3 * SECOND, checker)
    assert survivor.raft.role != "leader"


def test_a_single_member_cluster_commits_alone():
    sim, members, client, checker, leader = setup(1)
    assert leader == "etcd-0"
    rid = client.request("etcd-0", "put", key="k", value="v")
    run(sim, sim.now + 100 * MILLISECOND, checker)
    assert client.responses[rid]["ok"] and client.responses[rid]["revision"] == 2


def isolate_and_return(pre_vote):
    sim, members, client, checker, leader = setup(3, seed=3, pre_vote=pre_vote)
    node = by_name(members)[leader]
    term = node.raft.term
    rejoining = next(m.name for m in members if m.name != leader)
    sim.net.partition([[rejoining], [m.name for m in members if m.name != rejoining] + ["client"]])
    run(sim, sim.now + 5 * SECOND, checker)  # many election timeouts
    away = by_name(members)[rejoining].raft.term
    mark = sim.log.last_seq
    sim.net.heal()
    run(sim, sim.now + 3 * SECOND, checker)
    return sim, members, node, term, rejoining, away, mark


def test_pre_vote_keeps_a_rejoining_member_from_deposing_a_healthy_leader():
    sim, members, node, term, rejoining, away, mark = isolate_and_return(pre_vote=True)
    assert away == term  # its pre-votes failed, so it never started a real election
    assert node.raft.role == "leader" and node.raft.term == term
    assert by_name(members)[rejoining].raft.leader == node.name
    assert not events(sim, "raft.step_down", after=mark)
    assert [e for e in events(sim, "raft.role", node.name, after=mark)] == []
    assert len(events(sim, "raft.timeout", rejoining)) >= 5  # it tried, quietly


def test_without_pre_vote_a_rejoining_member_deposes_the_leader():
    sim, members, node, term, rejoining, away, mark = isolate_and_return(pre_vote=False)
    assert away > term + 3  # every timeout while cut off started an election
    changes = events(sim, "raft.role", node.name, after=mark)
    assert changes and changes[0]["data"]["role"] == "follower" and changes[0]["data"]["term"] >= away
    leader = find_leader(members)
    assert leader is not None and leader.raft.term > away - 1


def test_followers_forward_writes_to_the_leader():
    sim, members, client, checker, leader = setup()
    follower = next(m.name for m in members if m.name != leader)
    mark = sim.log.last_seq
    rid = client.request(follower, "put", key="k", value="v")
    run(sim, sim.now + SECOND, checker)
    assert client.responses[rid]["ok"] and client.responses[rid]["revision"] == 2
    forwarded = [e for e in events(sim, "net.send", follower, after=mark) if e["data"]["kind"] == "raft.Propose"]
    assert [(e["target"], e["summary"]) for e in forwarded] == [(leader, f"{follower} forwards a proposal to leader {leader}")]
    answered = events(sim, "etcd.put", after=mark)
    assert [e["source"] for e in answered] == [follower]  # answered by the member asked


def test_linearizable_reads_use_read_index_and_see_the_latest_write():
    sim, members, client, checker, leader = setup()
    follower = next(m.name for m in members if m.name != leader)
    put = client.request(leader, "put", key="k", value="1")
    run(sim, sim.now + SECOND, checker)
    mark = sim.log.last_seq
    get = client.request(follower, "get", key="k")
    run(sim, sim.now + SECOND, checker)
    response = client.responses[get]
    assert response["ok"] and response["value"] == "1" and response["mod_revision"] == client.responses[put]["revision"]
    sends = [e for e in events(sim, "net.send", after=mark) if e["data"].get("rpc") in ("ReadIndex", "Heartbeat", "ReadIndexResponse")]
    assert [e["data"]["rpc"] for e in sends][:1] == ["ReadIndex"]
    assert any(e["data"]["rpc"] == "Heartbeat" and e["data"]["read"] for e in sends)
    answer = next(i for i, e in enumerate(sends) if e["data"]["rpc"] == "ReadIndexResponse")
    assert sends[answer]["target"] == follower and sends[answer]["source"] == leader
    assert any(e["data"]["rpc"] == "Heartbeat" and e["data"]["read"] for e in sends[:answer])
    served = events(sim, "etcd.read", follower, after=mark)[0]
    assert served["data"]["consistency"] == "linearizable" and served["data"]["read_index"] >= 2


def test_a_serializable_read_can_be_stale_and_a_linearizable_one_cannot():
    sim, members, client, checker, leader = setup(request_timeout_us=2 * SECOND)
    writer = add_client(sim, "client-2")
    put = writer.request(leader, "put", key="k", value="old")
    run(sim, sim.now + SECOND, checker)
    assert writer.responses[put]["ok"]
    behind = next(m.name for m in members if m.name != leader)
    sim.net.partition([[behind, "client"], [m.name for m in members if m.name != behind] + ["client-2"]])
    put = writer.request(leader, "put", key="k", value="new")
    run(sim, sim.now + SECOND, checker)
    assert writer.responses[put]["ok"]
    stale = client.request(behind, "get", key="k", consistency="serializable")
    fresh = client.request(behind, "get", key="k", consistency="linearizable")
    run(sim, sim.now + 3 * SECOND, checker)
    assert client.responses[stale]["ok"] and client.responses[stale]["value"] == "old"
    assert client.responses[fresh]["ok"] is False and client.responses[fresh]["outcome"] == "failed"
    sim.net.heal()
    run(sim, sim.now + 2 * SECOND, checker)
    again = client.request(behind, "get", key="k")
    run(sim, sim.now + SECOND, checker)
    assert client.responses[again]["value"] == "new"


def test_a_stale_leader_serves_no_linearizable_read():
    sim, members, client, checker, stale = setup(check_quorum=False, request_timeout_us=3 * SECOND)
    put = client.request(stale, "put", key="k", value="old")
    run(sim, sim.now + SECOND, checker)
    writer = add_client(sim, "client-2")
    others = [m.name for m in members if m.name != stale]
    sim.net.partition([[stale, "client"], others + ["client-2"]])
    run(sim, sim.now + 2 * SECOND, checker)
    new = find_leader([m for m in members if m.name != stale])
    put = writer.request(new.name, "put", key="k", value="new")
    run(sim, sim.now + SECOND, checker)
    assert writer.responses[put]["ok"]
    assert by_name(members)[stale].raft.role == "leader"  # it still believes it leads
    read = client.request(stale, "get", key="k")
    stale_read = client.request(stale, "get", key="k", consistency="serializable")
    run(sim, sim.now + 4 * SECOND, checker)
    assert client.responses[read]["ok"] is False and "timed out" in client.responses[read]["error"]
    assert client.responses[stale_read]["value"] == "old"


def test_a_restarted_member_rebuilds_its_store_from_the_log():
    sim, members, client, checker, leader = setup()
    follower = next(m for m in members if m.name != leader)
    for i in range(3):
        client.request(leader, "put", key=f"k{i}", value=str(i))
    run(sim, sim.now + SECOND, checker)
    sim.crash(follower.name)
    assert follower.view()["role"] == "down" and follower.view()["log_length"] == 4
    client.request(leader, "delete", key="k0")
    run(sim, sim.now + SECOND, checker)
    sim.restart(follower.name)
    assert follower.store.revision == 1 and follower.raft.commit == 0
    run(sim, sim.now + SECOND, checker)
    lead = by_name(members)[leader]
    assert follower.store.revision == lead.store.revision == 5
    assert follower.store.digest() == lead.store.digest()
