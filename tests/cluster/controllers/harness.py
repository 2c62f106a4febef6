"""A cluster for controller tests: etcd, kube-apiserver, kube-controller-manager, and tiny fake
nodes and scheduler (the real ones belong to later issues).

    h = ControllerHarness(nodes=3)           # runs until the controller-manager leads
    h.create("deployments", deployment("web", replicas=3), namespace="default")
    h.run_until(lambda: len(h.running_pods("default")) == 3)

FakeScheduler binds every unbound pod to a Ready node without a taint it does not tolerate
(honouring a DaemonSet pod's matchFields metadata.name affinity), round robin.
FakeKubelet(node) registers its Node, renews its Lease in kube-node-lease every 10 s, starts
its pods (Running, an IP, Ready after `ready_after` seconds), finishes pods labelled
`test/exit: Succeeded|Failed` after `test/seconds`, and confirms graceful deletions after
`stop_after` seconds. Crashing it is a node failure. Both use the client machinery.
"""

from cluster.apiserver import build_apiserver
from cluster.apiserver.meta import rfc3339, rfc3339_micro
from cluster.client import ApiClient, copy_json, dig, is_pod_ready, key_of, meta_of, split_key
from cluster.controllers import build_controller_manager
from cluster.controllers.base import tolerates
from cluster.etcd import build_members
from cluster.kernel import MILLISECOND, SECOND, Component, Simulation
from cluster.net import Network

from ..apiserver.harness import FAST
from ..apiserver.harness import ApiClient as ScriptClient


class _Owner(Component):
    """Routes the kernel's entries to an ApiClient."""

    def on_message(self, msg):
        self.api.handle_message(msg)

    def on_timer(self, tag, data):
        if not self.api.handle_timer(tag, data):
            self.timer(tag, data)

    def timer(self, tag, data):
        pass

    def on_undeliverable(self, msg, reason):
        self.api.handle_undeliverable(msg, reason)

    def on_crash(self):
        self.api.stop()

    def on_restart(self):
        self.api.start()


