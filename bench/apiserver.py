"""The Kubernetes API through the whole stack: a real server (daphne, as `make run` serves it),
real HTTP, each request a recorded command, the kubectl component, the API server's pipeline,
etcd's Raft, the watch cache, and back.

    requests per wall-second   pods created over HTTP by 32 concurrent clients (HTTP -> pipeline
                               -> Raft commit -> watch cache -> answer); reference: GET /version
                               with the same concurrency (the HTTP stack alone)
    list latency at 10,000     GET .../pods as kubectl asks for it (Table Accept), the whole list and
                               its first page (limit=500); reference: GET /version, one client
    watch fan-out to 100       100 open watches on one namespace; a create's event reaching every
                               one of them, from the moment the create was sent; reference: 1 watcher
    kubectl at 150,000 pods    a second cluster whose ReplicaSet controller creates 150,000 pods from
                               150 Deployments (no nodes, no scheduler claims them: they stay Pending),
                               each create the simulation's own work through the API server and
                               Raft; then the real kubectl lists them all

One cluster, realistic timing at speed 100 (the runner's maximum): a request's virtual round
trip (a few ms) is a few tens of microseconds of wall time, so the figures are the server's CPU
and the runner's 50 ms tick, not simulated latency. The server is a separate process; the
clients are threads here.
"""

import glob
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .table import Row

ROOT = Path(__file__).resolve().parents[1]
PODS = int(os.environ.get("CLUSTERSCOPE_BENCH_PODS", "10000"))  # lower it for a quick look
WARM = min(2_000, PODS)  # the rate is reported for the first WARM creates and for the rest
CONCURRENCY = 32
WATCHERS = 100
# kubectl at Kubernetes' published limit: created in the simulation by Deployments, not over HTTP
# (150,000 HTTP creates would take most of an hour); --quick lists 15,000
SCALE_PODS = int(os.environ.get("CLUSTERSCOPE_BENCH_SCALE_PODS", "15000" if os.environ.get("CLUSTERSCOPE_BENCH_QUICK") == "1" else "150000"))
REPLICAS = 1000
FANOUT_EVENTS = 20
# The newest kubectl the machine has (gcloud's packages install kubectl.1.<minor> beside a
# dispatcher that would ask the server's /version first); else whatever `kubectl` is.
KUBECTL = (sorted(glob.glob("/usr/lib/google-cloud-sdk/bin/kubectl.1.*"), key=lambda p: int(p.rsplit(".", 1)[1])) or [shutil.which("kubectl")])[-1]
TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

# A benchmark server's caps on one cluster (dashboard/limits.py): room for 150,000 pods and what
# comes with them; the defaults (1,000 pods, 5,000 objects) are a classroom's. bench/browser.py too.
ROOM_FOR_PODS = {"pods_per_cluster": 1_000_000, "objects_per_cluster": 2_000_000}


class BenchServer:
    """daphne on a free port with a throwaway CLUSTERSCOPE_VAR; stopped on exit."""

    def __enter__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="clusterscope-bench-"))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", "CLUSTERSCOPE_VAR": str(self.tmp), "CLUSTERSCOPE_DEMO": "", "PYTHONPATH": str(ROOT),
               # the benchmark's own server: room for its pods, no rate limits in the way
               "CLUSTERSCOPE_LIMITS": json.dumps(ROOM_FOR_PODS)}
        for private in ("DATABASE_URL", "REDIS_URL"):
            env.pop(private, None)
        subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True, timeout=300)
        daphne = Path(sys.executable).with_name("daphne")
        self.log = open(self.tmp / "daphne.log", "wb")  # noqa: SIM115 - closed in __exit__
        self.process = subprocess.Popen([str(daphne), "-b", "127.0.0.1", "-p", str(self.port), "dashboard.asgi:application"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.call("GET", "/api/clusters")[0] == 200:
                    return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the benchmark server did not start")
            time.sleep(0.1)

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait(10)
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def call(self, method, path, body=None, headers=None, connection=None):
        conn = connection or self.connection()
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body).encode(), headers={"Content-Type": "application/json", **(headers or {})})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            if connection is None:
                conn.close()

    def cluster(self, name: str) -> str:
        code, raw = self.call("POST", "/api/clusters", {"name": name, "speed": 100, "profile": "realistic", "nodes": 0})
        if code != 201:
            raise RuntimeError(raw)
        deadline = time.monotonic() + 60
        while self.call("GET", f"/k8s/{name}/api/v1/namespaces/default/pods?limit=1&timeout=5s")[0] != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("the API server did not become ready")
            time.sleep(0.1)
        return name


