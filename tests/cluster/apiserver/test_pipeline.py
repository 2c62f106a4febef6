"""The request pipeline: authentication, RBAC, admission (namespaces, quota), validation,
strict field decoding, and requests that are malformed."""

import pytest

from .harness import Harness, deployment, pod

ALICE = {"token-alice": {"name": "alice", "groups": ["dev"]}}


def stages(h, rid):
    return [(e["kind"], e["data"].get("ok")) for e in h.sim.log.events if e["data"].get("request") == f"client#{rid}" and e["kind"] != "api.response"]


def test_every_stage_is_an_event():
    h = Harness()
    rid = h.client.request("create", "pods", namespace="default", body=pod("staged"))
    assert h.wait(rid)["code"] == 201
    kinds = [k for k, _ in stages(h, rid)]
    for stage in ("api.request", "api.authn", "api.authz", "api.admission", "api.validation", "api.etcd"):
        assert stage in kinds
    assert kinds.index("api.authn") < kinds.index("api.authz") < kinds.index("api.admission") < kinds.index("api.validation") < kinds.index("api.etcd")
    response = [e for e in h.sim.log.events if e["kind"] == "api.response" and e["data"]["request"] == f"client#{rid}"]
    assert response[0]["data"]["code"] == 201
    assert response[0]["data"]["key"] == "/registry/pods/default/staged"
    assert response[0]["data"]["rv"] == h.client.responses[rid]["body"]["metadata"]["resourceVersion"]
    request = [e for e in h.sim.log.events if e["kind"] == "api.request" and e["data"]["request"] == f"client#{rid}"][0]
    assert {k: request["data"][k] for k in ("verb", "group", "resource", "namespace", "name")} == {
        "verb": "create", "group": "", "resource": "pods", "namespace": "default", "name": None}


def test_anonymous_and_token_users():
    h = Harness(tokens=ALICE)
    rid = h.client.request("list", "pods", namespace="default")
    h.wait(rid)
    authn = [e for e in h.sim.log.events if e["kind"] == "api.authn" and e["data"]["request"] == f"client#{rid}"][0]
    assert authn["data"]["user"] == "system:anonymous"
    rid = h.client.request("list", "pods", namespace="default", token="token-alice")
    assert h.wait(rid)["code"] == 200
    bad = h.call("list", "pods", namespace="default", token="nope")
    assert bad["code"] == 401
    assert bad["body"] == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    rejected = [e for e in h.sim.log.events if e["kind"] == "api.response" and e["data"]["code"] == 401]
    assert rejected[0]["data"]["rejected_by"] == "authn"


def test_rbac_off_by_default_allows_everyone():
    h = Harness(tokens=ALICE)
    assert h.call("create", "configmaps", namespace="default", body={"metadata": {"name": "x"}}, token="token-alice")["code"] == 201