class FakeScheduler(_Owner):
    kind = "test-scheduler"

    def __init__(self, sim, name="fake-scheduler"):
        super().__init__(sim, name)
        self.api = ApiClient(self, user={"name": "system:kube-scheduler"}, event_prefix="scheduler")
        self.pods = self.api.informer("pods", handler="on_pod", field_selector="spec.nodeName=")
        self.nodes = self.api.informer("nodes", handler="on_node")
        self.queue = self.api.queue("schedule", "schedule", workers=1)
        self.turn = 0

    def on_start(self):
        self.api.start()

    def on_pod(self, event, pod, old):
        if event != "delete":
            self.queue.add(key_of(pod))

    def on_node(self, event, node, old):
        for pod in self.pods.list():
            self.queue.add(key_of(pod))

    def schedule(self, key):
        pod = self.pods.get(key)
        if pod is None or dig(pod, "spec", "nodeName") or meta_of(pod).get("deletionTimestamp"):
            return True
        nodes = [n for n in self.nodes.list() if self._fits(pod, n)]
        if not nodes:
            self.queue.add_after(key, 2 * SECOND)
            return True
        node = nodes[self.turn % len(nodes)]
        self.turn += 1
        namespace, name = split_key(key)
        self.api.request("create", "pods", subresource="binding", namespace=namespace, name=name, ok=(409, 404),
                         body={"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name}, "target": {"kind": "Node", "name": meta_of(node)["name"]}})
        return True

    def _fits(self, pod, node):
        name = meta_of(node)["name"]
        terms = dig(pod, "spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms", default=[]) or []
        for term in terms:
            for field in term.get("matchFields") or []:
                if field.get("key") == "metadata.name" and name not in (field.get("values") or []):
                    return False
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in dig(node, "status", "conditions", default=[]) or [])
        if not ready:
            return False
        for taint in dig(node, "spec", "taints", default=[]) or []:
            if taint.get("effect") in ("NoSchedule", "NoExecute") and tolerates(dig(pod, "spec", "tolerations"), taint) is None:
                return False
        return True


class FakeKubelet(_Owner):
    kind = "test-kubelet"

    def __init__(self, sim, node, *, ready_after=1.0, stop_after=0.5, lease_every=10):
        super().__init__(sim, f"fake-kubelet-{node}", host=node)
        self.node = node
        self.api = ApiClient(self, user={"name": f"system:node:{node}", "groups": ["system:nodes"]}, event_prefix="kubelet")
        self.pods = self.api.informer("pods", handler="on_pod", field_selector=f"spec.nodeName={node}")
        self.queue = self.api.queue("pods", "sync", workers=5)
        self.ready_after_us = int(ready_after * SECOND)
        self.stop_after_us = int(stop_after * SECOND)
        self.lease_every_us = int(lease_every * SECOND)
        self.started = {}  # pod key -> when this kubelet first saw it
        self.stopping = {}  # pod key -> when its containers will have stopped
        self.ips = 0

    def on_start(self):
        self.api.start()
        self._register()

    def on_restart(self):
        self.api.start()
        self._register()

    def _register(self):
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.node, "labels": {"kubernetes.io/hostname": self.node}},
                "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                                           "lastHeartbeatTime": rfc3339(self.now), "lastTransitionTime": rfc3339(self.now)}],
                           "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}
        self.api.request("create", "nodes", body=node, then="on_registered", ok=(409,))
        self.set_timer(0, "lease", None)

    def on_registered(self, response, context):
        if response["code"] == 409:
            # Already there (a restart): say Ready again.
            self.api.request("patch", "nodes", name=self.node, subresource="status", patch_type="merge",
                             body={"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                                                              "lastHeartbeatTime": rfc3339(self.now), "lastTransitionTime": rfc3339(self.now)}]}})

    def timer(self, tag, data):
        if tag == "lease":
            self.set_timer(self.lease_every_us, "lease", None)
            spec = {"holderIdentity": self.node, "leaseDurationSeconds": 40, "renewTime": rfc3339_micro(self.now)}
            self.api.request("patch", "leases", namespace="kube-node-lease", name=self.node, patch_type="merge", body={"spec": spec}, then="lease_patched", ok=(404,))

    def lease_patched(self, response, context):
        if response["code"] == 404:
            spec = {"holderIdentity": self.node, "leaseDurationSeconds": 40, "renewTime": rfc3339_micro(self.now)}
            self.api.request("create", "leases", namespace="kube-node-lease", ok=(409,),
                             body={"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": self.node}, "spec": spec})

    def on_pod(self, event, pod, old):
        if event != "delete":
            self.queue.add(key_of(pod))

    def sync(self, key):
        pod = self.pods.get(key)
        if pod is None:
            self.started.pop(key, None)
            return True
        namespace, name = split_key(key)
        meta = meta_of(pod)
        if meta.get("deletionTimestamp"):
            self.stopping.setdefault(key, self.now + self.stop_after_us)
            if self.now < self.stopping[key]:
                self.queue.add_after(key, self.stopping[key] - self.now)
                return True
            self.api.request("delete", "pods", namespace=namespace, name=name, query={"gracePeriodSeconds": 0}, ok=(404, 409),
                             body={"preconditions": {"uid": meta.get("uid")}})
            return True
        phase = dig(pod, "status", "phase")
        if phase in ("Succeeded", "Failed"):
            return True
        first = self.started.setdefault(key, self.now)
        labels = meta.get("labels") or {}
        if phase != "Running":
            self.ips += 1
            status = copy_json(pod.get("status") or {})
            status.update({"phase": "Running", "podIP": f"10.244.{int(self.node.split('-')[-1])}.{self.ips}", "hostIP": "192.168.0.1",
                           "startTime": rfc3339(self.now)})
            status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "Ready"] + [
                {"type": "Ready", "status": "False", "lastTransitionTime": rfc3339(self.now)}]
            self._status(pod, status)
            self.queue.add_after(key, self.ready_after_us)
            return True
        if "test/exit" in labels:
            done_at = first + int(float(labels.get("test/seconds", "1")) * SECOND)
            if self.now >= done_at:
                status = copy_json(pod["status"])
                status["phase"] = labels["test/exit"]
                status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "Ready"] + [
                    {"type": "Ready", "status": "False", "lastTransitionTime": rfc3339(self.now)}]
                self._status(pod, status)
            else:
                if not is_pod_ready(pod):
                    self._ready(pod)
                self.queue.add_after(key, done_at - self.now)
            return True
        if not is_pod_ready(pod):
            if self.now >= first + self.ready_after_us:
                self._ready(pod)
            else:
                self.queue.add_after(key, first + self.ready_after_us - self.now)
        return True

    def _ready(self, pod):
        status = copy_json(pod["status"])
        status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "Ready"] + [
            {"type": "Ready", "status": "True", "lastTransitionTime": rfc3339(self.now)}]
        self._status(pod, status)

    def _status(self, pod, status):
        body = copy_json(pod)
        body["status"] = status
        meta = meta_of(pod)
        self.api.request("update", "pods", subresource="status", namespace=meta["namespace"], name=meta["name"], body=body, ok=(404, 409))


