"""Server-side printing: Table columns, ages (HumanDuration), pod STATUS like kubectl."""

import pytest

from cluster.apiserver import tables
from cluster.apiserver.resources import lookup
from cluster.kernel import SECOND

from .harness import Harness, pod


@pytest.mark.parametrize("seconds,text", [
    (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (5, "5s"), (119, "119s"), (120, "2m"), (182, "3m2s"), (300, "5m"), (599, "9m59s"),
    (600, "10m"), (3 * 3600 - 1, "179m"), (3 * 3600, "3h"), (3 * 3600 + 60, "3h1m"), (8 * 3600, "8h"), (47 * 3600 + 59, "47h"),
    (2 * 86400, "2d"), (2 * 86400 + 3 * 3600, "2d3h"), (8 * 86400, "8d"), (400 * 86400, "400d"), (2 * 365 * 86400, "2y"),
    (3 * 365 * 86400 + 5 * 86400, "3y5d"), (9 * 365 * 86400, "9y"),
])
def test_human_duration(seconds, text):
    assert tables.human_duration(seconds) == text


def _pod(status=None, deleting=False, **spec):
    p = {"metadata": {"name": "p", "creationTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"containers": [{"name": "c", "image": "i"}], **spec}, "status": status or {}}
    if deleting:
        p["metadata"]["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    return p


def running(ready=True, restarts=0, **extra):
    return {"name": "c", "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": "2026-01-01T00:00:01Z"}}, **extra}


@pytest.mark.parametrize("status,deleting,expected", [
    ({"phase": "Pending"}, False, ("Pending", 0)),
    ({"phase": "Pending", "containerStatuses": [{"name": "c", "ready": False, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}, False, ("ContainerCreating", 0)),
    ({"phase": "Running", "containerStatuses": [running()]}, False, ("Running", 1)),
    ({"phase": "Running", "containerStatuses": [{"name": "c", "ready": False, "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}, False, ("CrashLoopBackOff", 0)),
    ({"phase": "Pending", "containerStatuses": [{"name": "c", "ready": False, "restartCount": 0, "state": {"waiting": {"reason": "ErrImagePull"}}}]}, False, ("ErrImagePull", 0)),
    ({"phase": "Succeeded", "containerStatuses": [{"name": "c", "ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}, False, ("Completed", 0)),
    ({"phase": "Failed", "containerStatuses": [{"name": "c", "ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 2}}}]}, False, ("ExitCode:2", 0)),
    ({"phase": "Running", "containerStatuses": [running()]}, True, ("Terminating", 1)),
    ({"phase": "Failed", "reason": "Evicted"}, False, ("Evicted", 0)),
])
def test_pod_status_text(status, deleting, expected):
    reason, ready, total, _restarts, _last = tables.pod_status(_pod(status, deleting))
    assert (reason, ready) == expected and total == 1


def test_pod_init_container_status():
    p = _pod({"phase": "Pending", "initContainerStatuses": [{"name": "init", "ready": False, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]},
             initContainers=[{"name": "init", "image": "i"}])
    assert tables.pod_status(p)[0] == "Init:0/1"


def test_pod_row_with_restarts_and_wide_columns():
    info = lookup("", "pods")
    status = {"phase": "Running", "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}],
              "containerStatuses": [running(restarts=3, lastState={"terminated": {"exitCode": 1, "finishedAt": "2026-01-01T00:05:00Z"}})]}
    row = tables.row(info, _pod(status, nodeName="node-1"), 10 * 60 * SECOND)
    assert row["cells"] == ["p", "1/1", "Running", "3 (5m ago)", "10m", "10.244.1.5", "node-1", "<none>", "<none>"]
    assert row["object"]["kind"] == "PartialObjectMetadata" and row["object"]["metadata"]["name"] == "p"
    assert [c["name"] for c in tables.columns("pods")] == ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"]
    assert [c["priority"] for c in tables.columns("pods")] == [0, 0, 0, 0, 0, 1, 1, 1, 1]


def test_node_status_column():
    info = lookup("", "nodes")
    node = {"metadata": {"name": "n1", "creationTimestamp": "2026-01-01T00:00:00Z", "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": "v1.32.0"}, "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}}
    cells = tables.row(info, node, 90 * SECOND)["cells"]
    assert cells[:5] == ["n1", "Ready,SchedulingDisabled", "control-plane", "90s", "v1.32.0"]
    assert cells[5] == "10.0.0.1"
    node["status"]["conditions"][0]["status"] = "Unknown"
    node["spec"] = {}
    assert tables.row(info, node, 0)["cells"][1] == "Unknown"


def test_other_kinds_columns():
    assert [c["name"] for c in tables.columns("deployments")] == ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]
    assert [c["name"] for c in tables.columns("services")] == ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"]
    assert [c["name"] for c in tables.columns("events") if c["priority"] == 0] == ["Last Seen", "Type", "Reason", "Object", "Message"]
    assert [c["name"] for c in tables.columns("replicasets")] == ["Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"]
    assert [c["name"] for c in tables.columns("leases")] == ["Name", "Holder", "Age"]
    assert tables.columns("roles") == [{"name": "Name", "type": "string", "format": "name", "description": "", "priority": 0},
                                       {"name": "Created At", "type": "date", "format": "", "description": "", "priority": 0}]
    endpoints = {"metadata": {"name": "e"}, "subsets": [{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(5)], "ports": [{"port": 80}]}]}
    assert tables.format_endpoints(endpoints["subsets"]) == "10.0.0.0:80,10.0.0.1:80,10.0.0.2:80 + 2 more..."
    svc = {"metadata": {"name": "s"}, "spec": {"type": "NodePort", "clusterIP": "10.96.0.7", "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}], "selector": {"app": "web"}}}
    assert tables.row(lookup("", "services"), svc, 0)["cells"][1:5] == ["NodePort", "10.96.0.7", "<none>", "80:30080/TCP"]


def test_tables_through_the_api():
    h = Harness()
    h.create("pods", pod("t1"), namespace="default")
    h.run(65)
    h.create("pods", pod("t2"), namespace="default")
    t = h.list("pods", namespace="default", as_table=True)["body"]
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    assert [r["cells"][0] for r in t["rows"]] == ["t1", "t2"]
    assert [r["cells"][4] for r in t["rows"]] == ["65s", "0s"]
    assert [r["cells"][2] for r in t["rows"]] == ["Pending", "Pending"]
    full = h.list("pods", namespace="default", as_table=True, include_object="Object")["body"]
    assert full["rows"][0]["object"]["kind"] == "Pod" and "spec" in full["rows"][0]["object"]
    bare = h.list("pods", namespace="default", as_table=True, include_object="None")["body"]
    assert "object" not in bare["rows"][0]
    one = h.get("pods", "t1", namespace="default", as_table=True)["body"]
    assert len(one["rows"]) == 1 and one["rows"][0]["object"]["metadata"]["name"] == "t1"
    # Watch events as tables: one row each, the column definitions only in the first.
    w = h.watch("pods", namespace="default", rv=h.server.cache.revision, as_table=True)
    h.create("pods", pod("t3"), namespace="default")
    h.create("pods", pod("t4"), namespace="default")
    h.run(0.2)
    objects = [e["object"] for e in h.client.events[w]]
    assert [o["rows"][0]["cells"][0] for o in objects] == ["t3", "t4"]
    assert "columnDefinitions" in objects[0] and "columnDefinitions" not in objects[1]