def test_rbac_forbidden_messages_and_bindings():
    h = Harness(tokens=ALICE, rbac_enabled=True)
    r = h.call("list", "pods", namespace="default", token="token-alice")
    assert r["code"] == 403
    assert r["body"]["reason"] == "Forbidden"
    assert r["body"]["message"] == 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"'
    assert r["body"]["details"] == {"kind": "pods"}
    r = h.call("get", "deployments", group="apps", namespace="default", name="web", token="token-alice")
    assert r["body"]["message"] == 'deployments.apps "web" is forbidden: User "alice" cannot get resource "deployments" in API group "apps" in the namespace "default"'
    r = h.call("list", "nodes", token="token-alice")
    assert r["body"]["message"] == 'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope'
    r = h.call("get", "pods", namespace="default", name="p", subresource="log", token="token-alice")
    assert r["body"]["message"] == 'pods "p" is forbidden: User "alice" cannot get resource "pods/log" in API group "" in the namespace "default"'
    anonymous = h.call("list", "pods", namespace="default")
    assert anonymous["body"]["message"] == 'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"'
    # Components and system:masters are allowed.
    assert h.call("list", "pods", namespace="default", user={"name": "system:kube-scheduler", "groups": []})["code"] == 200
    assert h.call("list", "pods", namespace="default", user={"name": "admin", "groups": ["system:masters"]})["code"] == 200
    # A Role and RoleBinding in default let alice read pods there, and only there.
    admin = {"name": "admin", "groups": ["system:masters"]}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "alice-reads"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}, "subjects": [{"kind": "User", "name": "alice"}]}
    assert h.call("create", "roles", group="rbac.authorization.k8s.io", namespace="default", body=role, user=admin)["code"] == 201
    assert h.call("create", "rolebindings", group="rbac.authorization.k8s.io", namespace="default", body=binding, user=admin)["code"] == 201
    h.run(0.2)
    assert h.call("list", "pods", namespace="default", token="token-alice")["code"] == 200
    assert h.call("list", "pods", namespace="kube-system", token="token-alice")["code"] == 403
    assert h.call("create", "pods", namespace="default", body=pod("no"), token="token-alice")["code"] == 403
    # Group subjects with a ClusterRoleBinding to the bootstrap "view" role.
    crb = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "dev-view"},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "Group", "name": "dev"}]}
    assert h.call("create", "clusterrolebindings", group="rbac.authorization.k8s.io", body=crb, user=admin)["code"] == 201
    h.run(0.2)
    assert h.call("list", "deployments", group="apps", namespace="kube-system", token="token-alice")["code"] == 200
    assert h.call("delete", "deployments", group="apps", namespace="kube-system", name="x", token="token-alice")["code"] == 403


def test_resource_names_in_rules():
    from cluster.apiserver.rbac import rule_allows

    rule = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["one"]}
    attrs = {"verb": "get", "group": "", "resource": "configmaps", "subresource": None, "namespace": "default", "name": "one"}
    assert rule_allows(rule, attrs)
    assert not rule_allows(rule, dict(attrs, name="two"))
    assert rule_allows({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, dict(attrs, verb="delete"))
    assert rule_allows({"apiGroups": [""], "resources": ["*/log"], "verbs": ["get"]}, dict(attrs, resource="pods", subresource="log"))
    assert not rule_allows({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}, dict(attrs, resource="pods", subresource="log"))


def test_namespace_lifecycle():
    h = Harness()
    r = h.create("configmaps", {"metadata": {"name": "x"}}, namespace="missing")
    assert r["code"] == 404
    assert r["body"]["message"] == 'namespaces "missing" not found'
    assert r["body"]["details"] == {"name": "missing", "kind": "namespaces"}
    assert h.create("namespaces", {"metadata": {"name": "doomed"}})["code"] == 201
    # Created right now: the cache may not have it yet, the lookup goes to etcd.
    assert h.create("configmaps", {"metadata": {"name": "x"}}, namespace="doomed")["code"] == 201
    d = h.delete("namespaces", "doomed")
    assert d["code"] == 200
    assert d["body"]["status"]["phase"] == "Terminating" and d["body"]["metadata"]["deletionTimestamp"]
    h.run(0.2)
    r = h.create("configmaps", {"metadata": {"name": "y"}}, namespace="doomed")
    assert r["code"] == 403
    assert r["body"]["message"] == 'configmaps "y" is forbidden: unable to create new content in namespace doomed because it is being terminated'
    r = h.delete("namespaces", "default")
    assert r["code"] == 403 and r["body"]["message"] == 'namespaces "default" is forbidden: this namespace may not be deleted'
    # The namespace controller's finalize call empties spec.finalizers: then it is gone.
    ns = h.get("namespaces", "doomed")["body"]
    ns["spec"]["finalizers"] = []
    f = h.call("update", "namespaces", name="doomed", subresource="finalize", body=ns)
    assert f["code"] == 200
    assert h.get("namespaces", "doomed")["code"] == 404


def test_resource_quota_on_pod_count_and_cpu():
    h = Harness()
    quota = {"metadata": {"name": "compute"}, "spec": {"hard": {"pods": "2", "requests.cpu": "1"}}}
    assert h.create("resourcequotas", quota, namespace="default")["code"] == 201
    h.run(0.2)

    def cpu_pod(name, cpu):
        return pod(name, resources={}) | {"spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": cpu}}}]}}

    r = h.create("pods", pod("nocpu"), namespace="default")
    assert r["code"] == 403 and r["body"]["message"] == 'pods "nocpu" is forbidden: failed quota: compute: must specify requests.cpu'
    assert h.create("pods", cpu_pod("a", "500m"), namespace="default")["code"] == 201
    r = h.create("pods", cpu_pod("b", "600m"), namespace="default")
    assert r["code"] == 403
    assert r["body"]["message"] == 'pods "b" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=500m, limited: requests.cpu=1'
    assert h.create("pods", cpu_pod("c", "500m"), namespace="default")["code"] == 201
    r = h.create("pods", cpu_pod("d", "1m"), namespace="default")
    assert r["body"]["message"] == ('pods "d" is forbidden: exceeded quota: compute, requested: pods=1,requests.cpu=1m, '
                                    "used: pods=2,requests.cpu=1, limited: pods=2,requests.cpu=1")
    assert h.delete("pods", "a", namespace="default")["code"] == 200
    h.run(0.2)
    assert h.create("pods", cpu_pod("e", "100m"), namespace="default")["code"] == 201


