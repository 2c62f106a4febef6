"""What the other kubelet tests leave out: startup probes, restartPolicy OnFailure, the watch
limited to the node's own pods, NodeStatus on its interval, and the node view the dashboard
draws (steps with their reason, restarts explained by the last run's end)."""

from .harness import NodeHarness, container_pod


def probe_events(h, pod_name):
    return [(e["data"]["probe"], e["data"]["ok"], e["time"]) for e in h.events("kubelet.probe") if e["data"]["pod"] == f"default/{pod_name}"]


def test_a_startup_probe_holds_liveness_and_readiness_until_it_succeeds():
    h = NodeHarness(nodes=1)
    container = {
        "args": ["--startup=6"],  # answers 503 to everything for its first 6 s
        "startupProbe": {"httpGet": {"path": "/livez", "port": 8080}, "periodSeconds": 2, "failureThreshold": 10},
        "livenessProbe": {"httpGet": {"path": "/livez", "port": 8080}, "periodSeconds": 1, "failureThreshold": 1},
    }
    h.run_pod(container_pod("boot", image="clusterscope/web", container=container))
    h.wait_for(lambda: h.condition("boot", "Ready") == "True", 40)
    started = [e["time"] for e in h.events("runtime.started") if "default/boot" in e["summary"]][0]
    events = probe_events(h, "boot")
    assert events[0][:2] == ("startup", True) and events[0][2] - started >= 6
    # A liveness probe that ran during those 6 s would have failed (503) and restarted it.
    assert [(r, m) for r, m, _c in h.k8s_events("boot") if r in ("Unhealthy", "Killing") and "Liveness" in m] == []
    assert h.container_status("boot")["restartCount"] == 0 and h.container_status("boot")["started"] is True


def test_a_startup_probe_that_never_succeeds_restarts_the_container():
    h = NodeHarness(nodes=1)
    container = {"args": ["--startup=600"], "startupProbe": {"httpGet": {"path": "/livez", "port": 8080}, "periodSeconds": 2, "failureThreshold": 3}}
    h.run_pod(container_pod("stuck", image="clusterscope/web", container=container))
    h.wait_for(lambda: (h.container_status("stuck") or {}).get("restartCount", 0) >= 1, 60)
    reasons = [(r, m) for r, m, _c in h.k8s_events("stuck")]
    assert ("Killing", "Container main failed startup probe, will be restarted") in reasons
    assert any(r == "Unhealthy" and m.startswith("Startup probe failed:") for r, m in reasons)
    assert h.condition("stuck", "Ready") == "False"


def test_restart_policy_on_failure_restarts_a_failure_but_not_a_success():
    h = NodeHarness(nodes=1)
    h.run_pod(container_pod("fails", image="clusterscope/crasher", container={"args": ["--after=2", "--code=1"]}, restartPolicy="OnFailure"))
    h.run_pod(container_pod("works", image="clusterscope/batch", container={"args": ["--seconds=2"]}, restartPolicy="OnFailure"))
    h.wait_for(lambda: (h.container_status("fails") or {}).get("restartCount", 0) >= 1 and h.pod_phase("works") == "Succeeded", 60)
    assert h.container_status("works")["restartCount"] == 0
    assert h.pod_phase("fails") == "Running"  # OnFailure: restarted, the pod is not done
    assert h.container_status("fails")["lastState"]["terminated"]["exitCode"] == 1


def test_the_kubelet_watches_only_the_pods_bound_to_its_node():
    h = NodeHarness(nodes=2)
    informers = h.kubelets["node-1"].view()["client"]["informers"]
    assert [(i["resource"], i["fieldSelector"]) for i in informers if i["resource"] == "pods"] == [("pods", "spec.nodeName=node-1")]
    h.run_pod(container_pod("there", image="nginx:1.27"), node="node-2")
    h.wait_for(lambda: h.condition("there", "Ready") == "True")
    assert [p["name"] for p in h.kubelets["node-2"].view()["pods"]] == ["there"]
    assert h.kubelets["node-1"].view()["pods"] == [] and h.kubelets["node-1"].workers == {}
    watched = [i for i in h.kubelets["node-1"].view()["client"]["informers"] if i["resource"] == "pods"][0]
    assert watched["objects"] == 0


def test_an_unchanged_node_status_is_written_about_once_a_minute_not_every_ten_seconds():
    h = NodeHarness(nodes=1)
    h.run(130)
    writes = [e["time"] for e in h.events("kubelet.node_status")]
    gaps = [round(b - a) for a, b in zip(writes, writes[1:], strict=False)]
    # Nothing changed: no write on the 10 s ticks, only the refresh once 60 s have passed since the
    # last write was answered (the first tick after that: 60 or 70 s).
    assert gaps and all(60 <= gap <= 70 for gap in gaps)
    assert abs(h.kubelets["node-1"].view()["last_status"] - writes[-1]) < 1e-6


def test_the_node_view_explains_steps_and_restarts():
    h = NodeHarness(nodes=1)
    h.run_pod(container_pod("crash", image="clusterscope/crasher", container={"args": ["--after=1"]}))
    limits = {"resources": {"limits": {"memory": "64Mi"}}, "args": ["--rate=30Mi"]}
    h.run_pod(container_pod("hog", image="clusterscope/memhog", container=limits))
    h.wait_for(lambda: (h.container_status("crash") or {}).get("state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff"
               and (h.container_status("hog") or {}).get("restartCount", 0) >= 1, 60)
    h.run(0.5)
    backoffs = [e["data"]["detail"] for e in h.events("kubelet.step") if e["data"]["pod"] == "default/crash" and e["data"]["step"] == "backoff"]
    assert backoffs and backoffs[0] == "CrashLoopBackOff"
    pods = {p["name"]: p for p in h.kubelets["node-1"].view()["pods"]}
    crash = pods["crash"]
    assert crash["step"] == "backoff" and crash["reason"] == "CrashLoopBackOff" and crash["restarts"] >= 1
    assert crash["containers"][0]["last_reason"] == "Error" and crash["containers"][0]["last_exit_code"] == 1
    hog = pods["hog"]["containers"][0]
    assert hog["last_reason"] == "OOMKilled" and hog["last_exit_code"] == 137 and hog["restarts"] >= 1


def test_the_lesson_workloads_write_the_logs_kubectl_logs_shows():
    h = NodeHarness(nodes=1)
    h.run_pod(container_pod("crash", image="clusterscope/crasher", container={"args": ["--after=2"]}))
    h.run_pod(container_pod("hog", image="clusterscope/memhog", container={"args": ["--rate=30Mi"], "resources": {"limits": {"memory": "64Mi"}}}))
    h.run_pod(container_pod("slow", image="clusterscope/slow-start", container={"args": ["--ready-after=5"]}))
    h.wait_for(lambda: all((h.container_status(n) or {}).get("restartCount", 0) >= 1 for n in ("crash", "hog")), 60)

    def log(name, **query):
        r = h.call("get", "pods", namespace="default", name=name, subresource="log", query=query)
        assert r["code"] == 200, r
        return r["text"].splitlines()

    crash = log("crash", previous=True)
    assert crash[0].endswith("crasher: starting on crash; this process will fail in 2 s") and crash[1] == "panic: simulated failure after 2s (exit code 1)"
    hog = log("hog", previous=True)
    assert hog[0].endswith("memhog: starting; will allocate 30Mi every 1 s and never free it") and hog[1].endswith("memhog: allocated 30Mi in total")
    slow = log("slow")
    assert '"msg":"warming caches: not ready for 5s"' in slow[1]
