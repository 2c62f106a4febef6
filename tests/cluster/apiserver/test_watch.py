"""The watch cache: watches from a resourceVersion, initial state, bookmarks, 410s,
and resuming the etcd watch when its member crashes."""

from cluster.kernel import SECOND

from .harness import Harness, pod


def cm(name, value="1", labels=None):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": value}}
    if labels:
        body["metadata"]["labels"] = labels
    return body


def events(h, rid):
    return [(e["type"], e["object"]["metadata"].get("name"), int(e["object"]["metadata"]["resourceVersion"])) for e in h.client.events.get(rid, [])]


def test_watch_from_resource_version_sees_every_later_change_once_in_order():
    h = Harness()
    first = h.create("configmaps", cm("a"), namespace="default")["body"]
    start = int(first["metadata"]["resourceVersion"])
    w = h.watch("configmaps", namespace="default", rv=start)
    written = []
    for i in range(5):
        r = h.create("configmaps", cm(f"b{i}"), namespace="default")
        written.append(("ADDED", f"b{i}", int(r["body"]["metadata"]["resourceVersion"])))
    r = h.patch("configmaps", "a", {"data": {"v": "2"}}, namespace="default")
    written.append(("MODIFIED", "a", int(r["body"]["metadata"]["resourceVersion"])))
    h.delete("configmaps", "b0", namespace="default")
    h.run(0.5)
    got = events(h, w)
    assert got[:-1] == written
    assert got[-1][0] == "DELETED" and got[-1][1] == "b0" and got[-1][2] > written[-1][2]
    # A watch that starts in the past replays the window.
    w2 = h.watch("configmaps", namespace="default", rv=start)
    h.run(0.2)
    assert events(h, w2) == got


def test_watch_without_resource_version_starts_with_the_current_state():
    h = Harness()
    h.create("configmaps", cm("x1"), namespace="default")
    h.create("configmaps", cm("x2"), namespace="default")
    for rv, later in ((None, "later-a"), (0, "later-b")):
        before = sorted(i["metadata"]["name"] for i in h.list("configmaps", namespace="default")["body"]["items"])
        w = h.watch("configmaps", namespace="default", rv=rv)
        h.run(0.2)
        got = events(h, w)
        assert [(t, n) for t, n, _ in got] == [("ADDED", n) for n in before]
        h.create("configmaps", cm(later), namespace="default")
        h.run(0.2)
        assert events(h, w)[-1][:2] == ("ADDED", later)
        h.client.cancel(w)


def test_watch_selectors_turn_changes_into_added_and_deleted():
    h = Harness()
    w = h.watch("configmaps", namespace="default", query={"labelSelector": "app=web"})
    h.create("configmaps", cm("plain"), namespace="default")
    h.create("configmaps", cm("sel", labels={"app": "web"}), namespace="default")
    h.patch("configmaps", "plain", {"metadata": {"labels": {"app": "web"}}}, namespace="default")
    h.patch("configmaps", "sel", {"metadata": {"labels": {"app": "db"}}}, namespace="default")
    h.run(0.3)
    got = events(h, w)
    assert [(t, n) for t, n, _ in got] == [("ADDED", "sel"), ("ADDED", "plain"), ("DELETED", "sel")]
    # The DELETED object is the last state that matched, with the new resourceVersion.
    deleted = h.client.events[w][-1]["object"]
    assert deleted["metadata"]["labels"] == {"app": "web"}
    assert deleted["metadata"]["resourceVersion"] == str(got[-1][2])


def test_field_selector_watch_on_one_name():
    h = Harness()
    w = h.watch("pods", namespace="default", query={"fieldSelector": "metadata.name=one"})
    h.create("pods", pod("one"), namespace="default")
    h.create("pods", pod("two"), namespace="default")
    h.run(0.3)
    assert [(t, n) for t, n, _ in events(h, w)] == [("ADDED", "one")]


def test_bookmarks_carry_the_current_revision():
    h = Harness(bookmark_interval_us=2 * SECOND)
    w = h.watch("pods", namespace="default", rv=h.server.cache.revision, query={"allowWatchBookmarks": True})
    quiet = h.watch("pods", namespace="default", rv=h.server.cache.revision)
    h.create("configmaps", cm("elsewhere"), namespace="default")
    h.run(3)
    marks = [e for e in h.client.events[w] if e["type"] == "BOOKMARK"]
    assert marks, "a bookmark was expected"
    assert marks[-1]["object"] == {"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": str(h.server.cache.revision)}}
    assert quiet not in h.client.events


