"""GET /api/clusters/<name>/state?detail=…: a large cluster's nodes in full detail (cluster/compact.py)."""

import pytest

pytestmark = pytest.mark.asyncio


async def test_detail_names_nodes_and_is_bounded(async_client):
    response = await async_client.post("/api/clusters", {"name": "st", "nodes": 2, "etcd_members": 1, "paused": True}, content_type="application/json")
    assert response.status_code == 201
    state = (await async_client.get("/api/clusters/st/state?detail=node-1")).json()
    assert state["scale"] == {"compact": False, "nodes": 2, "pods": 0, "detail": []}  # a small cluster is whole anyway
    too_many = ",".join(f"node-{i}" for i in range(101))
    response = await async_client.get(f"/api/clusters/st/state?detail={too_many}")
    assert response.status_code == 400 and response.json() == {"error": "at most 100 nodes in detail", "field": "detail"}