def pod(name: str) -> dict:
    """A pod no scheduler in the cluster claims (schedulerName), so each create is the API
    server's work alone: the default scheduler would try every one of them on no nodes."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": {"schedulerName": "benchmark-no-scheduler", "containers": [{"name": "c", "image": "nginx"}]}}


def _in_parallel(srv: BenchServer, jobs: list, work, concurrency: int) -> float:
    """Run work(connection, job) for every job on `concurrency` threads; wall seconds taken."""
    local = threading.local()
    errors: list = []

    def run(job):
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = srv.connection()
        try:
            work(conn, job)
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            errors.append(exc)
            local.conn = None

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(run, jobs))
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, first: {errors[0]}")
    return time.perf_counter() - start


def create_pods(srv: BenchServer, cluster: str, names: list[str], namespace: str = "default") -> float:
    def work(conn, name):
        code, raw = srv.call("POST", f"/k8s/{cluster}/api/v1/namespaces/{namespace}/pods", pod(name), connection=conn)
        if code != 201:
            raise RuntimeError(f"{code} {raw[:200]!r}")
    return _in_parallel(srv, names, work, CONCURRENCY)


def version_rate(srv: BenchServer, cluster: str, count: int) -> float:
    def work(conn, _):
        if srv.call("GET", f"/k8s/{cluster}/version", connection=conn)[0] != 200:
            raise RuntimeError("version failed")
    return count / _in_parallel(srv, list(range(count)), work, CONCURRENCY)


def timed_get(srv: BenchServer, path: str, accept: str = "application/json", repeat: int = 5) -> tuple[float, int]:
    """Median wall seconds of `repeat` GETs on one connection, and the size of the answer."""
    conn = srv.connection()
    times, size = [], 0
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            code, raw = srv.call("GET", path, headers={"Accept": accept}, connection=conn)
            times.append(time.perf_counter() - start)
            if code != 200:
                raise RuntimeError(f"{path}: {code} {raw[:200]!r}")
            size = len(raw)
    finally:
        conn.close()
    return statistics.median(times), size


def fan_out(srv: BenchServer, cluster: str, namespace: str, watchers: int, events: int) -> list[float]:
    """Seconds from sending each create to its ADDED event at each watcher."""
    srv.call("POST", f"/k8s/{cluster}/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    _, raw = srv.call("GET", f"/k8s/{cluster}/api/v1/namespaces/{namespace}/pods")
    rv = json.loads(raw)["metadata"]["resourceVersion"]
    arrivals: list[dict] = [{} for _ in range(watchers)]
    ready = threading.Barrier(watchers + 1)
    connections = []

    def watch(index):
        conn = srv.connection()
        connections.append(conn)
        conn.request("GET", f"/k8s/{cluster}/api/v1/namespaces/{namespace}/pods?watch=true&resourceVersion={rv}")
        response = conn.getresponse()
        ready.wait()
        while len(arrivals[index]) < events:
            line = response.readline()
            if not line:
                return
            event = json.loads(line)
            if event["type"] == "ADDED":
                arrivals[index][event["object"]["metadata"]["name"]] = time.perf_counter()

    threads = [threading.Thread(target=watch, args=(i,), daemon=True) for i in range(watchers)]
    for thread in threads:
        thread.start()
    ready.wait(timeout=120)
    sent = {}
    conn = srv.connection()
    for i in range(events):
        name = f"fan-{i}"
        sent[name] = time.perf_counter()
        code, _ = srv.call("POST", f"/k8s/{cluster}/api/v1/namespaces/{namespace}/pods", pod(name), connection=conn)
        if code != 201:
            raise RuntimeError(f"create {name}: {code}")
    conn.close()
    for thread in threads:
        thread.join(timeout=120)
    for c in connections:
        c.close()
    latencies = [arrived[name] - sent[name] for arrived in arrivals for name in arrived]
    if len(latencies) != watchers * events:
        raise RuntimeError(f"only {len(latencies)} of {watchers * events} watch events arrived")
    return sorted(latencies)


def timed_kubectl(srv: BenchServer, cluster: str, args: list[str], repeat: int = 3) -> tuple[float, int]:
    """Median wall seconds of the real kubectl running `args`, and the lines it printed."""
    cache = tempfile.mkdtemp(prefix="clusterscope-bench-kubectl-")
    base = [KUBECTL, f"--server=http://127.0.0.1:{srv.port}/k8s/{cluster}", "--kubeconfig=/dev/null", f"--cache-dir={cache}", "--request-timeout=300s"]
    times, lines = [], 0
    try:
        subprocess.run(base + ["api-resources"], capture_output=True, timeout=300, check=False)  # discovery cached, as for a user's second command
        for _ in range(repeat):
            start = time.perf_counter()
            done = subprocess.run(base + args, capture_output=True, timeout=600, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"kubectl {' '.join(args)}: {done.stderr.decode(errors='replace')[-300:]}")
            times.append(time.perf_counter() - start)
            lines = done.stdout.count(b"\n")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return statistics.median(times), lines


def list_and_watch_throughput(srv: BenchServer, cluster: str) -> list[Row]:
    """Objects per wall-second through the kube API: a plain JSON list of every pod, and a watch
    from resourceVersion 0 (every pod as an ADDED event, as an informer's first sync gets them)."""
    conn = srv.connection()
    try:
        start = time.perf_counter()
        code, raw = srv.call("GET", f"/k8s/{cluster}/api/v1/pods", connection=conn)
        listed = time.perf_counter() - start
        if code != 200:
            raise RuntimeError(f"list: {code}")
        count = len(json.loads(raw)["items"])
    finally:
        conn.close()
    conn = srv.connection()
    try:
        start = time.perf_counter()
        conn.request("GET", f"/k8s/{cluster}/api/v1/pods?watch=true&resourceVersion=0&timeoutSeconds=600")
        response = conn.getresponse()
        seen = 0
        while seen < count:
            line = response.readline()
            if not line:
                break
            if json.loads(line)["type"] == "ADDED":
                seen += 1
        watched = time.perf_counter() - start
    finally:
        conn.close()
    return [Row(f"apiserver: list throughput, every pod as JSON ({count:,} pods)", f"{count / listed:,.0f} objects/s", "", "",
                f"{listed * 1000:,.0f} ms, {len(raw) / 1e6:.1f} MB"),
            Row(f"apiserver: watch throughput, resourceVersion=0 ({count:,} ADDED events)", f"{seen / watched:,.0f} objects/s", f"list {count / listed:,.0f} objects/s",
                f"{(seen / watched) / (count / listed):.2f}", f"{watched * 1000:,.0f} ms; each event a watch frame, as an informer's first sync")]


def deployment(name: str, replicas: int) -> dict:
    labels = {"app": name}
    template = {"metadata": {"labels": labels}, "spec": pod(name)["spec"]}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template}}


