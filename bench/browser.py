"""Browser: frames per second of the cluster page in headless Chromium, and its JS heap after a
long run.

A real server (daphne, as in production, in a child process with its own var directory and
CLUSTERSCOPE_LIMITS raised to 5,000 nodes and to bench/apiserver.py's ROOM_FOR_PODS: the
defaults, 1,000 pods and 5,000 objects a cluster, would stop the 1,000-node cluster at 1,000
pods and leave ten of 5,000 nodes unregistered) and Debian's Chromium driven by Playwright, software
rendering (--disable-gpu): a lower bound for a machine with a GPU. Each figure is the page's own
requestAnimationFrame count over FPS_SECONDS while the cluster runs at 1x:

- the classroom cluster: 3 etcd members, 3 nodes, a Deployment of 30 pods behind a NodePort
  Service, traffic at 50 requests per virtual second (target 60 fps);
- 1,000 nodes, and 5,000 nodes, each with as many pods (30 a node, 100m each) as the full control
  plane brings up in BRINGUP_S of wall time in fast-forward (the page then draws the heat map;
  target 30 fps at 5,000 nodes);
- the classroom page left open HEAP_MINUTES (ten; --quick: one) at 1x with its traffic: the JS
  heap after a forced garbage collection (CDP HeapProfiler.collectGarbage, Performance.getMetrics)
  at the first minute and at the end, DOM nodes, and the event log's rows.

    python -m bench browser            # about 25 minutes on 2 shared cores, more under load
    python -m bench --quick browser    # shorter: 8 s of frames, 1,000 pods at most, one minute of heap
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from .apiserver import ROOM_FOR_PODS
from .table import Row

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
FPS_SECONDS = 20
HEAP_MINUTES = 10
BRINGUP_S = 300  # wall seconds of fast-forward per large cluster
PODS_PER_NODE = 30
CHUNK_S = 2  # virtual seconds per advance while bringing a cluster's nodes up
POD_CHUNK_S = 0.5  # and while its pods come: a virtual second of a large burst takes wall minutes, and the budget is looked at between advances

# the page's own frame counter: every requestAnimationFrame callback's time over `ms`
FRAMES = """(ms) => new Promise((done) => {
  const times = [];
  const tick = (t) => { times.push(t); if (t - times[0] < ms) requestAnimationFrame(tick); else done(times); };
  requestAnimationFrame(tick);
})"""


def deployment(name: str, replicas: int) -> dict:
    labels = {"app": name}
    container = {"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}], "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}}


SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80, "protocol": "TCP"}]}}


class Server:
    def __init__(self):
        self.var = Path(tempfile.mkdtemp(prefix="clusterscope-bench-browser-"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", "CLUSTERSCOPE_VAR": str(self.var), "CLUSTERSCOPE_DEMO": "",
                    "CLUSTERSCOPE_LIMITS": json.dumps({**ROOM_FOR_PODS, "nodes_per_cluster": 5000, "clusters_per_client": 1000}), "PYTHONUNBUFFERED": "1"}
        self.proc = None

    def start(self):
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=self.env, check=True, timeout=300)
        daphne = Path(sys.executable).with_name("daphne")
        log = open(self.var / "daphne.log", "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen([str(daphne), "-b", "127.0.0.1", "-p", str(self.port), "dashboard.asgi:application"], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.api("GET", "/api/clusters")
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("daphne did not start")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        shutil.rmtree(self.var, ignore_errors=True)

    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 900):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, json.loads(raw) if raw else None

    def kube_create(self, cluster: str, resource: str, body: dict, group_path: str = "api/v1"):
        # the cluster is paused: the request enters it, answers 504 after 0.2 s, and takes effect as time is advanced
        status, answer = self.api("POST", f"/k8s/{cluster}/{group_path}/namespaces/default/{resource}?timeout=0.2s", body)
        assert status in (201, 504), answer


def counts(server: Server, cluster: str) -> dict:
    status, state = server.api("GET", f"/api/clusters/{cluster}/state")
    assert status == 200, state
    kubelets = [v for v in state["components"] if v["kind"] == "kubelet"]
    ready_pods = sum(len([p for p in v["pods"] if p.get("step") == "ready"]) if "pods" in v else v.get("pod_steps", {}).get("ready", 0) for v in kubelets)
    return {"nodes": len(kubelets), "nodes_ready": sum(1 for v in kubelets if v.get("ready")), "pods": state["scale"]["pods"], "pods_ready": ready_pods,
            "time": state["time"], "compact": state["scale"]["compact"]}


def bring_up(server: Server, cluster: str, nodes: int, pods: int, budget_s: float, *, profile: str = "realistic", etcd: int = 3) -> dict:
    """Create the cluster paused, wait for its nodes, create the pods, fast-forward until they
    are ready or the wall budget is spent."""
    started = time.perf_counter()
    status, body = server.api("POST", "/api/clusters", {"name": cluster, "nodes": nodes, "etcd_members": etcd, "paused": True, "profile": profile, "seed": 1})
    assert status == 201, body
    deadline = started + budget_s
    now = counts(server, cluster)
    while now["nodes_ready"] < nodes and time.perf_counter() < deadline:
        server.api("POST", f"/api/clusters/{cluster}/advance", {"seconds": CHUNK_S})
        now = counts(server, cluster)
    nodes_s = time.perf_counter() - started
    for i in range(0, pods, 1000):
        server.kube_create(cluster, "deployments", deployment("web" if pods <= 1000 else f"app-{i // 1000}", min(1000, pods - i)), "apis/apps/v1")
    while pods and now["pods_ready"] < pods and time.perf_counter() < deadline:
        server.api("POST", f"/api/clusters/{cluster}/advance", {"seconds": POD_CHUNK_S})
        now = counts(server, cluster)
    return {**now, "nodes_s": nodes_s, "wall_s": time.perf_counter() - started}


def page_metrics(page, cdp) -> dict:
    cdp.send("HeapProfiler.collectGarbage")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {"heap": metrics.get("JSHeapUsedSize", 0), "dom": metrics.get("Nodes", 0),
            "log_rows": page.evaluate("document.querySelectorAll('#event-log > li').length"),
            "messages": page.evaluate("window.clusterscope.model.messages.size")}


BUSY = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def busy(cdp) -> dict:
    """The renderer's main-thread time so far (CDP Performance.getMetrics, seconds)."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {k: metrics.get(k, 0.0) for k in BUSY}


