"""The Raft state machine on its own, driven by hand (tests/cluster/etcd/raft_harness.py):
exact interleavings that timing would make rare, asserted message by message."""

import pickle

import pytest

from cluster.etcd.raft import APPEND, APPEND_RESP, HEARTBEAT, PRE_VOTE, PROPOSE, READ_INDEX, READ_INDEX_RESP, VOTE, VOTE_RESP, Raft, Storage
from cluster.kernel import Stream, state_hash

from .raft_harness import RaftNet, make_log


def test_a_single_member_elects_itself_and_commits_alone():
    net = RaftNet(1, pre_vote=True)
    net.campaign("n1")
    node = net.nodes["n1"]
    assert node.role == "leader" and node.term == 1
    assert net.propose("n1", "x") is None
    assert node.commit == 2 and net.applied["n1"] == ["x"]


def test_election_then_replication_to_every_member():
    net = RaftNet(3)
    net.campaign("n1")
    assert net.leaders() == ["n1"]
    assert [net.nodes[n].term for n in net.names] == [1, 1, 1]
    assert [net.nodes[n].vote for n in net.names] == ["n1", "n1", "n1"]
    net.propose("n1", "x")
    net.heartbeat("n1")  # carries the commit index to the followers
    for name in net.names:
        assert net.terms(name) == [1, 1]
        assert net.nodes[name].commit == 2
        assert net.applied[name] == ["x"]


def test_the_vote_is_persisted_in_the_same_ready_as_the_answer():
    net = RaftNet(3)
    net.nodes["n1"].force_timeout()
    net.pump("n1")
    request = next(m for m in net.queue if m["to"] == "n2")
    net.queue.clear()
    voter = net.nodes["n2"]
    voter.step(request)
    rd = voter.ready()
    assert rd.hard_state == {"term": 1, "vote": "n1"}
    assert [(m["type"], m["reject"]) for m in rd.messages] == [(VOTE_RESP, False)]


def test_a_follower_hands_out_entries_to_persist_before_it_acknowledges_them():
    net = RaftNet(3)
    net.campaign("n1")
    net.nodes["n1"].propose("x")
    net.pump("n1")
    append = next(m for m in net.queue if m["to"] == "n2" and m["type"] == APPEND)
    net.queue.clear()
    follower = net.nodes["n2"]
    follower.step(append)
    rd = follower.ready()
    assert [e["data"] for e in rd.entries] == ["x"]
    assert rd.messages[-1]["type"] == APPEND_RESP and rd.messages[-1]["index"] == 2


def test_one_vote_per_term_and_only_for_an_up_to_date_log():
    net = RaftNet(3, logs={"n1": make_log([1, 1]), "n2": make_log([1]), "n3": make_log([1, 1, 1])})
    net.campaign("n2")  # n2's log is behind both others: nobody votes for it
    assert net.nodes["n2"].role == "follower"  # it lost the election
    assert net.nodes["n1"].vote is None and net.nodes["n3"].vote is None
    net.campaign("n3")
    assert net.leaders() == ["n3"]
    term = net.nodes["n3"].term
    # n1 has voted in this term; a second candidate of the same term gets nothing.
    late = {"type": VOTE, "from": "n2", "to": "n1", "term": term, "index": 9, "log_term": 9}
    net.nodes["n1"].step(late)
    assert net.nodes["n1"].ready().messages[-1]["reject"] is True


