"""kube-proxy in a whole cluster: every node programs its rules from Services and
EndpointSlices it watches through the API server, updates reach the nodes one by one, and
traffic follows the rules of the node where it starts."""

import pickle

import pytest

from cluster.cluster import Cluster
from cluster.kernel import SECOND, state_hash
from cluster.proxy import iptables

from .harness import ServiceCluster
from .rules import CHI2_999, chi_square

KEY = "default/web:http"


def web(h, replicas=3, **kw):
    h.deploy("web", replicas, **kw)
    h.run_until(lambda: len(h.ready_pods("web")) == replicas, 60)
    h.wait_rules(KEY, replicas)


def test_every_node_programs_the_service_and_updates_propagate_node_by_node():
    h = ServiceCluster()
    h.client("client", node="node-1")
    web(h)
    pods = h.ready_pods("web")
    assert h.rule_pods(KEY) == {f"node-{i}": pods for i in (1, 2, 3)}
    svc_chain = iptables.chain_name("KUBE-SVC-", KEY)
    for proxy in h.proxies():
        text = proxy.rules_text()
        assert f":{svc_chain} - [0:0]" in text and text.count(f"-A {svc_chain} ") == 4 and text.count("-j DNAT --to-destination 10.244.") == 3
        assert proxy.rules_view()["services"][KEY]["pods"] == pods and proxy.version >= 2
    versions = {p.node: p.version for p in h.proxies()}
    mark = h.sim.log.last_seq
    # One replica fewer: the EndpointSlice controller updates the slice, the API server sends the
    # change to each kube-proxy's watch, and each node rewrites its rules on its own time.
    h.kube("patch", "deployments", group="apps", name="web", patch_type="merge", body={"spec": {"replicas": 2}})
    h.wait_rules(KEY, 2)
    syncs = [e for e in h.events("proxy.sync", mark) if any(c["service"] == KEY and c["removed"] for c in e["data"]["changes"])]
    assert sorted(e["data"]["node"] for e in syncs) == ["node-1", "node-2", "node-3"]
    assert len({e["time"] for e in syncs}) == 3  # three nodes, three moments
    gone = syncs[0]["data"]["changes"][0]["removed"][0]["pod"]
    assert gone in pods and all(e["data"]["changes"][0]["removed"][0]["pod"] == gone for e in syncs)
    assert all(e["data"]["version"] == versions[e["data"]["node"]] + 1 for e in syncs)
    assert "in place" in syncs[0]["summary"] and f"−{gone}" in syncs[0]["summary"]
    view = h.cluster.snapshot()["proxy"]
    assert view["mode"] == "iptables" and [n["node"] for n in view["nodes"]] == ["node-1", "node-2", "node-3"]
    assert all(len(n["services"][KEY]["pods"]) == 2 for n in view["nodes"])


@pytest.mark.parametrize("mode", ["iptables", "ipvs"])
def test_no_request_reaches_a_pod_once_every_kube_proxy_has_its_removal(mode):
    h = ServiceCluster(mode=mode, profile="teaching")  # slow enough for the update's window to show
    h.client("client", node="node-1")
    web(h, node_port=None, kind="NodePort")
    victim = h.ready_pods("web")[0]
    h.traffic("web", rate=20, seconds=40, source="client")
    h.traffic("web", rate=20, seconds=40, source="external")  # NodePort traffic: every node's rules decide some
    h.run(10)
    deleted_at = h.now / SECOND
    mark = h.sim.log.last_seq
    h.delete_pod(victim)
    h.run_until(lambda: all(victim not in pods for field in ("endpoints", "external_endpoints") for pods in h.rule_pods(KEY, field).values()), 60)
    removals = [e for e in h.events("proxy.sync", mark) if any(r["pod"] == victim for c in e["data"]["changes"] for r in c["removed"])]
    assert sorted({e["data"]["node"] for e in removals}) == ["node-1", "node-2", "node-3"]
    last_removal = max(e["time"] for e in removals)
    h.run_until(lambda: h.done("traffic-1") and h.done("traffic-2"), 60)
    decided = [e for e in h.events("traffic.request") if e["data"]["verdict"] == "dnat"]
    to_victim = [e for e in decided if e["data"]["pod"] == victim]
    # Each node stops choosing the pod when its own rules change ...
    first_removal = {e["data"]["node"]: e["time"] for e in removals}
    assert all(e["time"] <= first_removal[e["data"]["node"]] for e in to_victim)
    # ... so once every kube-proxy has the removal, nothing goes to it;
    assert not [e for e in to_victim if e["time"] > last_removal]
    # but between the deletion and the last node's update some requests still went to it, and failed
    # (the pod was shutting down), while the others kept being served.
    window = [e for e in to_victim if e["time"] > deleted_at]
    assert window, "the update window should catch some requests"
    failed = {e["data"]["id"] for e in h.events("traffic.response") if e["data"]["error"]}
    assert any(e["data"]["id"] in failed for e in window)
    stats = h.stats("web")
    assert stats["requests"] == 1600 and stats["pods"][victim] > 0 and stats["errors"] < 0.1 * stats["requests"]
    replacement = [p for p in h.ready_pods("web") if p != victim]
    assert len(replacement) == 3  # the ReplicaSet replaced it, and traffic reached the new pod too
    assert all(stats["pods"].get(p, 0) > 0 for p in replacement)


