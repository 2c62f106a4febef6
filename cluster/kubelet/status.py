"""Pod status as the kubelet's status manager computes it, from a pod worker (pure functions).

    pod_status(worker, pod, node_ip, now)  -> the `status` the kubelet writes to pods/<name>/status

Phase follows kubelet's getPhase: Pending while init containers run or any container waits
for its first start; Running while some container runs (or restarts: a container waiting in
CrashLoopBackOff has a last termination and counts as stopped); once nothing runs and
nothing will restart, Succeeded when every container exited 0, else Failed. Conditions:
PodReadyToStartContainers (the sandbox is up), Initialized, ContainersReady, Ready and the
scheduler's PodScheduled (kept as the binding wrote it).
"""

from ..apiserver.meta import dig, rfc3339
from ..runtime.units import byte_count, cpu_millis


def containers_of(pod: dict, init: bool = False) -> list:
    items = dig(pod, "spec", "initContainers" if init else "containers", default=[]) or []
    return [c for c in items if isinstance(c, dict) and isinstance(c.get("name"), str)]


def requests_of(container: dict) -> tuple[int, int]:
    resources = container.get("resources") if isinstance(container.get("resources"), dict) else {}
    requests = resources.get("requests") if isinstance(resources.get("requests"), dict) else {}
    limits = resources.get("limits") if isinstance(resources.get("limits"), dict) else {}
    cpu = cpu_millis(requests.get("cpu", limits.get("cpu")), 0) or 0
    memory = byte_count(requests.get("memory", limits.get("memory")), 0) or 0
    return cpu, memory


def limits_of(container: dict) -> tuple[int, int]:
    resources = container.get("resources") if isinstance(container.get("resources"), dict) else {}
    limits = resources.get("limits") if isinstance(resources.get("limits"), dict) else {}
    return cpu_millis(limits.get("cpu"), 0) or 0, byte_count(limits.get("memory"), 0) or 0


def pod_requests(pod: dict) -> tuple[int, int]:
    """The pod's effective request: the larger of the sum over its containers and any one init container."""
    cpu = sum(requests_of(c)[0] for c in containers_of(pod))
    memory = sum(requests_of(c)[1] for c in containers_of(pod))
    for c in containers_of(pod, init=True):
        ic, im = requests_of(c)
        cpu, memory = max(cpu, ic), max(memory, im)
    return cpu, memory


def qos_class(pod: dict) -> str:
    return dig(pod, "status", "qosClass") or "BestEffort"


def _time(t) -> str | None:
    return None if t is None else rfc3339(t)


def container_status(cs: dict, spec: dict) -> dict:
    image = spec.get("image", "")
    out = {"name": cs["name"], "state": {}, "lastState": {}, "ready": bool(cs["ready"]), "restartCount": cs["restarts"],
           "image": cs.get("image_ref") or image, "imageID": cs.get("repo_digest") or "",
           "started": bool(cs["state"] == "running" and cs["started"])}
    if cs.get("id"):
        out["containerID"] = f"containerd://{cs['id']}"
    if cs["state"] == "running":
        out["state"] = {"running": {"startedAt": _time(cs["running_since"])}}
    elif cs["state"] == "terminated":
        out["state"] = {"terminated": _terminated(cs["terminated"])}
    else:
        waiting = {"reason": cs["waiting"].get("reason") or "ContainerCreating"}
        if cs["waiting"].get("message"):
            waiting["message"] = cs["waiting"]["message"]
        out["state"] = {"waiting": waiting}
    if cs.get("last_terminated"):
        out["lastState"] = {"terminated": _terminated(cs["last_terminated"])}
    return out


def _terminated(t: dict) -> dict:
    out = {"exitCode": t["exit_code"], "reason": t["reason"], "startedAt": _time(t.get("started")), "finishedAt": _time(t.get("finished"))}
    if t.get("id"):
        out["containerID"] = f"containerd://{t['id']}"
    if t.get("message"):
        out["message"] = t["message"]
    if t.get("signal"):
        out["signal"] = t["signal"]
    return out


