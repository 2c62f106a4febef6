import asyncio
import datetime
import json
import time

import pytest

pytestmark = pytest.mark.asyncio


async def post(client, path, body, **kw):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return await client.post(path, data=data, content_type="application/json", **kw)


async def patch(client, path, body):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return await client.patch(path, data=data, content_type="application/json")


async def create(client, name="c1", **fields):
    response = await post(client, "/api/clusters", {"name": name, "paused": True, **fields})
    assert response.status_code == 201, response.content
    return response.json()


async def test_create_list_get_delete(async_client):
    summary = await create(async_client, "alpha", seed=42, etcd_members=5, nodes=2, profile="realistic", speed=2.5)
    assert summary["name"] == "alpha" and summary["seed"] == 42 and summary["etcd_members"] == 5
    assert summary["paused"] is True and summary["speed"] == 2.5 and summary["profile"] == "realistic"
    assert summary["time"] == 0.0 and len(summary["state_hash"]) == 64
    listing = (await async_client.get("/api/clusters")).json()
    assert [c["name"] for c in listing["items"]] == ["alpha"]
    assert (await async_client.get("/api/clusters/alpha")).json()["seed"] == 42
    assert (await async_client.delete("/api/clusters/alpha")).status_code == 204
    missing = await async_client.get("/api/clusters/alpha")
    assert missing.status_code == 404 and missing.json() == {"error": "cluster alpha not found", "field": "name"}
    assert (await async_client.delete("/api/clusters/alpha")).status_code == 404


async def test_defaults_fill_in_what_is_left_out(async_client):
    response = await post(async_client, "/api/clusters", {"name": "d"})
    assert response.status_code == 201
    body = response.json()
    assert (body["etcd_members"], body["nodes"], body["seed"], body["speed"], body["paused"], body["profile"]) == (3, 3, 1, 1.0, False, "teaching")


async def test_duplicate_name_is_409(async_client):
    await create(async_client, "dup")
    response = await post(async_client, "/api/clusters", {"name": "dup"})
    assert response.status_code == 409 and response.json()["field"] == "name"


async def test_clock_pause_resume_speed(async_client):
    await create(async_client, "clk")
    body = (await patch(async_client, "/api/clusters/clk/clock", {"paused": False, "speed": 50})).json()
    assert body["paused"] is False and body["speed"] == 50
    await asyncio.sleep(0.3)  # the runner moves a running cluster with the wall clock
    moved = (await async_client.get("/api/clusters/clk")).json()["time"]
    assert moved > 0
    paused = (await patch(async_client, "/api/clusters/clk/clock", {"paused": True})).json()
    await asyncio.sleep(0.2)
    assert (await async_client.get("/api/clusters/clk")).json()["time"] == paused["time"]
    bad = await patch(async_client, "/api/clusters/clk/clock", {"speed": 1000})
    assert bad.status_code == 400 and bad.json()["field"] == "speed"


async def test_advance_moves_a_paused_cluster_exactly(async_client):
    await create(async_client, "adv")
    response = await post(async_client, "/api/clusters/adv/advance", {"seconds": 12.5})
    assert response.status_code == 200 and response.json()["time"] == 12.5
    assert (await async_client.get("/api/clusters/adv")).json()["time"] == 12.5


async def test_advance_on_a_running_cluster_is_409(async_client):
    await create(async_client, "run", paused=False)
    response = await post(async_client, "/api/clusters/run/advance", {"seconds": 1})
    assert response.status_code == 409 and response.json()["field"] == "paused"


async def test_step_executes_one_action(async_client):
    await create(async_client, "st")
    before = (await async_client.get("/api/clusters/st")).json()
    response = await post(async_client, "/api/clusters/st/step", {})
    assert response.status_code == 200
    after = (await async_client.get("/api/clusters/st")).json()
    assert after["time"] >= before["time"]