def test_nodeport_answers_from_any_node():
    h = ServiceCluster()
    web(h, replicas=1, kind="NodePort", node_port=30080)
    assert h.node_port("web") == 30080
    only = h.ready_pods("web")[0]
    home = h.node_of(only)
    h.traffic("web", rate=30, seconds=4, source="external")
    h.run_until(lambda: h.done("traffic-1"), 30)
    stats = h.stats("web")
    assert stats["errors"] == 0 and stats["requests"] == 120 and stats["pods"] == {only: 120}
    assert sorted(stats["via"]) == ["node-1", "node-2", "node-3"]  # every node's NodePort forwarded to it
    requests = h.events("traffic.request")
    assert all(e["source"] == f"{e['data']['node']}/kube-proxy" and e["data"]["masq"] for e in requests)
    assert {e["data"]["chains"][2] for e in requests} == {"KUBE-NODEPORTS"}
    forwarded = [e for e in h.events("net.send") if e["data"].get("kind") == "http.request" and e["source"].endswith("/kube-proxy")]
    assert {e["target"] for e in forwarded} == {f"{home}/containerd"}
    answers = [e for e in h.events("net.send") if e["data"].get("kind") == "traffic.reply"]
    assert {e["source"] for e in answers} == {f"{n}/kube-proxy" for n in stats["via"]}  # SNAT: back through the node it came in by


def test_external_traffic_policy_local_answers_only_where_a_pod_runs():
    h = ServiceCluster()
    web(h, replicas=1, kind="NodePort", external="Local")
    only = h.ready_pods("web")[0]
    home = h.node_of(only)
    assert {n: pods for n, pods in h.rule_pods(KEY, "external_endpoints").items() if pods} == {home: [only]}
    h.traffic("web", rate=10, seconds=6, source="external")
    h.run_until(lambda: h.done("traffic-1"), 60)
    stats = h.stats("web")
    assert stats["via"][home] > 0 and set(stats["via"]) == {"node-1", "node-2", "node-3"}
    detail = {e["data"]["node"]: e["data"]["verdict"] for e in h.events("traffic.request")}
    assert detail[home] == "dnat" and {v for n, v in detail.items() if n != home} == {"drop"}
    assert stats["errors_by"] == {"connection timed out": stats["requests"] - stats["via"][home]}
    assert stats["pods"] == {only: stats["via"][home]}
    kept = [e for e in h.events("net.send") if e["data"].get("kind") == "http.request" and e["source"] == f"{home}/kube-proxy"]
    assert kept and all(e["target"] == f"{home}/containerd" for e in kept)


def test_a_service_without_ready_endpoints_refuses_connections_until_pods_come():
    h = ServiceCluster()
    h.client("client", node="node-2")
    h.service("web", kind="NodePort")
    h.wait_rules(KEY, 0)
    for proxy in h.proxies():
        assert '--comment "default/web:http has no endpoints"' in proxy.rules_text()
        assert proxy.rules_view()["services"][KEY]["verdict"] == "reject"
    h.traffic("web", rate=10, seconds=2, source="client")
    h.traffic("web", rate=10, seconds=2, source="external")
    h.run(3)
    stats = h.stats("web")
    assert stats["requests"] == 40 and stats["errors"] == 40 and stats["errors_by"] == {"connection refused": 40}
    assert {e["data"]["verdict"] for e in h.events("traffic.request")} == {"reject"}
    assert stats["latency_ms"] == {"p50": None, "p99": None}
    # Pods arrive: the rules follow and the same client is answered.
    h.deploy("web", 2, service=False)
    h.wait_rules(KEY, 2)
    h.traffic("web", rate=10, seconds=2, source="client")
    h.run(3)
    assert h.generator("traffic-3").stats["errors"] == 0 and h.generator("traffic-3").stats["requests"] == 20


@pytest.mark.parametrize("mode", ["iptables", "ipvs"])
def test_session_affinity_keeps_a_client_on_one_pod(mode):
    h = ServiceCluster(mode=mode)
    h.client("client", node="node-3")
    web(h, affinity=True, kind="NodePort")
    h.traffic("web", rate=20, seconds=3, source="client")
    h.run_until(lambda: h.done("traffic-1"), 30)
    assert len(h.generator("traffic-1").stats["pods"]) == 1
    # Another client is placed on its own (and stays there too); without affinity one client spreads.
    h.traffic("web", rate=20, seconds=3, source="external")
    h.run_until(lambda: h.done("traffic-2"), 30)
    assert h.generator("traffic-2").stats["requests"] == 60
    if mode == "ipvs":
        assert all(" persistent 10800" in line for line in h.proxy("node-1").rules_text().splitlines() if line.startswith("TCP  10.") and ":80 " in line)


