"""The reflector and informer against a real API server (3 etcd members, kube-apiserver)."""

import pickle

from cluster.kernel import SECOND, state_hash

from ..apiserver.harness import Harness
from .probe import Probe


def cm(name, value="1", labels=None, owner=None):
    meta = {"name": name}
    if labels:
        meta["labels"] = labels
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": owner, "controller": True}]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"v": value}}


def setup(seed=1, **options):
    h = Harness(seed=seed)
    probe = Probe(h.sim, **options)
    inf = probe.api.informer("configmaps", handler="on_object", indexes=("namespace", "controller"))
    return h, probe, inf


def kinds(h, prefix):
    return [e for e in h.sim.log.events if e["kind"] == prefix and e["source"] == "probe"]


def test_list_then_watch_fills_the_cache_and_calls_handlers_in_order():
    h, probe, inf = setup()
    h.create("configmaps", cm("before"), namespace="default")
    h.sim.add(probe)
    h.run_until(lambda: inf.synced)
    assert inf.keys() == ["default/before"]
    assert [(e, k) for e, k, _ in probe.seen] == [("add", "default/before")]
    assert kinds(h, "watch.list")[0]["data"]["count"] == 1
    h.create("configmaps", cm("a", owner="u1"), namespace="default")
    h.patch("configmaps", "a", {"data": {"v": "2"}}, namespace="default")
    h.create("configmaps", cm("b"), namespace="kube-system")
    h.delete("configmaps", "before", namespace="default")
    h.run(0.5)
    assert [(e, k) for e, k, _ in probe.seen] == [
        ("add", "default/before"), ("add", "default/a"), ("update", "default/a"), ("add", "kube-system/b"), ("delete", "default/before")]
    assert inf.keys() == ["default/a", "kube-system/b"]
    assert [o["metadata"]["name"] for o in inf.by_index("namespace", "default")] == ["a"]
    assert [o["metadata"]["name"] for o in inf.by_index("controller", "u1")] == ["a"]
    assert inf.by_index("namespace", "nowhere") == []
    assert inf.get_by("default", "a")["data"] == {"v": "2"}
    assert inf.rv == int(h.list("configmaps")["body"]["metadata"]["resourceVersion"])
    assert inf.relists == 0


def test_watch_that_ends_normally_is_restarted_from_its_resource_version_without_a_list():
    h, probe, inf = setup(watch_timeout_range_s=(3, 3))
    h.sim.add(probe)
    h.run_until(lambda: inf.synced)
    lists = len([e for e in h.api_events("api.request") if e["source"] == "kube-apiserver" and e["target"] == "probe" and "list" in e["summary"]])
    h.run(4)
    h.create("configmaps", cm("later"), namespace="default")
    h.run(0.5)
    assert [e["data"]["resource"] for e in kinds(h, "watch.restart")] == ["configmaps"]
    assert kinds(h, "watch.relist") == []
    assert inf.keys() == ["default/later"]
    assert len([e for e in h.api_events("api.request") if e["target"] == "probe" and "list" in e["summary"]]) == lists


