"""POST /api/clusters/<name>/etcd and /faults: client requests into the simulated etcd."""

import asyncio
import json

import pytest

pytestmark = pytest.mark.asyncio


async def post(client, path, body):
    return await client.post(path, data=json.dumps(body), content_type="application/json")


async def make_running(client, name="kv", members=3, speed=20):
    """A running cluster whose etcd has elected its first leader."""
    response = await post(client, "/api/clusters", {"name": name, "etcd_members": members, "profile": "realistic", "speed": speed, "seed": 5, "paused": True})
    assert response.status_code == 201
    await post(client, f"/api/clusters/{name}/advance", {"seconds": 5})
    assert (await client.get(f"/api/clusters/{name}/state")).json()["etcd"]["leader"] is not None
    response = await client.patch(f"/api/clusters/{name}/clock", data=json.dumps({"paused": False}), content_type="application/json")
    assert response.status_code == 200
    return response.json()


async def etcd(client, body, name="kv"):
    response = await post(client, f"/api/clusters/{name}/etcd", {"timeout": 10, **body})
    return response.status_code, response.json()


async def test_put_get_cas_delete(async_client):
    await make_running(async_client)
    status, put = await etcd(async_client, {"op": "put", "key": "color", "value": "blue"})
    assert status == 200 and put["revision"] >= 2
    status, got = await etcd(async_client, {"op": "get", "key": "color"})
    assert status == 200 and got["value"] == "blue" and got["mod_revision"] == put["revision"]
    status, cas = await etcd(async_client, {"op": "cas", "key": "color", "expected": "red", "value": "green"})
    assert status == 200 and cas["succeeded"] is False
    status, cas = await etcd(async_client, {"op": "cas", "key": "color", "expected": "blue", "value": "green"})
    # Other writers (kubelets' leases, controllers) move the revision too: later, not next.
    assert status == 200 and cas["succeeded"] is True and cas["revision"] > put["revision"]
    status, cas = await etcd(async_client, {"op": "cas", "key": "fresh", "expected": None, "value": "1"})
    assert status == 200 and cas["succeeded"] is True
    status, deleted = await etcd(async_client, {"op": "delete", "key": "color"})
    assert status == 200 and deleted["revision"] > cas["revision"]
    status, gone = await etcd(async_client, {"op": "get", "key": "color"})
    assert status == 200 and gone["value"] is None and gone["mod_revision"] is None


async def test_every_member_answers_and_followers_forward_writes(async_client):
    await make_running(async_client)
    for i in range(3):
        status, body = await etcd(async_client, {"op": "put", "key": f"k{i}", "value": str(i), "member": f"etcd-{i}"})
        assert status == 200 and body["member"] == f"etcd-{i}"
    for i in range(3):
        status, body = await etcd(async_client, {"op": "get", "key": "k2", "member": f"etcd-{i}"})
        assert (status, body["value"]) == (200, "2")


async def test_no_quorum_fails_clearly_and_nothing_acknowledged_is_lost(async_client):
    await make_running(async_client)
    status, first = await etcd(async_client, {"op": "put", "key": "keep", "value": "me", "member": "etcd-0"})
    assert status == 200
    for member in ("etcd-1", "etcd-2"):
        response = await post(async_client, "/api/clusters/kv/faults", {"action": "crash", "target": member})
        assert response.status_code == 200
    status, body = await etcd(async_client, {"op": "put", "key": "x", "value": "1", "member": "etcd-0", "timeout": 2})
    assert status in (503, 504) and body["outcome"] in ("failed", "unknown") and body["error"]
    status, body = await etcd(async_client, {"op": "put", "key": "x", "value": "1", "member": "etcd-1", "timeout": 2})
    assert (status, body["outcome"]) == (503, "failed") and "down" in body["error"]
    for member in ("etcd-1", "etcd-2"):
        await post(async_client, "/api/clusters/kv/faults", {"action": "restart", "target": member})
    for _ in range(50):
        status, body = await etcd(async_client, {"op": "get", "key": "keep", "member": "etcd-2", "timeout": 2})
        if status == 200:
            break
        await asyncio.sleep(0.1)
    assert status == 200 and body["value"] == "me" and body["mod_revision"] == first["revision"]


