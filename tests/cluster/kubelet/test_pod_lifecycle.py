"""A pod's life on a node: binding to Ready with the exact runtime calls, restarts and their
back-off, image pull failures, OOM kills, probes, graceful deletion, admission, logs."""

from cluster.kernel import SECOND

from .harness import NodeHarness, container_pod


def started_times(h, pod_name):
    """Virtual seconds at which containerd started a container of the pod."""
    return [e["time"] for e in h.events("runtime.started") if f"default/{pod_name}" in e["summary"]]


def test_binding_to_ready_calls_the_runtime_in_order():
    h = NodeHarness(nodes=1)
    h.run_pod(container_pod("web", image="nginx:1.27", container={"ports": [{"containerPort": 80}]}))
    h.wait_for(lambda: h.condition("web", "Ready") == "True")
    assert h.runtime_calls("node-1") == ["RunPodSandbox", "ImageStatus", "PullImage", "CreateContainer", "StartContainer"]
    steps = [e["data"]["step"] for e in h.events("kubelet.step") if e["data"]["pod"] == "default/web"]
    assert steps == ["admission", "sandbox", "pull", "create", "start", "ready"]
    pod = h.pod("web")
    status = pod["status"]
    assert status["phase"] == "Running"
    assert status["podIP"].startswith("10.244.1.") and status["hostIP"] == "172.18.0.2"
    assert [c["type"] for c in status["conditions"]] == ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    assert all(c["status"] == "True" for c in status["conditions"])
    cs = status["containerStatuses"][0]
    assert cs["ready"] and cs["started"] and cs["restartCount"] == 0 and "running" in cs["state"]
    assert cs["image"] == "docker.io/library/nginx:1.27" and cs["imageID"].startswith("docker.io/library/nginx@sha256:")
    assert cs["containerID"].startswith("containerd://")
    reasons = [r for r, _m, _c in h.k8s_events("web")]
    assert reasons == ["Pulling", "Pulled", "Created", "Started"]
    # The node box: the container's namespaces and cgroup next to its usage.
    container = h.runtimes["node-1"].view()["containers"][0]
    assert container["namespaces"]["net"] == h.runtimes["node-1"].view()["sandboxes"][0]["namespaces"]["net"]
    assert container["namespaces"]["pid"] != h.runtimes["node-1"].view()["sandboxes"][0]["namespaces"]["pid"]
    assert container["state"] == "CONTAINER_RUNNING" and container["usage"]["memory"] > 0


def test_init_containers_run_first_and_to_completion():
    h = NodeHarness(nodes=1)
    body = container_pod("app", image="nginx:1.27")
    body["spec"]["initContainers"] = [{"name": "setup", "image": "busybox", "command": ["sh", "-c", "echo preparing; sleep 2"]}]
    h.run_pod(body)
    h.wait_for(lambda: h.pod_phase("app") == "Running" and h.condition("app", "Ready") == "True")
    calls = h.runtime_calls("node-1")
    assert calls == ["RunPodSandbox", "PullImage", "CreateContainer", "StartContainer",  # setup: busybox is :latest, so pull policy Always
                     "ImageStatus", "PullImage", "CreateContainer", "StartContainer"]  # main, after setup exited 0
    init = h.pod("app")["status"]["initContainerStatuses"][0]
    assert init["state"]["terminated"]["exitCode"] == 0 and init["state"]["terminated"]["reason"] == "Completed"
    assert h.call("get", "pods", namespace="default", name="app", subresource="log", query={"container": "setup"})["text"] == "preparing\n"


def test_crash_loop_back_off_doubles_from_ten_seconds():
    h = NodeHarness(nodes=1)
    h.run_pod(container_pod("crash", image="busybox", container={"command": ["sh", "-c", "echo boom; exit 3"]}))
    h.wait_for(lambda: len(started_times(h, "crash")) >= 5, 200)
    starts = started_times(h, "crash")
    gaps = [round(b - a, 1) for a, b in zip(starts, starts[1:], strict=False)]
    # Each restart takes a pull (busybox is :latest, so pull policy Always: a 0.4 s registry check, layers
    # present) and create + start (0.8 s), after the back-off counted from the exit: 0, 10, 20, 40 s.
    assert gaps == [1.2, 11.2, 21.2, 41.2]
    h.run(1)
    cs = h.container_status("crash")
    assert cs["restartCount"] == 4
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert cs["state"]["waiting"]["message"].startswith("back-off 1m20s restarting failed container=main pod=crash_default(")
    assert cs["lastState"]["terminated"]["exitCode"] == 3 and cs["lastState"]["terminated"]["reason"] == "Error"
    assert h.pod_phase("crash") == "Running"  # restartPolicy Always: the pod keeps running
    table = h.get("pods", "crash", namespace="default", as_table=True)["body"]["rows"][0]["cells"]
    assert table[2] == "CrashLoopBackOff" and table[3].startswith("4 (")
    assert ("BackOff", "Back-off restarting failed container main in pod crash_default(" + h.pod("crash")["metadata"]["uid"] + ")") in [(r, m) for r, m, _c in h.k8s_events("crash")]
    # While it waits to restart, the kubelet serves the last run's log, with or without --previous
    # (asked directly: this API server answers a waiting container's log requests itself).
    assert h.kubelet_log("node-1", "crash", "main", previous=True)["text"] == "boom\n"
    assert h.kubelet_log("node-1", "crash", "main")["text"] == "boom\n"
    assert h.kubelet_log("node-1", "crash", "other")["code"] == 404


