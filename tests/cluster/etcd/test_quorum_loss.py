"""Issue 3 item 5 at the simulation level: with no quorum, writes and linearizable reads
wait, then fail with a clear error (never a stale answer, never silence), and nothing
acknowledged is lost when a majority (or every member) crashes and restarts."""

import pytest

from cluster.etcd import find_leader

from .etcd_harness import MILLISECOND, SECOND, add_client, make_etcd, run, run_until_leader

CLEAR_ERRORS = ("no leader", "timed out")


def started(count=3, seed=3, **options):
    sim, members = make_etcd(count, seed=seed, **options)
    leader = run_until_leader(sim, members, 5 * SECOND)
    assert leader is not None
    client = add_client(sim)
    run(sim, sim.now + 300 * MILLISECOND)  # the leader's first entry commits
    return sim, members, client, leader


def put_all(sim, client, member, items) -> dict:
    """Puts each (key, value) and waits for the answers: {key: revision}."""
    rids = {key: client.request(member, "put", key=key, value=value) for key, value in items}
    run(sim, sim.now + SECOND)
    revisions = {}
    for key, rid in rids.items():
        response = client.responses[rid]
        assert response["ok"], response
        revisions[key] = response["revision"]
    return revisions


def read(sim, client, member, key, wait_us=2 * SECOND):
    call = sim.now
    rid = client.request(member, "get", key=key)
    run(sim, sim.now + wait_us)
    return client.responses.get(rid), (client.answered_at[rid] - call if rid in client.answered_at else None)


def read_until_ok(sim, client, members, key, tries=20):
    for attempt in range(tries):
        response, _ = read(sim, client, members[attempt % len(members)].name, key, wait_us=SECOND)
        if response is not None and response["ok"]:
            return response
    pytest.fail(f"no linearizable read of {key!r} succeeded")


@pytest.mark.parametrize("check_quorum", [True, False])
def test_a_linearizable_read_without_quorum_waits_then_fails_clearly(check_quorum):
    sim, members, client, leader = started(check_quorum=check_quorum)
    put_all(sim, client, leader, [("k", "before")])
    followers = [m.name for m in members if m.name != leader]
    for name in followers:
        sim.crash(name)
    timeout = members[0].request_timeout_us
    mark = sim.log.last_seq
    response, waited = read(sim, client, leader, "k", wait_us=timeout + SECOND)
    # It was answered (nothing is silent), with an error, not with the value it holds.
    assert response is not None and response["ok"] is False and "value" not in response
    assert response["outcome"] == "failed"
    assert any(reason in response["error"] for reason in CLEAR_ERRORS), response["error"]
    # It waited for a quorum before giving up: at least one ReadIndex heartbeat round went out.
    assert waited >= 100 * MILLISECOND
    beats = [e for e in sim.log.events if e["seq"] > mark and e["kind"] == "net.send" and e["data"].get("rpc") == "Heartbeat" and e["data"].get("read")]
    assert beats, "the leader never asked a quorum to confirm the read"
    if not check_quorum:
        # Still leader in its own eyes, so only the request timeout ends the wait.
        assert find_leader(members).name == leader
        assert waited >= timeout and "timed out" in response["error"]
    # The error is an event too, for the panel.
    errors = [e for e in sim.log.events if e["seq"] > mark and e["kind"] == "etcd.error"]
    assert errors and errors[-1]["data"]["error"] == response["error"]


def test_a_read_on_a_member_cut_off_from_a_new_majority_never_returns_the_old_value():
    sim, members, client, leader = started(check_quorum=False)
    put_all(sim, client, leader, [("k", "old")])
    others = [m.name for m in members if m.name != leader]
    sim.net.partition([[leader, "client"], others + ["writer"]])
    writer = add_client(sim, "writer")
    new_leader = run_until_leader(sim, [m for m in members if m.name != leader], sim.now + 5 * SECOND)
    assert new_leader is not None and new_leader != leader
    put_all(sim, writer, new_leader, [("k", "new")])
    for _ in range(3):
        response, _ = read(sim, client, leader, "k", wait_us=members[0].request_timeout_us + SECOND)
        assert response["ok"] is False and "timed out" in response["error"], response
    sim.net.heal()
    run(sim, sim.now + 2 * SECOND)
    assert read_until_ok(sim, client, members, "k")["value"] == "new"


