"""The headless scale run: N nodes, M pods, the default plugins, as fast as the CPU allows.

    run = ScaleRun(nodes=5000, pods=10000, seed=1)   # builds the node objects and pod objects
    run.schedule(1000)                               # schedule the next 1000 pods; returns how many were tried
    run.summary()                                    # placements, counts, a digest of every decision

or in one go with a timer the caller supplies (cluster/ never reads the wall clock itself):

    stats = run_scale(5000, 10000, seed=1, timer=time.perf_counter)   # adds wall_s and pods_per_s

What it drives: the framework directly — the same cache, queue, Framework cycle (PreFilter,
Filter with percentageOfNodesToScore, PreScore, Score, NormalizeScore, selection with the
seeded tie-break), assume, and decision records (bounded; `record_rows` node rows per
attempt) as the component — but no network: a successful cycle binds at once in the cache
instead of sending pods/binding to the API server. That is the figure to compare with
kube-scheduler's own benchmark (scheduler_perf, which also runs the scheduler against a
fake API). `ComponentRun` measures the full path at a smaller size: the pods and nodes are
real API objects in etcd, the kube-scheduler component lists them, schedules and binds each
pod through kube-apiserver, and the run ends when every pod is bound.

Node and pod templates follow scheduler_perf's defaults: nodes with 4 cpu, 32Gi memory and
110 pods; pods asking 100m cpu and 500Mi memory (so 5,000 nodes hold 10,000 pods easily).
"""

import hashlib

from ..kernel import MILLISECOND, SECOND, Component, Simulation
from ..kernel.rng import Stream
from .cache import SchedulerCache
from .framework import DEFAULT_CONFIG, Framework, PodInfo, Profile
from .queue import SchedulingQueue
from .records import DecisionRecords, attempt_record

NODE_CPU, NODE_MEMORY, NODE_PODS = "4", "32Gi", "110"
POD_CPU, POD_MEMORY = "100m", "500Mi"


def node_object(index: int, zones: int = 3) -> dict:
    name = f"node-{index}"
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": f"zone-{index % zones}"}},
        "spec": {},
        "status": {"allocatable": {"cpu": NODE_CPU, "memory": NODE_MEMORY, "pods": NODE_PODS}, "capacity": {"cpu": NODE_CPU, "memory": NODE_MEMORY, "pods": NODE_PODS}},
    }


def pod_object(index: int, namespace: str = "default") -> dict:
    name = f"pod-{index}"
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{index}", "labels": {"app": "scale"}},
        "spec": {"schedulerName": "default-scheduler", "priority": 0,
                 "containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10", "resources": {"requests": {"cpu": POD_CPU, "memory": POD_MEMORY}}}]},
    }


class ScaleRun:
    def __init__(self, nodes: int, pods: int, seed: int = 1, *, profile: dict | None = None, record_rows: int = 100, records_max_pods: int = 2000, fast: bool = True):
        self.profile = Profile.build(profile if profile is not None else DEFAULT_CONFIG)
        self.cache = SchedulerCache()
        for i in range(1, nodes + 1):
            self.cache.set_node(node_object(i))
        self.queue = SchedulingQueue()
        self.pod_count = pods
        for i in range(1, pods + 1):
            self.queue.add(f"default/pod-{i}", 0, False, 0)  # the objects are made when popped: 150,000 stay light
        self.records = DecisionRecords(per_pod=20, max_pods=records_max_pods, row_limit=record_rows)
        self.stream = Stream.from_seed(seed).derive("kube-scheduler/tiebreak")
        self.fast = fast
        self.framework = Framework(self.profile, self.cache, stream=self.stream, fast=fast)
        self.next_start = 0
        self.now = 0
        self.placements: dict[str, str | None] = {}
        self.examined = 0
        self.digest = hashlib.sha256()

    def schedule(self, count: int) -> int:
        """Run up to `count` cycles; returns how many ran (0 when the queue is empty)."""
        done = 0
        while done < count:
            key = self.queue.pop()
            if key is None:
                break
            done += 1
            self.now += MILLISECOND
            info = PodInfo.from_pod(pod_object(int(key.rsplit("-", 1)[1])))
            fw = self.framework.begin(self.now)
            result = fw.schedule(info, start=self.next_start)
            self.next_start = result.next_start
            self.examined += len(result.examined)
            if result.node is None and result.status.rejected:
                fw.post_filter(result)
            record = attempt_record(result, self.now, attempt=self.queue.attempts(key), cycle=self.queue.cycle, row_limit=self.records.row_limit)
            self.records.add(key, info.uid, record)
            if result.node is not None:
                self.cache.assume(info, result.node, self.now)
                self.queue.done(key)
            else:
                self.queue.failed(key, result.diagnosis.plugins, self.now)
            self.placements[key] = result.node
            self.digest.update(f"{key}>{result.node}|".encode())
        return done

    def summary(self) -> dict:
        scheduled = sum(1 for node in self.placements.values() if node)
        return {
            "nodes": self.cache.node_count(), "pods": self.pod_count, "scheduled": scheduled, "unschedulable": len(self.placements) - scheduled,
            "examined_per_pod": self.examined / max(1, len(self.placements)), "digest": self.digest.hexdigest(),
        }


