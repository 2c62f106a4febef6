"""Scale: bring up 5,000 nodes and 150,000 running pods through the full control plane in
fast-forward (issue 12's target: under 10 minutes, within 8 GiB).

The cluster is the one the dashboard builds (cluster/cluster.py, realistic timing): 3 etcd
members, the API server, both controller managers, the scheduler, and per node a kubelet,
containerd and kube-proxy. Then one Deployment per 1,000 pods (100m CPU and 64Mi each, so 30
fit a node), spread over ten namespaces, created as kubectl would; from there everything is
the simulation's own work: ReplicaSets, 150,000 pod creates, scheduling, bindings, image
pulls, sandboxes, containers and status updates, every one through Raft.

Each size runs in a child process, so its memory figures are its own: the peak of the Python
heap (tracemalloc, in a second child: tracing slows the run several times) and the process's
maximum resident set (getrusage). A run stops at its wall budget (the 10-minute target) and
reports how far it got.

    python -m bench scale            # both sizes
    python -m bench --quick scale    # 500 nodes, 15,000 pods only
"""

import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from .table import Row

ROOT = Path(__file__).resolve().parents[1]
FULL = (5000, 150_000)
QUICK = (500, 15_000)
BUDGET_S = 600  # the target: under 10 minutes
MEMORY_TARGET = 8 * 2**30
PODS_PER_DEPLOYMENT = 1000
NAMESPACES = 10


def deployment(name: str, replicas: int) -> dict:
    labels = {"app": name}
    container = {"name": "app", "image": "nginx:1.27", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}}


def _count(cluster, plural: str, test) -> int:
    return sum(1 for obj in cluster.apiserver.cache.objects.get(plural, {}).values() if test(obj))


def _node_ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (node.get("status") or {}).get("conditions") or [])


def _pod_running(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running"


def bring_up(nodes: int, pods: int, budget_s: float) -> dict:
    """In this process: build, wait for every node Ready, create the Deployments, run until every
    pod is Running or the wall budget is spent. Figures as a dict."""
    from cluster.cluster import Cluster, ClusterConfig
    from cluster.kernel import SECOND

    started = time.perf_counter()
    cluster = Cluster(ClusterConfig(name="scale", seed=1, nodes=nodes, profile="realistic"))
    out = {"nodes": nodes, "pods": pods, "build_s": time.perf_counter() - started}
    deadline = started + budget_s

    def run_until(test, check_every_s: float) -> bool:
        while time.perf_counter() < deadline:
            if test():
                return True
            cluster.advance(int(check_every_s * SECOND))
        return test()

    # Small steps: the budget is looked at between steps, and a step of the 150,000-pod burst
    # can take many wall minutes (counting the pods each step costs a few tens of ms).
    out["nodes_ready"] = run_until(lambda: _count(cluster, "nodes", _node_ready) >= nodes, 0.5)
    out["nodes_ready_s"], out["nodes_ready_virtual_s"] = time.perf_counter() - started, cluster.time
    for index in range(0, pods, PODS_PER_DEPLOYMENT):
        name = f"app-{index // PODS_PER_DEPLOYMENT}"
        body = deployment(name, min(PODS_PER_DEPLOYMENT, pods - index))
        cluster.command({"type": "kube", "verb": "create", "group": "apps", "version": "v1", "resource": "deployments",
                         "namespace": "default" if index // PODS_PER_DEPLOYMENT % NAMESPACES == 0 else f"team-{index // PODS_PER_DEPLOYMENT % NAMESPACES}", "body": body})
        if index == 0:
            for n in range(1, NAMESPACES):  # the namespaces, after the first create so the order is the same each run
                cluster.command({"type": "kube", "verb": "create", "group": "", "version": "v1", "resource": "namespaces", "body": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"team-{n}"}}})
    progress = []

    def all_running() -> bool:
        running = _count(cluster, "pods", _pod_running)
        progress.append((round(time.perf_counter() - started, 1), round(cluster.time, 1), running))
        return running >= pods

    out["done"] = out["nodes_ready"] and run_until(all_running, 0.25)
    out["wall_s"] = time.perf_counter() - started
    out["virtual_s"] = cluster.time
    out["running"] = progress[-1][2] if progress else 0
    out["events"] = cluster.last_seq
    out["progress"] = progress[-8:]
    return out


def child(argv: list[str]) -> None:
    nodes, pods, budget, trace = int(argv[0]), int(argv[1]), float(argv[2]), argv[3] == "trace"
    if trace:
        tracemalloc.start()
    out = bring_up(nodes, pods, budget)
    if trace:
        out["traced_peak"] = tracemalloc.get_traced_memory()[1]
    out["maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    out["cpu_s"] = time.process_time()
    print(json.dumps(out))


def measure(nodes: int, pods: int, budget_s: float, trace: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bench.scale", "--child", str(nodes), str(pods), str(budget_s), "trace" if trace else "plain"],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"scale child failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def rows_for(nodes: int, pods: int, budget_s: float) -> list[Row]:
    plain = measure(nodes, pods, budget_s, trace=False)
    # tracemalloc slows a run several times: the smaller size only, to its end.
    traced = measure(nodes, pods, budget_s, trace=True) if (nodes, pods) == QUICK else None
    size = f"{nodes:,} nodes, {pods:,} pods"
    if plain["done"]:
        figure = f"{plain['wall_s']:,.0f} s"
    else:
        figure = f"not done in {budget_s:,.0f} s: {plain['running']:,} of {pods:,} pods Running" + ("" if plain["nodes_ready"] else ", nodes not all Ready")
    rows = [Row(f"scale: bring up {size} (full control plane, realistic, fast-forward)", figure, f"target {BUDGET_S // 60} min",
                f"{plain['wall_s'] / BUDGET_S:.2f}" if plain["done"] else "-",
                f"build {plain['build_s']:.1f} s; all nodes Ready at {plain['nodes_ready_s']:.0f} s wall ({plain['nodes_ready_virtual_s']:.0f} virtual s); "
                f"{plain['virtual_s']:.0f} virtual s, {plain['events']:,} events, {plain['cpu_s']:,.0f} CPU-s; progress (wall s, virtual s, Running): {plain['progress'][-3:]}")]
    memory = f"max RSS {_gib(plain['maxrss'])}"
    note = "tracemalloc peak " + (f"{_gib(traced['traced_peak'])} ({traced['running']:,} Running, traced run {traced['wall_s']:.0f} s)" if traced else "not taken at this size (tracing would take hours)")
    rows.append(Row(f"scale: peak memory, {size}", memory, f"target {_gib(MEMORY_TARGET)}", f"{plain['maxrss'] / MEMORY_TARGET:.2f}", note + "; one child process per figure"))
    return rows


def run(quick: bool | None = None) -> list[Row]:
    if quick is None:
        quick = os.environ.get("CLUSTERSCOPE_BENCH_QUICK") == "1"  # python -m bench --quick
    sizes = [QUICK] if quick else [QUICK, FULL]
    rows = []
    for nodes, pods in sizes:
        rows += rows_for(nodes, pods, BUDGET_S)
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
    else:
        from .table import render

        print(render(run(quick="--quick" in sys.argv)))
