"""Uploaded scenarios and live lesson runs outlive their server process (rows in the database):
a new process (a fresh Library, no runs in memory, an empty registry) knows them."""

import asyncio

import pytest

from dashboard import scenarios
from dashboard.classroom import service as classrooms
from dashboard.history import store
from dashboard.models import UploadedScenario
from tests.dashboard.classroom_setup import ok, send

from .test_scenarios_api import SMALL, post, wait_for

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def persisted(settings, registry, monkeypatch):
    settings.PERSIST_CLUSTERS = True
    monkeypatch.setattr(scenarios, "library", scenarios.Library())
    scenarios.runs.clear()
    yield
    scenarios.runs.clear()


def new_process(monkeypatch) -> scenarios.Library:
    """What a restarted (or another) server process has: nothing of the uploads in memory."""
    library = scenarios.Library()
    monkeypatch.setattr(scenarios, "library", library)
    return library


async def test_an_uploaded_scenario_is_known_to_a_new_process(async_client, registry, monkeypatch):
    created = await post(async_client, "/api/scenarios", SMALL, content_type="application/yaml")
    assert created.status_code == 201, created.content
    stored = await asyncio.to_thread(lambda: list(UploadedScenario.objects.values_list("id", "text")))
    assert stored == [("tiny-upload", SMALL)]
    library = new_process(monkeypatch)
    assert library.uploaded == {}
    listing = (await async_client.get("/api/scenarios")).json()["items"]
    assert [(s["id"], s["source"], s["steps"]) for s in listing if s["source"] == "uploaded"] == [("tiny-upload", "uploaded", 2)]
    again = await post(async_client, "/api/scenarios", SMALL, content_type="application/yaml")
    assert again.status_code == 409 and again.json()["field"] == "id"
    ran = await post(async_client, "/api/scenarios/tiny-upload/runs", {"mode": "fast", "name": "tiny"})
    assert ran.status_code == 201, ran.content
    assert ran.json()["passed"] is True and [s["title"] for s in ran.json()["steps"]] == ["Leader", "Later"]
    parsed = library.uploaded["tiny-upload"]
    assert library.get("tiny-upload") is parsed  # parsed once per process
    # Deleted through yet another process: the first one no longer lists or runs it.
    new_process(monkeypatch)
    assert (await async_client.delete("/api/scenarios/tiny-upload")).status_code == 204
    assert (await async_client.delete("/api/scenarios/tiny-upload")).status_code == 404
    monkeypatch.setattr(scenarios, "library", library)
    assert "tiny-upload" not in [s["id"] for s in (await async_client.get("/api/scenarios")).json()["items"]]
    assert (await async_client.get("/api/scenarios/tiny-upload")).status_code == 404
    assert (await post(async_client, "/api/scenarios/tiny-upload/runs", {"mode": "fast"})).status_code == 404
    assert await asyncio.to_thread(UploadedScenario.objects.count) == 0
    builtin = await async_client.delete("/api/scenarios/node-failure")
    assert builtin.status_code == 409 and "built-in" in builtin.json()["error"]


async def test_the_upload_limit_counts_every_process_uploads(async_client, monkeypatch):
    monkeypatch.setattr(scenarios, "MAX_USER_SCENARIOS", 2)
    for n in (1, 2):
        body = SMALL.replace("id: tiny-upload", f"id: tiny-{n}")
        assert (await post(async_client, "/api/scenarios", body, content_type="application/yaml")).status_code == 201
        new_process(monkeypatch)
    third = await post(async_client, "/api/scenarios", SMALL, content_type="application/yaml")
    assert third.status_code == 429 and "at most 2 uploaded" in third.json()["error"]
    bad = await post(async_client, "/api/scenarios", SMALL.replace("level: beginner", "level: expert"), content_type="application/yaml")
    assert bad.status_code == 400 and await asyncio.to_thread(UploadedScenario.objects.count) == 2
    assert (await async_client.delete("/api/scenarios/tiny-1")).status_code == 204
    assert (await post(async_client, "/api/scenarios", SMALL, content_type="application/yaml")).status_code == 201


# --- live runs ------------------------------------------------------------------------------
async def restart(registry, monkeypatch) -> None:
    """A restarted server process: no run, cluster, classroom or upload in memory; the rows stay."""
    await asyncio.to_thread(store.call, lambda: None)  # the saves queued on the database thread are written
    if registry._ticker is not None:
        registry._ticker.cancel()
        registry._ticker = None
    for record in scenarios.runs.values():
        if record.task is not None:
            record.task.cancel()
    scenarios.runs.clear()
    monkeypatch.setattr(scenarios, "counter", {"next_run": 1})
    registry.handles.clear()
    registry._loaded = False
    classrooms.clear()
    new_process(monkeypatch)


