"""REST for scenarios: list, read, upload, fast and live runs (DESIGN.md: the fast-mode answer)."""

import asyncio
import json

import pytest

from dashboard import scenarios

pytestmark = pytest.mark.asyncio

SMALL = """\
id: tiny-upload
title: {en: Tiny, zh-Hans: 小课}
summary: {en: One member elects itself, zh-Hans: 一个成员选自己}
level: beginner
duration: 1
cluster: {members: 1, nodes: 0, profile: realistic, seed: 2}
steps:
  - title: {en: Leader, zh-Hans: 领导者}
    ask:
      question: {en: 'Who leads?', zh-Hans: 谁是领导者？}
      choices: [{en: nobody, zh-Hans: 没有人}, {en: etcd-0, zh-Hans: etcd-0}]
      answer: 1
    wait: {leader elected: true, timeout: 10}
    expect:
      - {path: etcd.leader, equals: etcd-0}
  - title: {en: Later, zh-Hans: 稍后}
    actions:
      - clock: {speed: 50}
      - advance: 2
    expect:
      - {path: time, at least: 2}
"""


@pytest.fixture(autouse=True)
def no_uploads():
    scenarios.library.uploaded.clear()
    scenarios.runs.clear()
    yield
    scenarios.library.uploaded.clear()
    scenarios.runs.clear()