def test_figure_8_an_old_entry_on_a_majority_is_not_committed_by_counting():
    # Paper, Figure 8 (c): S1 leads term 4 and replicates the term-2 entry at index 2 to
    # a majority; it must not count that as committed, because S5 (last term 3) could
    # still be elected and overwrite it (d). Only an entry of term 4 on a majority
    # commits index 2 with it (e).
    def setup():
        net = RaftNet(
            5,
            max_entries=1,
            logs={"n1": make_log([1, 2]), "n2": make_log([1]), "n3": make_log([1]), "n4": make_log([1]), "n5": make_log([1, 3])},
            terms={"n1": 3, "n2": 3, "n3": 3, "n4": 3, "n5": 3},
        )
        net.cut_link("n1", "n5")
        net.cut_link("n1", "n4")
        # n1 wins term 4 with n2 and n3; its messages then wait in the queue.
        net.nodes["n1"].force_timeout()
        net.pump("n1")
        net.deliver(keep=lambda m: m["type"] in (VOTE, VOTE_RESP))
        assert net.leaders() == ["n1"] and net.nodes["n1"].term == 4
        assert net.terms("n1") == [1, 2, 4]
        # Entries go out one at a time (max_entries=1): n2 and n3 reject the first probe,
        # get index 2 (term 2), and then the message with index 3 is lost.
        net.heartbeat("n1", deliver=False)
        net.deliver(keep=lambda m: not (m["type"] == APPEND and m["index"] == 2 and len(net.terms(m["to"])) == 2))
        assert net.terms("n2") == [1, 2] and net.terms("n3") == [1, 2]
        assert net.nodes["n1"].progress["n2"].match == 2 and net.nodes["n1"].progress["n3"].match == 2
        return net

    # (c) index 2 sits on n1, n2, n3: a majority, yet it is not committed.
    net = setup()
    assert net.nodes["n1"].commit == 0

    # (d) n1 crashes; n5 (last term 3) wins with n2, n3, n4 and overwrites index 2.
    # (Its first try, at term 4, fails: n2 and n3 voted for n1 in term 4. Term 5 works.)
    net.crash("n1")
    net.heal()
    net.campaign("n5")
    net.campaign("n5")
    assert net.leaders() == ["n5"] and net.nodes["n5"].term == 5
    net.heartbeat("n5")
    for name in ("n2", "n3", "n4", "n5"):
        assert net.terms(name)[:2] == [1, 3], name
    assert all("2@2" not in net.applied[name] for name in net.names)

    # (e) instead, n1 gets its term-4 entry onto a majority: index 2 commits with it,
    # and n5 can no longer win.
    net = setup()
    net.heartbeat("n1")
    assert net.terms("n2") == [1, 2, 4] and net.terms("n3") == [1, 2, 4]
    assert net.nodes["n1"].commit == 3
    assert net.applied["n1"] == ["1@1", "2@2"]
    net.crash("n1")
    net.heal()
    for _ in range(3):
        net.campaign("n5")
    assert net.nodes["n5"].role != "leader"


def test_fast_backoff_skips_a_whole_conflicting_term_per_round_trip():
    leader_terms = [1, 1, 1, 4, 4, 4, 4, 4, 4, 4]
    follower_terms = [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3]
    net = RaftNet(
        3,
        logs={"n1": make_log(leader_terms), "n2": make_log(follower_terms, tag="-stale"), "n3": make_log(leader_terms)},
        terms={"n1": 4, "n2": 4, "n3": 4},
    )
    net.campaign("n1")
    assert net.leaders() == ["n1"]
    rejects = [m for m in net.delivered if m["type"] == APPEND_RESP and m["from"] == "n2" and m["reject"]]
    # Entry 11 has term 3 on n2: hint "term 3 from index 7"; then "term 2 from index 4";
    # then index 3 (term 1) matches. Two round trips, not nine.
    assert [(m["index"], m["hint_term"], m["hint_index"]) for m in rejects] == [(10, 3, 7), (6, 2, 4)]
    assert net.terms("n2") == leader_terms + [5]


def test_fast_backoff_for_a_short_log_jumps_to_its_end():
    net = RaftNet(3, logs={"n1": make_log([1] * 10), "n2": make_log([1, 1]), "n3": make_log([1] * 10)}, terms={"n1": 1, "n2": 1, "n3": 1})
    net.campaign("n1")
    rejects = [m for m in net.delivered if m["type"] == APPEND_RESP and m["from"] == "n2" and m["reject"]]
    assert [(m["index"], m["hint_term"], m["hint_index"]) for m in rejects] == [(10, None, 2)]
    assert net.terms("n2") == [1] * 10 + [2]