async def test_same_seed_same_advance_gives_identical_event_logs(async_client):
    for name in ("twin-a", "twin-b"):
        await create(async_client, name, seed=99, epoch="2026-05-04T10:00:00Z")  # the same config: the epoch too (default: now)
        for seconds in (3, 0.5, 40):
            assert (await post(async_client, f"/api/clusters/{name}/advance", {"seconds": seconds})).status_code == 200
    logs = []
    for name in ("twin-a", "twin-b"):
        events, after = [], 0
        while True:
            page = (await async_client.get(f"/api/clusters/{name}/events?after={after}&limit=500")).json()
            events += page["events"]
            if not page["events"]:
                break
            after = page["events"][-1]["seq"]
        logs.append(events)
    a, b = logs
    assert [e["seq"] for e in a] == list(range(1, len(a) + 1))
    strip = [{k: v for k, v in e.items()} for e in a]
    for e in strip:
        e["summary"] = e["summary"].replace("twin-a", "twin-b")
        if e["kind"] == "cluster.created":
            e["data"]["config"]["name"] = "twin-b"
    assert strip == b
    summaries = [(await async_client.get(f"/api/clusters/{n}")).json() for n in ("twin-a", "twin-b")]
    assert summaries[0]["state_hash"] != "" and summaries[0]["time"] == summaries[1]["time"] == 43.5


async def test_events_paging(async_client):
    await create(async_client, "ev")
    await post(async_client, "/api/clusters/ev/advance", {"seconds": 30})
    last = (await async_client.get("/api/clusters/ev")).json()["last_seq"]
    page = (await async_client.get("/api/clusters/ev/events?after=0&limit=1")).json()
    assert [e["seq"] for e in page["events"]] == [1] and page["last_seq"] == last
    assert page["events"][0]["kind"] == "cluster.created"
    tail = (await async_client.get(f"/api/clusters/ev/events?after={last}")).json()
    assert tail["events"] == []


async def test_state_is_the_snapshot(async_client):
    await create(async_client, "snap")
    state = (await async_client.get("/api/clusters/snap/state")).json()
    assert state["name"] == "snap" and state["time"] == 0.0 and state["clock"]["paused"] is True
    assert "network" in state and "partitions" in state["network"]


async def test_schema_and_docs(async_client):
    schema = (await async_client.get("/api/schema")).json()
    paths = schema["paths"]
    for path in ("/api/clusters", "/api/clusters/{name}", "/api/clusters/{name}/clock", "/api/clusters/{name}/advance", "/api/clusters/{name}/state", "/api/clusters/{name}/events"):
        assert path in paths, path
    docs = await async_client.get("/api/docs")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


async def test_unknown_api_path_is_json_404(async_client):
    response = await async_client.get("/api/nothing/here")
    assert response.status_code == 404 and "error" in response.json()


async def test_the_demo_cluster_starts_with_an_application(async_client, settings):
    settings.DEMO_CLUSTER = "demo"
    listing = (await async_client.get("/api/clusters")).json()
    assert [c["name"] for c in listing["items"]] == ["demo"]
    await async_client.patch("/api/clusters/demo/clock", data=json.dumps({"paused": True}), content_type="application/json")
    await post(async_client, "/api/clusters/demo/advance", {"seconds": 60})
    state = (await async_client.get("/api/clusters/demo/state")).json()
    events = (await async_client.get("/api/clusters/demo/events?after=0&limit=5000")).json()["events"]
    created = {e["data"].get("key") for e in events if e["kind"] == "api.response" and e["data"].get("code") == 201}
    assert {"/registry/deployments/default/web", "/registry/services/specs/default/web"} <= created
    assert sum(1 for key in created if key and key.startswith("/registry/pods/default/web-")) == 3
    assert state["etcd"]["leader"] is not None


async def test_a_new_cluster_starts_its_calendar_now(async_client):
    before = time.time()
    summary = await create(async_client, "cal-now")
    epoch = datetime.datetime.strptime(summary["epoch"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC).timestamp()
    assert before - 1 <= epoch <= time.time()
    fixed = await create(async_client, "cal-fixed", epoch="2030-02-03T04:05:06Z")
    assert fixed["epoch"] == "2030-02-03T04:05:06Z"
    for bad in ("2030-02-03 04:05:06", "2030-02-03T04:05:06+01:00", "1970-01-01T00:00:00Z"):
        response = await post(async_client, "/api/clusters", {"name": "cal-bad", "epoch": bad})
        assert response.status_code == 400 and response.json()["field"] == "epoch", bad
