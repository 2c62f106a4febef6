"""Helpers for scheduler tests.

Pure helpers build a SchedulerCache from plain dicts and run one Framework cycle:

    cache = cluster_of([node("node-1", cpu="4"), node("node-2")], [pod("a", cpu="1", node="node-1")])
    result = schedule(cache, pod("web"))              # a CycleResult

`SimHarness` runs a whole simulated cluster without Django: etcd, kube-apiserver,
kube-scheduler and a scripted API client that creates Node objects (no kubelets yet).
"""

from cluster.apiserver import build_apiserver
from cluster.etcd import build_members
from cluster.kernel import MILLISECOND, SECOND, Simulation
from cluster.kernel.rng import Stream
from cluster.net import Network
from cluster.scheduler.cache import SchedulerCache
from cluster.scheduler.component import build_scheduler
from cluster.scheduler.framework import Framework, PodInfo, Profile
from tests.cluster.apiserver.harness import FAST, ApiClient


def node(name, cpu="4", memory="8Gi", pods="110", labels=None, taints=None, images=None, unschedulable=False):
    body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
            "spec": {}, "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}, "capacity": {"cpu": cpu, "memory": memory, "pods": pods}}}
    if taints:
        body["spec"]["taints"] = taints
    if unschedulable:
        body["spec"]["unschedulable"] = True
    if images:
        body["status"]["images"] = [{"names": [n], "sizeBytes": size} for n, size in images.items()]
    return body


def pod(name, cpu=None, memory=None, node=None, labels=None, namespace="default", image="nginx", priority=None, **spec):
    resources = {}
    if cpu is not None or memory is not None:
        resources["requests"] = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}"},
            "spec": {"containers": [{"name": "c", "image": image, "resources": resources}], **spec}}
    if labels:
        body["metadata"]["labels"] = dict(labels)
    if node:
        body["spec"]["nodeName"] = node
    if priority is not None:
        body["spec"]["priority"] = priority
    return body


def cluster_of(nodes, pods=()):
    cache = SchedulerCache()
    for n in nodes:
        cache.set_node(n)
    for p in pods:
        cache.add_pod(PodInfo.from_pod(p))
    return cache


def framework(cache, config=None, seed=1, fast=True):
    return Framework(Profile.build(config), cache, stream=Stream.from_seed(seed), fast=fast)


def schedule(cache, p, config=None, seed=1, fast=True, start=0):
    return framework(cache, config, seed, fast).schedule(PodInfo.from_pod(p), start=start)


def scores_of(result, plugin):
    """{node: (raw, normalized)} of one score plugin in a result."""
    return {n.name: (result.raw[plugin][i], result.normalized[plugin][i]) for i, n in enumerate(result.feasible)}


def only(plugins, weights=None):
    """A profile with just these plugins (multiPoint), plus the queue sort and the binder."""
    weights = weights or {}
    enabled = [{"name": "PrioritySort"}] + [{"name": p, **({"weight": weights[p]} if p in weights else {})} for p in plugins] + [{"name": "DefaultBinder"}]
    return {"plugins": {"multiPoint": {"enabled": enabled}}}


KUBE_SCHEDULER_USER = {"name": "system:kube-scheduler", "groups": []}


class SimHarness:
    def __init__(self, seed=1, members=1, scheduler_options=None):
        self.sim = Simulation(seed=seed)
        self.sim.net = Network(self.sim, base_latency_us=FAST.net_latency_us, jitter_us=FAST.net_jitter_us)
        self.members = build_members(self.sim, members, FAST)
        self.server = build_apiserver(self.sim, self.members, profile=FAST)
        options = {"cycle_us": 10 * MILLISECOND, **(scheduler_options or {})}
        self.scheduler = build_scheduler(self.sim, **options)
        self.client = self.sim.add(ApiClient(self.sim))
        self.run_until(lambda: self.server.phase == "ready" and self.scheduler.api.synced(), 30)

    def run(self, seconds):
        self.sim.run_until(self.sim.now + int(seconds * SECOND))

    def run_until(self, condition, seconds=30, step_ms=20):
        deadline = self.sim.now + int(seconds * SECOND)
        while not condition():
            if self.sim.now >= deadline:
                raise AssertionError(f"condition not met within {seconds} virtual seconds")
            self.sim.run_until(min(deadline, self.sim.now + step_ms * MILLISECOND))
        return True

    def call(self, verb, resource, **kw):
        rid = self.client.request(verb, resource, **kw)
        self.run_until(lambda: rid in self.client.responses)
        return self.client.responses[rid]

    def create_node(self, body):
        r = self.call("create", "nodes", body=body)
        assert r["code"] == 201, r
        return r["body"]

    def create_pod(self, body):
        namespace = body["metadata"].get("namespace", "default")
        body = {**body, "metadata": {k: v for k, v in body["metadata"].items() if k != "uid"}}
        r = self.call("create", "pods", namespace=namespace, body=body)
        assert r["code"] == 201, r
        return r["body"]

    def get_pod(self, name, namespace="default"):
        return self.call("get", "pods", namespace=namespace, name=name)["body"]

    def node_of(self, name, namespace="default"):
        return (self.get_pod(name, namespace).get("spec") or {}).get("nodeName")

    def wait_bound(self, name, namespace="default", seconds=30):
        self.run_until(lambda: (self.scheduler.pods.get(f"{namespace}/{name}") or {}).get("spec", {}).get("nodeName"), seconds)
        return self.scheduler.pods.get(f"{namespace}/{name}")["spec"]["nodeName"]

    def events_for(self, name, namespace="default"):
        items = self.call("list", "events", namespace=namespace)["body"]["items"]
        return [e for e in items if e["involvedObject"]["name"] == name]
