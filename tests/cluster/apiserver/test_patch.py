"""Patches (pure functions, then through the API), server-side apply and managedFields."""

import pytest

from cluster.apiserver.patch import PatchError, json_patch, merge_patch, paths, strategic_merge_patch

from .harness import Harness, deployment

SPEC = {
    "spec": {
        "containers": [
            {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], "ports": [{"containerPort": 80}],
             "volumeMounts": [{"name": "v", "mountPath": "/data"}]},
            {"name": "side", "image": "side:1"},
        ],
        "tolerations": [{"key": "a", "operator": "Exists"}],
        "volumes": [{"name": "v", "emptyDir": {}}],
    },
    "metadata": {"finalizers": ["a"], "labels": {"x": "1", "y": "2"}},
}


# --- RFC 7386 -------------------------------------------------------------------------------------
@pytest.mark.parametrize("target,patch,result", [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
])
def test_merge_patch_rfc7386_examples(target, patch, result):
    assert merge_patch(target, patch) == result


# --- strategic merge ---------------------------------------------------------------------------------
def test_strategic_merge_merges_lists_by_key():
    patch = {"spec": {"$setElementOrder/containers": [{"name": "app"}, {"name": "side"}],
                      "containers": [{"name": "app", "image": "app:2", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}]}}
    out = strategic_merge_patch(SPEC, patch, "pods")
    app = out["spec"]["containers"][0]
    assert app["image"] == "app:2" and app["ports"] == [{"containerPort": 80}]
    assert app["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]
    assert out["spec"]["containers"][1] == {"name": "side", "image": "side:1"}
    assert SPEC["spec"]["containers"][0]["image"] == "app:1"  # the input is not changed


def test_strategic_merge_replaces_lists_without_a_key():
    out = strategic_merge_patch(SPEC, {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}}, "pods")
    assert out["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]


def test_strategic_merge_directives():
    out = strategic_merge_patch(SPEC, {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}}, "pods")
    assert [c["name"] for c in out["spec"]["containers"]] == ["app"]
    out = strategic_merge_patch(SPEC, {"spec": {"containers": [{"name": "only", "image": "o"}, {"$patch": "replace"}]}}, "pods")
    assert out["spec"]["containers"] == [{"name": "only", "image": "o"}]
    out = strategic_merge_patch(SPEC, {"metadata": {"labels": {"z": "3", "$patch": "replace"}}}, "pods")
    assert out["metadata"]["labels"] == {"z": "3"}
    out = strategic_merge_patch(SPEC, {"metadata": {"labels": {"$patch": "delete"}}}, "pods")
    assert "labels" not in out["metadata"]
    out = strategic_merge_patch(SPEC, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}, "pods")
    assert out["metadata"]["finalizers"] == []
    out = strategic_merge_patch(SPEC, {"metadata": {"finalizers": ["b"]}}, "pods")
    assert out["metadata"]["finalizers"] == ["a", "b"]
    out = strategic_merge_patch({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
                                {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}, "deployments")
    assert out["spec"]["strategy"] == {"type": "Recreate"}
    out = strategic_merge_patch(SPEC, {"spec": {"$setElementOrder/containers": [{"name": "side"}, {"name": "app"}], "containers": [{"name": "side", "image": "s2"}]}}, "pods")
    assert [c["name"] for c in out["spec"]["containers"]] == ["side", "app"]
    out = strategic_merge_patch(SPEC, {"spec": {"containers": [{"name": "app", "volumeMounts": [{"mountPath": "/data", "readOnly": True}]}]}}, "pods")
    assert out["spec"]["containers"][0]["volumeMounts"] == [{"name": "v", "mountPath": "/data", "readOnly": True}]


def test_strategic_merge_service_ports_by_port_and_conditions_by_type():
    svc = {"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}
    out = strategic_merge_patch(svc, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}, "services")
    assert out["spec"]["ports"] == [{"port": 80, "targetPort": 9090}, {"port": 443}]
    status = {"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "True"}]}}
    out = strategic_merge_patch(status, {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}, "pods")
    assert out["status"]["conditions"] == [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}]


def test_strategic_merge_missing_merge_key_is_an_error():
    with pytest.raises(PatchError) as err:
        strategic_merge_patch(SPEC, {"spec": {"containers": [{"image": "x"}]}}, "pods")
    assert err.value.status["code"] == 422


# --- RFC 6902 -------------------------------------------------------------------------------------------
def test_json_patch_operations():
    doc = {"a": {"b": [1, 2, 3]}, "c": "d"}
    ops = [
        {"op": "add", "path": "/a/b/1", "value": 9},
        {"op": "add", "path": "/a/b/-", "value": 10},
        {"op": "remove", "path": "/a/b/0"},
        {"op": "replace", "path": "/c", "value": "e"},
        {"op": "copy", "from": "/c", "path": "/f"},
        {"op": "move", "from": "/f", "path": "/a/g"},
        {"op": "test", "path": "/a/g", "value": "e"},
        {"op": "add", "path": "/~1slash~0tilde", "value": True},
    ]
    assert json_patch(doc, ops) == {"a": {"b": [9, 2, 3, 10], "g": "e"}, "c": "e", "/slash~tilde": True}
    assert doc == {"a": {"b": [1, 2, 3]}, "c": "d"}


@pytest.mark.parametrize("ops,code", [
    ([{"op": "test", "path": "/c", "value": "x"}], 422),
    ([{"op": "remove", "path": "/nope"}], 422),
    ([{"op": "replace", "path": "/a/zz", "value": 1}], 422),
    ([{"op": "add", "path": "/a/b/7", "value": 1}], 422),
    ([{"op": "frobnicate", "path": "/c"}], 422),
    ([{"op": "add", "path": "/c"}], 400),
    (["add"], 400),
])
def test_json_patch_errors(ops, code):
    with pytest.raises(PatchError) as err:
        json_patch({"a": {"b": [1]}, "c": "d"}, ops)
    assert err.value.status["code"] == code


def test_field_paths():
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x", "labels": {"a": "b"}},
           "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}, "status": {"replicas": 1}}
    assert paths(obj, "deployments") == {
        ("f:metadata", "f:labels", "f:a"),
        ("f:spec", "f:replicas"),
        ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"a"}', "."),
        ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"a"}', "f:image"),
        ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"a"}', "f:name"),
    }
    assert paths(obj, "deployments", "status") == {("f:status", "f:replicas")}