def test_ipvs_round_robin_is_exact_in_a_cluster():
    h = ServiceCluster(mode="ipvs")
    h.client("client", node="node-2")
    web(h)
    h.traffic("web", rate=30, seconds=3, source="client")
    h.run_until(lambda: h.done("traffic-1"), 30)
    order = [e["data"]["pod"] for e in h.events("traffic.request")]
    assert len(order) == 90 and len(set(order[:3])) == 3
    assert order == order[:3] * 30  # strict rotation
    assert h.stats("web")["pods"] == {p: 30 for p in h.ready_pods("web")}
    assert all(e["data"]["why"] == "rr: the next real server in turn" and e["data"]["chains"][0].startswith("IPVS TCP  10.") for e in h.events("traffic.request"))
    text = h.proxy("node-2").rules_text()
    assert text.startswith("IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n")
    assert text.count("Masq    1      0          30        ") == 3  # each real server: 30 closed connections


def test_iptables_traffic_in_a_cluster_is_uniform_by_chi_square():
    h = ServiceCluster(seed=5)
    h.client("client", node="node-1")
    web(h)
    h.traffic("web", rate=100, seconds=9, source="client")
    h.run_until(lambda: h.done("traffic-1"), 60)
    counts = h.stats("web")["pods"]
    assert sum(counts.values()) == 900 and len(counts) == 3
    assert chi_square(counts.values(), 300) < CHI2_999[2], counts
    # Sampling: above DETAIL_RATE (50/s) only one request in ceil(100/50) = 2 is animated; all count.
    assert len(h.events("traffic.request")) == 450 and h.generator("traffic-1").sample_every == 2


def test_rules_stay_while_kube_proxy_is_down_and_are_rewritten_when_it_returns():
    h = ServiceCluster()
    web(h)
    h.cluster.command({"type": "fault", "action": "crash", "target": "node-1/kube-proxy"})
    frozen = h.proxy("node-1").version
    h.kube("patch", "deployments", group="apps", name="web", patch_type="merge", body={"spec": {"replicas": 1}})
    h.run_until(lambda: all(len(h.rule_pods(KEY)[n]) == 1 for n in ("node-2", "node-3")), 30)
    h.run(3)
    assert len(h.rule_pods(KEY)["node-1"]) == 3 and h.proxy("node-1").version == frozen  # kernel rules outlive the process
    h.client("client", node="node-1")
    h.traffic("web", rate=20, seconds=2, source="client")
    h.run(3)
    assert h.generator("traffic-1").stats["requests"] == 40  # still balanced over the stale rules, no proxy in the path
    h.cluster.command({"type": "fault", "action": "restart", "target": "node-1/kube-proxy"})
    h.wait_rules(KEY, 1, seconds=30)
    assert h.proxy("node-1").version == frozen + 1


def test_a_removed_node_takes_its_kube_proxy_and_an_added_node_gets_one():
    h = ServiceCluster(mode="ipvs", scheduler="lc")
    h.cluster.command({"type": "node", "action": "add", "name": "node-4"})
    h.run_until(lambda: h.proxy("node-4") is not None and h.proxy("node-4").version >= 1, 30)
    assert h.proxy("node-4").mode == "ipvs" and h.proxy("node-4").scheduler == "lc"
    h.cluster.command({"type": "node", "action": "remove", "name": "node-4"})
    assert h.proxy("node-4") is None and [p.node for p in h.proxies()] == ["node-1", "node-2", "node-3"]
    h.cluster.command({"type": "node", "action": "add", "name": "node-4"})
    h.run_until(lambda: h.proxy("node-4") is not None and h.proxy("node-4").version >= 1, 30)


def scenario(seed):
    h = ServiceCluster(seed=seed)
    h.client("client", node="node-1")
    web(h, kind="NodePort")
    h.traffic("web", rate=25, seconds=2, source="client")
    h.traffic("web", rate=25, seconds=2, source="external")
    h.run(1)
    return h


def test_traffic_replays_exactly_and_survives_a_checkpoint():
    a, b = scenario(3), scenario(3)
    assert a.cluster.event_digest() == b.cluster.event_digest() and state_hash(a.sim) == state_hash(b.sim)
    restored = Cluster.restore(a.cluster.checkpoint())
    a.run(3)
    restored.advance(3 * SECOND)
    assert restored.event_digest() == a.cluster.event_digest()
    replayed = Cluster.replay(a.cluster.config, a.cluster.command_log, until_us=a.now)
    assert replayed.event_digest() == a.cluster.event_digest() and replayed.state_hash() == a.cluster.state_hash()
    assert pickle.loads(pickle.dumps(a.cluster.snapshot())) == a.cluster.snapshot()