def test_pre_vote_keeps_an_isolated_node_at_its_term():
    net = RaftNet(3, pre_vote=True)
    net.campaign("n1")
    net.isolate("n3")
    for _ in range(5):
        net.campaign("n3")
    assert net.nodes["n3"].term == 1  # pre-votes never reached anyone: no term was spent
    net.heal()
    net.heartbeat("n1")
    assert net.nodes["n3"].role == "follower" and net.nodes["n3"].leader == "n1"
    assert net.leaders() == ["n1"] and net.nodes["n1"].term == 1


def test_pre_vote_is_refused_while_the_leader_is_heard():
    net = RaftNet(3, pre_vote=True)
    net.campaign("n1")
    net.campaign("n3")  # n2 heard from n1 just now (virtual time stands still)
    pre_votes = [m for m in net.delivered if m["type"] == PRE_VOTE and m["from"] == "n3"]
    assert len(pre_votes) == 2
    assert net.leaders() == ["n1"] and net.nodes["n1"].term == 1
    # Once the leader has been silent for an election timeout, n2 agrees.
    net.isolate("n1")
    net.tick(net.now + 1_000_000)  # the minimum election timeout: n2 and n3 may campaign
    net.campaign("n3")
    assert net.nodes["n3"].role == "leader" and net.nodes["n3"].term == 2


def test_without_pre_vote_a_returning_node_deposes_the_leader():
    net = RaftNet(3, pre_vote=False)
    net.campaign("n1")
    net.isolate("n3")
    for _ in range(3):
        net.campaign("n3")
    assert net.nodes["n3"].term == 4
    net.heal()
    net.heartbeat("n1")  # n3 answers with term 4: the leader steps down
    assert net.nodes["n1"].role == "follower" and net.nodes["n1"].term == 4


def test_a_stale_leader_steps_down_and_loses_its_uncommitted_entries():
    net = RaftNet(3)
    net.campaign("n1")
    net.isolate("n1")
    net.propose("n1", "lost")
    assert net.terms("n1") == [1, 1]
    net.campaign("n2")
    net.propose("n2", "kept")
    assert net.nodes["n2"].term == 2
    net.heal()
    net.heartbeat("n2")
    assert net.nodes["n1"].role == "follower" and net.nodes["n1"].term == 2
    assert net.terms("n1") == [1, 2, 2] == net.terms("n2")
    net.heartbeat("n2")
    assert "lost" not in net.applied["n1"] and net.applied["n1"] == ["kept"]


def test_proposals_are_forwarded_to_the_leader_or_refused_without_one():
    net = RaftNet(3)
    assert net.propose("n2", "x") == "no leader"
    net.campaign("n1")
    assert net.propose("n2", "x") is None
    forwarded = [m for m in net.delivered if m["type"] == PROPOSE]
    assert [(m["from"], m["to"]) for m in forwarded] == [("n2", "n1")]
    net.heartbeat("n1")
    assert all(net.applied[n] == ["x"] for n in net.names)


def test_read_index_waits_for_a_heartbeat_quorum():
    net = RaftNet(3)
    net.campaign("n1")
    net.propose("n1", "x")
    leader = net.nodes["n1"]
    leader.read_index("r1")
    net.pump("n1")
    assert net.read_states["n1"] == []  # not before a quorum confirms leadership
    heartbeats = [m for m in net.queue if m["type"] == HEARTBEAT]
    assert {m["ctx"] for m in heartbeats} == {"r1"}
    net.deliver()
    assert net.read_states["n1"] == [{"ctx": "r1", "index": 2}]
    # From a follower: forwarded, answered with the index.
    net.nodes["n3"].read_index("r2")
    net.pump("n3")
    net.deliver()
    trail = [(m["type"], m["from"], m["to"]) for m in net.delivered if m.get("ctx") == "r2" and m["type"] != "HeartbeatResponse"]
    assert trail == [(READ_INDEX, "n3", "n1"), (HEARTBEAT, "n1", "n2"), (HEARTBEAT, "n1", "n3"), (READ_INDEX_RESP, "n1", "n3")]
    assert net.read_states["n3"] == [{"ctx": "r2", "index": 2}]


