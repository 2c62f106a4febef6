"""The HTTP layer of /k8s/<cluster>/ (dashboard/views/kube.py, dashboard/kube/) over a stand-in API
server: version, discovery, OpenAPI, routing, bodies, Status errors, waiting, streaming, and
malformed requests that must never produce a 500 or reach the simulation."""

import http.client
import json
import os
import random
import time

import pytest

from dashboard.kube import protobuf

from .conftest import KUBECTL_132, LineReader

AGGREGATED_ACCEPT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"


@pytest.fixture(scope="module")
def cluster(fake_server):
    name = fake_server.cluster("http", keep=True)
    yield name
    fake_server.delete(name)


def get_json(srv, path, accept="application/json"):
    code, headers, body = srv.request("GET", path, headers={"Accept": accept})
    return code, headers, json.loads(body)


def test_version_and_the_dispatcher(fake_server, cluster):
    code, headers, body = get_json(fake_server, f"/k8s/{cluster}/version?timeout=5s")
    assert code == 200 and headers["Content-Type"] == "application/json"
    assert (body["major"], body["minor"], body["gitVersion"]) == ("1", "32", "v1.32.0")
    out = fake_server.kubectl(cluster, "version").stdout
    assert "Server Version: v1.32.0" in out and "Client Version: v1.32" in out


def test_aggregated_discovery_needs_the_exact_content_type(fake_server, cluster):
    code, headers, body = get_json(fake_server, f"/k8s/{cluster}/api?timeout=32s", AGGREGATED_ACCEPT)
    assert code == 200 and headers["Content-Type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    assert body["kind"] == "APIGroupDiscoveryList" and body["apiVersion"] == "apidiscovery.k8s.io/v2"
    pods = next(r for r in body["items"][0]["versions"][0]["resources"] if r["resource"] == "pods")
    assert pods["shortNames"] == ["po"] and pods["categories"] == ["all"] and pods["scope"] == "Namespaced"
    eviction = next(s for s in pods["subresources"] if s["subresource"] == "eviction")
    assert eviction["responseKind"] == {"group": "policy", "version": "v1", "kind": "Eviction"}
    _, headers, apis = get_json(fake_server, f"/k8s/{cluster}/apis", AGGREGATED_ACCEPT)
    groups = [item["metadata"]["name"] for item in apis["items"]]
    assert groups[:2] == ["apps", "batch"] and "rbac.authorization.k8s.io" in groups and "" not in groups
    deploy = next(r for r in apis["items"][0]["versions"][0]["resources"] if r["resource"] == "deployments")
    assert deploy["shortNames"] == ["deploy"] and {"subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"}, "verbs": ["get", "patch", "update"]} in deploy["subresources"]
    _, headers, older = get_json(fake_server, f"/k8s/{cluster}/apis", "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")
    assert headers["Content-Type"].endswith("v=v2beta1;as=APIGroupDiscoveryList") and older["apiVersion"] == "apidiscovery.k8s.io/v2beta1"


