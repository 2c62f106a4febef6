"""The request inspector's REST source, with real kubectl: GET /api/clusters/<name>/requests/<id>
answers what the API server kept of a request (what was sent, the object at the revision it
produced), and each HTTP client is named by its User-Agent."""

import json
import urllib.parse


def events(server, cluster, kind, after=0):
    found = []
    while True:
        page = server.rest("GET", f"/api/clusters/{cluster}/events?after={after}&limit=1000")
        found += [e for e in page["events"] if e["kind"] == kind]
        if not page["events"]:
            return found
        after = page["events"][-1]["seq"]


def record(server, cluster, request_id):
    return server.rest("GET", f"/api/clusters/{cluster}/requests/{urllib.parse.quote(request_id, safe='')}")


def last_seq(server, cluster):
    return server.rest("GET", f"/api/clusters/{cluster}")["last_seq"]


def write_of(server, cluster, key, after):
    return next(e["data"]["request"] for e in reversed(events(server, cluster, "api.response", after)) if e["data"].get("key") == key)


def test_a_request_as_it_was_and_who_sent_it(server):
    name = server.cluster("inspect", speed=10)
    start = last_seq(server, name)
    server.kubectl(name, "create", "configmap", "colours", "--from-literal=sky=blue")
    created_id = write_of(server, name, "/registry/configmaps/default/colours", start)
    start = last_seq(server, name)
    server.kubectl(name, "patch", "configmap", "colours", "--type=merge", "-p", '{"data": {"sky": "grey"}}')
    patched_id = write_of(server, name, "/registry/configmaps/default/colours", start)
    assert patched_id != created_id

    created = record(server, name, created_id)
    assert created["verb"] == "create" and created["code"] == 201 and created["agent"] == "kubectl" and created["client"] == "kubectl"
    assert created["path"] == "/api/v1/namespaces/default/configmaps" and created["user"] == "system:anonymous"
    assert created["request_body"]["data"] == {"sky": "blue"}  # what kubectl sent
    assert created["response"]["data"] == {"sky": "blue"}  # the object at the revision it produced, not now
    assert created["response"]["metadata"]["resourceVersion"] == created["revision"] and created["key"] == "/registry/configmaps/default/colours"
    assert [s["stage"] for s in created["stages"]][-1] == "etcd"
    patched = record(server, name, patched_id)
    assert patched["request_body"] == {"data": {"sky": "grey"}} and patched["response"]["data"] == {"sky": "grey"}
    assert int(patched["revision"]) > int(created["revision"])

    # a rejected request: what was sent and the Status
    start = last_seq(server, name)
    bad = server.kubectl(name, "create", "configmap", "Bad_Name", check=False)
    assert bad.returncode != 0
    rejected_id = next(e["data"]["request"] for e in reversed(events(server, name, "api.response", start)) if e["data"].get("code") == 422)
    rejected = record(server, name, rejected_id)
    assert rejected["request_body"]["metadata"]["name"] == "Bad_Name" and rejected["response"]["kind"] == "Status"
    assert rejected["rejected_by"] == "validation" and rejected["revision"] is None

    # a list is summarized
    start = last_seq(server, name)
    server.kubectl(name, "get", "configmaps")
    mine = [e["data"]["request"] for e in reversed(events(server, name, "api.response", start)) if e["data"]["request"].startswith("kubectl#")]
    listed = next(r for r in (record(server, name, request_id) for request_id in mine) if r["verb"] == "list")
    assert listed["response"]["summary"] is True and listed["response"]["kind"] == "Table" and "colours" in listed["response"]["names"]

    # other HTTP clients are named apart: by User-Agent, or the inspector's own header
    path = f"/k8s/{name}/api/v1/namespaces/default/configmaps/colours"
    for headers, agent in (({"User-Agent": "OpenAPI-Generator/31.0.0/python"}, "python"), ({"X-Clusterscope-Client": "inspector"}, "inspector"), ({"User-Agent": "curl/7.88.1"}, "http")):
        start = last_seq(server, name)
        code, _, body = server.request("GET", path, headers=headers)
        assert code == 200 and json.loads(body)["data"] == {"sky": "grey"}
        sent = [e for e in events(server, name, "net.send", start) if e["data"].get("kind") == "api.request" and e["source"] == "kubectl"]
        assert [(e["data"]["agent"], e["data"]["client"]) for e in sent] == [(agent, "kubectl")]  # the same endpoint, another agent
    assert created["agent"] == patched["agent"] == "kubectl"

    code, _, body = server.request("GET", f"/api/clusters/{name}/requests/kubectl%23999999")
    assert code == 404 and json.loads(body)["field"] == "request"
    code, _, body = server.request("GET", f"/api/clusters/{name}/requests/nonsense")
    assert code == 404 and json.loads(body)["field"] == "request"