def test_read_index_is_not_served_by_a_leader_cut_off_from_the_quorum():
    net = RaftNet(3)
    net.campaign("n1")
    net.isolate("n1")
    net.nodes["n1"].read_index("r1")
    net.pump("n1")
    net.deliver()
    assert net.read_states["n1"] == []


def test_a_new_leader_answers_reads_only_after_committing_in_its_term():
    net = RaftNet(3)
    net.campaign("n1")
    net.propose("n1", "x")
    net.nodes["n2"].force_timeout()
    net.pump("n2")
    net.deliver(keep=lambda m: m["type"] != APPEND)  # elected, but its empty entry is lost
    node = net.nodes["n2"]
    assert node.role == "leader" and node.commit < node.last_index
    node.read_index("r")
    net.pump("n2")
    assert net.read_states["n2"] == [] and node.reads_before_commit == [("r", "n2")]
    net.heartbeat("n2")  # heartbeat responses trigger the missing appends
    assert net.read_states["n2"] == [{"ctx": "r", "index": 3}]


def test_restart_keeps_exactly_term_vote_and_log():
    net = RaftNet(3)
    net.campaign("n1")
    net.propose("n1", "x")
    net.heartbeat("n1")
    before = net.nodes["n2"]
    net.crash("n2")
    net.restart("n2")
    after = net.nodes["n2"]
    assert (after.term, after.vote, after.log) == (before.term, before.vote, before.log)
    assert (after.role, after.leader, after.commit, after.applied) == ("follower", None, 0, 0)
    net.heartbeat("n1")
    assert after.commit == 2 and net.applied["n2"] == ["x"]  # re-applied from the log


def test_check_quorum_makes_an_isolated_leader_step_down():
    net = RaftNet(3, check_quorum=True)
    net.campaign("n1")
    net.isolate("n1")
    net.tick(1_000_000)  # heartbeats go out, nothing comes back
    net.tick(2_000_000)
    assert net.nodes["n1"].role == "follower"


def test_stale_responses_are_ignored_and_higher_terms_win():
    net = RaftNet(3)
    net.campaign("n1")
    leader = net.nodes["n1"]
    leader.step({"type": APPEND_RESP, "from": "n2", "to": "n1", "term": 0, "reject": True, "index": 1, "hint_index": 0, "hint_term": None})
    assert leader.role == "leader"
    leader.step({"type": APPEND_RESP, "from": "n2", "to": "n1", "term": 7, "reject": True, "index": 1, "hint_index": 0, "hint_term": None})
    assert leader.role == "follower" and leader.term == 7 and leader.vote is None


def test_raft_state_is_plain_data():
    net = RaftNet(3, pre_vote=True)
    net.campaign("n1")
    net.propose("n1", "x")
    node = net.nodes["n1"]
    copy = pickle.loads(pickle.dumps(node))
    assert state_hash(copy) == state_hash(node)
    assert copy.progress["n2"].match == node.progress["n2"].match


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError):
        Raft("x", ["a", "b"], Storage(), Stream.from_seed(1), heartbeat_us=1, election_min_us=10, election_max_us=20)
    with pytest.raises(ValueError):
        Raft("a", ["a"], Storage(), Stream.from_seed(1), heartbeat_us=10, election_min_us=10, election_max_us=20)
    with pytest.raises(ValueError):
        Storage().save(None, make_log([1, 1])[1:])