def test_watch_timeout_ends_the_watch():
    h = Harness()
    w = h.watch("pods", namespace="default", query={"timeoutSeconds": 2})
    h.run(1)
    assert w not in h.client.ended
    h.run(1.5)
    assert w in h.client.ended


def test_cancel_stops_the_events():
    h = Harness()
    w = h.watch("configmaps", namespace="default")
    h.client.cancel(w)
    h.run(0.1)
    h.create("configmaps", cm("after-cancel"), namespace="default")
    h.run(0.3)
    assert events(h, w) == []
    assert not h.server.watchers


def test_too_old_resource_version_after_compaction_is_410():
    h = Harness()
    old = int(h.create("configmaps", cm("c0"), namespace="default")["body"]["metadata"]["resourceVersion"])
    for i in range(3):
        h.create("configmaps", cm(f"c{i + 1}"), namespace="default")
    h.server.compact(h.server.cache.revision - 1)
    h.run(0.5)
    floor = h.server.cache.floor
    assert floor == h.server.cache.revision - 1
    assert h.members[0].store.compact_revision == floor or any(m.store.compact_revision == floor for m in h.members)
    w = h.watch("configmaps", namespace="default", rv=old)
    h.run(0.2)
    assert h.client.responses[w]["code"] == 200
    (error,) = h.client.events[w]
    assert error["type"] == "ERROR"
    assert error["object"] == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": f"too old resource version: {old} ({floor})", "reason": "Expired", "code": 410}
    assert w in h.client.ended
    listed = h.list("configmaps", namespace="default", query={"resourceVersion": str(old), "resourceVersionMatch": "Exact"})
    assert listed["code"] == 410
    assert listed["body"]["reason"] == "Expired" and listed["body"]["message"] == f"too old resource version: {old} ({floor})"
    # From the floor on, watching still works.
    ok = h.watch("configmaps", namespace="default", rv=floor)
    h.run(0.2)
    assert [e["type"] for e in h.client.events.get(ok, [])] == ["ADDED"]


def test_window_overflow_also_expires_old_resource_versions():
    h = Harness(cache_capacity=4)
    start = h.server.cache.revision
    for i in range(8):
        h.create("configmaps", cm(f"o{i}"), namespace="default")
    h.run(0.2)
    assert h.server.cache.floor > start
    w = h.watch("configmaps", namespace="default", rv=start)
    h.run(0.1)
    assert h.client.events[w][0]["object"]["code"] == 410


def test_watch_resumes_on_another_member_after_a_crash_and_nobody_misses_an_event():
    h = Harness()
    start = h.server.cache.revision
    w = h.watch("configmaps", namespace="default", rv=start)
    expected = []
    for i in range(3):
        r = h.create("configmaps", cm(f"before{i}"), namespace="default")
        expected.append(int(r["body"]["metadata"]["resourceVersion"]))
    victim = h.server.etcd_watch["member"]
    h.sim.crash(victim)
    rids = [h.client.request("create", "configmaps", namespace="default", body=cm(f"during{i}")) for i in range(6)]
    h.run_until(lambda: all(r in h.client.responses for r in rids), 60)
    codes = [h.client.responses[r]["code"] for r in rids]
    assert codes == [201] * 6, [h.client.responses[r] for r in rids]
    expected += [int(h.client.responses[r]["body"]["metadata"]["resourceVersion"]) for r in rids]
    h.run_until(lambda: h.server.etcd_watch["member"] != victim and h.server.cache.revision >= max(expected), 30)
    h.run(1)
    got = [rv for _t, _n, rv in events(h, w)]
    assert got == sorted(expected)
    assert h.server.etcd_watch["member"] != victim
    kinds = [e["kind"] for e in h.sim.log.events]
    assert "api.etcd_watch_broken" in kinds
    # The cache agrees with etcd.
    leader = [m for m in h.members if m.alive and m.raft.role == "leader"][0]
    in_etcd = {kv["key"]: kv["mod_revision"] for kv in leader.store.range("/registry/", prefix=True)}
    in_cache = {k: int(o["metadata"]["resourceVersion"]) for objs in h.server.cache.objects.values() for k, o in objs.items()}
    assert in_cache == in_etcd


