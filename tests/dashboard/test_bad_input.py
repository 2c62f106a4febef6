"""Garbage, wrong types, huge numbers and unknown fields sent to every endpoint produce
4xx JSON errors, never a 500, and change nothing."""

import json

import pytest

pytestmark = pytest.mark.asyncio

GARBAGE_BODIES = [
    b"",
    b"{",
    b"not json",
    b"\xff\xfe\x00",
    b"[]",
    b"[1, 2]",
    b"null",
    b"42",
    b'"a string"',
    b'{"name": NaN}',
    b'{"seconds": Infinity}',
    b'{"speed": -Infinity}',
    b"{\"a\": " + b"[" * 3000 + b"]" * 3000 + b"}",
    b"{" * 5000,
]

CREATE_BAD_FIELDS = [
    ({"name": ""}, "name"),
    ({"name": "UPPER"}, "name"),
    ({"name": "-lead"}, "name"),
    ({"name": "x" * 64}, "name"),
    ({"name": "<script>"}, "name"),
    ({"name": 12}, "name"),
    ({"name": None}, "name"),
    ({"name": "ok", "etcd_members": 0}, "etcd_members"),
    ({"name": "ok", "etcd_members": 8}, "etcd_members"),
    ({"name": "ok", "etcd_members": "3"}, "etcd_members"),
    ({"name": "ok", "etcd_members": 3.5}, "etcd_members"),
    ({"name": "ok", "etcd_members": True}, "etcd_members"),
    ({"name": "ok", "nodes": -1}, "nodes"),
    ({"name": "ok", "nodes": 10**30}, "nodes"),
    ({"name": "ok", "seed": -5}, "seed"),
    ({"name": "ok", "seed": 2**64}, "seed"),
    ({"name": "ok", "seed": "abc"}, "seed"),
    ({"name": "ok", "speed": 0}, "speed"),
    ({"name": "ok", "speed": 1e308}, "speed"),
    ({"name": "ok", "speed": "fast"}, "speed"),
    ({"name": "ok", "paused": "yes"}, "paused"),
    ({"name": "ok", "profile": "turbo"}, "profile"),
    ({"name": "ok", "members": 3}, "members"),
    ({"name": "ok", "nodes": {"a": 1}}, "nodes"),
]


async def send(client, method, path, body):
    return await getattr(client, method)(path, data=body, content_type="application/json")


def assert_json_4xx(response):
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert "field" in body
    return body


@pytest.fixture
async def existing(async_client):
    response = await async_client.post("/api/clusters", data=json.dumps({"name": "keep", "paused": True}), content_type="application/json")
    assert response.status_code == 201
    return response.json()


@pytest.mark.parametrize("body", GARBAGE_BODIES, ids=lambda b: repr(b[:20]))
@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/api/clusters"),
        ("patch", "/api/clusters/keep/clock"),
        ("post", "/api/clusters/keep/advance"),
    ],
)
async def test_garbage_bodies_are_4xx_json(async_client, existing, method, path, body):
    response = await send(async_client, method, path, body)
    assert_json_4xx(response)
    after = (await async_client.get("/api/clusters/keep")).json()
    assert after["state_hash"] == existing["state_hash"] and after["time"] == existing["time"]


@pytest.mark.parametrize("body, field", CREATE_BAD_FIELDS, ids=lambda v: str(v)[:40])
async def test_create_rejects_bad_fields_naming_them(async_client, body, field):
    response = await send(async_client, "post", "/api/clusters", json.dumps(body))
    assert response.status_code == 400
    assert assert_json_4xx(response)["field"] == field
    assert (await async_client.get("/api/clusters")).json()["items"] == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({"speed": 0.001}, "speed"),
        ({"speed": 101}, "speed"),
        ({"speed": "1"}, "speed"),
        ({"paused": 1}, "paused"),
        ({"paused": None, "extra": 1}, "extra"),
    ],
)
async def test_clock_rejects_bad_fields(async_client, existing, body, field):
    response = await send(async_client, "patch", "/api/clusters/keep/clock", json.dumps(body))
    assert assert_json_4xx(response)["field"] == field
    after = (await async_client.get("/api/clusters/keep")).json()
    assert after["speed"] == 1.0 and after["paused"] is True


@pytest.mark.parametrize("body, field", [({"seconds": 0}, "seconds"), ({"seconds": -1}, "seconds"), ({"seconds": 1e12}, "seconds"), ({"seconds": "5"}, "seconds"), ({}, "seconds"), ({"seconds": 1, "x": 2}, "x")])
async def test_advance_rejects_bad_fields(async_client, existing, body, field):
    response = await send(async_client, "post", "/api/clusters/keep/advance", json.dumps(body))
    assert assert_json_4xx(response)["field"] == field
    assert (await async_client.get("/api/clusters/keep")).json()["time"] == 0.0


@pytest.mark.parametrize("query", ["after=-1", "after=abc", "limit=0", "limit=100000", "after=99999999999999999999999", "limit=1.5"])
async def test_events_rejects_bad_queries(async_client, existing, query):
    assert_json_4xx(await async_client.get(f"/api/clusters/keep/events?{query}"))


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/clusters/nope"),
        ("delete", "/api/clusters/nope"),
        ("get", "/api/clusters/nope/state"),
        ("get", "/api/clusters/nope/events"),
        ("patch", "/api/clusters/nope/clock"),
        ("post", "/api/clusters/nope/advance"),
        ("post", "/api/clusters/nope/step"),
        ("get", "/api/clusters/" + "x" * 5000),
        ("get", "/api/clusters/%00%ff"),
    ],
)
async def test_unknown_clusters_are_404(async_client, method, path):
    body = {"seconds": 1} if path.endswith("advance") else {"paused": True} if path.endswith("clock") else {}
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if method in ("post", "patch") else {}
    response = await getattr(async_client, method)(path, **kwargs)
    assert response.status_code == 404
    assert_json_4xx(response)


async def test_wrong_methods_are_405_not_500(async_client, existing):
    response = await async_client.put("/api/clusters/keep", data="{}", content_type="application/json")
    assert response.status_code == 405