def test_legacy_discovery(fake_server, cluster):
    _, headers, api = get_json(fake_server, f"/k8s/{cluster}/api")
    assert headers["Content-Type"] == "application/json" and api["versions"] == ["v1"]
    _, _, apis = get_json(fake_server, f"/k8s/{cluster}/apis")
    assert {"groupVersion": "apps/v1", "version": "v1"} in next(g for g in apis["groups"] if g["name"] == "apps")["versions"]
    _, _, core = get_json(fake_server, f"/k8s/{cluster}/api/v1")
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["pods/eviction"] == {"name": "pods/eviction", "singularName": "", "namespaced": True, "kind": "Eviction", "verbs": ["create"], "group": "policy", "version": "v1"}
    assert by_name["services"]["shortNames"] == ["svc"] and by_name["nodes"]["namespaced"] is False
    _, _, apps = get_json(fake_server, f"/k8s/{cluster}/apis/apps/v1")
    assert apps["groupVersion"] == "apps/v1" and "deployments/scale" in {r["name"] for r in apps["resources"]}
    _, _, group = get_json(fake_server, f"/k8s/{cluster}/apis/batch")
    assert group["kind"] == "APIGroup" and group["preferredVersion"]["groupVersion"] == "batch/v1"
    for path in ("/apis/nope", "/apis/nope/v1", "/api/v2", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"):
        code, _, body = get_json(fake_server, f"/k8s/{cluster}{path}")
        assert code == 404 and body["kind"] == "Status" and body["reason"] == "NotFound", path


def test_openapi_v3_and_v2(fake_server, cluster):
    _, _, index = get_json(fake_server, f"/k8s/{cluster}/openapi/v3")
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/apps/v1?hash=")
    _, _, doc = get_json(fake_server, f"/k8s/{cluster}{url}")
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert {"name": "fieldValidation", "in": "query"}.items() <= patch["parameters"][0].items()
    _, _, core = get_json(fake_server, f"/k8s/{cluster}/openapi/v3/api/v1")
    assert "/api/v1/nodes/{name}" in core["paths"]
    code, _, body = get_json(fake_server, f"/k8s/{cluster}/openapi/v2")
    assert code == 404 and body["reason"] == "NotFound"


def test_root_and_health(fake_server, cluster):
    _, _, root = get_json(fake_server, f"/k8s/{cluster}/")
    assert "/apis/apps/v1" in root["paths"] and "/version" in root["paths"]
    assert fake_server.request("GET", f"/k8s/{cluster}/readyz")[2] == b"ok"
    code, _, body = get_json(fake_server, "/k8s/no-such-cluster/api/v1/pods")
    assert code == 404 and body["kind"] == "Status" and "no-such-cluster" in body["message"]


POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
PODS = "/api/v1/namespaces/default/pods"
DEEP = b'{"a":' * 150 + b"1" + b"}" * 150
BOMB = b"a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\nmetadata: {name: p}\n"
BAD_REQUESTS = [
    # (method, path, body, content type, expected code)
    ("POST", PODS, b"{", "application/json", 400),
    ("POST", PODS, b'{"metadata": {"name": NaN}}', "application/json", 400),
    ("POST", PODS, b'{"spec": {"x": 1e400}}', "application/json", 400),
    ("POST", PODS, b'{"spec": {"x": ' + b"9" * 5000 + b"}}", "application/json", 400),
    ("POST", PODS, b'{"spec": {"x": 123456789012345678901234567890}}', "application/json", 400),
    ("POST", PODS, b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
    ("POST", PODS, DEEP, "application/json", 400),
    ("POST", PODS, b"\xff\xfe\x00", "application/json", 400),
    ("POST", PODS, b"[1, 2]", "", 400),
    ("POST", PODS, b"a: [", "application/yaml", 400),
    ("POST", PODS, BOMB, "application/yaml", 400),
    ("POST", PODS, b"!!python/object/apply:os.system [echo hi]", "application/yaml", 400),
    ("POST", PODS, b"? [a, b]\n: c\n", "application/yaml", 400),
    ("POST", PODS, b"k8s\x00\xff", "application/vnd.kubernetes.protobuf", 400),
    ("POST", PODS, b"not protobuf", "application/vnd.kubernetes.protobuf", 400),
    ("POST", PODS, protobuf.envelope("policy/v1", "PodDisruptionBudget", b""), "application/vnd.kubernetes.protobuf", 415),
    ("POST", PODS, json.dumps(POD).encode(), "text/html", 415),
    ("POST", PODS, b"", "application/json", 400),
    ("PATCH", PODS + "/p", b'{"a": 1}', "application/json", 415),
    ("PATCH", PODS + "/p", b'{"op": "add"}', "application/json-patch+json", 400),
    ("PATCH", PODS + "/p", b"", "application/merge-patch+json", 400),
    ("PATCH", PODS + "/p", b"[]", "application/merge-patch+json", 400),
    ("GET", PODS + "?limit=abc", None, "", 400),
    ("GET", PODS + "?limit=-1", None, "", 400),
    ("GET", PODS + "?watch=maybe", None, "", 400),
    ("GET", PODS + "?timeoutSeconds=1e3&watch=1", None, "", 400),
    ("GET", PODS + "?timeout=forever", None, "", 400),
    ("GET", PODS + "?allowWatchBookmarks=yes&watch=true", None, "", 400),
    ("GET", PODS + "?includeObject=Everything", None, "", 400),
    ("DELETE", PODS + "/p?gracePeriodSeconds=99999999999999999999", None, "", 400),
    ("DELETE", PODS + "/p?dryRun=Some", None, "", 400),
    ("DELETE", PODS + "/p", b'{"propagationPolicy": 7}', "", 400),
    ("GET", "/api/v1/namespaces/default/pods/" + "x" * 300, None, "", 400),
    ("GET", "/api/v2/pods", None, "", 404),
    ("GET", "/apis/nope/v1/things", None, "", 404),
    ("GET", PODS + "/p/nope", None, "", 404),
    ("GET", "/api/v1/namespaces//pods", None, "", 404),
    ("GET", "/api/v1/nodes/n1/status/extra", None, "", 404),
    ("GET", "/api/v1/namespaces/default/nodes", None, "", 404),
    ("GET", "/api/v1/pods/p", None, "", 404),
    ("GET", PODS + "/p/log/extra", None, "", 404),
    ("GET", "/nothing/here", None, "", 404),
    ("POST", PODS + "/p", json.dumps(POD).encode(), "application/json", 405),
    ("PUT", PODS, json.dumps(POD).encode(), "application/json", 405),
    ("DELETE", "/api/v1/namespaces", None, "", 405),
    ("POST", "/api/v1/pods", json.dumps(POD).encode(), "application/json", 405),
    ("POST", "/version", b"{}", "application/json", 405),
    ("POST", PODS, b"{" + b'"a":"' + b"x" * (3 * 1024 * 1024) + b'"}', "application/json", 413),
]


@pytest.mark.parametrize("method, path, body, content_type, code", BAD_REQUESTS, ids=[f"{i}-{r[0]}-{r[4]}" for i, r in enumerate(BAD_REQUESTS)])
def test_malformed_requests_get_a_status_and_change_nothing(fake_server, cluster, method, path, body, content_type, code):
    before = fake_server.summary(cluster)["counts"]["commands"]
    headers = {"Content-Type": content_type} if content_type else {}
    got, response_headers, raw = fake_server.request(method, f"/k8s/{cluster}{path}", body, headers)
    assert got == code, raw[:300]
    status = json.loads(raw)
    assert response_headers["Content-Type"] == "application/json"
    assert status["kind"] == "Status" and status["status"] == "Failure" and status["code"] == code and status["message"]
    assert fake_server.summary(cluster)["counts"]["commands"] == before


def test_bodies_in_every_accepted_encoding(fake_server, cluster):
    pod = dict(POD, metadata={"name": "json-no-type"})
    code, _, raw = fake_server.request("POST", f"/k8s/{cluster}{PODS}", json.dumps(pod).encode())  # the Python client sends no Content-Type
    assert code == 201, raw
    yaml_pod = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: from-yaml\n  annotations: {when: 2024-01-01}\nspec:\n  containers: [{name: c, image: nginx}]\n"
    code, _, raw = fake_server.request("POST", f"/k8s/{cluster}{PODS}", yaml_pod, {"Content-Type": "application/yaml"})
    assert code == 201 and json.loads(raw)["metadata"]["annotations"] == {"when": "2024-01-01"}
    body = protobuf.envelope("v1", "ConfigMap", protobuf.encode_field(1, protobuf.encode_field(1, "from-proto")) + protobuf.encode_field(2, protobuf.encode_field(1, "k") + protobuf.encode_field(2, "v")))
    code, _, raw = fake_server.request("POST", f"/k8s/{cluster}/api/v1/namespaces/default/configmaps", body, {"Content-Type": "application/vnd.kubernetes.protobuf"})
    assert code == 201 and json.loads(raw)["data"] == {"k": "v"}
    code, _, raw = fake_server.request("PATCH", f"/k8s/{cluster}{PODS}/from-yaml", b"metadata:\n  labels: {a: b}\n", {"Content-Type": "application/apply-patch+yaml"})
    assert code == 200 and json.loads(raw)["metadata"]["labels"] == {"a": "b"}
    code, _, raw = fake_server.request("GET", f"/k8s/{cluster}{PODS}?limit=500", headers={"Accept": TABLE_ACCEPT})
    assert code == 200 and json.loads(raw)["kind"] == "Table"


def test_a_paused_cluster_times_out_with_a_status(fake_server):
    name = fake_server.cluster("paused", paused=True)
    started = time.monotonic()
    code, _, raw = fake_server.request("GET", f"/k8s/{name}{PODS}?timeout=1s")
    assert code == 504 and time.monotonic() - started < 5
    status = json.loads(raw)
    assert status["reason"] == "Timeout" and "paused" in status["message"]
    assert fake_server.summary(name)["counts"]["commands"] == 1  # it was sent: advancing time would answer it


def kubectl_view(srv, name):
    state = srv.rest("GET", f"/api/clusters/{name}/state")
    return next(c for c in state["components"] if c["name"] == "kubectl")


def test_a_raw_watch_streams_lines_and_is_cancelled_when_the_client_leaves(fake_server):
    name = fake_server.cluster("watch")
    connection = http.client.HTTPConnection("127.0.0.1", fake_server.port, timeout=20)
    connection.request("GET", f"/k8s/{name}{PODS}?watch=true")
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Content-Type") == "application/json"
    fake_server.request("POST", f"/k8s/{name}{PODS}", json.dumps(POD).encode(), {"Content-Type": "application/json"})
    event = json.loads(response.readline())
    assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "p"
    assert kubectl_view(fake_server, name)["watches"]
    connection.close()
    deadline = time.monotonic() + 10
    while kubectl_view(fake_server, name)["watches"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kubectl_view(fake_server, name)["watches"] == []
    log = fake_server.rest("GET", f"/api/clusters/{name}/events?after=0&limit=5000")["events"]
    assert any(e["kind"] == "net.send" and e["data"].get("kind") == "api.watch_cancel" for e in log)


def test_kubectl_get_watch_streams_rows_as_they_happen(fake_server):
    name = fake_server.cluster("kwatch")
    fake_server.kubectl(name, "run", "first", "--image=nginx")
    watcher = fake_server.popen_kubectl(name, "get", "pods", "-w", "--output-watch-events")
    try:
        reader = LineReader(watcher)
        assert [line.split() for line in reader.lines(2)] == [["EVENT", "NAME", "AGE"], ["ADDED", "first", "1m"]]
        fake_server.kubectl(name, "run", "second", "--image=nginx")
        assert reader.lines(1)[0].split() == ["ADDED", "second", "1m"]
        fake_server.kubectl(name, "delete", "pod", "first", "--wait=false")
        assert reader.lines(1)[0].split() == ["DELETED", "first", "1m"]
        assert watcher.poll() is None  # held open: kubectl get -w must not exit
    finally:
        watcher.kill()
        watcher.wait()


def test_logs_follow_streams_text(fake_server):
    name = fake_server.cluster("logs")
    fake_server.kubectl(name, "run", "talker", "--image=busybox")
    follower = fake_server.popen_kubectl(name, "logs", "-f", "talker")
    try:
        assert LineReader(follower).lines(1) == ["log of talker"]
        assert follower.poll() is None
    finally:
        follower.kill()
        follower.wait()
    assert fake_server.kubectl(name, "logs", "talker").stdout == "log of talker\n"


@pytest.mark.skipif(KUBECTL_132 is None, reason="kubectl 1.32 is not installed")
def test_protobuf_bodies_from_kubectl_132_reach_the_api_server_decoded(fake_server):
    name = fake_server.cluster("proto")
    out = fake_server.kubectl(name, "create", "deployment", "web", "--image=nginx", "--replicas=3", binary=KUBECTL_132).stdout
    assert out.strip() == "deployment.apps/web created"
    created = json.loads(fake_server.kubectl(name, "get", "deployment", "web", "-o", "json").stdout)
    assert created["spec"]["replicas"] == 3 and created["spec"]["template"]["spec"]["containers"] == [{"name": "nginx", "image": "nginx"}]


def test_random_requests_never_fail_with_a_500(fake_server, cluster):
    rng = random.Random(int(os.environ.get("KUBE_FUZZ_SEED", "11")))
    segments = ["api", "apis", "v1", "v2", "apps", "namespaces", "default", "pods", "deployments", "nodes", "log", "scale", "status", "eviction",
                "watch", "x", "", "..", "%00", "%ff", "caf%C3%A9", "a" * 300, "openapi", "v3", "version"]
    queries = ["watch=1", "watch=true", "limit=5", "limit=-5", "limit=x", "continue=abc", "resourceVersion=1", "resourceVersion=abc", "timeout=1s",
               "timeoutSeconds=1", "labelSelector=a%3Db", "labelSelector=%3D%3D%3D", "fieldSelector=spec.nodeName%3D", "includeObject=Object",
               "propagationPolicy=Nope", "gracePeriodSeconds=-1", "dryRun=All", "fieldValidation=Bogus", "follow=true", "tailLines=1e9", "pretty=1", "a" * 500]
    bodies = [b"", b"{}", b"[]", b"null", b'{"metadata": {"name": "f\\ud800"}}', b'{"kind": 5}', b"\x00\x01", b"k8s\x00", b"---\n- a\n- b\n",
              json.dumps(POD).encode(), b'[{"op": "remove", "path": "/x"}]', b'{"metadata": {"name": "fuzzed", "labels": {"": ""}}}']
    types = ["", "application/json", "application/yaml", "application/vnd.kubernetes.protobuf", "application/merge-patch+json",
             "application/strategic-merge-patch+json", "application/json-patch+json", "application/apply-patch+yaml", "text/plain", "multipart/form-data"]
    accepts = ["", "application/json", TABLE_ACCEPT, AGGREGATED_ACCEPT, "application/vnd.kubernetes.protobuf", "*/*", "text/html"]
    for _ in range(int(os.environ.get("KUBE_FUZZ_REQUESTS", "250"))):
        path = "/".join(rng.choice(segments) for _ in range(rng.randint(1, 7)))
        query = "&".join(rng.choice(queries) for _ in range(rng.randint(0, 3)))
        target = f"/k8s/{cluster}/{path}" + (f"?{query}" if query else "")
        if "watch" in target and "timeoutSeconds" not in target:
            target += ("&" if "?" in target else "?") + "timeoutSeconds=1"
        method = rng.choice(["GET", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
        headers = {"Content-Type": rng.choice(types), "Accept": rng.choice(accepts)}
        code, response_headers, raw = fake_server.request(method, target, rng.choice(bodies) if method in ("POST", "PUT", "PATCH", "DELETE") else None, headers)
        assert code < 500 or code in (503, 504), (method, target, code, raw[:300])
        if method != "HEAD" and response_headers.get("Content-Type") == "application/json" and raw:
            for line in raw.decode("utf-8").splitlines():  # valid UTF-8 and JSON, line by line for watch streams
                json.loads(line)
    log = (fake_server.tmp / "daphne.log").read_text(errors="replace")
    assert "Traceback" not in log