def test_a_write_without_quorum_waits_then_fails_clearly():
    sim, members, client, leader = started()
    followers = [m.name for m in members if m.name != leader]
    for name in followers:
        sim.crash(name)
    timeout = members[0].request_timeout_us
    call = sim.now
    proposed = client.request(leader, "put", key="k", value="maybe")
    run(sim, sim.now + timeout + SECOND)
    response = client.responses[proposed]
    # Proposed, never committed: the outcome is honest about not knowing.
    assert response["ok"] is False and response["outcome"] == "unknown" and "timed out" in response["error"]
    assert client.answered_at[proposed] - call >= timeout
    # By now the leader has stepped down (check quorum): later writes are refused at once.
    refused = client.request(leader, "put", key="k", value="never")
    run(sim, sim.now + SECOND)
    assert client.responses[refused] == {"id": refused, "ok": False, "error": "no leader", "outcome": "failed"}
    for name in followers:
        sim.restart(name)
    run_until_leader(sim, members, sim.now + 5 * SECOND)
    value = read_until_ok(sim, client, members, "k")["value"]
    assert value in (None, "maybe")  # "unknown" allowed either; "failed" really failed


@pytest.mark.parametrize("count, seed", [(3, 1), (3, 2), (5, 3), (5, 4)])
def test_acknowledged_writes_survive_a_majority_crash_and_restart(count, seed):
    sim, members, client, leader = started(count, seed=seed)
    acknowledged = {}
    for round_ in range(4):
        leader = run_until_leader(sim, members, sim.now + 5 * SECOND)
        assert leader is not None
        items = [(f"r{round_}-{i}", f"v{round_}-{i}") for i in range(5)]
        revisions = put_all(sim, client, members[round_ % count].name, items)
        acknowledged.update({key: (value, revisions[key]) for key, value in items})
        # A majority crashes, the leader among them (in the last round: every member).
        victims = [leader] + [m.name for m in members if m.name != leader][: count // 2]
        if round_ == 3:
            victims = [m.name for m in members]
        for name in victims:
            sim.crash(name)
        run(sim, sim.now + SECOND)
        for name in victims:
            sim.restart(name)
    assert run_until_leader(sim, members, sim.now + 5 * SECOND) is not None
    for key, (value, revision) in sorted(acknowledged.items()):
        response = read_until_ok(sim, client, members, key)
        assert (response["value"], response["mod_revision"]) == (value, revision), key


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_acknowledged_writes_survive_a_majority_crash_with_writes_in_flight(seed):
    sim, members, client, leader = started(3, seed=seed)
    for i in range(40):
        sim.schedule_call(i * 5 * MILLISECOND, "client", "request_with", members[i % 3].name, "put", {"key": f"k{i % 8}", "value": f"v{i}"})
    run(sim, sim.now + 120 * MILLISECOND)  # a stream of writes, crashed in the middle
    victims = [leader, next(m.name for m in members if m.name != leader)]
    for name in victims:
        sim.crash(name)
    run(sim, sim.now + 2 * SECOND)
    for name in victims:
        sim.restart(name)
    assert run_until_leader(sim, members, sim.now + 5 * SECOND) is not None
    run(sim, sim.now + SECOND)
    rids = {rid: sent for rid, sent in client.sent.items() if sent[2]["op"] == "put"}
    acked = [(rid, sent[2]) for rid, sent in rids.items() if client.responses.get(rid, {}).get("ok")]
    assert acked and len(acked) < len(rids)  # some made it before the crash, some did not
    store = find_leader(members).store
    for rid, request in acked:
        revision = client.responses[rid]["revision"]
        kv = store.get(request["key"], revision=revision)
        assert kv is not None and kv["value"] == request["value"] and kv["mod_revision"] == revision, request
    for key in sorted({request["key"] for _, request in acked}):
        newest = max(client.responses[rid]["revision"] for rid, request in acked if request["key"] == key)
        assert read_until_ok(sim, client, members, key)["mod_revision"] >= newest
