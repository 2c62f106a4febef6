"""The low-level runtime (runc's part), as functions over plain data.

containerd asks it to build what a container *is* on Linux, then to run and signal the
process. Nothing here is a component: it is the kernel-facing half of containerd, kept
in the same state.

    sandbox:    new net, ipc and uts namespaces held open by the pause process; the pod's
                cgroup (a slice per QoS class: Guaranteed pods directly under kubepods,
                Burstable and BestEffort under their own slices)
    container:  new pid, mnt and cgroup namespaces; net, ipc and uts joined from the sandbox;
                the user namespace is the host's; a cgroup under the pod's with
                cpu.max     = "<limit millicores × 100> 100000"  (or "max 100000": no limit)
                cpu.weight  = from the cpu request (cgroup v2 conversion of cpu shares)
                memory.max  = the memory limit in bytes (or "max")
    process:    a pid in the node's pid space, the simulated program (cluster/workloads)

Namespace ids print like the kernel's: "net:[4026532301]" (the inode of /proc/<pid>/ns/net).
"""

HOST_USER_NS = 4026531837
FIRST_INODE = 4026532200
CPU_PERIOD = 100_000


def new_inode(alloc: dict) -> int:
    alloc["inode"] = alloc.get("inode", FIRST_INODE) + 1
    return alloc["inode"]


def new_pid(alloc: dict) -> int:
    alloc["pid"] = alloc.get("pid", 1000) + 7
    return alloc["pid"]


def pod_cgroup(qos: str, pod_uid: str) -> str:
    uid = pod_uid.replace("-", "_")
    if qos == "Guaranteed":
        return f"/kubepods.slice/kubepods-pod{uid}.slice"
    tier = "burstable" if qos == "Burstable" else "besteffort"
    return f"/kubepods.slice/kubepods-{tier}.slice/kubepods-{tier}-pod{uid}.slice"


def sandbox_namespaces(alloc: dict) -> dict:
    return {"net": new_inode(alloc), "ipc": new_inode(alloc), "uts": new_inode(alloc), "pid": new_inode(alloc), "mnt": new_inode(alloc), "user": HOST_USER_NS}


def container_namespaces(alloc: dict, sandbox: dict) -> dict:
    shared = sandbox["namespaces"]
    return {
        "net": shared["net"], "ipc": shared["ipc"], "uts": shared["uts"],  # joined: one IP, one hostname per pod
        "pid": new_inode(alloc), "mnt": new_inode(alloc), "cgroup": new_inode(alloc),  # the container's own
        "user": HOST_USER_NS,
    }


def cpu_weight(request_m: int) -> int:
    """cgroup v2 cpu.weight for a cpu request (via cpu.shares, as the kubelet and runc convert)."""
    shares = max(2, request_m * 1024 // 1000) if request_m else 2
    return 1 + ((shares - 2) * 9999) // 262142


def cgroup(parent: str, container_id: str, resources: dict) -> dict:
    """The container's cgroup: path and the limits written to its files."""
    limit_m = resources.get("cpu_limit_m") or 0
    memory = resources.get("memory_limit") or 0
    return {
        "path": f"{parent}/cri-containerd-{container_id}.scope",
        "cpu.max": f"{limit_m * CPU_PERIOD // 1000} {CPU_PERIOD}" if limit_m else f"max {CPU_PERIOD}",
        "cpu.weight": cpu_weight(resources.get("cpu_request_m") or 0),
        "memory.max": str(memory) if memory else "max",
        "cpu_limit_m": limit_m,
        "cpu_request_m": resources.get("cpu_request_m") or 0,
        "memory_limit": memory,
        "memory_request": resources.get("memory_request") or 0,
    }


def show_namespaces(namespaces: dict) -> dict:
    return {kind: f"{kind}:[{inode}]" for kind, inode in sorted(namespaces.items())}


def capped_cpu(proc_cpu_m: int, cgroup_info: dict, node_cpu_m: int) -> int:
    """What the process actually gets: cpu.max throttles it at its limit (and the node's size)."""
    limit = cgroup_info.get("cpu_limit_m") or node_cpu_m
    return max(0, min(proc_cpu_m, limit, node_cpu_m))


def over_memory_limit(memory: int, cgroup_info: dict) -> bool:
    limit = cgroup_info.get("memory_limit") or 0
    return bool(limit) and memory > limit