def test_back_off_is_capped_at_five_minutes():
    from cluster.kubelet import backoff

    table = {}
    delays = []
    now = 0
    for _ in range(8):
        delays.append(backoff.next_backoff(table, "k", now, now, 10 * SECOND, 300 * SECOND) // SECOND)
        now += delays[-1] * SECOND
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]
    # An entry idle for more than twice the cap starts over.
    assert backoff.next_backoff(table, "k", now + 601 * SECOND, now + 601 * SECOND, 10 * SECOND, 300 * SECOND) == 10 * SECOND


def test_missing_image_err_image_pull_then_image_pull_back_off():
    h = NodeHarness(nodes=1)
    h.run_pod(container_pod("typo", image="ngnix:1.27"))
    h.wait_for(lambda: (h.container_status("typo") or {}).get("state", {}).get("waiting", {}).get("reason") == "ErrImagePull")
    message = h.container_status("typo")["state"]["waiting"]["message"]
    assert "pull access denied, repository does not exist or may require authorization" in message
    h.wait_for(lambda: h.container_status("typo")["state"]["waiting"]["reason"] == "ImagePullBackOff")
    assert h.container_status("typo")["state"]["waiting"]["message"] == 'Back-off pulling image "ngnix:1.27"'
    h.run(60)
    pulls = [e["time"] for e in h.events("runtime.pull_failed")]
    gaps = [round(b - a) for a, b in zip(pulls, pulls[1:], strict=False)]
    assert gaps == [10, 20]  # image pull back-off: 10 s, then 20 s (then 40 s ...)
    assert h.pod_phase("typo") == "Pending"
    reasons = [(r, m) for r, m, _c in h.k8s_events("typo")]
    assert ("Failed", "Error: ErrImagePull") in reasons and ("BackOff", 'Back-off pulling image "ngnix:1.27"') in reasons
    answer = h.kubelet_log("node-1", "typo", "main")
    assert answer["code"] == 400 and answer["body"]["message"] == 'container "main" in pod "typo" is waiting to start: trying and failing to pull image'
    assert h.kubelet_log("node-1", "typo", "main", previous=True)["body"]["message"] == 'previous terminated container "main" in pod "typo" not found'


def test_image_is_pulled_once_per_node_and_layers_are_shared():
    h = NodeHarness(nodes=2)
    h.run_pod(container_pod("a", image="nginx:1.27"), node="node-1")
    h.wait_for(lambda: h.condition("a", "Ready") == "True")
    h.run_pod(container_pod("b", image="nginx:1.27"), node="node-1")
    h.wait_for(lambda: h.condition("b", "Ready") == "True")
    # The second pod on node-1 finds the image present: no PullImage.
    assert [c for c in h.runtime_calls("node-1") if c == "PullImage"] == ["PullImage"]
    assert ("Pulled", 'Container image "nginx:1.27" already present on machine', 1) in h.k8s_events("b")
    # httpd shares nginx's Debian base layer: node-1 downloads only httpd's own layers.
    h.run_pod(container_pod("c", image="httpd:2.4"), node="node-1")
    h.wait_for(lambda: h.condition("c", "Ready") == "True")
    pulled = [e for e in h.events("runtime.pulled") if e["data"]["image"] == "httpd:2.4"][0]
    assert (pulled["data"]["layers"], pulled["data"]["fetched"]) == (3, 2)
    assert "(3 layers, 1 already present," in pulled["summary"]
    # node-2 has nothing yet: a pod there pulls every layer.
    h.run_pod(container_pod("d", image="nginx:1.27"), node="node-2")
    h.wait_for(lambda: h.condition("d", "Ready") == "True")
    assert [c for c in h.runtime_calls("node-2") if c == "PullImage"] == ["PullImage"]
    store = h.runtimes["node-1"].view()
    debian = [layer for layer in store["layers"] if layer["name"] == "debian-bookworm-slim"][0]
    assert debian["images"] == ["httpd:2.4", "nginx:1.27"]
    assert len(store["images"]) == 3  # pause, nginx, httpd