class ControllerHarness:
    def __init__(self, *, nodes=3, seed=1, members=1, loops=None, replicas=1, scheduler=True, kubelet_options=None, manager_options=None, start=True):
        self.sim = Simulation(seed=seed)
        self.sim.net = Network(self.sim, base_latency_us=FAST.net_latency_us, jitter_us=FAST.net_jitter_us)
        self.members = build_members(self.sim, members, FAST)
        self.server = build_apiserver(self.sim, self.members, profile=FAST)
        self.client = self.sim.add(ScriptClient(self.sim))
        self.managers = build_controller_manager(self.sim, replicas=replicas, loops=loops, **(manager_options or {}))
        self.manager = self.managers[0]
        self.kubelets = {}
        for i in range(1, nodes + 1):
            node = f"node-{i}"
            self.kubelets[node] = self.sim.add(FakeKubelet(self.sim, node, **(kubelet_options or {})))
        self.scheduler = self.sim.add(FakeScheduler(self.sim)) if scheduler else None
        if start:
            self.run_until(lambda: any(m.elector.leading and m.api.synced() for m in self.managers), 30)

    # --- time -----------------------------------------------------------------------------------
    @property
    def now(self):
        return self.sim.now

    def run(self, seconds, check=None, step_ms=50):
        """Run `seconds` of virtual time; with `check`, call it every step_ms (an invariant)."""
        end = self.sim.now + int(seconds * SECOND)
        if check is None:
            self.sim.run_until(end)
            return
        while self.sim.now < end:
            self.sim.run_until(min(end, self.sim.now + step_ms * MILLISECOND))
            check()

    def run_until(self, condition, seconds=60, step_ms=20, check=None):
        deadline = self.sim.now + int(seconds * SECOND)
        while not condition():
            if self.sim.now >= deadline:
                raise AssertionError(f"condition not met within {seconds} virtual seconds")
            self.sim.run_until(min(deadline, self.sim.now + step_ms * MILLISECOND))
            if check is not None:
                check()
        return True

    # --- requests from the test's own client --------------------------------------------------------
    def call(self, verb, resource, group=None, **kw):
        from cluster.client import group_of

        rid = self.client.request(verb, resource, group=group_of(resource) if group is None else group, **kw)
        self.run_until(lambda: rid in self.client.responses, 30, step_ms=5)
        return self.client.responses[rid]

    def create(self, resource, body, namespace=None, **kw):
        return self.call("create", resource, namespace=namespace, body=body, **kw)

    def get(self, resource, name, namespace=None, **kw):
        return self.call("get", resource, namespace=namespace, name=name, **kw)

    def list(self, resource, namespace=None, **kw):
        return self.call("list", resource, namespace=namespace, **kw)["body"]["items"]

    def patch(self, resource, name, body, namespace=None, patch_type="merge", **kw):
        return self.call("patch", resource, namespace=namespace, name=name, body=body, patch_type=patch_type, **kw)

    def delete(self, resource, name, namespace=None, **kw):
        return self.call("delete", resource, namespace=namespace, name=name, **kw)

    # --- reading the truth (the API server's cache: no requests, no events) ------------------------
    def objects(self, resource, namespace=None):
        """The API server's cached objects themselves (read only: copy before changing one)."""
        from cluster.apiserver.resources import lookup, resource_prefix
        from cluster.client import group_of

        info = lookup(group_of(resource), resource)
        prefix = resource_prefix(info) + (f"{namespace}/" if namespace else "")
        return [obj for _k, obj in self.server.cache.items(resource, prefix)]

    def pods(self, namespace="default", **labels):
        out = []
        for pod in self.objects("pods", namespace):
            have = meta_of(pod).get("labels") or {}
            if all(have.get(k) == v for k, v in labels.items()):
                out.append(pod)
        return out

    def live_pods(self, namespace="default", **labels):
        return [p for p in self.pods(namespace, **labels) if not meta_of(p).get("deletionTimestamp") and dig(p, "status", "phase") not in ("Succeeded", "Failed")]

    def ready_pods(self, namespace="default", **labels):
        return [p for p in self.live_pods(namespace, **labels) if is_pod_ready(p)]

    def reconciles(self, controller=None, since=0):
        return [e for e in self.sim.log.since(since) or [] if e["kind"] == "controller.reconcile" and (controller is None or e["data"]["controller"] == controller)]

    def events(self, kind, since=0):
        return [e for e in self.sim.log.since(since) or [] if e["kind"] == kind]


def pod_template(labels, image="nginx", **spec):
    return {"metadata": {"labels": dict(labels)}, "spec": {"containers": [{"name": "app", "image": image}], **spec}}


def replicaset(name, replicas=2, labels=None, image="nginx"):
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)}, "template": pod_template(labels, image)}}


def deployment(name, replicas=3, labels=None, image="nginx", strategy=None):
    labels = labels or {"app": name}
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)}, "template": pod_template(labels, image)}}
    if strategy:
        body["spec"]["strategy"] = strategy
    return body
