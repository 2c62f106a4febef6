"""Linearizability over HTTP: concurrent clients through POST /api/clusters/<name>/etcd on a
running cluster while faults arrive through POST /faults, checked like an outside
Jepsen-style test would check it.

Each client is a coroutine sending one request at a time; asyncio.gather runs them
concurrently, so the server sees concurrent HTTP calls, each one a concurrent etcd client
in the simulation. Times are wall-clock (time.monotonic) around each HTTP call: the
simulation applies a request while the call is open, so the call and return bracket
the moment it took effect. Outcomes come from the HTTP answers:

    200                      ok
    503, outcome "failed"    certainly not applied: left out of the history
    503, outcome "unknown"   maybe applied (proposed, then timed out): no return time
    504                      no answer in time: unknown for writes, failed for reads

At the end the faults are repaired, a final linearizable read of each key joins the
history, and every acknowledged write must still be there.
"""

import asyncio
import json
import random
import time

import pytest

from tests.support import linearizability as lin

pytestmark = pytest.mark.asyncio

NAME = "lin"
KEYS = ("x", "y", "z")
MEMBERS = 3
CLIENTS = 16
CHAOS_SECONDS = 9.0
HTTP_TIMEOUT = 2.0  # wall seconds per request; the member's own timeout is 4.5 virtual s (0.15 wall s at speed 30)


async def post(client, path, body):
    return await client.post(path, data=json.dumps(body), content_type="application/json")


async def start_cluster(client, *, members, speed, seed):
    response = await post(client, "/api/clusters", {"name": NAME, "etcd_members": members, "profile": "realistic", "speed": speed, "seed": seed, "paused": True})
    assert response.status_code == 201, response.content
    await post(client, f"/api/clusters/{NAME}/advance", {"seconds": 5})
    assert (await client.get(f"/api/clusters/{NAME}/state")).json()["etcd"]["leader"] is not None
    response = await client.patch(f"/api/clusters/{NAME}/clock", data=json.dumps({"paused": False}), content_type="application/json")
    assert response.status_code == 200 and response.json()["paused"] is False


async def request(client, body: dict) -> dict:
    """One HTTP call, recorded: the request fields plus call, ret, outcome and output."""
    record = {**body, "call": time.monotonic(), "ret": None, "output": None}
    response = await post(client, f"/api/clusters/{NAME}/etcd", {**body, "timeout": HTTP_TIMEOUT})
    returned = time.monotonic()
    answer = response.json()
    record["status"] = response.status_code
    if response.status_code == 200:
        record.update(outcome="ok", ret=returned, revision=answer["revision"])
        if body["op"] == "get":
            record["output"] = answer["value"]
            record["mod_revision"] = answer["mod_revision"]
        elif body["op"] == "cas":
            record["output"] = answer["succeeded"]
        elif body["op"] == "delete":
            record["deleted"] = answer["deleted"]
    elif response.status_code == 503:
        assert answer["outcome"] in ("failed", "unknown") and answer["error"], answer
        record.update(outcome=answer["outcome"], error=answer["error"])
    elif response.status_code == 504:
        assert answer["outcome"] == ("failed" if body["op"] == "get" else "unknown"), answer
        record.update(outcome=answer["outcome"], error=answer["error"])
    else:
        pytest.fail(f"unexpected answer {response.status_code}: {answer}")
    return record


async def kv_client(client, number: int, stop: asyncio.Event, records: list, rng: random.Random) -> None:
    written = 0
    last_seen: dict = {}
    while not stop.is_set():
        op = rng.choice(("get", "get", "put", "put", "cas", "cas", "delete"))
        key = rng.choice(KEYS)
        body = {"op": op, "key": key}
        if rng.random() < 0.7:
            body["member"] = f"etcd-{rng.randrange(MEMBERS)}"  # else the server picks one, like etcd's client balancer
        if op in ("put", "cas"):
            written += 1
            body["value"] = f"h{number}.{written}"
        if op == "cas":
            body["expected"] = None if rng.random() < 0.2 else last_seen.get(key)
        record = await request(client, body)
        record["client"] = number
        records.append(record)
        if record["outcome"] == "ok":
            if op == "get":
                last_seen[key] = record["output"]
            elif op == "put" or (op == "cas" and record["output"]):
                last_seen[key] = body["value"]
            elif op == "delete":
                last_seen[key] = None
        await asyncio.sleep(rng.uniform(0, 0.02))


async def fault(client, body: dict, faults: list) -> None:
    response = await post(client, f"/api/clusters/{NAME}/faults", body)
    assert response.status_code == 200, response.content
    faults.append((time.monotonic(), body))


