"""Uploaded scenarios and live lesson runs outlive their server process (rows in the database):
a new process (a fresh Library, no runs in memory, an empty registry) knows them."""

import asyncio

import pytest

from dashboard import scenarios
from dashboard.models import UploadedScenario

from .test_scenarios_api import SMALL, post

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