def test_oom_killed_container_restarts():
    h = NodeHarness(nodes=1)
    limits = {"resources": {"limits": {"memory": "64Mi", "cpu": "500m"}}, "args": ["--rate=20Mi"]}
    h.run_pod(container_pod("hog", image="clusterscope/memhog", container=limits))
    h.wait_for(lambda: (h.container_status("hog") or {}).get("restartCount", 0) >= 1)
    last = h.container_status("hog")["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("OOMKilled", 137)
    oom = h.events("runtime.oom")[0]
    assert "memory.max" in oom["summary"] and oom["data"]["limit"] == 64 * 2**20
    assert h.pod("hog")["status"]["qosClass"] == "Guaranteed"
    cgroup = h.runtimes["node-1"].view()["containers"][-1]["cgroup"]
    assert cgroup["cpu.max"] == "50000 100000" and cgroup["memory.max"] == str(64 * 2**20)
    assert "kubepods-pod" in cgroup["path"]  # Guaranteed pods sit directly under kubepods


def test_liveness_probe_failure_restarts_the_container():
    h = NodeHarness(nodes=1)
    probe = {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 2, "failureThreshold": 2}
    h.run_pod(container_pod("live", image="clusterscope/web", container={"args": ["--fail-after=10"], "livenessProbe": probe}))
    h.wait_for(lambda: h.condition("live", "Ready") == "True")
    h.wait_for(lambda: (h.container_status("live") or {}).get("restartCount", 0) >= 1, 60)
    reasons = [(r, m) for r, m, _c in h.k8s_events("live")]
    assert ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500") in reasons
    assert ("Killing", "Container main failed liveness probe, will be restarted") in reasons
    last = h.container_status("live")["lastState"]["terminated"]
    assert last["exitCode"] == 0 and last["reason"] == "Completed"  # it drained and exited on SIGTERM


def test_readiness_probe_failure_removes_readiness_without_restart():
    h = NodeHarness(nodes=1)
    probe = {"httpGet": {"path": "/readyz", "port": 8080}, "periodSeconds": 2, "failureThreshold": 1}
    h.run_pod(container_pod("slow", image="clusterscope/slow-start", container={"args": ["--ready-after=12"], "readinessProbe": probe}))
    h.wait_for(lambda: h.pod_phase("slow") == "Running")
    assert h.condition("slow", "Ready") == "False" and h.container_status("slow")["ready"] is False
    h.wait_for(lambda: h.condition("slow", "Ready") == "True", 30)
    assert h.container_status("slow")["restartCount"] == 0
    assert ("Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503") in [(r, m) for r, m, _c in h.k8s_events("slow")]


def test_exec_liveness_probe_of_the_kubernetes_docs_example():
    h = NodeHarness(nodes=1)
    command = ["/bin/sh", "-c", "touch /tmp/healthy; sleep 20; rm -f /tmp/healthy; sleep 600"]
    probe = {"exec": {"command": ["cat", "/tmp/healthy"]}, "initialDelaySeconds": 5, "periodSeconds": 5}
    h.run_pod(container_pod("liveness-exec", image="busybox", container={"args": command[1:], "command": command[:1], "livenessProbe": probe}))
    h.wait_for(lambda: (h.container_status("liveness-exec") or {}).get("restartCount", 0) >= 1, 80)
    messages = [m for r, m, _c in h.k8s_events("liveness-exec") if r == "Unhealthy"]
    assert messages and messages[0] == "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory"
    # sh as PID 1 ignores SIGTERM: the kill needed SIGKILL after the grace period.
    last = h.container_status("liveness-exec")["lastState"]["terminated"]
    assert last["exitCode"] == 137


def test_graceful_deletion_honours_the_grace_period():
    h = NodeHarness(nodes=1)
    h.run_pod(container_pod("sl", image="busybox", container={"command": ["sleep", "3600"]}, terminationGracePeriodSeconds=5))
    h.wait_for(lambda: h.pod_phase("sl") == "Running")
    start = h.seconds()
    r = h.delete("pods", "sl", namespace="default")
    assert r["code"] == 200 and r["body"]["metadata"]["deletionGracePeriodSeconds"] == 5
    h.wait_for(lambda: h.cached_pod("sl") is None, 30)
    took = h.seconds() - start
    assert 5 <= took < 6
    signals = [(e["data"]["signal"], round(e["time"] - start)) for e in h.events("runtime.signal")]
    assert signals == [("SIGTERM", 0), ("SIGKILL", 5)]
    h.run(1)
    assert h.runtime_calls("node-1", since=start) == ["StopContainer", "StopPodSandbox", "RemoveContainer", "RemovePodSandbox"]
    assert h.runtimes["node-1"].view()["containers"] == [] and h.runtimes["node-1"].view()["sandboxes"] == []
    assert h.kubelets["node-1"].workers == {}


def test_a_process_that_handles_sigterm_ends_before_the_deadline():
    h = NodeHarness(nodes=1)
    h.run_pod(container_pod("ng", image="nginx:1.27"))
    h.wait_for(lambda: h.condition("ng", "Ready") == "True")
    start = h.seconds()
    h.delete("pods", "ng", namespace="default")
    h.wait_for(lambda: h.cached_pod("ng") is None, 40)
    assert h.seconds() - start < 2
    assert [e["data"]["signal"] for e in h.events("runtime.signal")] == ["SIGQUIT"]  # nginx's STOPSIGNAL


def test_admission_rejects_pods_beyond_allocatable():
    h = NodeHarness(nodes=1, node_options={"cpu": "2"})
    h.run_pod(container_pod("big", container={"resources": {"requests": {"cpu": "3"}}}))
    h.wait_for(lambda: h.pod_phase("big") == "Failed")
    status = h.pod("big")["status"]
    assert status["reason"] == "OutOfcpu"
    assert status["message"] == "Pod was rejected: Node didn't have enough resource: cpu, requested: 3000, used: 0, capacity: 2000"
    assert h.runtime_calls("node-1") == []
    h.run_pod(container_pod("fits", container={"resources": {"requests": {"cpu": "1500m"}}}))
    h.wait_for(lambda: h.pod_phase("fits") == "Running")
    h.run_pod(container_pod("second", container={"resources": {"requests": {"cpu": "600m"}}}))
    h.wait_for(lambda: h.pod_phase("second") == "Failed")
    assert h.pod("second")["status"]["message"].endswith("cpu, requested: 600, used: 1500, capacity: 2000")
    view = h.kubelets["node-1"].view()
    assert view["requested"]["cpu_m"] == 1500 and view["allocatable"]["cpu_m"] == 2000


def test_batch_job_pod_succeeds_and_its_sandbox_goes():
    h = NodeHarness(nodes=1)
    h.run_pod(container_pod("job", image="clusterscope/batch", container={"args": ["--seconds=5"]}, restartPolicy="Never"))
    h.wait_for(lambda: h.pod_phase("job") == "Succeeded", 40)
    cs = h.container_status("job")
    assert cs["state"]["terminated"]["reason"] == "Completed" and cs["ready"] is False
    logs = h.call("get", "pods", namespace="default", name="job", subresource="log")["text"].splitlines()
    assert logs[0].endswith("batch: starting job on job: 5 s of work") and logs[-1].endswith("batch: done")
    h.run(1)
    assert h.runtimes["node-1"].view()["sandboxes"][0]["state"] == "SANDBOX_NOTREADY"
    table = h.get("pods", "job", namespace="default", as_table=True)["body"]["rows"][0]["cells"]
    assert table[1:3] == ["0/1", "Completed"]


def test_logs_follow_streams_new_lines_until_cancelled():
    h = NodeHarness(nodes=1)
    h.run_pod(container_pod("talk", image="busybox", container={"command": ["sh", "-c", "while true; do echo tick; sleep 1; done"]}))
    h.wait_for(lambda: h.pod_phase("talk") == "Running")
    rid = h.client.request("get", "pods", namespace="default", name="talk", subresource="log", query={"follow": True})
    first = h.wait(rid)
    assert first["watch"] is True and first["text"].startswith("tick\n")
    h.run(3.05)
    assert h.client.chunks[rid] == ["tick\n", "tick\n", "tick\n"]
    h.client.cancel(rid)
    h.run(2)
    assert len(h.client.chunks[rid]) == 3


def test_a_pre_stop_hook_runs_before_the_stop_signal_within_the_grace_period():
    h = NodeHarness(nodes=1)
    hook = {"preStop": {"exec": {"command": ["sh", "-c", "sleep 4"]}}}
    h.run_pod(container_pod("hooked", image="nginx:1.27", container={"lifecycle": hook}, terminationGracePeriodSeconds=10))
    h.wait_for(lambda: h.condition("hooked", "Ready") == "True")
    start = h.seconds()
    h.delete("pods", "hooked", namespace="default")
    h.wait_for(lambda: h.cached_pod("hooked") is None, 30)
    signal = h.events("runtime.signal")[0]
    assert signal["data"]["signal"] == "SIGQUIT" and round(signal["time"] - start) == 4 and signal["data"]["grace"] == 6
    assert h.runtime_calls("node-1", since=start)[:2] == ["ExecSync", "StopContainer"]
