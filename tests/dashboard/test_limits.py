"""The server's limits (settings.CLUSTERSCOPE_LIMITS, docs/security.md): each one refused with
a clear JSON error (413, 422 or 429 with Retry-After) that changes nothing."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard import limits
from tests.dashboard.test_stream import add_cluster, connect, receive

ROOT = Path(__file__).resolve().parents[2]


async def test_a_body_over_the_upload_limit_is_a_json_413(async_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = await async_client.post("/api/clusters", data=b'{"name": "' + b"a" * 2000 + b'"}', content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"error": "the request body is larger than 1000 bytes", "field": "body"}
    assert (await async_client.get("/api/clusters")).json()["items"] == []


async def post(http, path, body, **extra):
    return await http.post(path, data=json.dumps(body), content_type="application/json", **extra)


def test_the_defaults_are_in_settings_and_the_environment_overrides_them():
    env = {**os.environ, "CLUSTERSCOPE_LIMITS": '{"nodes_per_cluster": 7}', "DJANGO_SETTINGS_MODULE": "dashboard.settings"}
    code = "import django; django.setup(); from django.conf import settings as s; print(s.CLUSTERSCOPE_LIMITS['nodes_per_cluster'], s.CLUSTERSCOPE_LIMITS['ws_message_bytes'], s.DATA_UPLOAD_MAX_MEMORY_SIZE)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()
    assert out == ["7", str(limits.DEFAULTS["ws_message_bytes"]), str(limits.DEFAULTS["request_body_bytes"])]


async def test_clusters_per_server_is_a_429(async_client, settings):
    settings.MAX_CLUSTERS = 2
    for name in ("a", "b"):
        assert (await post(async_client, "/api/clusters", {"name": name, "paused": True, "nodes": 0})).status_code == 201
    response = await post(async_client, "/api/clusters", {"name": "c", "paused": True, "nodes": 0})
    assert response.status_code == 429 and "at most 2 clusters" in response.json()["error"]
    assert [c["name"] for c in (await async_client.get("/api/clusters")).json()["items"]] == ["a", "b"]


async def test_clusters_per_client_is_a_429_with_retry_after_and_loopback_is_exempt(async_client, settings, monkeypatch):
    settings.CLUSTERSCOPE_LIMITS = {**settings.CLUSTERSCOPE_LIMITS, "clusters_per_client": 2}
    # The test client always comes from 127.0.0.1: a header stands in for other addresses.
    monkeypatch.setattr(limits, "client_of", lambda request: request.headers.get("X-Test-Peer", "127.0.0.1"))
    student = {"headers": {"X-Test-Peer": "203.0.113.9"}}
    for name in ("s1", "s2"):
        assert (await post(async_client, "/api/clusters", {"name": name, "paused": True, "nodes": 0}, **student)).status_code == 201
    response = await post(async_client, "/api/clusters", {"name": "s3", "paused": True, "nodes": 0}, **student)
    assert response.status_code == 429 and 1 <= int(response["Retry-After"]) <= 1800, response.content
    assert "clusters created from this address" in response.json()["error"]
    other = await post(async_client, "/api/clusters", {"name": "s4", "paused": True, "nodes": 0}, headers={"X-Test-Peer": "203.0.113.10"})
    assert other.status_code == 201
    for name in ("l1", "l2", "l3"):
        assert (await post(async_client, "/api/clusters", {"name": name, "paused": True, "nodes": 0})).status_code == 201
    assert (await async_client.get("/api/clusters/s3")).status_code == 404


async def test_nodes_per_cluster_is_a_422_at_creation_and_when_adding(async_client, settings):
    settings.CLUSTERSCOPE_LIMITS = {**settings.CLUSTERSCOPE_LIMITS, "nodes_per_cluster": 2}
    response = await post(async_client, "/api/clusters", {"name": "big", "nodes": 3, "paused": True})
    assert response.status_code == 422 and response.json()["field"] == "nodes" and "nodes_per_cluster" in response.json()["error"]
    assert (await post(async_client, "/api/clusters", {"name": "two", "nodes": 2, "paused": True})).status_code == 201
    before = (await async_client.get("/api/clusters/two")).json()["state_hash"]
    response = await post(async_client, "/api/clusters/two/nodes", {"name": "node-3"})
    assert response.status_code == 422 and response.json()["field"] == "name"
    assert (await async_client.get("/api/clusters/two")).json()["state_hash"] == before


async def test_traffic_rate_over_the_limit_is_a_422(async_client, settings):
    settings.CLUSTERSCOPE_LIMITS = {**settings.CLUSTERSCOPE_LIMITS, "traffic_rate": 5}
    assert (await post(async_client, "/api/clusters", {"name": "t", "nodes": 1, "paused": True})).status_code == 201
    response = await post(async_client, "/api/clusters/t/traffic", {"service": "web", "rate": 6, "seconds": 10, "source": "external"})
    assert response.status_code == 422 and response.json()["field"] == "rate"


async def test_destructive_actions_per_cluster_are_rationed_with_retry_after(async_client, settings):
    settings.CLUSTERSCOPE_LIMITS = {**settings.CLUSTERSCOPE_LIMITS, "destructive_per_minute": 3}
    assert (await post(async_client, "/api/clusters", {"name": "shared", "nodes": 2, "paused": True})).status_code == 201
    assert (await post(async_client, "/api/clusters/shared/faults", {"action": "crash", "target": "etcd-0"})).status_code == 200
    assert (await post(async_client, "/api/clusters/shared/faults", {"action": "restart", "target": "etcd-0"})).status_code == 200
    assert (await async_client.delete("/api/clusters/shared/nodes/node-2")).status_code == 204
    before = (await async_client.get("/api/clusters/shared")).json()["state_hash"]
    response = await post(async_client, "/api/clusters/shared/faults", {"action": "crash", "target": "etcd-1"})
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1 and "destructive actions" in response.json()["error"]
    assert (await async_client.delete("/api/clusters/shared")).status_code == 429
    assert (await async_client.get("/api/clusters/shared")).json()["state_hash"] == before
    assert (await post(async_client, "/api/clusters", {"name": "other", "nodes": 0, "paused": True})).status_code == 201
    assert (await async_client.delete("/api/clusters/other")).status_code == 204  # the ration is per cluster


def test_a_bucket_refills_with_time():
    now = [0.0]
    bucket = limits.Bucket(clock=lambda: now[0])
    for _ in range(2):
        bucket.take("k", 2, 60.0, "things")
    with pytest.raises(limits.RateLimited) as refused:
        bucket.take("k", 2, 60.0, "things")
    assert refused.value.retry_after == pytest.approx(30.0) and refused.value.retry_after_header == "30"
    now[0] = 30.0
    bucket.take("k", 2, 60.0, "things")


async def test_a_scenario_file_over_its_limit_is_a_413(async_client):
    response = await async_client.post("/api/scenarios", data=b"a" * (limits.DEFAULTS["scenario_file_bytes"] + 10), content_type="application/yaml")
    assert response.status_code == 413 and "256 KiB" in response.json()["error"]


async def test_websocket_frames_over_the_size_limit_get_an_error_and_a_flood_is_cut_off(registry, settings):
    settings.CLUSTERSCOPE_LIMITS = {**settings.CLUSTERSCOPE_LIMITS, "ws_message_bytes": 100, "ws_messages_per_second": 5}
    add_cluster(registry)
    socket = await connect()
    assert (await receive(socket))["type"] == "snapshot"
    await socket.send_to(text_data=json.dumps({"type": "resync", "pad": "x" * 200}))
    frame = await receive(socket)
    assert frame == {"type": "error", "error": "frames must be JSON text of at most 100 bytes"}
    await socket.send_to(bytes_data=b"\x00" * 10)
    assert (await receive(socket))["type"] == "error"
    for _ in range(6):
        await socket.send_to(text_data="{}")
    frames = []
    while True:
        output = await socket.receive_output(timeout=2)
        if output["type"] == "websocket.close":
            break
        frames.append(json.loads(output["text"]))
    assert output["code"] == 4008
    assert frames[-1]["type"] == "error" and "too many frames from this client" in frames[-1]["error"]
    await socket.wait()


async def test_pods_per_cluster_is_kubernetes_quota_answer_a_403_status(async_client, settings, registry):
    settings.CLUSTERSCOPE_LIMITS = {**settings.CLUSTERSCOPE_LIMITS, "pods_per_cluster": 2, "objects_per_cluster": 1000}
    assert (await post(async_client, "/api/clusters", {"name": "capped", "nodes": 0, "profile": "realistic", "speed": 100})).status_code == 201
    config = registry.get("capped").cluster.config
    assert (config.max_pods, config.max_objects) == (2, 1000)  # recorded with the cluster: a replay meets the same caps
    base = "/k8s/capped/api/v1/namespaces/default/pods"
    pod = lambda name: {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}  # noqa: E731
    assert [(await post(async_client, base, pod(n))).status_code for n in ("a", "b")] == [201, 201]
    response = await post(async_client, base, pod("c"))
    assert response.status_code == 403
    status = response.json()
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Forbidden", 403)
    assert status["message"] == 'pods "c" is forbidden: exceeded quota: cluster-limits, requested: pods=1, used: pods=2, limited: pods=2'
    assert (await async_client.get(base + "/c")).status_code == 404


async def test_an_imported_cluster_is_held_to_the_servers_caps_by_a_recorded_command(async_client, settings, registry):
    assert (await post(async_client, "/api/clusters", {"name": "roomy", "nodes": 0, "paused": True})).status_code == 201
    await post(async_client, "/api/clusters/roomy/advance", {"seconds": 2})
    exported = (await async_client.get("/api/clusters/roomy/export")).content
    assert b"max_pods: 1000" in exported
    settings.CLUSTERSCOPE_LIMITS = {**settings.CLUSTERSCOPE_LIMITS, "pods_per_cluster": 3}
    response = await async_client.post("/api/clusters/import?name=tight", data=exported, content_type="application/yaml")
    assert response.status_code == 201, response.content
    tight = registry.get("tight")
    assert tight.cluster.config.max_pods == 1000  # the file's own, so that it replays to its state hash
    assert (tight.cluster.apiserver.max_pods, tight.cluster.apiserver.max_objects) == (3, limits.DEFAULTS["objects_per_cluster"])
    assert tight.cluster.command_log[-1]["command"] == {"type": "caps", "max_pods": 3}
    # the command only ever lowers a cap
    tight.command({"type": "caps", "max_pods": 50})
    assert tight.cluster.apiserver.max_pods == 3