# --- through the API ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def h():
    return Harness()


def test_patch_types_through_the_api(h):
    h.create("deployments", deployment("p"), namespace="default", group="apps")
    m = h.patch("deployments", "p", {"metadata": {"labels": {"k": "v"}}}, namespace="default", group="apps", query={"fieldManager": "kubectl-label"})
    assert m["code"] == 200 and m["body"]["metadata"]["labels"] == {"k": "v"}
    managers = [(e["manager"], e["operation"]) for e in m["body"]["metadata"]["managedFields"]]
    assert ("kubectl-label", "Update") in managers
    s = h.patch("deployments", "p", {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "nginx"}], "containers": [{"name": "nginx", "image": "nginx:2"}]}}}},
                patch_type="strategic", namespace="default", group="apps")
    assert s["body"]["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    assert s["body"]["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    assert s["body"]["metadata"]["generation"] == 2
    j = h.patch("deployments", "p", [{"op": "replace", "path": "/spec/replicas", "value": 4}], patch_type="json", namespace="default", group="apps")
    assert j["body"]["spec"]["replicas"] == 4
    t = h.patch("deployments", "p", [{"op": "test", "path": "/spec/replicas", "value": 1}], patch_type="json", namespace="default", group="apps")
    assert t["code"] == 422 and t["body"]["message"] == "the server rejected our request due to an error in our request"
    stale = h.patch("deployments", "p", {"metadata": {"resourceVersion": "2"}, "spec": {"replicas": 9}}, namespace="default", group="apps")
    assert stale["code"] == 409 and stale["body"]["reason"] == "Conflict"
    missing = h.patch("deployments", "zzz", {"spec": {"replicas": 9}}, namespace="default", group="apps")
    assert missing["code"] == 404
    bad = h.patch("deployments", "p", {"spec": {"replicas": 1}}, patch_type="yaml", namespace="default", group="apps")
    assert bad["code"] == 415 and bad["body"]["reason"] == "UnsupportedMediaType"


def test_rollout_restart_bumps_generation(h):
    d = h.create("deployments", deployment("rr"), namespace="default", group="apps")["body"]
    patch = {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}}}}}
    r = h.patch("deployments", "rr", patch, patch_type="strategic", namespace="default", group="apps", query={"fieldManager": "kubectl-rollout"})
    assert r["body"]["metadata"]["generation"] == d["metadata"]["generation"] + 1


