"""containerd alone, driven by a scripted CRI client on the same host: image store and layers,
pull timing and failures, sandboxes and containers with their namespaces and cgroups, stop
signals, OOM, logs, probes and served requests, a crash."""

from cluster.kernel import MILLISECOND, SECOND, Component, Simulation
from cluster.net import Network
from cluster.runtime import Containerd
from cluster.runtime import images as registry
from cluster.runtime.units import MI


class Cri(Component):
    """Stands where the kubelet stands (`node-1/kubelet`): sends cri.request, records answers and events."""

    kind = "test-cri"

    def __init__(self, sim):
        super().__init__(sim, "node-1/kubelet", host="node-1")
        self.next_id = 0
        self.answers = {}
        self.events = []
        self.probes = {}
        self.http = {}
        self.logs = []

    def call(self, method, **fields):
        self.next_id += 1
        self.send("node-1/containerd", "cri.request", {"id": self.next_id, "method": method, **fields})
        return self.next_id

    def on_message(self, msg):
        p = msg.payload
        if msg.kind == "cri.response":
            self.answers[p["id"]] = p
        elif msg.kind == "cri.event":
            self.events.append(p)
        elif msg.kind == "probe.response":
            self.probes[p["id"]] = p
        elif msg.kind == "http.response":
            self.http[p["id"]] = p
        elif msg.kind == "cri.log":
            self.logs.append(p)


class Rig:
    def __init__(self, bandwidth=10_000_000, memory=8 * 1024 * MI):
        self.sim = Simulation(seed=5)
        self.sim.net = Network(self.sim, base_latency_us=20 * MILLISECOND, jitter_us=0)
        self.runtime = self.sim.add(Containerd(self.sim, "node-1", pod_cidr="10.244.1.0/24", cpu_m=4000, memory=memory, profile="teaching", bandwidth=bandwidth))
        self.cri = self.sim.add(Cri(self.sim))

    def run(self, seconds):
        self.sim.run_until(self.sim.now + int(seconds * SECOND))

    def ask(self, method, seconds=30, **fields):
        rid = self.cri.call(method, **fields)
        deadline = self.sim.now + int(seconds * SECOND)
        while rid not in self.cri.answers and self.sim.now < deadline:
            self.sim.run_until(min(deadline, self.sim.now + 10 * MILLISECOND))
        return self.cri.answers[rid]

    def sandbox(self, name="p", uid="uid-p"):
        return self.ask("RunPodSandbox", config={"name": name, "namespace": "default", "uid": uid, "attempt": 0})

    def container(self, sandbox_id, image, name="c", **config):
        self.ask("PullImage", image=image)
        created = self.ask("CreateContainer", sandbox_id=sandbox_id, config={"name": name, "image": image, **config})
        assert created["ok"], created
        started = self.ask("StartContainer", container_id=created["container_id"])
        assert started["ok"], started
        self.run(0.01)
        return created["container_id"]


def test_pull_time_follows_size_and_bandwidth_and_layers_are_shared():
    rig = Rig(bandwidth=10_000_000)
    nginx = registry.resolve("nginx:1.27")
    start = rig.sim.now
    answer = rig.ask("PullImage", image="nginx:1.27")
    took = (rig.sim.now - start) / SECOND
    # 0.4 s to resolve at the registry + 67.7 MB at 10 MB/s + two loopback trips
    assert answer["ok"] and answer["fetched"] == 3 and answer["bytes"] == nginx["size"]
    assert abs(took - (0.4 + nginx["size"] / 10_000_000)) < 0.01
    # httpd shares the Debian base layer: only its own two layers come down.
    httpd = rig.ask("PullImage", image="httpd:2.4")
    assert httpd["layers"] == 3 and httpd["fetched"] == 2
    # Pulling again: resolved, nothing to fetch.
    again = rig.ask("PullImage", image="nginx:1.27")
    assert again["fetched"] == 0 and again["bytes"] == 0
    view = rig.runtime.view()
    assert sorted(i["refs"][0] for i in view["images"]) == ["httpd:2.4", "nginx:1.27"]
    shared = [layer for layer in view["layers"] if layer["images"] == ["httpd:2.4", "nginx:1.27"]]
    assert [layer["name"] for layer in shared] == ["debian-bookworm-slim"]
    assert rig.ask("ImageStatus", image="docker.io/library/nginx:1.27")["image"]["repo_digest"] == nginx["repo_digest"]