def measure_fps(page, seconds: float, cdp=None) -> dict:
    before = busy(cdp) if cdp else None
    times = page.evaluate(FRAMES, seconds * 1000)
    gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    span = (times[-1] - times[0]) / 1000 if len(times) > 1 else 0
    out = {"fps": (len(times) - 1) / span if span else 0.0, "p95_ms": gaps[int(0.95 * (len(gaps) - 1))] if gaps else 0.0,
           "long": sum(1 for g in gaps if g > 50), "frames": len(times) - 1, "busy": ""}
    if cdp and span:
        after = busy(cdp)
        share = {k: (after[k] - before[k]) / span for k in BUSY}
        # a main thread busy most of the time: the page's own cost; mostly idle yet slow frames: the CPU is elsewhere (load)
        # per frame: a figure that holds better than fps on a loaded machine (wall time stretched alike)
        per = (after["TaskDuration"] - before["TaskDuration"]) * 1000 / max(1, out["frames"])
        out["busy"] = (f"main thread busy {share['TaskDuration']:.0%} (script {share['ScriptDuration']:.0%}, layout {share['LayoutDuration']:.0%}, style {share['RecalcStyleDuration']:.0%}), "
                       f"{per:.0f} ms of it per frame")
    return out


def say(row: Row) -> Row:
    """Each row as it is measured (on stderr): a long run that fails later keeps what it got."""
    print(f"{row.benchmark}: {row.figure} ({row.note})", file=sys.stderr, flush=True)
    return row


def open_page(browser, server: Server, cluster: str, wait_for: str):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.set_default_timeout(180_000)
    started = time.perf_counter()
    page.goto(f"{server.url}/clusters/{cluster}/?lang=en")
    page.wait_for_selector("#conn[data-state=connected]")
    page.wait_for_function(wait_for)
    loaded = time.perf_counter() - started
    page.wait_for_timeout(3000)  # the first views refresh and the event backlog settle
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    return page, cdp, loaded


def fps_row(label: str, fps: dict, target: float, note: str) -> Row:
    return Row(f"browser: {label}", f"{fps['fps']:.1f} fps", f"{target:g} fps (target)", f"{fps['fps'] / target:.2f}",
               f"p95 frame {fps['p95_ms']:.0f} ms, {fps['long']} frames over 50 ms of {fps['frames']}; {fps['busy']}; {note}; {load()}")


def load() -> str:
    """The machine's load average (1, 5, 15 minutes): other processes share the cores."""
    return "load " + " / ".join(f"{x:.1f}" for x in os.getloadavg())


