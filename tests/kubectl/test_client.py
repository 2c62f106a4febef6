"""The kubectl component (cluster/clients/kubectl.py) and the `kube` command, against a stand-in
API server: results, watch buffers that drain without touching the hashed state, exact replay,
cancellation, failures on the way, and validation of every field of the command."""

import copy

import pytest

from cluster.clients import kubectl
from cluster.cluster import Cluster, ClusterConfig
from cluster.commands import CommandError
from cluster.kernel import MILLISECOND, SECOND

from .fake_apiserver import FakeCluster


def kube(verb, resource="pods", namespace="default", name=None, body=None, group="", **extra):
    return {"type": "kube", "verb": verb, "group": group, "version": "v1", "resource": resource, "namespace": namespace, "name": name, "body": body, **extra}


def pod(name):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def make(**kw):
    return FakeCluster(ClusterConfig(name="t", seed=3, profile="realistic", **kw))


def answer(cluster, cmd, *, seconds=1.0):
    rid = cluster.command(cmd)["id"]
    cluster.advance(int(seconds * SECOND))
    return rid, cluster.sim.components["kubectl"].result(rid)


def test_requests_travel_as_messages_and_come_back():
    cluster = make()
    rid, created = answer(cluster, kube("create", body=pod("a")))
    assert created["code"] == 201 and created["body"]["metadata"]["name"] == "a"
    _, listed = answer(cluster, kube("list", query={"limit": 500}))
    assert [p["metadata"]["name"] for p in listed["body"]["items"]] == ["a"]
    _, missing = answer(cluster, kube("get", name="nope"))
    assert missing["code"] == 404 and missing["body"]["reason"] == "NotFound"
    sends = [e for e in cluster.sim.log.events if e["kind"] == "net.send" and e["source"] == "kubectl"]
    assert sends[0]["summary"] == "kubectl → kube-apiserver: POST /api/v1/namespaces/default/pods"
    assert sends[0]["data"]["client"] == "kubectl" and sends[0]["data"]["request"] == rid
    assert cluster.command_log[0]["command"]["type"] == "kube"


def test_result_is_none_while_pending_and_reading_changes_nothing():
    cluster = make()
    rid = cluster.command(kube("list"))["id"]
    client = cluster.sim.components["kubectl"]
    before = cluster.state_hash()
    assert client.result(rid) is None and client.state_of(rid) == "pending"
    assert cluster.state_hash() == before


def watch_events(cluster, rid):
    items, over, overflowed = cluster.sim.components["kubectl"].drain(rid)
    assert not overflowed
    return [(i["type"], i["object"]["metadata"]["name"]) for i in items], over


def test_watch_buffers_drain_and_clear():
    cluster = make()
    answer(cluster, kube("create", body=pod("a")))
    rid, first = answer(cluster, kube("watch", query={"resourceVersion": "101"}))
    assert first == {"id": rid, "code": 200, "watch": True}
    answer(cluster, kube("create", body=pod("b")))
    answer(cluster, kube("delete", name="a"))
    assert watch_events(cluster, rid) == ([("ADDED", "b"), ("DELETED", "a")], False)
    assert watch_events(cluster, rid) == ([], False)  # drained means cleared
    cluster.command({"type": "kube", "verb": "cancel", "watch": rid})
    cluster.advance(SECOND)
    answer(cluster, kube("create", body=pod("c")))
    assert watch_events(cluster, rid) == ([], True)
    assert cluster.sim.components["kube-apiserver"].watches == {}


def test_draining_never_changes_the_state_hash_and_replay_is_exact():
    live = make()
    answer(live, kube("create", body=pod("a")))
    rid, _ = answer(live, kube("watch", query={"resourceVersion": "101"}))
    twin = live.clone()
    for i in range(5):
        answer(live, kube("create", body=pod(f"p{i}")), seconds=0.3)
        answer(twin, kube("create", body=pod(f"p{i}")), seconds=0.3)
        live.sim.components["kubectl"].drain(rid)  # the live one is read, the twin never
        assert live.state_hash() == twin.state_hash()
    live.command({"type": "kube", "verb": "cancel", "watch": rid})
    live.advance(2 * SECOND)
    replayed = FakeCluster.replay(live.config, copy.deepcopy(live.command_log), until_us=live.now)
    assert replayed.state_hash() == live.state_hash()
    assert replayed.event_digest() == live.event_digest()


def test_a_reader_that_falls_behind_overflows_outside_the_hashed_state(monkeypatch):
    monkeypatch.setattr(kubectl, "MAX_BUFFERED", 3)
    cluster = make()
    rid, _ = answer(cluster, kube("watch"))
    twin = cluster.clone()
    for i in range(5):
        answer(cluster, kube("create", body=pod(f"p{i}")), seconds=0.2)
        answer(twin, kube("create", body=pod(f"p{i}")), seconds=0.2)
    items, over, overflowed = cluster.sim.components["kubectl"].drain(rid)
    assert len(items) == 3 and overflowed and not over
    assert cluster.sim.components["kubectl"].requests[rid]["received"] == 5
    assert cluster.state_hash() == twin.state_hash()


def test_expired_resource_version_gets_an_error_event_then_the_end():
    cluster = make()
    for i in range(60):  # the stand-in keeps 50 changes
        cluster.command(kube("create", body=pod(f"p{i}")))
    cluster.advance(2 * SECOND)
    rid, first = answer(cluster, kube("watch", query={"resourceVersion": "101"}))
    items, over, _ = cluster.sim.components["kubectl"].drain(rid)
    assert first["watch"] and over
    assert [(i["type"], i["object"]["code"], i["object"]["reason"]) for i in items] == [("ERROR", 410, "Expired")]