def test_quota_holds_under_concurrent_creates():
    h = Harness()
    h.create("resourcequotas", {"metadata": {"name": "count"}, "spec": {"hard": {"count/configmaps": "3"}}}, namespace="default")
    h.run(0.2)
    rids = [h.client.request("create", "configmaps", namespace="default", body={"metadata": {"name": f"c{i}"}}) for i in range(6)]
    h.run_until(lambda: all(r in h.client.responses for r in rids))
    codes = sorted(h.client.responses[r]["code"] for r in rids)
    assert codes == [201, 201, 201, 403, 403, 403]


def test_validation_causes_exact_status():
    h = Harness()
    body = deployment("web")
    body["spec"]["template"]["metadata"]["labels"] = {"app": "x"}
    r = h.create("deployments", body, namespace="default", group="apps")
    assert r["code"] == 422
    assert r["body"] == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`',
        "reason": "Invalid",
        "details": {"name": "web", "group": "apps", "kind": "Deployment", "causes": [
            {"reason": "FieldValueInvalid", "message": 'Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`', "field": "spec.template.metadata.labels"}]},
        "code": 422,
    }
    r = h.create("pods", {"metadata": {"name": "bad"}, "spec": {}}, namespace="default")
    assert r["body"]["message"] == 'Pod "bad" is invalid: spec.containers: Required value'
    assert r["body"]["details"]["causes"] == [{"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers"}]
    r = h.create("pods", {"metadata": {"name": "bad2"}, "spec": {"containers": [{"name": "Bad_C"}], "restartPolicy": "Sometimes"}}, namespace="default")
    fields = [(c["reason"], c["field"]) for c in r["body"]["details"]["causes"]]
    assert fields == [("FieldValueInvalid", "spec.containers[0].name"), ("FieldValueRequired", "spec.containers[0].image"), ("FieldValueNotSupported", "spec.restartPolicy")]
    assert r["body"]["details"]["causes"][2]["message"] == 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'
    r = h.create("services", {"metadata": {"name": "1svc"}, "spec": {"ports": [{"port": 80}]}}, namespace="default")
    assert r["body"]["details"]["causes"][0]["message"].startswith('Invalid value: "1svc": a DNS-1035 label must consist of lower case alphanumeric characters')
    r = h.create("configmaps", {"metadata": {"name": "l", "labels": {"bad key": "v", "ok": "x" * 64}}}, namespace="default")
    assert [c["field"] for c in r["body"]["details"]["causes"]] == ["metadata.labels", "metadata.labels"]
    assert r["body"]["details"]["causes"][1]["message"].startswith('Invalid value: "' + "x" * 64 + '": must be no more than 63 characters')