def test_server_side_apply_create_update_conflict_and_force(h):
    applied = deployment("ssa", replicas=2)
    r = h.patch("deployments", "ssa", applied, patch_type="apply", namespace="default", group="apps", query={"fieldManager": "kubectl", "force": False})
    assert r["code"] == 201
    entry = [e for e in r["body"]["metadata"]["managedFields"] if e["manager"] == "kubectl"][0]
    assert entry["operation"] == "Apply" and entry["fieldsV1"]["f:spec"]["f:replicas"] == {}
    assert "f:progressDeadlineSeconds" not in entry["fieldsV1"]["f:spec"]  # defaults are nobody's
    again = h.patch("deployments", "ssa", applied, patch_type="apply", namespace="default", group="apps", query={"fieldManager": "kubectl"})
    assert again["code"] == 200 and again["body"]["metadata"]["resourceVersion"] == r["body"]["metadata"]["resourceVersion"]
    # Another manager changes replicas with an update: it owns the field now.
    u = h.patch("deployments", "ssa", {"spec": {"replicas": 3}}, patch_type="strategic", namespace="default", group="apps", query={"fieldManager": "kubectl-client-side-apply"})
    assert u["code"] == 200
    conflict = h.patch("deployments", "ssa", applied, patch_type="apply", namespace="default", group="apps", query={"fieldManager": "kubectl", "force": False})
    assert conflict["code"] == 409
    assert conflict["body"] == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
        "reason": "Conflict",
        "details": {"causes": [{"reason": "FieldManagerConflict", "message": 'conflict with "kubectl-client-side-apply" using apps/v1', "field": ".spec.replicas"}]},
        "code": 409,
    }
    # The same value is no conflict.
    same = dict(applied, spec=dict(applied["spec"], replicas=3))
    assert h.patch("deployments", "ssa", same, patch_type="apply", namespace="default", group="apps", query={"fieldManager": "kubectl"})["code"] == 200
    forced = h.patch("deployments", "ssa", dict(applied, spec=dict(applied["spec"], replicas=5)), patch_type="apply", namespace="default", group="apps",
                     query={"fieldManager": "kubectl", "force": True})
    assert forced["code"] == 200 and forced["body"]["spec"]["replicas"] == 5
    owners = {e["manager"]: e["fieldsV1"] for e in forced["body"]["metadata"]["managedFields"]}
    assert "f:replicas" in owners["kubectl"]["f:spec"]
    assert "f:replicas" not in owners.get("kubectl-client-side-apply", {}).get("f:spec", {})


def test_apply_removes_fields_it_no_longer_applies(h):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa-cm", "labels": {"a": "1", "b": "2"}}, "data": {"x": "1", "y": "2"}}
    assert h.patch("configmaps", "ssa-cm", cm, patch_type="apply", namespace="default", query={"fieldManager": "mgr"})["code"] == 201
    smaller = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa-cm", "labels": {"a": "1"}}, "data": {"x": "1"}}
    r = h.patch("configmaps", "ssa-cm", smaller, patch_type="apply", namespace="default", query={"fieldManager": "mgr"})
    assert r["body"]["data"] == {"x": "1"} and r["body"]["metadata"]["labels"] == {"a": "1"}


def test_apply_needs_a_field_manager(h):
    r = h.patch("configmaps", "ssa-none", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa-none"}}, patch_type="apply", namespace="default")
    assert r["code"] == 400
