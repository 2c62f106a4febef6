"""The traffic generator: the command's validation, counters and latencies, load, sampling,
failures of the network and of the client's node."""

import json

import pytest

from cluster.commands import CommandError
from cluster.traffic import stats as st
from cluster.traffic import traffic_view
from cluster.traffic.generator import error_kind

from ..proxy.harness import ServiceCluster

KEY = "default/web:http"


def web(h, replicas=3, **kw):
    h.deploy("web", replicas, **kw)
    h.run_until(lambda: len(h.ready_pods("web")) == replicas, 60)
    h.wait_rules(KEY, replicas)


def test_histogram_percentiles_are_nearest_rank_within_a_percent():
    hist = {}
    values = [i * 37 % 1000 * 100 + 50 for i in range(1, 1001)]  # 50 µs … 99.95 ms, shuffled
    for v in values:
        st.add(hist, v)
    ordered = sorted(values)
    for p in (50, 99):
        exact = ordered[(p * len(values) + 99) // 100 - 1] / 1000
        assert abs(st.percentile(hist, p) - exact) <= exact * 0.01, (p, st.percentile(hist, p), exact)
    assert st.percentile({}, 50) is None and st.percentile({st.bucket(200): 1}, 99) == 0.2  # below 256 µs: exact
    a, b = st.new_stats(), st.new_stats()
    st.record(a, pod="p1", node="n1", via="n2", latency_us=1000, error=None)
    st.record(b, pod="p1", node="n1", via="n1", latency_us=None, error="connection refused")
    st.merge_stats(a, b)
    s = st.summary(a)
    assert (s["requests"], s["errors"], s["answered"], s["pods"], s["via"], s["errors_by"]) == (2, 1, 1, {"p1": 2}, {"n1": 1, "n2": 1}, {"connection refused": 1})
    assert s["pod_detail"]["p1"] == {"requests": 2, "errors": 1, "latency_ms": {"p50": 1.002, "p99": 1.002}}  # 1000 µs: bucket 992…1007
    assert error_kind("dial tcp 10.244.1.3:80: connect: connection refused") == "connection refused" and error_kind("HTTP 503") == "HTTP 503"


def test_the_command_fails_where_the_client_s_lookups_would():
    h = ServiceCluster()
    h.client("client", node="node-1")
    web(h, replicas=1)
    h.service("db", selector={"app": "db"}, headless=True)
    pending = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stuck"},
               "spec": {"nodeSelector": {"disk": "none"}, "containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "9"]}]}}
    h.kube("create", "pods", body=pending)
    h.run(2)
    logged = len(h.cluster.command_log)
    cases = [
        ({"service": "nope", "source": "client"}, 404, "service"),
        ({"source": "ghost"}, 404, "source"),
        ({"source": "stuck"}, 409, "source"),
        ({"source": "external"}, 400, "source"),  # a ClusterIP Service has no NodePort
        ({"service": "db", "source": "client"}, 400, "service"),  # headless: no cluster IP, no rules
        ({"source": "client", "port": "grpc"}, 404, "port"),
        ({"source": "client", "rate": 0}, 400, "rate"),
        ({"source": "client", "seconds": 7200}, 400, "seconds"),
        ({"source": "client", "rate": 1000, "seconds": 3600}, 400, "seconds"),
        ({"source": "client", "path": "index.html"}, 400, "path"),
        ({"source": "client", "color": "red"}, 400, "color"),
    ]
    for fields, status, field in cases:
        body = {"type": "traffic", "namespace": "default", "service": "web", "rate": 10, "seconds": 1, **fields}
        with pytest.raises(CommandError) as info:
            h.cluster.command(body)
        assert (info.value.status, info.value.field) == (status, field), (fields, info.value.message)
    assert len(h.cluster.command_log) == logged  # nothing invalid is recorded
    started = h.traffic("web", rate=10, seconds=1, source="default/client", port="http")
    assert {k: started[k] for k in ("generator", "requests", "source_node", "port", "node_port")} == {
        "generator": "traffic-1", "requests": 10, "source_node": "node-1", "port": 80, "node_port": None}


def test_counters_latencies_ticks_and_the_view():
    h = ServiceCluster()
    h.client("client", node="node-2")
    web(h)
    h.traffic("web", rate=20, seconds=5, source="client")
    h.run_until(lambda: h.done("traffic-1"), 30)
    s = h.stats("web")
    pods = h.ready_pods("web")
    assert s["requests"] == 100 and s["errors"] == 0 and s["answered"] == 100 and sorted(s["pods"]) == pods and sum(s["pods"].values()) == 100
    assert sum(s["nodes"].values()) == 100 and s["via"] == {"node-2": 100}
    assert 0 < s["latency_ms"]["p50"] <= s["latency_ms"]["p99"] < 100
    assert set(s["pod_detail"][pods[0]]) == {"requests", "errors", "latency_ms"}
    ticks = h.events("traffic.tick")
    assert [t["data"]["second"] for t in ticks][:4] == [1, 2, 3, 4] and ticks[-1]["data"]["expected"] == {p: 0.333333 for p in pods}
    assert ticks[1]["data"]["sent"] == 40 and sum(ticks[1]["data"]["pods"].values()) == ticks[1]["data"]["done"]
    done = h.events("traffic.done")
    assert len(done) == 1 and done[0]["data"]["requests"] == 100 and "p50" in done[0]["summary"]
    responses = h.events("traffic.response")
    assert len(responses) == 100 and all(r["data"]["code"] == 200 and r["data"]["latency_ms"] > 0 for r in responses)
    view = h.generator("traffic-1").view()
    assert (view["state"], view["sent"], view["done"], view["in_flight"], view["source_node"], view["sample_every"]) == ("done", 100, 100, 0, "node-2", 1)
    snapshot = json.loads(json.dumps(h.cluster.snapshot(), allow_nan=False))
    assert snapshot["traffic"]["services"][0]["name"] == "web" and snapshot["traffic"]["generators"][0]["name"] == "traffic-1"
    assert traffic_view(h.sim)["services"][0]["requests"] == 100


def test_latency_grows_with_a_pod_s_load():
    h = ServiceCluster()
    h.client("client", node="node-1")
    web(h, replicas=1, cpu_limit="250m")
    h.traffic("web", rate=2, seconds=5, source="client")
    h.run_until(lambda: h.done("traffic-1"), 30)
    light = st.summary(h.generator("traffic-1").stats)["latency_ms"]
    h.traffic("web", rate=22, seconds=5, source="client")  # 22 × 10 ms of cpu per second: 88 % of its 250m
    h.run_until(lambda: h.done("traffic-2"), 60)
    heavy = st.summary(h.generator("traffic-2").stats)["latency_ms"]
    assert heavy["p99"] > 3 * light["p99"] and heavy["p50"] > light["p50"]


def test_a_partitioned_pod_times_out_and_a_crashed_client_node_stops_its_generator():
    h = ServiceCluster()
    h.client("client", node="node-1")
    web(h, replicas=1, node_selector={"kubernetes.io/hostname": "node-3"})
    h.cluster.command({"type": "fault", "action": "partition", "groups": [["node-3"], ["node-1", "node-2"]]})
    h.traffic("web", rate=10, seconds=1, source="client")
    h.run_until(lambda: h.done("traffic-1"), 30)
    assert h.generator("traffic-1").stats["errors_by"] == {"connection timed out": 10}
    h.cluster.command({"type": "fault", "action": "heal"})
    h.traffic("web", rate=10, seconds=10, source="client")
    h.run(2)
    h.cluster.command({"type": "fault", "action": "crash", "target": "node-1"})
    gen = h.generator("traffic-2")
    assert gen.state == "stopped" and not gen.alive and gen.stats["requests"] < 100
    assert set(gen.stats["errors_by"]) <= {"client crashed"}


def test_a_stopped_generator_sends_no_more_and_finishes_what_is_in_flight():
    h = ServiceCluster()
    h.client("client", node="node-1")
    web(h)
    h.traffic("web", rate=20, seconds=10, source="client")
    h.run(2.01)
    gen = h.generator("traffic-1")
    sent = gen.sent
    assert gen.state == "running" and sent == 41
    logged = len(h.cluster.command_log)
    result = h.cluster.command({"type": "traffic", "action": "stop", "generator": "traffic-1"})
    assert result == {"ok": True, "generator": "traffic-1", "stopped": True, "state": "draining" if gen.in_flight else "done", "sent": sent}
    assert h.cluster.command_log[logged]["command"] == {"type": "traffic", "action": "stop", "generator": "traffic-1"}  # recorded, replayed
    [stop] = h.events("traffic.stop")
    assert stop["data"]["sent"] == sent
    h.run(12)
    assert gen.sent == sent and gen.state == "done" and gen.view()["requests"] == sent
    s = h.stats("web")
    assert s["requests"] == sent and s["errors"] == 0
    [done] = h.events("traffic.done")
    assert done["data"]["requests"] == sent
    # stopping again changes nothing; an unknown generator is 404; a stop takes only its fields
    again = h.cluster.command({"type": "traffic", "action": "stop", "generator": "traffic-1"})
    assert (again["stopped"], again["state"]) == (False, "done")
    for body, status, field in (({"generator": "traffic-9"}, 404, "generator"), ({"generator": "traffic-1", "rate": 5}, 400, "rate"),
                                ({}, 400, "generator"), ({"generator": "traffic-1", "action": "pause"}, 400, "action")):
        with pytest.raises(CommandError) as info:
            h.cluster.command({"type": "traffic", "action": "stop", **body})
        assert (info.value.status, info.value.field) == (status, field)
