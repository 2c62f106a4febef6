"""A Simulation with etcd, the API server (logs forwarded to kubelets) and N nodes, each a
kubelet and a containerd; a scripted API client binds pods directly (no scheduler yet).

    h = NodeHarness(nodes=2)                        # runs until every node has registered
    h.create("pods", pod("web"), namespace="default")
    h.bind("web", "node-1")
    h.run_until(lambda: h.pod_phase("web") == "Running")
    h.runtime_calls("node-1")                       # ["RunPodSandbox", "ImageStatus", ...]
"""

from cluster.kernel import SECOND, Component
from cluster.kubelet import build_node, node_config

from ..apiserver.harness import Harness, pod


class KubeletCaller(Component):
    """Talks to kubelets as the API server does for logs (kubelet.log), recording the answers."""

    kind = "test-kubelet-caller"

    def __init__(self, sim, name="kubelet-caller"):
        super().__init__(sim, name)
        self.answers = {}
        self.next_id = 0

    def ask(self, node, **request):
        self.next_id += 1
        key = f"caller#{self.next_id}"
        self.send(f"{node}/kubelet", "kubelet.log", {"id": key, **request})
        return key

    def on_message(self, msg):
        if msg.kind == "kubelet.log_response":
            self.answers[msg.payload["id"]] = msg.payload


HOUSEKEEPING = ("Version", "Status", "ListPodSandbox", "ListContainers", "ListContainerStats", "ListImages")
KUBELET_USER = {"name": "system:kube-scheduler", "groups": []}


class NodeHarness(Harness):
    def __init__(self, nodes=1, seed=1, members=1, profile="teaching", node_options=None, **options):
        options.setdefault("kubelet_endpoint", "{node}/kubelet")
        super().__init__(seed=seed, members=members, **options)
        self.profile = profile
        self.kubelets = {}
        self.runtimes = {}
        for index in range(1, nodes + 1):
            self.add_node(f"node-{index}", index, **(node_options or {}))
        self.caller = self.sim.add(KubeletCaller(self.sim))
        self.run_until(lambda: all(k.registered and k.last_heartbeat is not None for k in self.kubelets.values()), 30)

    def add_node(self, name, index, **config):
        kubelet, runtime = build_node(self.sim, node_config(name, index, **config), profile=self.profile)
        self.kubelets[name] = kubelet
        self.runtimes[name] = runtime
        return kubelet

    # --- pods ----------------------------------------------------------------------------------
    def bind(self, name, node, namespace="default"):
        body = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name}, "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        r = self.call("create", "pods", namespace=namespace, name=name, subresource="binding", body=body, user=KUBELET_USER)
        assert r["code"] == 201, r
        return r

    def run_pod(self, body, node="node-1", namespace="default"):
        r = self.create("pods", body, namespace=namespace)
        assert r["code"] == 201, r
        self.bind(body["metadata"]["name"], node, namespace=namespace)
        return r["body"]

    def pod(self, name, namespace="default"):
        """The pod as etcd has it (a consistent read)."""
        r = self.get("pods", name, namespace=namespace)
        return r["body"] if r["code"] == 200 else None

    def cached_pod(self, name, namespace="default"):
        """The pod as the API server's watch cache has it (no request: cheap to poll)."""
        return self.server.cache.get("pods", f"/registry/pods/{namespace}/{name}")

    def pod_phase(self, name, namespace="default"):
        p = self.cached_pod(name, namespace)
        return None if p is None else p.get("status", {}).get("phase")

    def container_status(self, name, container=None, namespace="default"):
        p = self.cached_pod(name, namespace)
        statuses = (p or {}).get("status", {}).get("containerStatuses") or []
        if container is None:
            return statuses[0] if statuses else None
        return next((s for s in statuses if s["name"] == container), None)

    def condition(self, name, ctype, namespace="default"):
        p = self.cached_pod(name, namespace)
        return next((c["status"] for c in (p or {}).get("status", {}).get("conditions") or [] if c["type"] == ctype), None)

    def wait_for(self, condition, seconds=60):
        return self.run_until(condition, seconds, step_ms=50)

    def kubelet_log(self, node, pod_name, container, namespace="default", **query):
        """Ask a kubelet for a log directly, as the API server does: the kubelet's own answer."""
        key = self.caller.ask(node, namespace=namespace, pod=pod_name, container=container, uid=self.cached_pod(pod_name, namespace)["metadata"]["uid"], **query)
        self.run_until(lambda: key in self.caller.answers, 5)
        return self.caller.answers[key]

    # --- what happened -------------------------------------------------------------------------
    def runtime_calls(self, node, since=0):
        """CRI methods the node's kubelet sent, in order (housekeeping calls left out)."""
        source = f"{node}/kubelet"
        return [e["data"]["method"] for e in self.sim.log.events
                if e["kind"] == "net.send" and e["source"] == source and e["data"].get("kind") == "cri.request" and e["time"] >= since
                and e["data"].get("method") not in HOUSEKEEPING]

    def events(self, kind_prefix):
        return [e for e in self.sim.log.events if e["kind"].startswith(kind_prefix)]

    def k8s_events(self, pod_name, namespace="default"):
        items = self.list("events", namespace=namespace)["body"]["items"]
        return [(e["reason"], e["message"], e.get("count", 1)) for e in sorted(items, key=lambda e: e["metadata"]["name"])
                if e["involvedObject"]["name"] == pod_name]

    def seconds(self):
        return self.sim.now / SECOND


__all__ = ["NodeHarness", "container_pod", "pod"]


def container_pod(name, image="nginx:1.27", labels=None, container=None, **spec):
    """A pod with one container named "main"; `container` holds container fields (command, probes...)."""
    body = pod(name, image=image, labels=labels, **spec)
    body["spec"]["containers"][0]["name"] = "main"
    body["spec"]["containers"][0].update(container or {})
    return body