def test_a_pull_in_progress_shows_its_fraction():
    rig = Rig(bandwidth=10_000_000)
    rig.cri.call("PullImage", image="postgres:17")
    rig.run(5)
    pull = rig.runtime.view()["pulls"][0]
    assert pull["image"] == "postgres:17" and pull["state"] == "downloading" and 0.3 < pull["fraction"] < 0.5
    # What a page needs to fill the bar with its own clock: the layers come down back to back.
    assert pull["bandwidth"] == 10_000_000 and pull["resolves_at"] == pull["downloading_since"] == pull["started"] + 0.4
    assert abs(pull["done_bytes"] - (rig.sim.now / SECOND - pull["downloading_since"]) * pull["bandwidth"]) < 100  # µs rounding per layer
    rig.run(20)
    assert rig.runtime.view()["pulls"] == []


def test_missing_images_fail_like_a_registry():
    rig = Rig()
    denied = rig.ask("PullImage", image="ngnix")
    assert not denied["ok"] and denied["code"] == "NotFound" and "pull access denied" in denied["error"]
    missing_tag = rig.ask("PullImage", image="nginx:doesnotexist")
    assert missing_tag["error"].endswith('docker.io/library/nginx:doesnotexist: not found')
    invalid = rig.ask("PullImage", image="Nginx")
    assert invalid["code"] == "InvalidArgument"
    assert rig.runtime.view()["images"] == []


def test_sandbox_and_container_namespaces_and_cgroups():
    rig = Rig()
    sandbox = rig.sandbox()
    assert sandbox["ok"] and sandbox["ip"] == "10.244.1.2"
    assert rig.runtime.view()["images"][0]["refs"] == ["registry.k8s.io/pause:3.10"]  # pulled by containerd itself
    resources = {"cpu_request_m": 250, "cpu_limit_m": 500, "memory_request": 64 * MI, "memory_limit": 128 * MI}
    cid = rig.container(sandbox["sandbox_id"], "nginx:1.27", resources=resources)
    view = rig.runtime.view()
    box, c = view["sandboxes"][0], view["containers"][0]
    for shared in ("net", "ipc", "uts"):
        assert c["namespaces"][shared] == box["namespaces"][shared]
    for own in ("pid", "mnt"):
        assert c["namespaces"][own] != box["namespaces"][own]
    assert c["cgroup"]["cpu.max"] == "50000 100000" and c["cgroup"]["memory.max"] == str(128 * MI) and c["cgroup"]["cpu.weight"] == 10
    assert c["state"] == "CONTAINER_RUNNING" and c["pid"] > box["pause_pid"] and c["id"] == cid[:13]
    status = rig.ask("ContainerStatus", container_id=cid)["status"]
    assert status["state"] == "CONTAINER_RUNNING" and status["image_ref"] == "docker.io/library/nginx:1.27"


def test_stop_sends_the_stop_signal_then_sigkill_at_the_deadline():
    rig = Rig()
    sandbox = rig.sandbox()
    stubborn = rig.container(sandbox["sandbox_id"], "busybox", name="sleeper", command=["sleep", "3600"])
    start = rig.sim.now
    done = rig.ask("StopContainer", container_id=stubborn, timeout=3)
    assert done["ok"] and round((rig.sim.now - start) / SECOND) == 3
    status = rig.ask("ContainerStatus", container_id=stubborn)["status"]
    assert (status["exit_code"], status["reason"]) == (137, "Error")
    polite = rig.container(sandbox["sandbox_id"], "nginx:1.27", name="web")
    start = rig.sim.now
    rig.ask("StopContainer", container_id=polite, timeout=30)
    assert rig.sim.now - start < SECOND
    assert rig.ask("ContainerStatus", container_id=polite)["status"]["exit_code"] == 0
    assert [e["reason"] for e in rig.cri.events] == ["Error", "Completed"]