def test_expired_watch_relists_and_the_handlers_see_only_the_difference():
    h, probe, inf = setup()
    h.create("configmaps", cm("keep"), namespace="default")
    h.create("configmaps", cm("change"), namespace="default")
    h.create("configmaps", cm("gone"), namespace="default")
    h.sim.add(probe)
    h.run_until(lambda: inf.synced)
    # Changes the probe will not see live: its link to the API server loses everything meanwhile.
    h.sim.net.set_fault(loss=1.0, target="probe", peer="kube-apiserver")
    h.patch("configmaps", "change", {"data": {"v": "2"}}, namespace="default")
    h.delete("configmaps", "gone", namespace="default")
    h.create("configmaps", cm("new"), namespace="default")
    h.sim.net.set_fault(loss=0.0, target="probe", peer="kube-apiserver")
    # The server ended the watch when its event could not be delivered; the server then tells
    # a re-watch that its resourceVersion is too old: ERROR 410 (here sent to the probe directly).
    probe.seen.clear()
    h.sim.net.send("kube-apiserver", "probe", "api.watch_event", {"id": inf.watch_id, "type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}})
    h.run(1)
    relist = kinds(h, "watch.relist")
    assert len(relist) == 1 and "410" in relist[0]["summary"]
    done = kinds(h, "watch.relisted")[-1]["data"]
    assert (done["added"], done["updated"], done["deleted"]) == (1, 1, 1)
    assert sorted((e, k) for e, k, _ in probe.seen) == [("add", "default/new"), ("delete", "default/gone"), ("update", "default/change")]
    assert inf.keys() == ["default/change", "default/keep", "default/new"]
    assert inf.relists == 1 and inf.last_relist["reason"].startswith("the watch expired")


def test_a_lost_watch_event_is_found_by_the_stall_check_and_repaired_by_relist():
    h, probe, inf = setup(stall_timeout_us=20 * SECOND)
    other = probe.api.informer("secrets", handler="on_object")
    h.sim.add(probe)
    h.run_until(lambda: probe.api.synced())
    h.sim.net.set_fault(loss=1.0, target="probe", peer="kube-apiserver")
    h.create("configmaps", cm("lost"), namespace="default")
    h.run(0.2)
    h.sim.net.set_fault(loss=0.0, target="probe", peer="kube-apiserver")
    # The server dropped the configmaps watcher (its event could not be delivered); the probe
    # was not told. Other traffic shows it newer revisions...
    h.create("secrets", {"metadata": {"name": "s"}}, namespace="default")
    h.run(1)
    assert inf.keys() == [] and other.keys() == ["default/s"]
    assert inf.rv < probe.api.high_rv
    # ... and the bookmarks its watch should get never come: after the stall timeout it re-lists.
    h.run_until(lambda: inf.keys() == ["default/lost"], 40)
    reasons = [e["data"]["reason"] for e in kinds(h, "watch.relist")]
    assert len(reasons) == 1 and "stuck" in reasons[0]
    assert other.relists == 0


def test_a_silently_broken_only_watch_is_relisted_at_its_deadline():
    h, probe, inf = setup(watch_timeout_range_s=(20, 20))
    h.sim.add(probe)
    h.run_until(lambda: inf.synced)
    h.sim.net.set_fault(loss=1.0, target="probe", peer="kube-apiserver")
    h.create("configmaps", cm("lost"), namespace="default")
    h.run(0.2)
    h.sim.net.set_fault(loss=0.0, target="probe", peer="kube-apiserver")
    h.run(15)
    assert inf.keys() == []
    h.run_until(lambda: inf.keys() == ["default/lost"], 15)
    assert "never did" in kinds(h, "watch.relist")[0]["data"]["reason"]


def test_resync_replays_the_cache_without_any_request():
    h, probe, inf = setup()
    inf.resync_us = 30 * SECOND
    h.create("configmaps", cm("x"), namespace="default")
    h.create("configmaps", cm("y"), namespace="default")
    h.sim.add(probe)
    h.run_until(lambda: inf.synced)
    start = h.sim.now
    requests = probe.api.counters["requests"]
    h.run(61)
    resyncs = kinds(h, "controller.resync")
    assert [round(e["time"] - start / SECOND) for e in resyncs] == [30, 60]
    assert [(e, k) for e, k, _ in probe.seen if e == "resync"] == [("resync", "default/x"), ("resync", "default/y")] * 2
    health_checks = len(kinds(h, "watch.probe"))  # nothing else moved: the idle connection is checked now and then
    assert probe.api.counters["requests"] == requests + health_checks
    assert inf.resyncs == 2 and inf.relists == 0
    assert inf.view()["last_resync"] == resyncs[-1]["time"]  # the page shows when, distinct from last_relist
    assert inf.view()["last_relist"] is None


def test_an_idle_connection_is_checked_and_a_restarted_server_is_noticed():
    h, probe, inf = setup()
    h.sim.add(probe)
    h.run_until(lambda: inf.synced)
    h.run(1)
    h.sim.crash("kube-apiserver")
    h.run(1)
    h.sim.restart("kube-apiserver")  # every watch it had is gone, silently
    h.run(2)
    h.create("configmaps", cm("unseen"), namespace="default")
    # Nothing arrives; after 30 s of silence the probe asks the server something small,
    # learns a newer resourceVersion, and the watch that stays behind is re-listed.
    h.run_until(lambda: inf.keys() == ["default/unseen"], 60)
    assert len(kinds(h, "watch.probe")) >= 1
    assert "stuck" in kinds(h, "watch.relist")[0]["data"]["reason"]


def test_a_request_that_finds_the_server_down_fails_what_was_in_flight_and_relists():
    h, probe, inf = setup()
    h.sim.add(probe)
    h.run_until(lambda: inf.synced)
    h.run(1)
    slow = probe.api.request("get", "configmaps", namespace="default", name="x", then="answer", context="slow")
    # The server has the request (it is reading etcd) when it crashes: no answer will ever come.
    h.run_until(lambda: any(e["kind"] == "api.request" and e["data"]["request"] == f"probe#{slow}" for e in h.sim.log.events), 1, step_ms=1)
    h.sim.crash("kube-apiserver")
    crashed = h.sim.now
    probe.api.request("get", "configmaps", namespace="default", name="y", then="answer", context="bounced")
    h.run(0.5)
    assert [e["data"]["reason"] for e in kinds(h, "watch.backoff")] == ["kube-apiserver is down"]
    assert [e["data"]["attempt"] for e in kinds(h, "controller.request_retry")][:2] == [1, 1]  # both gets, at once (not after 30 s)
    h.sim.restart("kube-apiserver")
    h.run_until(lambda: "slow" in probe.answers and "bounced" in probe.answers and inf.state == "watching", 30)
    assert probe.answers["slow"]["code"] == 404 and probe.answers["bounced"]["code"] == 404  # both read again after the restart
    assert h.sim.now - crashed < 15 * SECOND


def test_crash_forgets_the_cache_and_restart_lists_again():
    h, probe, inf = setup()
    h.create("configmaps", cm("x"), namespace="default")
    h.sim.add(probe)
    h.run_until(lambda: inf.synced)
    h.sim.crash("probe")
    assert inf.keys() == [] and not inf.synced and probe.api.pending == {}
    h.create("configmaps", cm("y"), namespace="default")
    h.sim.restart("probe")
    h.run_until(lambda: inf.keys() == ["default/x", "default/y"])
    assert len(kinds(h, "watch.list")) == 2


def test_same_seed_same_run_and_the_probe_pickles():
    def run(seed):
        h, probe, inf = setup(seed)
        h.sim.add(probe)
        for i in range(3):
            h.create("configmaps", cm(f"c{i}"), namespace="default")
        h.run(2)
        return h, probe

    a, pa = run(3)
    b, pb = run(3)
    assert a.sim.log.digest() == b.sim.log.digest()
    assert state_hash(pa) == state_hash(pb)
    copy = pickle.loads(pickle.dumps(a))
    a.create("configmaps", cm("after"), namespace="default")
    copy.create("configmaps", cm("after"), namespace="default")
    a.run(1)
    copy.run(1)
    assert a.sim.log.digest() == copy.sim.log.digest()
    probe_copy = copy.sim.components["probe"]
    assert probe_copy.api.informers["configmaps"].keys() == pa.api.informers["configmaps"].keys()