async def test_paused_cluster_times_out_then_answers_after_advance(async_client):
    await make_running(async_client, name="p")
    await async_client.patch("/api/clusters/p/clock", data=json.dumps({"paused": True}), content_type="application/json")
    status, body = await etcd(async_client, {"op": "put", "key": "a", "value": "1", "timeout": 0.3}, name="p")
    assert status == 504 and body["outcome"] == "unknown" and "paused" in body["error"]
    await post(async_client, "/api/clusters/p/advance", {"seconds": 2})  # the put commits now

    async def advance_soon():
        await asyncio.sleep(0.2)
        await post(async_client, "/api/clusters/p/advance", {"seconds": 2})

    task = asyncio.ensure_future(advance_soon())
    status, body = await etcd(async_client, {"op": "get", "key": "a", "timeout": 5}, name="p")
    await task
    # The earlier put was proposed and committed once time moved: outcome "unknown" was right.
    assert status == 200 and body["value"] == "1"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"op": "drop", "key": "a"}, "op"),
        ({"op": "put", "key": ""}, "key"),
        ({"op": "put", "key": "a"}, "value"),
        ({"op": "get", "key": "a", "value": "x"}, "value"),
        ({"op": "put", "key": "a", "value": "x", "expected": "y"}, "expected"),
        ({"op": "get", "key": "a", "member": "etcd-9"}, "member"),
        ({"op": "get", "key": "a", "consistency": "eventual"}, "consistency"),
        ({"op": "put", "key": "a", "value": "x", "consistency": "serializable"}, "consistency"),
        ({"op": "get", "key": "a", "timeout": 0}, "timeout"),
        ({"op": "get", "key": "a", "timeout": 1e9}, "timeout"),
        ({"op": "get", "key": 5}, "key"),
        ({"op": "get", "key": "a", "extra": True}, "extra"),
    ],
)
async def test_bad_etcd_requests_are_400_and_change_nothing(async_client, body, field):
    await make_running(async_client, speed=1)
    before = len((await async_client.get("/api/clusters/kv")).json()["state_hash"])
    response = await post(async_client, "/api/clusters/kv/etcd", body)
    assert 400 <= response.status_code < 500
    assert response.json()["field"] == field
    assert (await async_client.get("/api/clusters/kv")).json()["counts"]["commands"] == 0
    assert before == 64


async def test_a_fresh_cluster_has_no_leader_yet_and_says_so(async_client):
    await post(async_client, "/api/clusters", {"name": "new", "paused": True})
    status, body = await etcd(async_client, {"op": "put", "key": "a", "value": "1", "timeout": 1}, name="new")
    assert status in (503, 504)
    assert body["outcome"] in ("failed", "unknown")


@pytest.mark.parametrize(
    "body, field, status",
    [
        ({"action": "melt", "target": "etcd-0"}, "action", 400),
        ({"action": "crash"}, "target", 400),
        ({"action": "crash", "target": "etcd-7"}, "target", 404),
        ({"action": "loss", "target": "etcd-0", "percent": 150}, "percent", 400),
        ({"action": "latency", "target": "etcd-0", "ms": -1}, "ms", 400),
        ({"action": "partition", "groups": [["etcd-0"]]}, "groups", 400),
        ({"action": "partition", "groups": [["etcd-0"], ["etcd-0", "etcd-1"]]}, "groups", 400),
        ({"action": "partition", "groups": [["etcd-0"], ["ghost"]]}, "groups", 404),
        ({"action": "crash", "target": "etcd-0", "when": "now"}, "when", 400),
    ],
)
async def test_bad_faults_are_refused(async_client, body, field, status):
    await make_running(async_client, speed=1)
    response = await post(async_client, "/api/clusters/kv/faults", body)
    assert response.status_code == status and response.json()["field"] == field
    assert (await async_client.get("/api/clusters/kv")).json()["counts"]["commands"] == 0