def test_consistent_list_waits_for_the_cache():
    h = Harness()
    r = h.create("configmaps", cm("fresh"), namespace="default")
    rv = int(r["body"]["metadata"]["resourceVersion"])
    listed = h.list("configmaps", namespace="default")
    assert int(listed["body"]["metadata"]["resourceVersion"]) >= rv
    assert "fresh" in [i["metadata"]["name"] for i in listed["body"]["items"]]
    kinds = [e["kind"] for e in h.sim.log.events if e["data"].get("request") == f"client#{h.client.next_id}"]
    assert "api.etcd" in kinds and "api.cache" in kinds


def test_list_with_a_future_resource_version_times_out():
    h = Harness()
    future = h.server.cache.revision + 100
    r = h.list("configmaps", namespace="default", query={"resourceVersion": str(future)})
    assert r["code"] == 504
    assert r["body"]["message"] == f"Timeout: Too large resource version: {future}, current: {h.server.cache.revision}"


def test_consistent_list_after_writes_outside_the_registry():
    """etcd's revision moves with keys the API server does not watch (an etcdctl user):
    progress notifications, not events, bring the cache up to it."""
    h = Harness()
    for i in range(3):
        h.client.send(h.server.member, "etcd.request", {"id": f"raw{i}", "op": "put", "key": f"/other/{i}", "value": "x"})
    h.run(0.5)
    listed = h.list("configmaps", namespace="default")
    assert listed["code"] == 200
    assert int(listed["body"]["metadata"]["resourceVersion"]) >= h.etcd_value("/other/2")["mod_revision"]


def test_a_lost_etcd_watch_message_is_noticed_and_the_cache_stays_complete():
    h = Harness(seed=4)
    w = h.watch("configmaps", namespace="default", rv=h.server.cache.revision)
    member = h.server.etcd_watch["member"]
    # Lose a third of what travels between the API server and the member it watches.
    h.sim.net.set_fault(loss=0.34, target=h.server.name, peer=member)
    expected = []
    for i in range(12):
        r = h.create("configmaps", cm(f"lossy{i}"), namespace="default")
        expected.append(int(r["body"]["metadata"]["resourceVersion"]))
    h.sim.net.set_fault(loss=0.0, target=h.server.name, peer=member)
    h.run_until(lambda: h.server.cache.revision >= max(expected), 60)
    h.run(1)
    assert [rv for _t, _n, rv in events(h, w)] == expected
    broken = [e for e in h.sim.log.events if e["kind"] == "api.etcd_watch_broken"]
    assert broken  # the member ended the stream it could not deliver, or a seq gap showed it
    leader = [m for m in h.members if m.alive and m.raft.role == "leader"][0]
    in_etcd = {kv["key"]: kv["mod_revision"] for kv in leader.store.range("/registry/", prefix=True)}
    in_cache = {k: int(o["metadata"]["resourceVersion"]) for objs in h.server.cache.objects.values() for k, o in objs.items()}
    assert in_cache == in_etcd


def test_a_gap_in_the_etcd_watch_stream_restarts_the_watch_from_the_cache_revision():
    # A message lost in flight while the next one still arrives (a partition that starts
    # mid-flight) shows only as a gap in the stream's numbering.
    h = Harness(seed=2)
    watch = h.server.etcd_watch
    member, seq = watch["member"], watch["seq"]
    h.server._on_etcd_watch_event(member, {"watch_id": watch["id"], "seq": seq + 2, "events": [], "revision": h.server.cache.revision})
    broken = [e for e in h.sim.log.events if e["kind"] == "api.etcd_watch_broken"]
    assert len(broken) == 1 and f"message {seq + 1} of the watch stream was lost" in broken[0]["summary"]
    assert h.server.etcd_watch["id"] == watch["id"] + 1 and h.server.etcd_watch["start"] == h.server.cache.revision + 1
    r = h.create("configmaps", cm("after-gap"), namespace="default")
    h.run_until(lambda: h.server.cache.revision >= int(r["body"]["metadata"]["resourceVersion"]), 30)