async def test_a_live_run_goes_on_after_a_restart(async_client, registry, monkeypatch):
    await ok(await post(async_client, "/api/scenarios", SMALL, content_type="application/yaml"), 201)
    run = (await ok(await post(async_client, "/api/scenarios/tiny-upload/runs", {"mode": "live", "name": "room", "speed": 100}), 201))["run"]
    path = f"/api/scenarios/tiny-upload/runs/{run}"
    await ok(await post(async_client, f"{path}/next", {"choice": 1}))
    before = await wait_for(async_client, path, lambda r: len(r["steps"]) == 1 and r["state"] == "ready")
    assert before["steps"][0]["passed"] is True and before["next"]["title"] == "Later"
    await restart(registry, monkeypatch)
    page = (await async_client.get("/clusters/room/")).content.decode()  # the cluster page follows the lesson again
    assert f'<script id="lesson-run" type="application/json">{{"scenario": "tiny-upload", "run": "{run}"}}</script>' in page
    scenarios.runs.clear()
    assert (await async_client.get("/api/scenarios/tiny-upload/runs/99")).status_code == 404
    listed = (await ok(await async_client.get("/api/scenarios/tiny-upload/runs")))["items"]  # the presenter's page finds it again
    assert [(b["run"], b["state"], b["steps"]) for b in listed] == [(run, "ready", 1)]
    after = await ok(await async_client.get(path))
    assert after["steps"] == before["steps"] and after["state"] == "ready" and after["next"] == before["next"]
    assert after["time"] >= before["time"] and sorted(registry.handles) == ["room"]
    await ok(await post(async_client, f"{path}/next", {}))
    done = await wait_for(async_client, path, lambda r: r["state"] == "done")
    assert done["passed"] is True and [s["title"] for s in done["steps"]] == ["Leader", "Later"] and done["steps"][0] == before["steps"][0]
    assert registry.handles["room"].speed == 50  # the second step's clock action acted on the rebuilt cluster
    # A run started after the restart does not take the number of one saved before it.
    second = await ok(await post(async_client, "/api/scenarios/tiny-upload/runs", {"mode": "live"}), 201)
    assert second["run"] != run


async def test_a_step_cut_by_a_restart_is_reported_interrupted(async_client, registry, monkeypatch):
    await ok(await post(async_client, "/api/scenarios", SMALL, content_type="application/yaml"), 201)
    # Paused: the first step's wait cannot hold (no virtual time passes) when the process stops.
    run = (await ok(await post(async_client, "/api/scenarios/tiny-upload/runs", {"mode": "live", "name": "room", "paused": True}), 201))["run"]
    path = f"/api/scenarios/tiny-upload/runs/{run}"
    assert (await ok(await post(async_client, f"{path}/next", {"choice": 0})))["state"] == "running"
    await restart(registry, monkeypatch)
    after = await ok(await async_client.get(path))
    [step] = after["steps"]
    assert (after["state"], step["passed"], step["interrupted"], step["assertions"]) == ("ready", False, True, [])
    assert step["errors"] == [scenarios.INTERRUPTED] and (step["choice"], step["correct"]) == (0, False) and after["next"]["title"] == "Later"
    await ok(await post(async_client, f"{path}/next", {}))
    await ok(await send(async_client, "POST", "/api/clusters/room/advance", {"seconds": 3}))
    done = await wait_for(async_client, path, lambda r: r["state"] == "done")
    assert [s["passed"] for s in done["steps"]] == [False, True] and done["steps"][1]["assertions"][0]["passed"] is True


async def test_a_classroom_steps_its_lesson_after_a_restart(async_client, registry, monkeypatch):
    await ok(await post(async_client, "/api/scenarios", SMALL, content_type="application/yaml"), 201)
    created = await ok(await send(async_client, "POST", "/api/classrooms", {"scenario": "tiny-upload"}), 201)
    code, presenter = created["code"], created["presenter_key"]
    await ok(await send(async_client, "POST", f"/api/classrooms/{code}/step", {"choice": 1}, presenter))
    await restart(registry, monkeypatch)
    assert (await ok(await async_client.get(f"/api/classrooms/{code}")))["step"] == 0
    await ok(await send(async_client, "PATCH", f"/api/clusters/{created['cluster']}/clock", {"paused": True}, presenter))
    for _ in range(100):  # the first step's wait holds once virtual time moves
        response = await send(async_client, "POST", f"/api/classrooms/{code}/step", None, presenter)
        if response.status_code != 409:
            break
        await ok(await send(async_client, "POST", f"/api/clusters/{created['cluster']}/advance", {"seconds": 1}, presenter))
    assert response.status_code == 200, response.content
    assert (await ok(await async_client.get(f"/api/classrooms/{code}")))["step"] == 1