async def test_partition_and_heal_show_in_the_state(async_client):
    await make_running(async_client, speed=1)
    groups = [["etcd-0"], ["etcd-1", "etcd-2"]]
    response = await post(async_client, "/api/clusters/kv/faults", {"action": "partition", "groups": groups})
    assert response.status_code == 200 and response.json()["network"]["partitions"] == groups
    state = (await async_client.get("/api/clusters/kv/state")).json()
    assert state["network"]["partitions"] == groups
    await post(async_client, "/api/clusters/kv/faults", {"action": "heal"})
    assert (await async_client.get("/api/clusters/kv/state")).json()["network"]["partitions"] == []
    await post(async_client, "/api/clusters/kv/faults", {"action": "loss", "target": "etcd-1", "peer": "etcd-2", "percent": 20})
    faults = (await async_client.get("/api/clusters/kv/state")).json()["network"]["faults"]
    assert faults["links"] == {"etcd-1|etcd-2": {"loss": 0.2, "latency_ms": 0.0}}


async def test_forced_election_timeout_makes_a_follower_campaign(async_client):
    await make_running(async_client, speed=1)
    await async_client.patch("/api/clusters/kv/clock", data=json.dumps({"paused": True}), content_type="application/json")
    state = (await async_client.get("/api/clusters/kv/state")).json()
    leader = state["etcd"]["leader"]
    follower = next(m["id"] for m in state["etcd"]["members"] if m["id"] != leader)
    # The leader ignores it; a follower's pre-vote is refused while it hears from the leader.
    response = await post(async_client, "/api/clusters/kv/faults", {"action": "timeout", "target": leader})
    assert response.status_code == 200 and response.json()["started"] is False
    response = await post(async_client, "/api/clusters/kv/faults", {"action": "timeout", "target": follower})
    assert response.status_code == 200
    events = (await async_client.get("/api/clusters/kv/events?after=0&limit=5000")).json()["events"]
    assert any(e["kind"] == "raft.role" and e["source"] == follower and "pre-candidate" in e["summary"] for e in events)
    response = await post(async_client, "/api/clusters/kv/faults", {"action": "timeout", "target": "etcdctl"})
    assert response.status_code == 400 and response.json()["field"] == "target"


async def test_raft_timing_and_pre_vote_are_set_per_cluster(async_client):
    body = {"name": "slow", "paused": True, "pre_vote": False, "raft_heartbeat_ms": 2000, "raft_election_min_ms": 8000, "raft_election_max_ms": 9000}
    response = await post(async_client, "/api/clusters", body)
    assert response.status_code == 201
    summary = response.json()
    assert summary["pre_vote"] is False and summary["raft"] == {"heartbeat_ms": 2000.0, "election_min_ms": 8000.0, "election_max_ms": 9000.0}
    members = (await async_client.get("/api/clusters/slow/state")).json()["etcd"]["members"]
    assert all(m["pre_vote"] is False for m in members)
    assert all(8.0 <= m["election_timeout"] < 9.0 for m in members)
    await post(async_client, "/api/clusters/slow/advance", {"seconds": 7.9})
    assert (await async_client.get("/api/clusters/slow/state")).json()["etcd"]["leader"] is None  # nobody's timer has fired yet


@pytest.mark.parametrize(
    "body, field",
    [
        ({"raft_heartbeat_ms": 5}, "raft_heartbeat_ms"),
        ({"raft_heartbeat_ms": 2000, "raft_election_min_ms": 1000}, "raft_election_min_ms"),
        ({"raft_election_min_ms": 9000, "raft_election_max_ms": 8000}, "raft_election_max_ms"),
        ({"pre_vote": "no"}, "pre_vote"),
    ],
)
async def test_bad_raft_timing_is_refused(async_client, body, field):
    response = await post(async_client, "/api/clusters", {"name": "bad", **body})
    assert response.status_code == 400 and response.json()["field"] == field