def pod_count(srv: BenchServer, cluster: str) -> int:
    code, raw = srv.call("GET", f"/k8s/{cluster}/api/v1/pods?limit=1")
    if code != 200:
        raise RuntimeError(f"count pods: {code} {raw[:200]!r}")
    doc = json.loads(raw)
    return len(doc["items"]) + int(doc["metadata"].get("remainingItemCount") or 0)


def kubectl_at_scale(srv: BenchServer, pods: int) -> list[Row]:
    """kubectl get pods -A with `pods` pods, created in the cluster by its own controllers."""
    cluster = srv.cluster("bench-scale")
    count = -(-pods // REPLICAS)
    for i in range(count):
        replicas = min(REPLICAS, pods - i * REPLICAS)
        code, raw = srv.call("POST", f"/k8s/{cluster}/apis/apps/v1/namespaces/default/deployments", deployment(f"d-{i:03d}", replicas))
        if code != 201:
            raise RuntimeError(f"create deployment: {code} {raw[:200]!r}")
    start = time.perf_counter()
    have = 0
    while have < pods:
        if time.perf_counter() - start > 3600:
            raise RuntimeError(f"only {have:,} of {pods:,} pods after an hour")
        time.sleep(5)
        have = pod_count(srv, cluster)
    created = time.perf_counter() - start
    # Listed at 1x, as a real cluster runs. At speed 100 five virtual minutes (etcd's compaction
    # interval, a continue token's life in Kubernetes) pass in three wall seconds, less than
    # kubectl takes to page through 150,000 pods: its continue token expired part way (410).
    code, raw = srv.call("PATCH", f"/api/clusters/{cluster}/clock", {"speed": 1})
    if code != 200:
        raise RuntimeError(f"set the clock to 1x: {code} {raw[:200]!r}")
    small, _ = timed_kubectl(srv, cluster, ["get", "namespaces"])
    every, lines = timed_kubectl(srv, cluster, ["get", "pods", "-A"])
    return [Row(f"apiserver: kubectl get pods -A, {pods:,} pods, median of 3", f"{every * 1000:,.0f} ms",
                f"kubectl get namespaces {small * 1000:,.0f} ms", f"{every / small:,.1f}",
                f"{lines - 1:,} rows printed, in pages of 500 (kubectl's default); "
                f"the pods made by {count} Deployments in {created:,.0f} s wall, Pending (no nodes)")]


def _pct(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(fraction * len(values)))]