async def post(client, path, body, content_type="application/json"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return await client.post(path, data=data, content_type=content_type)


async def test_list_and_read_the_built_in_lessons(async_client):
    listing = (await async_client.get("/api/scenarios")).json()["items"]
    ids = [s["id"] for s in listing]
    assert "etcd-odd-members" in ids and "node-failure" in ids and len(ids) >= 9
    odd = next(s for s in listing if s["id"] == "etcd-odd-members")
    assert (odd["source"], odd["clusters"], odd["level"]) == ("builtin", 4, "beginner") and odd["titles"]["zh-Hans"] == "为什么 etcd 成员数是奇数"
    chinese = (await async_client.get("/api/scenarios?lang=zh-Hans")).json()["items"]
    assert next(s for s in chinese if s["id"] == "etcd-odd-members")["title"] == "为什么 etcd 成员数是奇数"
    detail = (await async_client.get("/api/scenarios/scheduling-pending")).json()
    assert detail["id"] == "scheduling-pending" and detail["steps"][1]["ask"]["answer"] == 1 and detail["steps"][0]["title"]["zh-Hans"]
    missing = await async_client.get("/api/scenarios/no-such-lesson")
    assert missing.status_code == 404 and missing.json() == {"error": "no scenario no-such-lesson", "field": "id"}
    bad_lang = await async_client.get("/api/scenarios?lang=fr")
    assert bad_lang.status_code == 400 and bad_lang.json()["field"] == "lang"


async def test_a_fast_run_answers_with_every_step_and_assertion(async_client, registry):
    response = await post(async_client, "/api/scenarios/apiserver-pipeline/runs", {"mode": "fast", "name": "lesson"})
    assert response.status_code == 201, response.content
    report = response.json()
    assert report["passed"] is True and report["state"] == "done" and report["mode"] == "fast" and report["cluster"] == "lesson"
    assert [s["title"] for s in report["steps"]] == ["Jane asks for the pods", "A Role and a RoleBinding", "Jane tries again", "Refused at validation"]
    for step in report["steps"]:
        assert step["assertions"] and all(set(a) >= {"text", "passed"} and a["passed"] for a in step["assertions"])
        assert step["events"]["first_seq"] <= step["events"]["last_seq"]
    assert any(a["text"] == "the answer is 403 Forbidden" for a in report["steps"][0]["assertions"])
    # The cluster stays, paused where the lesson left it, its events there to read.
    summary = (await async_client.get("/api/clusters/lesson")).json()
    assert summary["paused"] is True and summary["time"] == report["time"] and summary["rbac"] is True
    first, last = report["steps"][0]["events"]["first_seq"], report["steps"][0]["events"]["last_seq"]
    page = (await async_client.get(f"/api/clusters/lesson/events?after={first - 1}&limit={last - first + 1}")).json()
    assert [e["seq"] for e in page["events"]] == list(range(first, last + 1))
    assert any(e["kind"] == "api.authz" and e["data"]["ok"] is False for e in page["events"])
    # The same report later, in Chinese.
    again = (await async_client.get(f"/api/scenarios/apiserver-pipeline/runs/{report['run']}?lang=zh-Hans")).json()
    assert again["steps"][0]["title"] == "Jane 请求查看 Pod" and again["passed"] is True
    # The name is taken now.
    clash = await post(async_client, "/api/scenarios/apiserver-pipeline/runs", {"mode": "fast", "name": "lesson"})
    assert clash.status_code == 409 and clash.json() == {"error": "cluster lesson already exists", "field": "name"}


async def test_a_side_by_side_lesson_makes_one_cluster_per_member_count(async_client, registry):
    taken = f"etcd-odd-members-{scenarios.counter['next_run']}-four"  # a cluster the default name would need
    assert (await post(async_client, "/api/clusters", {"name": taken, "paused": True})).status_code == 201
    report = (await post(async_client, "/api/scenarios/etcd-odd-members/runs", {"lang": "zh-Hans"})).json()
    assert report["passed"] is True and report["lang"] == "zh-Hans"
    main = report["cluster"]
    assert report["clusters"] == {"main": main, "two": f"{main}-two", "four": f"{main}-four", "five": f"{main}-five"}
    assert taken not in report["clusters"].values() and sorted(registry.handles) == sorted([taken, *report["clusters"].values()])
    sizes = {name: (await async_client.get(f"/api/clusters/{name}")).json()["etcd_members"] for name in report["clusters"].values()}
    assert sizes == {main: 3, f"{main}-two": 2, f"{main}-four": 4, f"{main}-five": 5}


async def test_upload_a_scenario_then_run_it_live_step_by_step(async_client, registry):
    created = await post(async_client, "/api/scenarios", SMALL, content_type="application/yaml")
    assert created.status_code == 201, created.content
    assert created.json()["id"] == "tiny-upload" and created.json()["source"] == "uploaded"
    assert (await post(async_client, "/api/scenarios", SMALL, content_type="application/yaml")).status_code == 409
    started = await post(async_client, "/api/scenarios/tiny-upload/runs", {"mode": "live", "name": "room", "speed": 100, "profile": "teaching"})
    assert started.status_code == 201, started.content
    run = started.json()
    assert run["state"] == "ready" and run["steps"] == [] and run["next"]["question"]["choices"] == ["nobody", "etcd-0"]
    assert "answer" not in run["next"]["question"]
    assert registry.handles["room"].paused is True and registry.handles["room"].cluster.config.profile == "teaching"  # until the first step
    path = f"/api/scenarios/tiny-upload/runs/{run['run']}"
    bad = await post(async_client, f"{path}/next", {"choice": 5})
    assert bad.status_code == 400 and bad.json()["field"] == "choice"
    stepped = await post(async_client, f"{path}/next", {"choice": 1})
    assert stepped.status_code == 200 and stepped.json()["state"] in ("running", "ready")
    assert registry.handles["room"].paused is False
    report = await wait_for(async_client, path, lambda r: len(r["steps"]) == 1 and r["state"] == "ready")
    assert report["steps"][0]["passed"] and report["steps"][0]["correct"] is True and report["steps"][0]["question"]["answer"] == 1
    assert report["steps"][0]["time"]["start"] == 0.0  # the clusters waited for the first step
    assert (await async_client.post(f"{path}/next")).status_code == 200  # no body: no choice
    report = await wait_for(async_client, path, lambda r: r["state"] == "done")
    assert report["passed"] is True and [s["title"] for s in report["steps"]] == ["Leader", "Later"]
    assert registry.handles["room"].speed == 50  # the lesson's clock action
    over = await post(async_client, f"{path}/next", {})
    assert over.status_code == 409 and "every step" in over.json()["error"]
    [brief] = (await async_client.get("/api/scenarios/tiny-upload/runs")).json()["items"]
    assert brief.pop("time") >= report["time"]  # the clusters run on after the lesson
    assert brief == {"run": run["run"], "mode": "live", "state": "done", "passed": True, "cluster": "room", "clusters": {"main": "room"}, "steps": 2}
    assert (await async_client.delete("/api/scenarios/tiny-upload")).status_code == 204
    assert (await async_client.get("/api/scenarios/tiny-upload")).status_code == 404
    builtin = await async_client.delete("/api/scenarios/node-failure")
    assert builtin.status_code == 409 and "built-in" in builtin.json()["error"]


async def wait_for(client, path, ready, seconds=20.0):
    """Live runs move with the wall clock (the runner's ticker): poll the report."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        report = (await client.get(path)).json()
        if ready(report) or loop.time() > deadline:
            return report
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("body, status, words", [
    (SMALL.replace("level: beginner", "level: expert"), 400, "the uploaded file:4: level:"),
    (SMALL.replace("    narrate:", "").replace("    ask:", "    asks:"), 400, "unknown key 'asks'"),
    ("id: [", 400, "not valid YAML"),
    ('{"id": "json-one"}', 400, "'title' is required"),
    (SMALL + "#" * (256 * 1024), 413, "at most 256 KiB"),
    ("#" * (3 * 1024 * 1024), 413, "at most 256 KiB"),  # over Django's own body limit too
])
async def test_a_bad_upload_is_refused_clearly(async_client, body, status, words):
    response = await post(async_client, "/api/scenarios", body, content_type="text/plain")
    assert response.status_code == status, response.content
    assert words in response.json()["error"]
    assert scenarios.library.uploaded == {}


async def test_bad_run_requests(async_client, registry):
    assert (await post(async_client, "/api/scenarios/nope/runs", {})).status_code == 404
    wrong = await post(async_client, "/api/scenarios/watch-relist/runs", {"mode": "slow"})
    assert wrong.status_code == 400 and wrong.json()["field"] == "mode"
    name = await post(async_client, "/api/scenarios/watch-relist/runs", {"name": "Not A Name"})
    assert name.status_code == 400 and name.json()["field"] == "name"
    assert (await async_client.get("/api/scenarios/watch-relist/runs/999")).status_code == 404
    assert registry.handles == {}


async def test_a_fast_run_that_takes_too_long_is_stopped(async_client, registry, monkeypatch):
    monkeypatch.setattr(scenarios, "FAST_RUN_WALL_SECONDS", -1.0)
    response = await post(async_client, "/api/scenarios/watch-relist/runs", {"name": "slow"})
    report = response.json()
    assert response.status_code == 201 and report["state"] == "abandoned" and report["passed"] is False
    assert report["error"].startswith("the run took longer than -1 wall seconds") and report["steps"] == []


async def test_a_run_whose_cluster_was_deleted_says_so(async_client, registry):
    run = (await post(async_client, "/api/scenarios/etcd-leader-partition/runs", {"mode": "live", "name": "gone"})).json()
    assert (await async_client.delete("/api/clusters/gone")).status_code == 204
    path = f"/api/scenarios/etcd-leader-partition/runs/{run['run']}"
    report = (await async_client.get(path)).json()
    assert (report["state"], report["passed"], report["error"]) == ("abandoned", False, "cluster gone was deleted")
    stepped = await post(async_client, f"{path}/next", {})
    assert stepped.status_code == 410 and stepped.json() == {"error": "cluster gone was deleted", "field": "name"}