def run(quick: bool = False) -> list[Row]:
    from playwright.sync_api import sync_playwright

    quick = quick or os.environ.get("CLUSTERSCOPE_BENCH_QUICK") == "1"  # python -m bench --quick browser
    fps_s = 8 if quick else FPS_SECONDS
    minutes = 1 if quick else HEAP_MINUTES
    budget = 60 if quick else BRINGUP_S
    large = [(1000, 1000 if quick else 30_000), (5000, 0 if quick else 150_000)]
    rows = []
    server = Server()
    server.start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            # the classroom cluster, animating
            up = bring_up(server, "classroom", 3, 30, 300, profile="teaching")
            server.kube_create("classroom", "services", SERVICE)
            server.api("POST", "/api/clusters/classroom/advance", {"seconds": 10})  # the Service and its endpoints, programmed on every node
            status, gen = server.api("POST", "/api/clusters/classroom/traffic", {"service": "web", "rate": 50, "seconds": 3600, "source": "external"})
            traffic = "traffic 50 req/s" if status == 202 else f"no traffic ({gen})"
            server.api("PATCH", "/api/clusters/classroom/clock", {"paused": False, "speed": 1})
            page, cdp, loaded = open_page(browser, server, "classroom", "() => document.querySelectorAll('.node-card .pod').length >= 30")
            fps = measure_fps(page, fps_s, cdp)
            first = page_metrics(page, cdp)
            rows.append(say(fps_row("classroom cluster (3 etcd, 3 nodes, 30 pods, 1x)", fps, 60,
                                f"{up['pods_ready']} pods ready, {traffic}; loaded in {loaded:.1f} s; heap {first['heap'] / 2**20:.1f} MiB, {first['dom']:,.0f} DOM nodes")))
            # the heap over a long run (the same page, still animating)
            samples = [first]
            for _ in range(max(0, minutes - 1)):
                page.wait_for_timeout(60_000)
                samples.append(page_metrics(page, cdp))
            if minutes == 1:
                page.wait_for_timeout(60_000)
                samples.append(page_metrics(page, cdp))
            last = samples[-1]
            peak = max(s["heap"] for s in samples)
            rows.append(say(Row(f"browser: JS heap after {minutes} min (classroom cluster at 1x, traffic)", f"{last['heap'] / 2**20:.1f} MiB",
                            f"{first['heap'] / 2**20:.1f} MiB at the first minute", f"{last['heap'] / first['heap']:.2f}" if first["heap"] else "",
                            f"after a forced GC each minute; peak {peak / 2**20:.1f} MiB; {last['dom']:,.0f} DOM nodes (first {first['dom']:,.0f}); "
                            f"event log {last['log_rows']} rows; {last['messages']} messages held")))
            page.context.close()
            server.api("DELETE", "/api/clusters/classroom")
            # large clusters: the heat map
            for nodes, pods in large:
                try:
                    rows.append(say(large_row(browser, server, nodes, pods, budget, fps_s)))
                except Exception as exc:  # noqa: BLE001 - a row that says what failed, and the next size
                    rows.append(say(Row(f"browser: {nodes:,} nodes, heat map", "failed", "", "", f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")))
                server.api("DELETE", f"/api/clusters/n{nodes}")
            browser.close()
    finally:
        server.stop()
    return rows


def large_row(browser, server: Server, nodes: int, pods: int, budget: float, fps_s: float) -> Row:
    """Bring up a large cluster, open its page (the heat map) while it is paused, resume it at 1x
    and count frames."""
    name = f"n{nodes}"
    up = bring_up(server, name, nodes, pods, budget)
    # Loaded (the heat map counts every node: their views come by GET /state after the stream's
    # snapshot) while the cluster is still paused: at 1x in the middle of a 150,000-pod burst the
    # server spends every slice catching up and the page took over 180 s to load (2026-11-29).
    page, cdp, loaded = open_page(browser, server, name, f"() => (document.querySelector('.nodemap-summary')?.textContent ?? '').startsWith('{nodes:,} nodes')")
    server.api("PATCH", f"/api/clusters/{name}/clock", {"paused": False, "speed": 1})
    page.wait_for_timeout(5000)  # the stream's first frames at 1x
    fps = measure_fps(page, fps_s, cdp)
    m = page_metrics(page, cdp)
    _, summary = server.api("GET", f"/api/clusters/{name}")
    lagging = " (the server lags behind 1x)" if summary.get("lagging") else ""
    got = f"{up['pods']:,} pods ({up['pods_ready']:,} ready) of {pods:,} wanted, brought up in {up['wall_s']:.0f} s of wall time" if pods else "no pods"
    page.context.close()
    return fps_row(f"{nodes:,} nodes, heat map (1x{lagging})", fps, 30 if nodes >= 5000 else 60,
                   f"{up['nodes_ready']:,} nodes Ready; {got}; page loaded (paused) in {loaded:.1f} s, then 1x; heap {m['heap'] / 2**20:.1f} MiB, {m['dom']:,.0f} DOM nodes")


if __name__ == "__main__":
    from .table import render

    print(render(run(quick="--quick" in sys.argv)))