def test_memory_beyond_the_cgroup_limit_is_oom_killed():
    rig = Rig()
    sandbox = rig.sandbox()
    cid = rig.container(sandbox["sandbox_id"], "clusterscope/memhog", args=["--rate=30Mi"], resources={"memory_limit": 100 * MI})
    rig.run(5)
    event = rig.cri.events[-1]
    assert event["type"] == "CONTAINER_STOPPED_EVENT" and event["reason"] == "OOMKilled" and event["exit_code"] == 137
    log = rig.ask("ReadLog", container_id=cid)["lines"]
    assert [line[2].split(" ", 1)[1] for line in log[-3:]] == ["memhog: allocated 60Mi in total", "memhog: allocated 90Mi in total", "memhog: allocated 120Mi in total"]


def test_start_fails_for_a_missing_executable():
    rig = Rig()
    sandbox = rig.sandbox()
    rig.ask("PullImage", image="busybox")
    created = rig.ask("CreateContainer", sandbox_id=sandbox["sandbox_id"], config={"name": "c", "image": "busybox", "command": ["nosuchthing"]})
    started = rig.ask("StartContainer", container_id=created["container_id"])
    assert not started["ok"] and 'exec: "nosuchthing": executable file not found in $PATH' in started["error"]
    status = rig.ask("ContainerStatus", container_id=created["container_id"])["status"]
    assert (status["exit_code"], status["reason"]) == (128, "StartError")


def test_probes_and_requests_reach_the_listening_process():
    rig = Rig()
    sandbox = rig.sandbox()
    rig.container(sandbox["sandbox_id"], "clusterscope/web", args=["--port=8080"], resources={"cpu_limit_m": 1000})
    ip = sandbox["ip"]
    rig.cri.send("node-1/containerd", "probe.request", {"id": 1, "type": "http", "ip": ip, "port": 8080, "path": "/healthz"})
    rig.cri.send("node-1/containerd", "probe.request", {"id": 2, "type": "tcp", "ip": ip, "port": 9999})
    rig.run(0.1)
    assert rig.cri.probes[1]["ok"] and rig.cri.probes[1]["code"] == 200
    assert not rig.cri.probes[2]["ok"] and "connection refused" in rig.cri.probes[2]["detail"]
    # Latency grows with load: each request costs 10 ms of cpu; its 1 cpu limit serves 100 a second.
    quiet = rig.runtime.serve_request(ip, 8080, "/")
    assert quiet["code"] == 200 and quiet["pod"] == "p"
    for _ in range(300):  # 3 s at 90 requests a second: 90 % of the core
        rig.sim.run_until(rig.sim.now + 11 * MILLISECOND)
        busy = rig.runtime.serve_request(ip, 8080, "/")
    assert busy["latency_us"] > 5 * quiet["latency_us"]
    assert rig.runtime.view()["containers"][0]["usage"]["cpu_m"] > 800
    rig.cri.send("node-1/containerd", "http.request", {"id": 7, "ip": ip, "port": 8080, "path": "/"})
    rig.run(1)
    assert rig.cri.http[7]["code"] == 200 and rig.cri.http[7]["container"] == "c"


def test_a_crash_kills_processes_but_keeps_images_and_records():
    rig = Rig()
    sandbox = rig.sandbox()
    cid = rig.container(sandbox["sandbox_id"], "nginx:1.27")
    rig.sim.crash("node-1/containerd")
    rig.run(1)
    rig.sim.restart("node-1/containerd")
    listed = rig.ask("ListContainers")["containers"]
    assert [(c["id"], c["state"], c["exit_code"], c["reason"]) for c in listed] == [(cid, "CONTAINER_EXITED", 255, "Unknown")]
    assert rig.ask("ListPodSandbox")["sandboxes"][0]["state"] == "SANDBOX_NOTREADY"
    assert len(rig.ask("ListImages")["images"]) == 2  # pause and nginx stay on disk
    again = rig.sandbox()
    assert again["ok"] and again["ip"] == "10.244.1.3"
