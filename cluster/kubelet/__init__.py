"""Nodes: the kubelet (this package) and the container runtime (cluster/runtime) of each node.

    from cluster.kubelet import build_node, node_config, nodes_view
    kubelet, runtime = build_node(sim, node_config("node-1", index=1), profile="teaching")

Module map:
    kubelet.py   the `node-N/kubelet` component: registration, Lease, NodeStatus, housekeeping,
                 logs for the API server, Kubernetes Events, view
    pods.py      pod workers: admission, sandbox, pulls, containers, restarts and back-off,
                 probes, graceful deletion, evictions, pod status writes
    status.py    pod status (phase, conditions, container statuses) from a worker
    backoff.py   CrashLoopBackOff / ImagePullBackOff timing (client-go flowcontrol)
    node.py      node configuration, timing per profile, the Node object

The view of a node (`nodes_view`) joins its kubelet's and its runtime's views; DESIGN notes
for the browser are in README.md beside this file.
"""

from ..runtime import Containerd
from .kubelet import Kubelet
from .node import KUBELET_TIMING, KUBELET_VERSION, allocatable, node_config

HOST_COMPONENTS = ("kubelet", "containerd", "kube-proxy")


def build_node(sim, config: dict, profile: str = "teaching"):
    """Add a node's containerd and kubelet (in that order: the runtime is up when the kubelet asks)."""
    runtime = sim.add(Containerd(sim, config["name"], pod_cidr=config["pod_cidr"], cpu_m=config["cpu_m"], memory=config["memory"],
                                 profile=profile, bandwidth=config.get("bandwidth")))
    kubelet = sim.add(Kubelet(sim, config, profile=profile))
    return kubelet, runtime


def nodes_view(sim, only=None) -> list:
    """One entry per node (sorted by name): its kubelet's view with `runtime` holding containerd's
    (with `only`, a set of node names: those nodes alone)."""
    out = []
    for name in sorted(n for n, c in sim.components.items() if isinstance(c, Kubelet)):
        kubelet = sim.components[name]
        if kubelet.removed or (only is not None and kubelet.node not in only):
            continue
        view = kubelet.view()
        runtime = sim.components.get(f"{kubelet.node}/containerd")
        view["runtime"] = runtime.view() if runtime is not None else None
        out.append(view)
    return out


__all__ = ["HOST_COMPONENTS", "KUBELET_TIMING", "KUBELET_VERSION", "Kubelet", "allocatable", "build_node", "node_config", "nodes_view"]