async def nemesis(client, stop: asyncio.Event, faults: list, rng: random.Random) -> None:
    names = [f"etcd-{i}" for i in range(MEMBERS)]
    down: set = set()
    # Every kind of fault early on, whatever the draws; then random ones.
    plan = ["crash-leader", "isolate-leader", "restart", "heal", "partition", "crash", "loss", "restart", "latency", "heal"]
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(0.3, 0.9))
        if stop.is_set():
            break
        state = (await client.get(f"/api/clusters/{NAME}/state")).json()
        leader = state["etcd"]["leader"]
        action = plan.pop(0) if plan else rng.choice(("crash", "crash-leader", "restart", "restart", "partition", "isolate-leader", "heal", "heal", "loss", "latency"))
        if len(down) > MEMBERS // 2:
            action = "restart"
        up = [n for n in names if n not in down]
        if action == "crash-leader" and leader is not None:
            await fault(client, {"action": "crash", "target": leader}, faults)
            down.add(leader)
        elif action in ("crash", "crash-leader") and up:
            target = rng.choice(up)
            await fault(client, {"action": "crash", "target": target}, faults)
            down.add(target)
        elif action == "restart" and down:
            target = rng.choice(sorted(down))
            await fault(client, {"action": "restart", "target": target}, faults)
            down.discard(target)
        elif action == "isolate-leader" and leader is not None:
            await fault(client, {"action": "partition", "groups": [[leader], [n for n in names if n != leader]]}, faults)
        elif action in ("partition", "isolate-leader"):
            shuffled = rng.sample(names, len(names))
            cut = rng.randrange(1, len(names))
            await fault(client, {"action": "partition", "groups": [shuffled[:cut], shuffled[cut:]]}, faults)
        elif action == "heal":
            await fault(client, {"action": "heal"}, faults)
        elif action == "loss":
            await fault(client, {"action": "loss", "target": rng.choice(names), "percent": rng.choice((5, 20))}, faults)
        elif action == "latency":
            await fault(client, {"action": "latency", "target": rng.choice(names), "ms": rng.choice((20, 100))}, faults)
    await fault(client, {"action": "heal"}, faults)
    for name in sorted(down):
        await fault(client, {"action": "restart", "target": name}, faults)


async def final_read(client, key: str) -> dict:
    """A linearizable read after the repair, retried while refused (an election may
    still be settling)."""
    for attempt in range(40):
        record = await request(client, {"op": "get", "key": key, "member": f"etcd-{attempt % MEMBERS}"})
        if record["outcome"] == "ok":
            return record
        await asyncio.sleep(0.1)
    pytest.fail(f"no final read of {key!r} succeeded")


def operation(record: dict) -> lin.Operation | None:
    outcome = record["outcome"]
    if outcome == "failed":
        return None
    ret = record["ret"] if outcome == "ok" else None
    op, key, call, who = record["op"], record["key"], record["call"], record.get("client")
    if op == "get":
        return lin.get(key, record["output"], call, ret, who) if ret is not None else None
    if op == "put":
        return lin.put(key, record["value"], call, ret, who)
    if op == "delete":
        return lin.delete(key, call, ret, who)
    return lin.cas(key, record.get("expected"), record["value"], record["output"] if ret is not None else None, call, ret, who)


def changed_the_key(record: dict) -> bool:
    op = record["op"]
    return record["outcome"] == "ok" and (op == "put" or (op == "cas" and record["output"]) or (op == "delete" and record.get("deleted")))


@pytest.mark.parametrize("seed", [11])
async def test_concurrent_http_clients_under_faults_are_linearizable(async_client, seed):
    await start_cluster(async_client, members=MEMBERS, speed=30, seed=seed)
    rng = random.Random(seed)
    stop = asyncio.Event()
    records: list = []
    faults: list = []

    async def stop_later():
        await asyncio.sleep(CHAOS_SECONDS)
        stop.set()

    began = (await async_client.get(f"/api/clusters/{NAME}")).json()
    await asyncio.gather(
        stop_later(),
        nemesis(async_client, stop, faults, random.Random(rng.random())),
        *(kv_client(async_client, i, stop, records, random.Random(rng.random())) for i in range(CLIENTS)),
    )
    ended = (await async_client.get(f"/api/clusters/{NAME}")).json()
    await asyncio.sleep(0.5)  # the repaired cluster elects a leader and catches up
    final = {key: await final_read(async_client, key) for key in KEYS}
    final_records = [{**r, "client": "final"} for r in final.values()]

    history = [op for op in map(operation, records + final_records) if op is not None]
    result = lin.check(history)
    assert result.ok, result.explanation

    # Nothing acknowledged is lost: each key's final value is its newest acknowledged
    # write, or a later one.
    for key in KEYS:
        acknowledged = [r for r in records if r["key"] == key and changed_the_key(r)]
        if not acknowledged:
            continue
        newest = max(acknowledged, key=lambda r: r["revision"])
        if final[key]["output"] is not None:
            assert final[key]["mod_revision"] >= newest["revision"], (key, final[key], newest)
        else:
            assert newest["op"] == "delete" or any(
                r["key"] == key and r["op"] == "delete" and r["outcome"] in ("ok", "unknown") and (r["outcome"] == "unknown" or r["revision"] >= newest["revision"])
                for r in records
            ), (key, newest)

    # Not vacuous: concurrent traffic, faults of every kind, every outcome seen.
    outcomes = {k: sum(1 for r in records if r["outcome"] == k) for k in ("ok", "failed", "unknown")}
    assert outcomes["ok"] >= 100 and outcomes["failed"] >= 1, outcomes
    assert len(faults) >= 8 and {"crash", "restart", "partition", "heal"} <= {f["action"] for _, f in faults}, faults
    answered = [r for r in records if r["ret"] is not None]
    overlapping = sum(1 for a, b in zip(answered, answered[1:], strict=False) if b["call"] < a["ret"])
    assert overlapping > len(answered) // 4, "the clients hardly overlapped"
    assert ended["time"] - began["time"] > 60, "the cluster hardly ran"  # virtual seconds while the clients ran
    print(f"{len(records)} requests {outcomes}, {len(faults)} faults, {overlapping} overlapping pairs, {len(history)} operations checked, "
          f"virtual {began['time']:.1f}-{ended['time']:.1f} s")
