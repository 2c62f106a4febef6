"""Lists: label and field selectors, paging with continue tokens, resourceVersion semantics."""

import pytest

from .harness import Harness, pod


@pytest.fixture(scope="module")
def h():
    h = Harness()
    for i, (app, tier) in enumerate([("web", "front"), ("web", "back"), ("db", "back"), ("cache", None), ("web", "front")]):
        labels = {"app": app}
        if tier:
            labels["tier"] = tier
        h.create("pods", pod(f"p{i}", labels=labels), namespace="default")
    h.create("namespaces", {"metadata": {"name": "other"}})
    h.create("pods", pod("elsewhere", labels={"app": "web"}), namespace="other")
    return h


def names(r):
    return [i["metadata"]["name"] for i in r["body"]["items"]]


@pytest.mark.parametrize("selector,expected", [
    ("app=web", ["p0", "p1", "p4"]),
    ("app==web", ["p0", "p1", "p4"]),
    ("app!=web", ["p2", "p3"]),
    ("app in (db, cache)", ["p2", "p3"]),
    ("app notin (web,db)", ["p3"]),
    ("tier", ["p0", "p1", "p2", "p4"]),
    ("!tier", ["p3"]),
    ("app=web,tier=front", ["p0", "p4"]),
    ("app=web,tier!=front", ["p1"]),
])
def test_label_selectors(h, selector, expected):
    assert names(h.list("pods", namespace="default", query={"labelSelector": selector})) == expected


def test_all_namespaces_sorted_by_namespace_then_name(h):
    got = [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in h.list("pods", query={"labelSelector": "app=web"})["body"]["items"]]
    assert got == [("default", "p0"), ("default", "p1"), ("default", "p4"), ("other", "elsewhere")]


def test_field_selectors(h):
    assert names(h.list("pods", query={"fieldSelector": "metadata.namespace=other"})) == ["elsewhere"]
    assert names(h.list("pods", namespace="default", query={"fieldSelector": "metadata.name!=p0,status.phase=Pending"})) == ["p1", "p2", "p3", "p4"]
    assert names(h.list("pods", namespace="default", query={"fieldSelector": "spec.nodeName="})) == ["p0", "p1", "p2", "p3", "p4"]
    assert names(h.list("pods", namespace="default", query={"fieldSelector": "spec.nodeName=n1"})) == []


def test_event_field_selectors():
    h = Harness()
    for i, (kind, name, typ) in enumerate([("Pod", "a", "Normal"), ("Pod", "b", "Warning"), ("Node", "a", "Normal")]):
        h.create("events", {"metadata": {"name": f"e{i}"}, "involvedObject": {"kind": kind, "name": name, "namespace": "default", "uid": f"u{i}"},
                            "reason": "R", "message": "m", "type": typ}, namespace="default")
    q = "involvedObject.name=a,involvedObject.namespace=default,involvedObject.kind=Pod"
    assert names(h.list("events", namespace="default", query={"fieldSelector": q})) == ["e0"]
    assert names(h.list("events", namespace="default", query={"fieldSelector": "type=Warning"})) == ["e1"]
    assert names(h.list("events", namespace="default", query={"fieldSelector": "involvedObject.uid=u2"})) == ["e2"]


def test_bad_selectors_are_bad_requests(h):
    r = h.list("pods", namespace="default", query={"fieldSelector": "spec.bogus=1"})
    assert r["code"] == 400 and r["body"]["message"] == "field label not supported: spec.bogus"
    r = h.list("pods", namespace="default", query={"labelSelector": "app in web"})
    assert r["code"] == 400 and r["body"]["reason"] == "BadRequest"
    r = h.list("configmaps", namespace="default", query={"fieldSelector": "status.phase=Running"})
    assert r["code"] == 400


def test_paging_with_continue(h):
    first = h.list("pods", namespace="default", query={"limit": 2})
    assert names(first) == ["p0", "p1"]
    token = first["body"]["metadata"]["continue"]
    assert first["body"]["metadata"]["remainingItemCount"] == 3
    # A change between pages does not show: the pages are one snapshot.
    h.create("pods", pod("p00"), namespace="default")
    h.delete("pods", "p2", namespace="default")
    second = h.list("pods", namespace="default", query={"limit": 2, "continue": token})
    assert names(second) == ["p2", "p3"]
    assert second["body"]["metadata"]["resourceVersion"] == first["body"]["metadata"]["resourceVersion"]
    third = h.list("pods", namespace="default", query={"limit": 2, "continue": second["body"]["metadata"]["continue"]})
    assert names(third) == ["p4"]
    assert "continue" not in third["body"]["metadata"]
    now = names(h.list("pods", namespace="default"))
    assert "p00" in now and "p2" not in now


def test_paging_with_a_selector(h):
    first = h.list("pods", query={"limit": 2, "labelSelector": "app=web"})
    second = h.list("pods", query={"limit": 2, "labelSelector": "app=web", "continue": first["body"]["metadata"]["continue"]})
    assert names(first) + names(second) == ["p0", "p1", "p4", "elsewhere"]


def test_bad_continue_token(h):
    r = h.list("pods", namespace="default", query={"limit": 2, "continue": "garbage!"})
    assert r["code"] == 400 and r["body"]["message"].startswith("continue key is not valid")


def test_expired_continue_token_is_410():
    h = Harness(cache_capacity=4)
    for i in range(4):
        h.create("configmaps", {"metadata": {"name": f"c{i}"}}, namespace="default")
    first = h.list("configmaps", namespace="default", query={"limit": 1})
    for i in range(10):
        h.create("configmaps", {"metadata": {"name": f"d{i}"}}, namespace="default")
    r = h.list("configmaps", namespace="default", query={"limit": 1, "continue": first["body"]["metadata"]["continue"]})
    assert r["code"] == 410 and r["body"]["reason"] == "Expired"
    assert r["body"]["message"].startswith("The provided continue parameter is too old")


def test_resource_version_zero_and_exact(h):
    base = h.list("pods", namespace="default")
    rv = base["body"]["metadata"]["resourceVersion"]
    h.create("pods", pod("p-new"), namespace="default")
    any_rv = h.list("pods", namespace="default", query={"resourceVersion": "0"})
    assert int(any_rv["body"]["metadata"]["resourceVersion"]) >= int(rv)
    exact = h.list("pods", namespace="default", query={"resourceVersion": rv, "resourceVersionMatch": "Exact"})
    assert names(exact) == names(base)
    assert exact["body"]["metadata"]["resourceVersion"] == rv
    r = h.list("pods", namespace="default", query={"resourceVersionMatch": "Exact"})
    assert r["code"] == 400


def test_get_with_resource_version_reads_the_cache(h):
    r = h.get("pods", "p0", namespace="default", query={"resourceVersion": "0"})
    assert r["code"] == 200 and r["body"]["metadata"]["name"] == "p0"
    rid = h.client.next_id
    kinds = [e["kind"] for e in h.sim.log.events if e["data"].get("request") == f"client#{rid}"]
    assert "api.cache" in kinds and "api.etcd" not in kinds
