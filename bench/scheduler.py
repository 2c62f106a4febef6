"""kube-scheduler throughput: pods per wall-second at 100, 1,000 and 5,000 nodes with 10,000
pods, against the 680 pods/s that Kubernetes' scheduler_perf requires at 5,000 nodes and
10,000 pods (SchedulingBasic).

The headline rows drive the framework directly (cluster/scheduler/scale.py: the same cache,
queue, plugins, percentageOfNodesToScore and decision records as the component, bindings
applied in the cache, no network), which is what scheduler_perf measures too (a real
scheduler against an in-process API server). A second figure per row is pods per CPU-second:
on a shared machine the wall clock also counts other processes' turns. One row measures the
full component path at a smaller size (etcd, kube-apiserver, watches, bindings and Events
over the simulated network), and one the straightforward, node-by-node path without the
fast paths, on the same decisions (the digests match).
"""

import time

from cluster.scheduler.scale import ComponentRun, run_scale

from .table import Row

FLOOR = 680  # pods/s, scheduler_perf's threshold for SchedulingBasic 5000Nodes_10000Pods


def framework_row(nodes: int, pods: int, *, fast: bool = True, label: str = "") -> tuple[Row, dict]:
    stats = run_scale(nodes, pods, 1, timer=time.perf_counter, cpu_timer=time.process_time, fast=fast)
    rate = stats["pods_per_s"]
    row = Row(
        f"scheduler: {nodes:,} nodes, {pods:,} pods (framework, no network{label})",
        f"{rate:,.0f} pods/s",
        f"{FLOOR} pods/s (scheduler_perf, 5,000 nodes)",
        f"{rate / FLOOR:.2f}",
        f"{stats['pods_per_cpu_s']:,.0f} pods/CPU-s; {stats['examined_per_pod']:.0f} nodes examined per pod; {stats['scheduled']:,} scheduled"
        + (f", {stats['unschedulable']:,} attempts unschedulable (the nodes are full: each runs a preemption search)" if stats["unschedulable"] else "")
        + f"; digest {stats['digest'][:12]}",
    )
    return row, stats


def component_row(nodes: int, pods: int) -> Row:
    run = ComponentRun(nodes, pods, 1)
    run.load()
    wall, cpu = time.perf_counter(), time.process_time()
    run.start_scheduler()
    run.run_until_bound()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    summary = run.summary()
    return Row(
        f"scheduler: {nodes:,} nodes, {pods:,} pods (component: etcd + kube-apiserver + kube-scheduler)",
        f"{pods / wall:,.0f} pods/s",
        f"{FLOOR} pods/s (scheduler_perf, 5,000 nodes)",
        f"{pods / wall / FLOOR:.2f}",
        f"{pods / cpu:,.0f} pods/CPU-s; {summary['virtual_s']:.1f} virtual s; {summary['events']:,} events (list, bind, Scheduled event per pod)",
    )


def run() -> list[Row]:
    rows = []
    for nodes in (100, 1000, 5000):
        row, stats = framework_row(nodes, 10_000)
        rows.append(row)
    slow, slow_stats = framework_row(5000, 1000, fast=False, label=", straightforward path")
    fast, fast_stats = framework_row(5000, 1000)
    same = "same decisions" if slow_stats["digest"] == fast_stats["digest"] else "DIFFERENT DECISIONS"
    slow.note += f"; fast path on the same 1,000 pods: {fast_stats['pods_per_s']:,.0f} pods/s, {same}"
    rows.append(slow)
    rows.append(component_row(100, 1000))
    return rows
