"""The `node` command: add or remove a node while the cluster runs (REST /api/clusters/<name>/nodes).

    {"type": "node", "action": "add", "name": "node-4", "cpu": "4" | "4000m" | 4, "memory": "8Gi",
     "labels": {"zone": "b"}, "taints": [{"key": "gpu", "value": "true", "effect": "NoSchedule"}]}
    {"type": "node", "action": "remove", "name": "node-4"}

add:    containerd and a kubelet start on a new host; the kubelet registers the Node itself
        (labels via --node-labels, taints via --register-with-taints) with the next pod CIDR.
remove: every component of the host stops for good (kubelet, containerd, kube-proxy), then
        `kubectl delete node <name>` leaves from the user's kubectl: the Node object goes; its
        pods stay bound to a node that no longer exists until the pod garbage collector (issue 5)
        deletes them. A removed node's name may be added again (a new machine).

Validation is here; cluster.py records the command and calls `apply`.
"""

import re

from ..apiserver.validation_names import label_value_errors, qualified_name_errors
from ..clients import kubectl
from ..commands import CommandError, no_unknown_fields, require
from ..runtime import Containerd
from ..runtime.units import GI, MI, byte_count, cpu_millis
from . import build_node
from .kubelet import Kubelet
from .node import node_config

NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
MAX_CPU_M = 1024 * 1000
MIN_MEMORY, MAX_MEMORY = 256 * MI, 16 * 1024 * GI
MAX_LABELS = 64
MAX_TAINTS = 32


def kubelets(sim) -> dict:
    """node name -> its Kubelet (removed ones included)."""
    return {c.node: c for c in sim.components.values() if isinstance(c, Kubelet)}


def live_nodes(sim) -> list[str]:
    return sorted(name for name, k in kubelets(sim).items() if not k.removed)


def removed_hosts(sim) -> set:
    return {name for name, k in kubelets(sim).items() if k.removed}


def validate(sim, cmd: dict, max_nodes: int) -> dict:
    require(isinstance(cmd, dict), "a command must be an object")
    action = cmd.get("action")
    require(action in ("add", "remove"), "action must be one of: add, remove", "action")
    name = cmd.get("name")
    require(isinstance(name, str) and NAME.match(name) is not None, "name must be a DNS label: lower-case letters, digits and '-', at most 63", "name")
    nodes = kubelets(sim)
    if action == "remove":
        no_unknown_fields(cmd, {"type", "action", "name"})
        require(name in nodes and not nodes[name].removed, f"node {name} not found", "name", status=404)
        return {"type": "node", "action": "remove", "name": name}
    no_unknown_fields(cmd, {"type", "action", "name", "cpu", "memory", "labels", "taints"})
    if name in nodes and not nodes[name].removed:
        raise CommandError(f"node {name} exists already", "name", status=409)
    require(name not in sim.components and (name in nodes or name not in sim.hosts()), f"{name} is the name of another machine of this cluster", "name", status=409)
    require(len(live_nodes(sim)) < max_nodes, f"a cluster has at most {max_nodes} nodes", "name", status=409)
    cpu = cmd.get("cpu", "4")
    require(isinstance(cpu, (str, int, float)) and not isinstance(cpu, bool), 'cpu must be a quantity such as "4" or "4000m"', "cpu")
    cpu_m = cpu_millis(cpu)
    require(cpu_m is not None and 100 <= cpu_m <= MAX_CPU_M, 'cpu must be a quantity from "100m" to "1024", such as "4" or "4000m"', "cpu")
    memory = cmd.get("memory", "8Gi")
    require(isinstance(memory, (str, int)) and not isinstance(memory, bool), 'memory must be a quantity such as "8Gi"', "memory")
    memory_bytes = byte_count(memory)
    require(memory_bytes is not None and MIN_MEMORY <= memory_bytes <= MAX_MEMORY, 'memory must be a quantity from "256Mi" to "16Ti", such as "8Gi"', "memory")
    labels = cmd.get("labels") or {}
    require(isinstance(labels, dict) and len(labels) <= MAX_LABELS, f"labels must be an object of at most {MAX_LABELS} string values", "labels")
    for key, value in labels.items():
        require(isinstance(key, str) and not qualified_name_errors(key), f"labels: {key!r} is not a valid label key", "labels")
        require(isinstance(value, str) and not label_value_errors(value), f"labels: the value of {key} is not a valid label value", "labels")
    taints = cmd.get("taints") or []
    require(isinstance(taints, list) and len(taints) <= MAX_TAINTS, f"taints must be a list of at most {MAX_TAINTS} taints", "taints")
    clean = []
    for taint in taints:
        require(isinstance(taint, dict), "each taint must be an object with key, value and effect", "taints")
        no_unknown_fields(taint, {"key", "value", "effect"})
        key, value, effect = taint.get("key"), taint.get("value", ""), taint.get("effect")
        require(isinstance(key, str) and not qualified_name_errors(key), "taints: key must be a valid label key", "taints")
        require(isinstance(value, str) and not label_value_errors(value), "taints: value must be a valid label value", "taints")
        require(effect in TAINT_EFFECTS, f"taints: effect must be one of: {', '.join(TAINT_EFFECTS)}", "taints")
        clean.append({"key": key, "value": value, "effect": effect} if value else {"key": key, "effect": effect})
    return {"type": "node", "action": "add", "name": name, "cpu": str(cpu) if not isinstance(cpu, str) else cpu, "memory": str(memory) if not isinstance(memory, str) else memory,
            "labels": dict(sorted(labels.items())), "taints": clean}