def run_scale(nodes: int, pods: int, seed: int = 1, *, timer=None, cpu_timer=None, batch: int = 1000, progress=None, **options) -> dict:
    """Build, then schedule every pod. `timer` (e.g. time.perf_counter) and `cpu_timer` (e.g.
    time.process_time), given by the caller, time the scheduling alone; `progress(done,
    elapsed)` is told after every batch."""
    run = ScaleRun(nodes, pods, seed, **options)
    start = timer() if timer else None
    cpu_start = cpu_timer() if cpu_timer else None
    done = 0
    while True:
        ran = run.schedule(batch)
        if not ran:
            break
        done += ran
        if progress is not None:
            progress(done, (timer() - start) if timer else None)
    stats = run.summary()
    if timer:
        wall = timer() - start
        stats["wall_s"] = wall
        stats["pods_per_s"] = done / wall if wall > 0 else 0.0
    if cpu_timer:
        cpu = cpu_timer() - cpu_start
        stats["cpu_s"] = cpu
        stats["pods_per_cpu_s"] = done / cpu if cpu > 0 else 0.0
    return stats


# --- the full component path -----------------------------------------------------------------------
class Loader(Component):
    """Creates the nodes and pods through the API server, a few requests in flight at a time."""

    kind = "loader"

    def __init__(self, sim, objects: list, window: int = 50):
        super().__init__(sim, "loader")
        self.objects = objects  # [(resource, namespace, body)]
        self.window = window
        self.next = 0
        self.in_flight = 0
        self.created = 0
        self.failed = 0

    def begin(self) -> None:
        while self.in_flight < self.window and self.next < len(self.objects):
            resource, namespace, body = self.objects[self.next]
            self.next += 1
            self.in_flight += 1
            self.send("kube-apiserver", "api.request", {"id": self.next, "verb": "create", "group": "", "version": "v1", "resource": resource,
                                                        "namespace": namespace, "name": None, "body": body, "query": {}, "user": {"name": "loader", "groups": ["system:masters"]}})

    def on_message(self, msg) -> None:
        if msg.kind == "api.response":
            self.in_flight -= 1
            if msg.payload.get("code") == 201:
                self.created += 1
            else:
                self.failed += 1
            self.begin()

    def on_undeliverable(self, msg, reason: str) -> None:
        self.in_flight -= 1
        self.failed += 1
        self.begin()

    @property
    def finished(self) -> bool:
        return self.next >= len(self.objects) and self.in_flight == 0


class ComponentRun:
    """etcd, kube-apiserver and kube-scheduler on the simulated network (realistic timing).

        run = ComponentRun(nodes=100, pods=1000, seed=1)
        run.load()                  # create the API objects while the scheduler is down
        run.start_scheduler()       # time from here ...
        run.run_until_bound()       # ... to here: list, schedule, bind every pod
    """

    def __init__(self, nodes: int, pods: int, seed: int = 1, *, record_rows: int = 100):
        from ..apiserver import build_apiserver
        from ..etcd import build_members
        from ..net import Network
        from ..profiles import REALISTIC
        from .component import build_scheduler

        self.sim = Simulation(seed=seed, event_window=20_000)
        self.sim.net = Network(self.sim, base_latency_us=REALISTIC.net_latency_us, jitter_us=REALISTIC.net_jitter_us)
        members = build_members(self.sim, 1, REALISTIC)
        self.apiserver = build_apiserver(self.sim, members, profile=REALISTIC, cache_capacity=max(5000, 4 * (nodes + pods)))
        self.scheduler = build_scheduler(self.sim, REALISTIC, record_rows=record_rows)
        objects = [("nodes", None, node_object(i)) for i in range(1, nodes + 1)]
        for i in range(1, pods + 1):
            body = pod_object(i)
            body["metadata"].pop("uid")
            objects.append(("pods", "default", body))
        self.loader = self.sim.add(Loader(self.sim, objects))
        self.pods = pods

    def _run_until(self, condition, limit_s: float) -> None:
        deadline = self.sim.now + int(limit_s * SECOND)
        while not condition() and self.sim.now < deadline:
            self.sim.run_until(self.sim.now + 50 * MILLISECOND)
        if not condition():
            raise RuntimeError("the component run did not finish in time")

    def load(self) -> None:
        self._run_until(lambda: self.apiserver.phase == "ready" and self.scheduler.api.synced(), 60)
        self.sim.crash(self.scheduler.name)
        self.loader.begin()
        self._run_until(lambda: self.loader.finished, 3600)

    def start_scheduler(self) -> None:
        self.sim.restart(self.scheduler.name)

    def bound(self) -> int:
        return self.scheduler.counters["bound"]

    def run_until_bound(self, limit_s: float = 3600) -> None:
        self._run_until(lambda: self.bound() >= self.pods, limit_s)

    def summary(self) -> dict:
        return {"pods": self.pods, "bound": self.bound(), "virtual_s": self.sim.now / SECOND, "events": self.sim.log.last_seq}


__all__ = ["ComponentRun", "ScaleRun", "node_object", "pod_object", "run_scale"]
