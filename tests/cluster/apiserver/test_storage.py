"""Storage: CRUD through the pipeline into etcd, defaults, resourceVersion = etcd mod
revision, optimistic concurrency, generation."""

import json

import pytest

from cluster.apiserver.resources import RESOURCES

from .harness import Harness, deployment, pod


@pytest.fixture(scope="module")
def h():
    return Harness()


def test_default_objects_exist_at_start(h):
    names = [i["metadata"]["name"] for i in h.list("namespaces")["body"]["items"]]
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]
    svc = h.get("services", "kubernetes", namespace="default")["body"]
    assert svc["spec"]["clusterIP"] == "10.96.0.1"
    ns = h.get("namespaces", "default")["body"]
    assert ns["status"] == {"phase": "Active"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "default"}


def test_create_pod_fills_in_defaults_and_metadata(h):
    r = h.create("pods", pod("defaults"), namespace="default")
    assert r["code"] == 201
    obj = r["body"]
    meta = obj["metadata"]
    assert meta["namespace"] == "default"
    assert len(meta["uid"]) == 36 and meta["uid"][14] == "4"
    assert meta["creationTimestamp"].startswith("2026-01-01T00:00:")
    assert "generation" not in meta
    spec = obj["spec"]
    assert spec["restartPolicy"] == "Always"
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["serviceAccountName"] == "default"
    assert {t["key"] for t in spec["tolerations"]} == {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}
    container = spec["containers"][0]
    assert container["imagePullPolicy"] == "Always"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "File"
    assert obj["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


def test_image_pull_policy_follows_the_tag(h):
    r = h.create("pods", pod("tagged", image="nginx:1.25"), namespace="default")
    assert r["body"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"


def test_resource_version_is_the_etcd_mod_revision(h):
    r = h.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rv"}, "data": {"a": "1"}}, namespace="default")
    rv = int(r["body"]["metadata"]["resourceVersion"])
    kv = h.etcd_value("/registry/configmaps/default/rv")
    assert kv["mod_revision"] == rv
    stored = json.loads(kv["value"])
    assert "resourceVersion" not in stored["metadata"]
    assert stored["data"] == {"a": "1"}
    got = h.get("configmaps", "rv", namespace="default")["body"]
    assert got["metadata"]["resourceVersion"] == str(rv)


def test_real_etcd_prefixes(h):
    h.create("services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "prefix"}, "spec": {"ports": [{"port": 80}]}}, namespace="default")
    h.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-prefix"}})
    h.create("deployments", deployment("prefix"), namespace="default", group="apps")
    assert h.etcd_value("/registry/services/specs/default/prefix") is not None
    assert h.etcd_value("/registry/minions/node-prefix") is not None
    assert h.etcd_value("/registry/deployments/default/prefix") is not None


def test_create_twice_is_already_exists(h):
    h.create("configmaps", {"metadata": {"name": "twice"}}, namespace="default")
    r = h.create("configmaps", {"metadata": {"name": "twice"}}, namespace="default")
    assert r["code"] == 409
    assert r["body"]["reason"] == "AlreadyExists"
    assert r["body"]["message"] == 'configmaps "twice" already exists'


def test_get_missing_is_not_found_with_group(h):
    r = h.get("deployments", "nope", namespace="default", group="apps")
    assert r["code"] == 404
    assert r["body"]["message"] == 'deployments.apps "nope" not found'
    assert r["body"]["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}
    r = h.get("pods", "nope", namespace="default")
    assert r["body"]["message"] == 'pods "nope" not found'
    assert r["body"]["details"] == {"name": "nope", "kind": "pods"}


def test_stale_update_is_a_conflict(h):
    first = h.create("configmaps", {"metadata": {"name": "occ"}, "data": {"v": "1"}}, namespace="default")["body"]
    second = json.loads(json.dumps(first))
    first["data"]["v"] = "2"
    assert h.update("configmaps", first, namespace="default")["code"] == 200
    second["data"]["v"] = "3"
    r = h.update("configmaps", second, namespace="default")
    assert r["code"] == 409
    assert r["body"]["reason"] == "Conflict"
    assert r["body"]["message"] == ('Operation cannot be fulfilled on configmaps "occ": the object has been modified; '
                                    "please apply your changes to the latest version and try again")
    assert h.get("configmaps", "occ", namespace="default")["body"]["data"] == {"v": "2"}


def test_update_without_resource_version_is_unconditional(h):
    h.create("configmaps", {"metadata": {"name": "uncond"}, "data": {"v": "1"}}, namespace="default")
    r = h.update("configmaps", {"metadata": {"name": "uncond"}, "data": {"v": "9"}}, namespace="default")
    assert r["code"] == 200
    assert r["body"]["data"] == {"v": "9"}


def test_unchanged_update_writes_nothing(h):
    obj = h.create("configmaps", {"metadata": {"name": "same"}, "data": {"v": "1"}}, namespace="default")["body"]
    r = h.update("configmaps", obj, namespace="default")
    assert r["code"] == 200
    assert r["body"]["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


def test_generation_bumps_on_spec_changes_only(h):
    d = h.create("deployments", deployment("gen", replicas=1), namespace="default", group="apps")["body"]
    assert d["metadata"]["generation"] == 1
    assert d["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert d["spec"]["revisionHistoryLimit"] == 10 and d["spec"]["progressDeadlineSeconds"] == 600
    labeled = h.patch("deployments", "gen", {"metadata": {"labels": {"x": "y"}}}, namespace="default", group="apps")["body"]
    assert labeled["metadata"]["generation"] == 1
    scaled = h.patch("deployments", "gen", {"spec": {"replicas": 4}}, namespace="default", group="apps")["body"]
    assert scaled["metadata"]["generation"] == 2
    status = dict(scaled, status={"replicas": 4, "observedGeneration": 2})
    s = h.call("update", "deployments", group="apps", namespace="default", name="gen", subresource="status", body=status)
    assert s["code"] == 200 and s["body"]["metadata"]["generation"] == 2 and s["body"]["status"]["replicas"] == 4
    # The main resource ignores status; the status subresource ignores spec.
    body = dict(s["body"], status={"replicas": 99})
    body["spec"] = dict(body["spec"], replicas=7)
    u = h.update("deployments", body, namespace="default", group="apps")["body"]
    assert u["status"]["replicas"] == 4 and u["spec"]["replicas"] == 7 and u["metadata"]["generation"] == 3
    body = dict(u, spec=dict(u["spec"], replicas=1), status={"replicas": 5})
    st = h.call("update", "deployments", group="apps", namespace="default", name="gen", subresource="status", body=body)["body"]
    assert st["spec"]["replicas"] == 7 and st["status"]["replicas"] == 5 and st["metadata"]["generation"] == 3


def test_scale_subresource(h):
    h.create("deployments", deployment("scaled", replicas=2), namespace="default", group="apps")
    scale = h.call("get", "deployments", group="apps", namespace="default", name="scaled", subresource="scale")["body"]
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 2}
    assert scale["status"] == {"replicas": 0, "selector": "app=scaled"}
    r = h.patch("deployments", "scaled", {"spec": {"replicas": 5}}, namespace="default", group="apps", subresource="scale")
    assert r["code"] == 200 and r["body"]["kind"] == "Scale" and r["body"]["spec"]["replicas"] == 5
    d = h.get("deployments", "scaled", namespace="default", group="apps")["body"]
    assert d["spec"]["replicas"] == 5 and d["metadata"]["generation"] == 2
    scale = dict(r["body"], spec={"replicas": 1})
    u = h.call("update", "deployments", group="apps", namespace="default", name="scaled", subresource="scale", body=scale)
    assert u["code"] == 200 and u["body"]["spec"]["replicas"] == 1
    bad = h.patch("deployments", "scaled", {"spec": {"replicas": -1}}, namespace="default", group="apps", subresource="scale")
    assert bad["code"] == 422
    assert bad["body"]["message"] == 'Scale.autoscaling "scaled" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0'


def test_generate_name(h):
    r = h.create("pods", {"metadata": {"generateName": "web-"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}, namespace="default")
    name = r["body"]["metadata"]["name"]
    assert r["code"] == 201 and name.startswith("web-") and len(name) == 9
    assert all(c in "bcdfghjklmnpqrstvwxz2456789" for c in name[4:])


def test_delete_returns_the_object_and_removes_the_key(h):
    h.create("configmaps", {"metadata": {"name": "gone"}}, namespace="default")
    r = h.delete("configmaps", "gone", namespace="default")
    assert r["code"] == 200 and r["body"]["metadata"]["name"] == "gone"
    assert h.etcd_value("/registry/configmaps/default/gone") is None
    assert h.get("configmaps", "gone", namespace="default")["code"] == 404
    assert h.delete("configmaps", "gone", namespace="default")["code"] == 404


def test_delete_preconditions(h):
    obj = h.create("configmaps", {"metadata": {"name": "pre"}}, namespace="default")["body"]
    r = h.delete("configmaps", "pre", namespace="default", body={"preconditions": {"uid": "wrong"}})
    assert r["code"] == 409
    assert r["body"]["message"] == f'Operation cannot be fulfilled on configmaps "pre": Precondition failed: UID in precondition: wrong, UID in object meta: {obj["metadata"]["uid"]}'
    r = h.delete("configmaps", "pre", namespace="default", body={"preconditions": {"resourceVersion": obj["metadata"]["resourceVersion"]}})
    assert r["code"] == 200


@pytest.mark.parametrize("info", RESOURCES, ids=lambda i: i["plural"])
def test_every_kind_round_trips(h, info):
    from .kinds import sample

    name, body = sample(info)
    namespace = "default" if info["namespaced"] else None
    r = h.create(info["plural"], body, namespace=namespace, group=info["group"])
    assert r["code"] == 201, r["body"]
    got = h.get(info["plural"], name, namespace=namespace, group=info["group"])
    assert got["code"] == 200
    assert got["body"]["kind"] == info["kind"]
    assert got["body"]["metadata"]["resourceVersion"] == r["body"]["metadata"]["resourceVersion"]
    listed = h.list(info["plural"], namespace=namespace, group=info["group"])["body"]
    assert listed["kind"] == f"{info['kind']}List"
    assert name in [i["metadata"]["name"] for i in listed["items"]]
    if info["plural"] != "namespaces":
        gone = h.delete(info["plural"], name, namespace=namespace, group=info["group"])
        assert gone["code"] == 200, gone["body"]
        assert h.get(info["plural"], name, namespace=namespace, group=info["group"])["code"] == 404


def test_create_with_a_resource_version_is_a_bad_request(h):
    r = h.create("configmaps", {"metadata": {"name": "with-rv", "resourceVersion": "5"}}, namespace="default")
    assert r["code"] == 400 and r["body"]["message"] == "resourceVersion should not be set on objects to be created"


def test_dry_run_writes_nothing(h):
    r = h.create("configmaps", {"metadata": {"name": "dry"}}, namespace="default", query={"dryRun": "All"})
    assert r["code"] == 201 and r["body"]["metadata"]["name"] == "dry"
    assert h.get("configmaps", "dry", namespace="default")["code"] == 404


def test_secrets_keep_base64_data_and_convert_string_data(h):
    r = h.create("secrets", {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}, "data": {"user": "YWRtaW4="}}, namespace="default")
    assert r["code"] == 201
    assert r["body"]["type"] == "Opaque"
    assert r["body"]["data"] == {"user": "YWRtaW4=", "password": "aHVudGVyMg=="}
    assert "stringData" not in r["body"]
    bad = h.create("secrets", {"metadata": {"name": "s2"}, "data": {"k": "not base64!"}}, namespace="default")
    assert bad["code"] == 422 and bad["body"]["details"]["causes"][0]["field"] == "data[k]"


def test_jobs_get_a_selector_on_their_uid(h):
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
           "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"}}}}
    r = h.create("jobs", job, namespace="default", group="batch")
    assert r["code"] == 201
    uid = r["body"]["metadata"]["uid"]
    assert r["body"]["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert r["body"]["spec"]["template"]["metadata"]["labels"]["job-name"] == "j"
    assert r["body"]["spec"]["completions"] == 1 and r["body"]["spec"]["backoffLimit"] == 6