def apply(sim, cmd: dict, profile: str) -> dict:
    if cmd["action"] == "add":
        return add_node(sim, cmd, profile)
    return remove_node(sim, cmd["name"])


def next_index(sim) -> int:
    return max((k.config["index"] for k in kubelets(sim).values()), default=0) + 1


def add_node(sim, cmd: dict, profile: str) -> dict:
    name = cmd["name"]
    old = kubelets(sim).get(name)
    index = old.config["index"] if old is not None else next_index(sim)
    config = node_config(name, index, cpu=cmd["cpu"], memory=cmd["memory"], labels=cmd["labels"], taints=cmd["taints"])
    epochs = {}
    if old is not None:
        # A removed node's name comes back as a new machine: its components replace the old ones
        # (with a later epoch, so that the old ones' timers never fire on the new).
        for component_name in list(sim.hosts().get(name, [])):
            epochs[component_name] = sim.components[component_name].epoch + 1
            del sim.components[component_name]
    kubelet, runtime = _build(sim, config, profile, epochs)
    sim.emit("node.added", "cluster", f"node {name} joins the cluster: {cmd['cpu']} cpu, {cmd['memory']} memory, pod CIDR {config['pod_cidr']}",
             node=name, cpu=cmd["cpu"], memory=cmd["memory"], pod_cidr=config["pod_cidr"])
    return {"ok": True, "node": summary(kubelet)}


def _build(sim, config: dict, profile: str, epochs: dict):
    if not epochs:
        return build_node(sim, config, profile)
    runtime = Containerd(sim, config["name"], pod_cidr=config["pod_cidr"], cpu_m=config["cpu_m"], memory=config["memory"], profile=profile)
    runtime.epoch = epochs.get(runtime.name, 0)
    sim.add(runtime)
    kubelet = Kubelet(sim, config, profile=profile)
    kubelet.epoch = epochs.get(kubelet.name, 0)
    sim.add(kubelet)
    return kubelet, runtime


def remove_node(sim, name: str) -> dict:
    for component_name in sorted(sim.hosts().get(name, [])):
        component = sim.components[component_name]
        sim.crash(component_name)
        component.removed = True
    sim.emit("node.removed", "cluster", f"node {name} is removed: its kubelet, runtime and proxy stop; kubectl deletes the Node object", node=name)
    request = kubectl.validate_command({"type": "kube", "verb": "delete", "group": "", "version": "v1", "resource": "nodes", "name": name})
    sent = kubectl.apply_command(sim, request)
    return {"ok": True, "node": name, "request": sent.get("id")}


def summary(kubelet) -> dict:
    config = kubelet.config
    return {"name": kubelet.node, "cpu": _cpu(config["cpu_m"]), "memory": _memory(config["memory"]), "pods": config["pods"], "labels": dict(config["labels"]),
            "taints": [dict(t) for t in config["taints"]], "pod_cidr": config["pod_cidr"], "internal_ip": config["ip"]}


def _cpu(millis: int) -> str:
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def _memory(n: int) -> str:
    for suffix, scale in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if n % scale == 0:
            return f"{n // scale}{suffix}"
    return str(n)
