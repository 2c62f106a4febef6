"""POST /api/clusters/<name>/nodes and DELETE /api/clusters/<name>/nodes/<node>."""

import json

import pytest

pytestmark = pytest.mark.asyncio


async def post(client, path, body):
    return await client.post(path, data=json.dumps(body), content_type="application/json")


async def make(client, name="nodes", nodes=1):
    response = await post(client, "/api/clusters", {"name": name, "nodes": nodes, "etcd_members": 1, "paused": True, "seed": 3, "profile": "realistic"})
    assert response.status_code == 201


async def state_nodes(client, name="nodes"):
    return {n["node"]: n for n in (await client.get(f"/api/clusters/{name}/state")).json()["nodes"]}


async def test_add_a_node_with_labels_and_taints_then_remove_it(async_client):
    await make(async_client)
    body = {"name": "gpu-1", "cpu": "8000m", "memory": "16Gi", "labels": {"accelerator": "gpu"}, "taints": [{"key": "gpu", "value": "true", "effect": "NoSchedule"}]}
    response = await post(async_client, "/api/clusters/nodes/nodes", body)
    assert response.status_code == 201, response.content
    assert response.json() == {"name": "gpu-1", "cpu": "8", "memory": "16Gi", "pods": 110, "labels": {"accelerator": "gpu"},
                               "taints": [{"key": "gpu", "value": "true", "effect": "NoSchedule"}], "pod_cidr": "10.244.2.0/24", "internal_ip": "172.18.0.3"}
    await post(async_client, "/api/clusters/nodes/advance", {"seconds": 20})
    nodes = await state_nodes(async_client)
    assert sorted(nodes) == ["gpu-1", "node-1"]
    assert nodes["gpu-1"]["registered"] and nodes["gpu-1"]["capacity"]["cpu_m"] == 8000 and nodes["gpu-1"]["runtime"]["name"] == "gpu-1/containerd"
    response = await async_client.delete("/api/clusters/nodes/nodes/gpu-1")
    assert response.status_code == 204
    await post(async_client, "/api/clusters/nodes/advance", {"seconds": 5})
    assert sorted(await state_nodes(async_client)) == ["node-1"]
    again = await async_client.delete("/api/clusters/nodes/nodes/gpu-1")
    assert again.status_code == 404 and again.json() == {"error": "node gpu-1 not found", "field": "name"}
    # The command log holds both, so the cluster replays them.
    summary = (await async_client.get("/api/clusters/nodes")).json()
    assert summary["counts"]["commands"] >= 2


async def test_defaults_and_numbers(async_client):
    await make(async_client)
    response = await post(async_client, "/api/clusters/nodes/nodes", {"name": "plain"})
    assert response.status_code == 201 and (response.json()["cpu"], response.json()["memory"]) == ("4", "8Gi")
    response = await post(async_client, "/api/clusters/nodes/nodes", {"name": "numbers", "cpu": 2, "memory": "3Gi"})
    assert response.status_code == 201 and response.json()["cpu"] == "2"


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"name": "node-1"}, 409, "name"),
        ({"name": "Bad_Name"}, 400, "name"),
        ({"name": "n", "cpu": "lots"}, 400, "cpu"),
        ({"name": "n", "memory": "1Ki"}, 400, "memory"),
        ({"name": "n", "labels": {"no spaces allowed": "x"}}, 400, "labels"),
        ({"name": "n", "taints": [{"key": "k", "effect": "Never"}]}, 400, "taints"),
        ({"name": "n", "extra": True}, 400, "extra"),
        ({"name": "kube-apiserver"}, 409, "name"),
    ],
)
async def test_bad_requests_say_which_field(async_client, body, status, field):
    await make(async_client)
    response = await post(async_client, "/api/clusters/nodes/nodes", body)
    assert response.status_code == status, response.content
    assert response.json()["field"] == field


async def test_unknown_cluster(async_client):
    response = await post(async_client, "/api/clusters/none/nodes", {"name": "n"})
    assert response.status_code == 404
    assert (await async_client.delete("/api/clusters/none/nodes/n")).status_code == 404