def phase_of(worker: dict, pod: dict) -> str:
    if worker.get("terminal_phase"):
        return worker["terminal_phase"]
    policy = dig(pod, "spec", "restartPolicy") or "Always"
    inits = [worker["containers"][c["name"]] for c in containers_of(pod, init=True) if c["name"] in worker["containers"]]
    if any(not _init_done(cs, worker) for cs in inits):
        return "Pending"
    running = waiting = stopped = succeeded = 0
    for c in containers_of(pod):
        cs = worker["containers"].get(c["name"])
        if cs is None:
            continue
        if cs["state"] == "running":
            running += 1
        elif cs["state"] == "terminated":
            stopped += 1
            if cs["terminated"]["exit_code"] == 0:
                succeeded += 1
        elif cs.get("last_terminated"):
            stopped += 1
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def _init_done(cs: dict, worker: dict) -> bool:
    """For status: the init container's latest run succeeded (after a new sandbox it runs again,
    but the status shows the last run until then, as the real kubelet's does)."""
    return cs["state"] == "terminated" and cs["terminated"]["exit_code"] == 0


def conditions_of(worker: dict, pod: dict, phase: str, now: int, old: list) -> list:
    old_by_type = {c.get("type"): c for c in old or [] if isinstance(c, dict)}
    sandbox_up = bool(worker.get("sandbox") and worker["sandbox"].get("state") == "ready")
    inits = containers_of(pod, init=True)
    initialized = all(worker["containers"].get(c["name"]) and _init_done(worker["containers"][c["name"]], worker) for c in inits)
    regular = [worker["containers"].get(c["name"]) for c in containers_of(pod)]
    ready = bool(regular) and all(cs is not None and cs["ready"] for cs in regular) and phase == "Running"
    reasons = {}
    if not initialized:
        pending = [c["name"] for c in inits if not (worker["containers"].get(c["name"]) and _init_done(worker["containers"][c["name"]], worker))]
        reasons["Initialized"] = ("ContainersNotInitialized", f"containers with incomplete status: [{' '.join(pending)}]")
    if not ready:
        if phase in ("Succeeded", "Failed"):
            reasons["ContainersReady"] = reasons["Ready"] = ("PodCompleted", "")
        else:
            unready = [c["name"] for c in containers_of(pod) if not (worker["containers"].get(c["name"]) and worker["containers"][c["name"]]["ready"])]
            reasons["ContainersReady"] = reasons["Ready"] = ("ContainersNotReady", f"containers with unready status: [{' '.join(unready)}]")
    wanted = [
        ("PodReadyToStartContainers", sandbox_up),
        ("Initialized", initialized),
        ("Ready", ready),
        ("ContainersReady", ready),
    ]
    out = []
    for ctype, value in wanted:
        status = "True" if value else "False"
        previous = old_by_type.get(ctype)
        cond = {"type": ctype, "status": status, "lastProbeTime": None,
                "lastTransitionTime": previous.get("lastTransitionTime") if previous and previous.get("status") == status else rfc3339(now)}
        if not value and ctype in reasons:
            reason, message = reasons[ctype]
            cond["reason"] = reason
            if message:
                cond["message"] = message
        out.append(cond)
    scheduled = old_by_type.get("PodScheduled")
    if scheduled is not None:
        out.append(dict(scheduled))
    return out


def pod_status(worker: dict, pod: dict, node_ip: str, now: int) -> dict:
    phase = phase_of(worker, pod)
    old = dig(pod, "status", default={}) or {}
    status = {"phase": phase, "conditions": conditions_of(worker, pod, phase, now, old.get("conditions") or []),
              "hostIP": node_ip, "hostIPs": [{"ip": node_ip}], "qosClass": old.get("qosClass") or "BestEffort"}
    if worker.get("start_time") is not None:
        status["startTime"] = rfc3339(worker["start_time"])
    sandbox = worker.get("sandbox")
    if sandbox and sandbox.get("ip"):
        status["podIP"] = sandbox["ip"]
        status["podIPs"] = [{"ip": sandbox["ip"]}]
    inits = containers_of(pod, init=True)
    if inits:
        status["initContainerStatuses"] = [container_status(worker["containers"][c["name"]], c) for c in inits if c["name"] in worker["containers"]]
    status["containerStatuses"] = [container_status(worker["containers"][c["name"]], c) for c in containers_of(pod) if c["name"] in worker["containers"]]
    if worker.get("reason"):
        status["reason"] = worker["reason"]
        status["message"] = worker.get("message") or ""
    return status
