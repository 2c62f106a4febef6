"""Simulation speed: the classroom cluster headless, in virtual seconds per wall-second.

The classroom cluster is what a lesson shows: 3 etcd members, 3 nodes, a Deployment of 30
pods behind a NodePort Service, and a traffic generator sending it 50 requests per virtual
second from outside the cluster, in the teaching profile (the dashboard's default). It is
brought up first (every pod Running, the traffic started), then MEASURED virtual seconds are
run as fast as the CPU allows. The reference is real time: the ratio is how many times faster
than a live class it runs (the target is 500x).
"""

import copy
import time

from cluster.cluster import Cluster, ClusterConfig
from cluster.kernel import SECOND
from dashboard import demo

from .table import Row

PODS = 30
RATE = 50  # requests per virtual second
MEASURED = 120  # virtual seconds
TARGET = 500


def classroom() -> Cluster:
    cluster = Cluster(ClusterConfig(name="classroom", seed=1))
    deployment = copy.deepcopy(demo.DEPLOYMENT)
    deployment["spec"]["replicas"] = PODS
    service = copy.deepcopy(demo.SERVICE)
    service["spec"]["type"] = "NodePort"
    for group, resource, body in (("apps", "deployments", deployment), ("", "services", service)):
        cluster.command({"type": "kube", "verb": "create", "group": group, "version": "v1", "resource": resource, "namespace": "default", "body": body})
    for _ in range(600):
        pods = cluster.apiserver.cache.objects.get("pods", {}).values()
        if sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Running") >= PODS:
            break
        cluster.advance(SECOND)
    else:
        raise RuntimeError("the classroom cluster's pods did not all start")
    cluster.command({"type": "traffic", "namespace": "default", "service": "web", "rate": RATE, "seconds": MEASURED + 60, "source": "external"})
    return cluster


def run() -> list[Row]:
    cluster = classroom()
    events, processed = cluster.last_seq, cluster.sim.processed
    wall, cpu = time.perf_counter(), time.process_time()
    cluster.advance(MEASURED * SECOND)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    speed = MEASURED / wall
    events = cluster.last_seq - events
    return [Row(f"simulation: classroom cluster (3 etcd, 3 nodes, {PODS} pods, traffic {RATE} req/s, teaching), virtual s per wall s",
                f"{speed:,.0f}x", "real time 1x (target 500x)", f"{speed / TARGET:.2f} of target",
                f"{MEASURED} virtual s in {wall:.2f} s wall, {cpu:.2f} CPU-s ({MEASURED / cpu:,.0f}x per CPU-s); {events:,} events ({events / wall:,.0f}/s), "
                f"{cluster.sim.processed - processed:,} actions")]


if __name__ == "__main__":
    from .table import render

    print(render(run()))
