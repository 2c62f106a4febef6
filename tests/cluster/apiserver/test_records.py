"""What the API server keeps of each answered request for the request inspector (records.py):
what was sent, the object at the revision the request produced, summaries for lists."""

from cluster.apiserver import records

from .harness import Harness, pod


def key(h, rid):
    return f"{h.client.name}#{rid}"


def test_a_write_keeps_what_was_sent_and_the_object_at_its_revision():
    h = Harness()
    sent = pod("rec")
    created = h.create("pods", sent, namespace="default")
    record = h.server.request_record(key(h, created["id"]))
    assert record["state"] == "answered" and record["code"] == 201 and record["verb"] == "create"
    assert record["path"] == "/api/v1/namespaces/default/pods" and record["user"] == "system:anonymous"
    assert record["key"] == "/registry/pods/default/rec"
    assert record["request_body"] == sent
    assert record["response"] == created["body"] and record["revision"] == created["body"]["metadata"]["resourceVersion"]
    assert [s["stage"] for s in record["stages"]] == ["request", "authn", "authz", "admission", "validation", "etcd"]
    # a later change does not touch what the record shows: it is the object at that revision
    labelled = h.call("patch", "pods", namespace="default", name="rec", patch_type="merge", body={"metadata": {"labels": {"v": "2"}}})
    assert labelled["code"] == 200
    again = h.server.request_record(key(h, created["id"]))
    assert again["response"] == created["body"] and "v" not in (again["response"]["metadata"].get("labels") or {})
    later = h.server.request_record(key(h, labelled["id"]))
    assert later["response"]["metadata"]["labels"]["v"] == "2" and int(later["revision"]) > int(record["revision"])
    assert later["request_body"] == {"metadata": {"labels": {"v": "2"}}} and later["patch_type"] == "merge"


def test_a_rejected_request_keeps_what_was_sent_and_the_status():
    h = Harness()
    bad = pod("Bad_Name")
    r = h.create("pods", bad, namespace="default")
    record = h.server.request_record(key(h, r["id"]))
    assert record["code"] == 422 and record["rejected_by"] == "validation" and record["reason"] == "Invalid"
    assert record["request_body"] == bad and record["response"]["kind"] == "Status" and record["response"]["code"] == 422
    assert record["revision"] is None


def test_lists_and_watches_are_summarized_and_tables_keep_the_object():
    h = Harness()
    for i in range(3):
        h.create("pods", pod(f"p{i}"), namespace="default")
    listed = h.call("list", "pods", namespace="default", as_table=True)
    record = h.server.request_record(key(h, listed["id"]))
    assert record["response"] == {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "summary": True, "count": 3,
                                  "resourceVersion": listed["body"]["metadata"]["resourceVersion"], "names": ["p0", "p1", "p2"]}
    got = h.call("get", "pods", namespace="default", name="p1", as_table=True)
    shown = h.server.request_record(key(h, got["id"]))["response"]
    assert shown["kind"] == "Pod" and shown["metadata"]["name"] == "p1" and shown["spec"]["containers"]
    w = h.watch("pods", namespace="default")
    h.run(0.5)
    assert h.server.request_record(key(h, w))["response"] == {"kind": "watch", "summary": True, "resource": "pods", "initial_events": 3, "expired": None}


def test_records_are_bounded_and_in_flight_requests_are_shown():
    h = Harness()
    mine = h.client.request("list", "namespaces", raw={"verb": "list", "group": "", "version": "v1", "resource": "namespaces", "agent": "kubectl"})
    first = h.call("list", "namespaces")
    h.wait(mine)
    for _ in range(records.KEEP_RECORDS):
        h.client.request("get", "namespaces", name="default")
    h.run(1)
    assert len(h.server.records) == records.KEEP_RECORDS
    assert h.server.request_record(key(h, first["id"])) is None
    # an HTTP client's request (it has an agent) is kept apart: the chatter did not push it out
    assert h.server.request_record(key(h, mine))["agent"] == "kubectl" and len(h.server.http_records) == 1
    rid = h.client.request("create", "pods", namespace="default", body=pod("slow"))
    h.run_until(lambda: key(h, rid) in h.server.ops, 5)  # received, not yet answered
    flying = h.server.request_record(key(h, rid))
    assert flying["state"] == "in flight" and flying["code"] is None and flying["request_body"]["metadata"]["name"] == "slow"
    assert h.server.request_record("nobody#1") is None