def test_immutable_fields():
    h = Harness()
    d = h.create("deployments", deployment("imm"), namespace="default", group="apps")["body"]
    d["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    d["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    r = h.update("deployments", d, namespace="default", group="apps")
    assert r["code"] == 422
    assert r["body"]["details"]["causes"] == [{"reason": "FieldValueInvalid", "message": "Invalid value: {\"matchLabels\":{\"app\":\"other\"}}: field is immutable", "field": "spec.selector"}]
    p = h.create("pods", pod("imm"), namespace="default")["body"]
    ok = h.patch("pods", "imm", {"spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}, patch_type="strategic", namespace="default")
    assert ok["code"] == 200 and ok["body"]["spec"]["containers"][0]["image"] == "nginx:2"
    bad = h.patch("pods", "imm", {"spec": {"restartPolicy": "Never"}}, namespace="default")
    assert bad["code"] == 422 and bad["body"]["details"]["causes"][0]["reason"] == "FieldValueForbidden"
    assert bad["body"]["details"]["causes"][0]["message"].startswith("Forbidden: pod updates may not change fields other than")
    assert p["metadata"]["name"] == "imm"


def test_strict_field_validation():
    h = Harness()
    body = deployment("strict")
    body["spec"]["foo"] = 1
    body["spec"]["template"]["spec"]["containers"][0]["imagePolicy"] = "x"
    r = h.create("deployments", body, namespace="default", group="apps", query={"fieldValidation": "Strict"})
    assert r["code"] == 400
    assert r["body"]["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
                                    'unknown field "spec.template.spec.containers[0].imagePolicy", unknown field "spec.foo"')
    warn = h.create("deployments", body, namespace="default", group="apps")
    assert warn["code"] == 201
    assert warn["warnings"] == ['unknown field "spec.template.spec.containers[0].imagePolicy"', 'unknown field "spec.foo"']


@pytest.mark.parametrize("raw", [
    None, 5, "x", {"verb": "get"}, {"id": True, "verb": "get"},
    {"id": 1, "verb": "explode", "resource": "pods"},
    {"id": 1, "verb": "get", "resource": "widgets", "name": "x"},
    {"id": 1, "verb": "get", "resource": "pods", "namespace": "default"},
    {"id": 1, "verb": "get", "resource": "pods", "namespace": 7, "name": "x"},
    {"id": 1, "verb": "get", "group": "apps", "version": "v2", "resource": "deployments", "namespace": "default", "name": "x"},
    {"id": 1, "verb": "create", "resource": "pods", "namespace": "default", "body": [1, 2]},
    {"id": 1, "verb": "create", "resource": "pods", "namespace": "default", "body": {"metadata": "x"}},
    {"id": 1, "verb": "create", "resource": "pods", "namespace": "default", "body": {"kind": "Service", "metadata": {"name": "x"}}},
    {"id": 1, "verb": "create", "resource": "pods", "namespace": "default", "body": {"metadata": {"name": "x"}, "spec": {"containers": "nope"}}},
    {"id": 1, "verb": "create", "resource": "pods", "namespace": "default", "body": {"metadata": {"name": "x"}, "spec": {"containers": [{"name": 5, "image": ["x"]}]}}},
    {"id": 1, "verb": "create", "resource": "deployments", "group": "apps", "namespace": "default", "body": {"metadata": {"name": "x"}, "spec": {"selector": "a", "template": 3}}},
    {"id": 1, "verb": "create", "resource": "services", "namespace": "default", "body": {"metadata": {"name": "x"}, "spec": {"ports": [{"port": "eighty"}], "clusterIP": "999.1.1.1"}}},
    {"id": 1, "verb": "patch", "resource": "pods", "namespace": "default", "name": "x", "patch_type": "yaml", "body": {}},
    {"id": 1, "verb": "patch", "resource": "configmaps", "namespace": "default", "name": "exists", "patch_type": "json", "body": [{"op": "move"}]},
    {"id": 1, "verb": "patch", "resource": "configmaps", "namespace": "default", "name": "exists", "patch_type": "json", "body": [{"op": "add", "path": "/data/x/y/z", "value": 1}]},
    {"id": 1, "verb": "patch", "resource": "configmaps", "namespace": "default", "name": "exists", "patch_type": "strategic", "body": {"data": {"$patch": "explode"}}},
    {"id": 1, "verb": "patch", "resource": "configmaps", "namespace": "default", "name": "exists", "patch_type": "apply", "body": {"kind": "ConfigMap"}},
    {"id": 1, "verb": "patch", "resource": "configmaps", "namespace": "default", "name": "exists", "patch_type": "merge", "body": {"metadata": {"name": "other"}}},
    {"id": 1, "verb": "list", "resource": "pods", "query": {"limit": "many", "resourceVersion": "abc"}},
    {"id": 1, "verb": "list", "resource": "pods", "query": {"labelSelector": 5}},
    {"id": 1, "verb": "list", "resource": "pods", "query": "limit=5"},
    {"id": 1, "verb": "watch", "resource": "pods", "query": {"resourceVersion": "-3"}},
    {"id": 1, "verb": "delete", "resource": "configmaps", "namespace": "default", "name": "exists", "body": {"propagationPolicy": "Sideways"}},
    {"id": 1, "verb": "delete", "resource": "configmaps", "namespace": "default", "name": "exists", "body": {"gracePeriodSeconds": "soon"}},
    {"id": 1, "verb": "create", "resource": "pods", "subresource": "binding", "namespace": "default", "name": "nope", "body": {"target": "n1"}},
    {"id": 1, "verb": "create", "resource": "pods", "subresource": "eviction", "namespace": "default", "name": "nope", "body": {}},
    {"id": 1, "verb": "update", "resource": "deployments", "group": "apps", "subresource": "scale", "namespace": "default", "name": "nope", "body": {"spec": {"replicas": "x"}}},
    {"id": 1, "verb": "get", "resource": "pods", "subresource": "log", "namespace": "default", "name": "nope"},
    {"id": 1, "verb": "get", "resource": "nodes", "namespace": "default", "name": "n"},
    {"id": 1, "verb": "create", "resource": "namespaces", "body": {"metadata": {"name": "UPPER"}}},
    {"id": 1, "verb": "update", "resource": "configmaps", "namespace": "default", "name": "exists", "body": {"metadata": {"name": "exists", "resourceVersion": "x1"}}},
    {"id": 1, "verb": "create", "resource": "pods", "namespace": "default", "body": {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "lots"}}}]}}},
])
def test_malformed_requests_get_a_status_and_never_break_the_server(raw):
    h = Harness()
    h.create("configmaps", {"metadata": {"name": "exists"}, "data": {"a": "b"}}, namespace="default")
    before = h.get("configmaps", "exists", namespace="default")["body"]
    rid = h.client.request("get", "pods", raw=raw if isinstance(raw, dict) else None) if isinstance(raw, dict) else None
    if rid is None:
        h.client.send("kube-apiserver", "api.request", raw)
        h.run(0.2)
    else:
        r = h.wait(rid)
        assert 400 <= r["code"] < 500, r
        assert r["body"]["kind"] == "Status" and r["body"]["status"] == "Failure"
    assert not [e for e in h.sim.log.events if e["kind"] == "api.error"]
    assert h.get("configmaps", "exists", namespace="default")["body"] == before
    assert h.server.ops == {} and h.server.etcd_pending == {}
