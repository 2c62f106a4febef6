"""GET /api/clusters/<name>/scheduler/pods/<namespace>/<pod>: a pod's scheduling attempts."""

import json

import pytest

from dashboard.runner import registry

pytestmark = pytest.mark.asyncio


async def post(client, path, body):
    return await client.post(path, data=json.dumps(body), content_type="application/json")


def kube(cluster, verb, resource, namespace=None, body=None):
    return cluster.command({"type": "kube", "verb": verb, "group": "", "version": "v1", "resource": resource, "namespace": namespace, "body": body})


async def test_scheduling_attempts_of_a_pod(async_client):
    response = await post(async_client, "/api/clusters", {"name": "sched", "paused": True, "nodes": 0, "etcd_members": 1, "profile": "realistic"})
    assert response.status_code == 201, response.content
    cluster = registry.handles["sched"].cluster
    assert "kube-scheduler" in cluster.sim.components
    node = {"metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"}}, "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"}}}
    await post(async_client, "/api/clusters/sched/advance", {"seconds": 3})
    kube(cluster, "create", "nodes", body=node)
    for name, cpu in (("web", "1"), ("huge", "8")):
        pod = {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": cpu}}}]}}
        kube(cluster, "create", "pods", namespace="default", body=pod)
    assert (await post(async_client, "/api/clusters/sched/advance", {"seconds": 3})).status_code == 200

    body = (await async_client.get("/api/clusters/sched/scheduler/pods/default/web")).json()
    attempt = body["attempts"][-1]
    assert attempt["result"] == "scheduled" and attempt["node"] == "node-1" and attempt["binding"] == "bound"
    assert attempt["nodes"][0]["name"] == "node-1" and {f["status"] for f in attempt["nodes"][0]["filters"]} == {"Success"}
    assert attempt["total_nodes"] == 1 and attempt["examined"] == 1

    huge = (await async_client.get("/api/clusters/sched/scheduler/pods/default/huge")).json()["attempts"][0]
    assert huge["result"] == "unschedulable" and huge["node"] is None
    assert huge["message"].startswith("0/1 nodes are available: 1 Insufficient cpu.")
    last = huge["nodes"][0]["filters"][-1]
    assert last == {"plugin": "NodeResourcesFit", "status": "UnschedulableAndUnresolvable", "reason": "Insufficient cpu"}

    missing = await async_client.get("/api/clusters/sched/scheduler/pods/default/nope")
    assert missing.status_code == 404 and missing.json()["field"] == "pod" and "nope" in missing.json()["error"]
    no_cluster = await async_client.get("/api/clusters/ghost/scheduler/pods/default/web")
    assert no_cluster.status_code == 404 and no_cluster.json() == {"error": "cluster ghost not found", "field": "name"}