def run() -> list[Row]:
    rows = []
    with BenchServer() as srv:
        cluster = srv.cluster("bench")
        reference = version_rate(srv, cluster, 1000)
        names = [f"pod-{i:05d}" for i in range(PODS)]
        for first, last in ((0, WARM), (WARM, PODS)):
            if last <= first:
                continue
            seconds = create_pods(srv, cluster, names[first:last])
            rate = (last - first) / seconds
            rows.append(Row(f"apiserver: pod creates per wall-second over HTTP, pods {first:,} to {last:,} ({CONCURRENCY} clients)", f"{rate:,.0f}/s",
                            f"GET /version {reference:,.0f}/s", f"{rate / reference:.3f}", f"{last - first:,} creates in {seconds:.1f}s, each Raft-committed"))

        base, _ = timed_get(srv, f"/k8s/{cluster}/version")
        whole, size = timed_get(srv, f"/k8s/{cluster}/api/v1/namespaces/default/pods", TABLE_ACCEPT, repeat=3)
        page, _ = timed_get(srv, f"/k8s/{cluster}/api/v1/namespaces/default/pods?limit=500", TABLE_ACCEPT)
        rows.append(Row(f"apiserver: list {PODS:,} pods as a Table (kubectl get pods), median", f"{whole * 1000:,.0f} ms",
                        f"GET /version {base * 1000:,.1f} ms", f"{whole / base:,.0f}", f"{size / 1e6:.1f} MB answer"))
        rows.append(Row(f"apiserver: first page (limit=500) of {PODS:,} pods as a Table, median", f"{page * 1000:,.0f} ms",
                        f"GET /version {base * 1000:,.1f} ms", f"{page / base:,.0f}", "what kubectl asks first"))

        if KUBECTL:
            small, _ = timed_kubectl(srv, cluster, ["get", "namespaces"])
            pods_all, lines = timed_kubectl(srv, cluster, ["get", "pods", "-A"])
            rows.append(Row(f"apiserver: kubectl get pods -A, {PODS:,} pods, median of 3", f"{pods_all * 1000:,.0f} ms",
                            f"kubectl get namespaces {small * 1000:,.0f} ms", f"{pods_all / small:,.1f}",
                            f"{lines - 1:,} rows printed; the real kubectl ({Path(KUBECTL).name}), one process per run, discovery cached"))
        else:
            rows.append(Row(f"apiserver: kubectl get pods -A, {PODS:,} pods", "not measured", "kubectl not installed", "", ""))
        rows += list_and_watch_throughput(srv, cluster)

        one = fan_out(srv, cluster, "fan-one", 1, FANOUT_EVENTS)
        many = fan_out(srv, cluster, "fan-many", WATCHERS, FANOUT_EVENTS)
        rows.append(Row(f"apiserver: watch fan-out to {WATCHERS} watchers, create sent -> event received, p50 / p99",
                        f"{_pct(many, 0.5) * 1000:,.0f} / {_pct(many, 0.99) * 1000:,.0f} ms",
                        f"1 watcher {_pct(one, 0.5) * 1000:,.0f} / {_pct(one, 0.99) * 1000:,.0f} ms", f"{_pct(many, 0.5) / _pct(one, 0.5):.2f}",
                        f"{len(many):,} deliveries of {FANOUT_EVENTS} creates"))
        if KUBECTL and SCALE_PODS:
            try:
                rows += kubectl_at_scale(srv, SCALE_PODS)
            except RuntimeError as exc:  # the rows above stand: one row says what failed
                rows.append(Row(f"apiserver: kubectl get pods -A, {SCALE_PODS:,} pods", "failed", "", "", str(exc)[:300]))
    return rows


if __name__ == "__main__":
    from .table import render

    print(render(run()))
