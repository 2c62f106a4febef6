"""A node's configuration, its kubelet's timing, and the Node object it registers.

    config = node_config("node-2", index=2, cpu="4", memory="8Gi", labels={"zone": "b"}, taints=[])
    config["pod_cidr"]      "10.244.2.0/24"   (node-N gets 10.244.N.0/24; added nodes the next index)
    config["ip"]            "172.18.0.3"       (InternalIP)
    registration(config, now, boot_id)        the Node the kubelet creates

Timing (KUBELET_TIMING): both profiles renew the Lease every 10 s with a 40 s duration and
compute NodeStatus every 10 s, as real kubelets do; `realistic` reports an unchanged status
every 5 minutes (nodeStatusReportFrequency), `teaching` every minute so the status's
heartbeat is seen to move. Back-offs are the real ones in both (CrashLoopBackOff 10 s
doubling to 5 min; image pulls likewise), because those numbers are what lessons teach.
Housekeeping (stats, the eviction manager, orphan clean-up) runs every 10 s.
"""

import hashlib

from ..kernel import MILLISECOND, SECOND
from ..runtime.units import GI, MI, byte_count, cpu_millis

KUBELET_VERSION = "v1.32.0"
CLUSTER_CIDR_PREFIX = "10.244"
NODE_IP_PREFIX = "172.18.0"
DEFAULT_CPU = "4"
DEFAULT_MEMORY = "8Gi"
DEFAULT_PODS = 110
EVICTION_HARD_MEMORY = 100 * MI  # memory.available<100Mi: also what allocatable holds back
EPHEMERAL_STORAGE = 100 * GI

KUBELET_TIMING = {
    "teaching": {
        "lease_renew_us": 10 * SECOND, "lease_duration_s": 40, "status_update_us": 10 * SECOND, "status_report_us": 60 * SECOND,
        "housekeeping_us": 10 * SECOND, "backoff_initial_us": 10 * SECOND, "backoff_max_us": 300 * SECOND, "retry_us": 2 * SECOND,
        "request_timeout_us": 20 * SECOND, "watch_timeout_range_s": (120, 240), "error_resync_us": 1 * SECOND,
    },
    "realistic": {
        "lease_renew_us": 10 * SECOND, "lease_duration_s": 40, "status_update_us": 10 * SECOND, "status_report_us": 300 * SECOND,
        "housekeeping_us": 10 * SECOND, "backoff_initial_us": 10 * SECOND, "backoff_max_us": 300 * SECOND, "retry_us": 1 * SECOND,
        "request_timeout_us": 10 * SECOND, "watch_timeout_range_s": (300, 600), "error_resync_us": 500 * MILLISECOND,
    },
}


def node_config(name: str, index: int, *, cpu="4", memory="8Gi", pods: int = DEFAULT_PODS, labels: dict | None = None, taints: list | None = None,
                bandwidth: int | None = None) -> dict:
    cpu_m = cpu_millis(cpu)
    memory_bytes = byte_count(memory)
    if cpu_m is None or cpu_m <= 0:
        raise ValueError(f"bad cpu quantity {cpu!r}")
    if memory_bytes is None or memory_bytes <= EVICTION_HARD_MEMORY:
        raise ValueError(f"bad memory quantity {memory!r}")
    return {
        "name": name,
        "index": index,
        "cpu_m": cpu_m,
        "memory": memory_bytes,
        "pods": int(pods),
        "labels": dict(sorted((labels or {}).items())),
        "taints": [dict(t) for t in taints or []],
        "pod_cidr": f"{CLUSTER_CIDR_PREFIX}.{index}.0/24",
        "ip": f"{NODE_IP_PREFIX}.{index + 1}" if index < 254 else f"172.18.{(index + 1) // 254}.{(index + 1) % 254 or 1}",
        "bandwidth": bandwidth,
    }


def allocatable(config: dict) -> dict:
    """What pods may request: capacity less the hard eviction threshold (no reservations)."""
    return {"cpu_m": config["cpu_m"], "memory": config["memory"] - EVICTION_HARD_MEMORY, "pods": config["pods"]}


def resource_list(cpu_m: int, memory: int, pods: int, storage: int) -> dict:
    cpu = str(cpu_m // 1000) if cpu_m % 1000 == 0 else f"{cpu_m}m"
    return {"cpu": cpu, "ephemeral-storage": f"{storage // 1024}Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0", "memory": f"{memory // 1024}Ki", "pods": str(pods)}


def node_labels(config: dict) -> dict:
    labels = {
        "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": config["name"], "kubernetes.io/os": "linux",
    }
    labels.update(config["labels"])
    return dict(sorted(labels.items()))


def node_info(config: dict, boot_id: str, runtime_version: str) -> dict:
    return {
        "architecture": "amd64", "bootID": boot_id, "containerRuntimeVersion": runtime_version, "kernelVersion": "6.1.0-28-amd64",
        "kubeProxyVersion": KUBELET_VERSION, "kubeletVersion": KUBELET_VERSION, "machineID": _machine_id(config["name"]),
        "operatingSystem": "linux", "osImage": "Debian GNU/Linux 12 (bookworm)", "systemUUID": _machine_id(config["name"] + "/uuid"),
    }


def _machine_id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def registration(config: dict, conditions: list, boot_id: str, runtime_version: str) -> dict:
    """The Node a kubelet creates when it registers (kubelet --register-node, --node-labels,
    --register-with-taints, --pod-cidr)."""
    alloc = allocatable(config)
    spec = {"podCIDR": config["pod_cidr"], "podCIDRs": [config["pod_cidr"]]}
    if config["taints"]:
        spec["taints"] = [dict(t) for t in config["taints"]]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": config["name"], "labels": node_labels(config), "annotations": {
            "node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
        "spec": spec,
        "status": {
            "capacity": resource_list(config["cpu_m"], config["memory"], config["pods"], EPHEMERAL_STORAGE),
            "allocatable": resource_list(alloc["cpu_m"], alloc["memory"], alloc["pods"], EPHEMERAL_STORAGE * 9 // 10),
            "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": config["ip"]}, {"type": "Hostname", "address": config["name"]}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": node_info(config, boot_id, runtime_version),
        },
    }