def test_log_follow_streams_chunks():
    cluster = make()
    cluster.sim.components["kube-apiserver"].logs[("default", "a")] = "one\ntwo\n"
    rid, first = answer(cluster, kube("get", name="a", subresource="log", query={"follow": True}))
    items, over, _ = cluster.sim.components["kubectl"].drain(rid)
    assert first["watch"] and [i["text"] for i in items] == ["one\n", "two\n"] and not over
    _, plain = answer(cluster, kube("get", name="a", subresource="log"))
    assert plain == {"id": plain["id"], "code": 200, "text": "one\ntwo\n"}


def test_failures_on_the_way():
    cluster = make()
    cluster.command({"type": "fault", "action": "crash", "target": "kube-apiserver"})
    _, lost = answer(cluster, kube("list"))
    assert lost["code"] == 503 and "did not reach kube-apiserver" in lost["body"]["message"]
    cluster.command({"type": "fault", "action": "restart", "target": "kube-apiserver"})
    _, unanswered = answer(cluster, kube("deletecollection"), seconds=kubectl.EXPIRE_US / SECOND + 1)  # the stand-in never answers it
    assert unanswered["code"] == 504 and unanswered["body"]["reason"] == "Timeout"
    bare = Cluster(ClusterConfig(name="bare", profile="realistic"))
    if "kube-apiserver" not in bare.sim.components:
        _, none = answer(bare, kube("list"), seconds=0.001)
        assert none["code"] == 503


def test_a_crash_of_the_api_server_resets_its_connections():
    cluster = make()
    watch_id, _ = answer(cluster, kube("watch"))
    slow = cluster.command(kube("deletecollection"))["id"]  # the stand-in never answers: it stays pending
    cluster.advance(10 * MILLISECOND)
    cluster.command({"type": "fault", "action": "crash", "target": "kube-apiserver"})
    cluster.advance(kubectl.CONNECTION_CHECK_US + MILLISECOND)
    client = cluster.sim.components["kubectl"]
    assert client.state_of(watch_id) == "ended" and client.drain(watch_id)[1] is True
    failed = client.result(slow)
    assert failed["code"] == 503 and "connection to kube-apiserver was reset" in failed["body"]["message"]
    cluster.command({"type": "fault", "action": "restart", "target": "kube-apiserver"})
    _, again = answer(cluster, kube("list"))
    assert again["code"] == 200
    assert client.checking is False  # nothing open: no timer keeps running


def test_finished_requests_are_forgotten_oldest_first(monkeypatch):
    monkeypatch.setattr(kubectl, "KEEP_FINISHED", 3)
    cluster = make()
    ids = [cluster.command(kube("get", name=f"x{i}"))["id"] for i in range(5)]
    cluster.advance(200 * MILLISECOND)
    client = cluster.sim.components["kubectl"]
    with pytest.raises(KeyError):
        client.result(ids[0])
    assert client.result(ids[-1])["code"] == 404


@pytest.mark.parametrize("change, field", [
    ({"verb": "explode"}, "verb"),
    ({"resource": "Pods"}, "resource"),
    ({"version": "1"}, "version"),
    ({"group": "Apps!"}, "group"),
    ({"namespace": "a/b"}, "namespace"),
    ({"name": ""}, "name"),
    ({"body": [1]}, "body"),
    ({"body": {"a": float("nan")}}, "body"),
    ({"body": {"a": 2**70}}, "body"),
    ({"body": {"a": object()}}, "body"),
    ({"verb": "patch", "patch_type": "yaml", "body": {}}, "patch_type"),
    ({"patch_type": "merge"}, "patch_type"),
    ({"query": {"limit": "500"}}, "query"),
    ({"query": {"watch": True}}, "query"),
    ({"query": {"allowWatchBookmarks": 1}}, "query"),
    ({"token": 5}, "token"),
    ({"as_table": "yes"}, "as_table"),
    ({"include_object": "All"}, "include_object"),
    ({"extra": 1}, "extra"),
])
def test_invalid_commands_are_refused_and_not_recorded(change, field):
    cluster = make()
    with pytest.raises(CommandError) as caught:
        cluster.command({**kube("list"), **change})
    assert caught.value.field == field
    assert cluster.command_log == []


def test_bodies_that_are_too_deep_or_too_big():
    deep: dict = {}
    node = deep
    for _ in range(kubectl.MAX_DEPTH + 5):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(CommandError, match="deeper"):
        kubectl.validate_command(kube("create", body=deep))
    with pytest.raises(CommandError, match="larger") as big:
        kubectl.validate_command(kube("create", body={"data": "x" * (kubectl.MAX_BODY_BYTES + 1)}))
    assert big.value.status == 413


def test_cancel_commands():
    cluster = make()
    assert cluster.command({"type": "kube", "verb": "cancel", "watch": 99}) == {"ok": False}
    with pytest.raises(CommandError):
        cluster.command({"type": "kube", "verb": "cancel", "watch": "1"})
    with pytest.raises(CommandError):
        cluster.command({"type": "kube", "verb": "cancel", "watch": 1, "name": "x"})


def test_answers_are_taken_once_and_are_not_hashed():
    cluster = make()
    rid, first = answer(cluster, kube("list"))
    twin = cluster.clone()
    client = cluster.sim.components["kubectl"]
    assert client.take(rid) == first
    with pytest.raises(KeyError):
        client.take(rid)
    assert client.state_of(rid) == "done" and client.requests[rid]["code"] == 200
    assert cluster.state_hash() == twin.state_hash()
