"""Server-side printing: meta.k8s.io/v1 Table objects with the columns kubectl shows.

    table(info, [pod, ...], now_us, include_object="Metadata", resource_version="42")

Ages are formatted with Kubernetes' HumanDuration rules (`5s`, `3m2s`, `5m`, `2d3h`)
from virtual time; pod STATUS follows kubectl's printPod. Everything here is a pure
function of its arguments.
"""

from ..kernel import SECOND
from .meta import copy_json, dig, parse_time
from .resources import api_version
from .selectors import selector_string


def human_duration(seconds: int) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration, for whole seconds."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def since(timestamp, now_us: int) -> str:
    """translateTimestampSince: `<unknown>` for no timestamp, else the human age."""
    moment = parse_time(timestamp)
    if moment is None:
        return "<unknown>"
    return human_duration((now_us - moment) // SECOND)


def _col(name, type_="string", priority=0, fmt=None):
    out = {"name": name, "type": type_, "format": fmt or "", "description": "", "priority": priority}
    return out


NAME = _col("Name", fmt="name")
AGE = _col("Age")


def _name(obj) -> str:
    return dig(obj, "metadata", "name", default="") or ""


def _age(obj, now) -> str:
    return since(dig(obj, "metadata", "creationTimestamp"), now)


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _containers_images(template_spec) -> tuple[str, str]:
    containers = [c for c in _list(dig(template_spec, "containers", default=[])) if isinstance(c, dict)]
    return ",".join(str(c.get("name", "")) for c in containers), ",".join(str(c.get("image", "")) for c in containers)


def _none(text) -> str:
    return str(text) if text else "<none>"


def _d(value) -> dict:
    return value if isinstance(value, dict) else {}


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _k(value):
    """A dict key from any JSON value (stored status may hold anything)."""
    return value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)


# --- pods ---------------------------------------------------------------------------------------
POD_COLUMNS = [NAME, _col("Ready"), _col("Status"), _col("Restarts"), AGE, _col("IP", priority=1), _col("Node", priority=1), _col("Nominated Node", priority=1), _col("Readiness Gates", priority=1)]


def pod_status(pod) -> tuple[str, int, int, int, int | None]:
    """(STATUS text, ready containers, total containers, restarts, last restart time in us)."""
    spec = _d(pod.get("spec"))
    status = _d(pod.get("status"))
    containers = _list(spec.get("containers"))
    init_specs = {_k(c.get("name")): c for c in _list(spec.get("initContainers")) if isinstance(c, dict)}
    total = len(containers) + sum(1 for c in init_specs.values() if c.get("restartPolicy") == "Always")
    ready = 0
    restarts = 0
    last_restart = None
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for condition in _list(status.get("conditions")):
        if isinstance(condition, dict) and condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    def note_restart(cs):
        nonlocal last_restart
        finished = parse_time(dig(cs, "lastState", "terminated", "finishedAt"))
        if finished is not None and (last_restart is None or finished > last_restart):
            last_restart = finished

    initializing = False
    init_statuses = [c for c in _list(status.get("initContainerStatuses")) if isinstance(c, dict)]
    sidecar_restarts = 0
    for i, cs in enumerate(init_statuses):
        restarts += _int(cs.get("restartCount"))
        note_restart(cs)
        sidecar = dig(init_specs.get(_k(cs.get("name"))), "restartPolicy") == "Always"
        if sidecar:
            sidecar_restarts += _int(cs.get("restartCount"))
        terminated = dig(cs, "state", "terminated")
        waiting = dig(cs, "state", "waiting")
        if isinstance(terminated, dict) and terminated.get("exitCode") == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if isinstance(terminated, dict):
            if terminated.get("reason"):
                reason = "Init:" + terminated["reason"]
            elif terminated.get("signal"):
                reason = f"Init:Signal:{terminated['signal']}"
            else:
                reason = f"Init:ExitCode:{terminated.get('exitCode', 0)}"
        elif isinstance(waiting, dict) and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break
    initialized = any(isinstance(c, dict) and c.get("type") == "Initialized" and c.get("status") == "True" for c in _list(status.get("conditions")))
    if not initializing or initialized:
        restarts = sidecar_restarts
        has_running = False
        for cs in reversed([c for c in _list(status.get("containerStatuses")) if isinstance(c, dict)]):
            restarts += _int(cs.get("restartCount"))
            note_restart(cs)
            waiting = dig(cs, "state", "waiting")
            terminated = dig(cs, "state", "terminated")
            if isinstance(waiting, dict) and waiting.get("reason"):
                reason = waiting["reason"]
            elif isinstance(terminated, dict) and terminated.get("reason"):
                reason = terminated["reason"]
            elif isinstance(terminated, dict):
                reason = f"Signal:{terminated['signal']}" if terminated.get("signal") else f"ExitCode:{terminated.get('exitCode', 0)}"
            elif cs.get("ready") and isinstance(dig(cs, "state", "running"), dict):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            ready_condition = any(isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True" for c in _list(status.get("conditions")))
            reason = "Running" if ready_condition else "NotReady"
    deleting = bool(dig(pod, "metadata", "deletionTimestamp"))
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return reason, ready, total, restarts, last_restart


def _pod_row(pod, now) -> list:
    reason, ready, total, restarts, last_restart = pod_status(pod)
    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({human_duration((now - last_restart) // SECOND)} ago)"
    spec = _d(pod.get("spec"))
    status = _d(pod.get("status"))
    ips = _list(status.get("podIPs"))
    ip = (ips[0].get("ip") if ips and isinstance(ips[0], dict) else None) or status.get("podIP")
    gates = _list(spec.get("readinessGates"))
    gates_text = "<none>"
    if gates:
        conditions = {_k(c.get("type")): c.get("status") for c in _list(status.get("conditions")) if isinstance(c, dict)}
        true = sum(1 for g in gates if isinstance(g, dict) and conditions.get(_k(g.get("conditionType"))) == "True")
        gates_text = f"{true}/{len(gates)}"
    return [_name(pod), f"{ready}/{total}", reason, restarts_text, _age(pod, now), _none(ip), _none(spec.get("nodeName")), _none(status.get("nominatedNodeName")), gates_text]


# --- workloads ----------------------------------------------------------------------------------
DEPLOYMENT_COLUMNS = [NAME, _col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer"), AGE, _col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)]


def _deployment_row(obj, now) -> list:
    spec, status = _d(obj.get("spec")), _d(obj.get("status"))
    containers, images = _containers_images(dig(spec, "template", "spec"))
    return [
        _name(obj),
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        _age(obj, now),
        containers,
        images,
        selector_string(spec.get("selector")),
    ]


REPLICASET_COLUMNS = [NAME, _col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer"), AGE, _col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)]


def _replicaset_row(obj, now) -> list:
    spec, status = _d(obj.get("spec")), _d(obj.get("status"))
    containers, images = _containers_images(dig(spec, "template", "spec"))
    return [_name(obj), spec.get("replicas", 0), status.get("replicas", 0), status.get("readyReplicas", 0), _age(obj, now), containers, images, selector_string(spec.get("selector"))]


DAEMONSET_COLUMNS = [
    NAME, _col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer"), _col("Up-to-date", "integer"), _col("Available", "integer"),
    _col("Node Selector"), AGE, _col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1),
]


def _daemonset_row(obj, now) -> list:
    spec, status = _d(obj.get("spec")), _d(obj.get("status"))
    containers, images = _containers_images(dig(spec, "template", "spec"))
    node_selector = _d(dig(spec, "template", "spec", "nodeSelector"))
    selector_text = ",".join(f"{k}={v}" for k, v in sorted(node_selector.items()))
    return [
        _name(obj), status.get("desiredNumberScheduled", 0), status.get("currentNumberScheduled", 0), status.get("numberReady", 0),
        status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0), _none(selector_text), _age(obj, now), containers, images,
        selector_string(spec.get("selector")),
    ]


STATEFULSET_COLUMNS = [NAME, _col("Ready"), AGE, _col("Containers", priority=1), _col("Images", priority=1)]


def _statefulset_row(obj, now) -> list:
    spec, status = _d(obj.get("spec")), _d(obj.get("status"))
    containers, images = _containers_images(dig(spec, "template", "spec"))
    return [_name(obj), f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}", _age(obj, now), containers, images]


JOB_COLUMNS = [NAME, _col("Status"), _col("Completions"), _col("Duration"), AGE, _col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)]


def _job_row(obj, now) -> list:
    spec, status = _d(obj.get("spec")), _d(obj.get("status"))
    completions = spec.get("completions")
    completions_text = f"{status.get('succeeded', 0)}/{completions}" if completions is not None else f"{status.get('succeeded', 0)}/1 of {spec.get('parallelism', 1)}"
    conditions = {_k(c.get("type")): c.get("status") for c in _list(status.get("conditions")) if isinstance(c, dict)}
    if conditions.get("Complete") == "True":
        state = "Complete"
    elif conditions.get("Failed") == "True":
        state = "Failed"
    elif dig(obj, "metadata", "deletionTimestamp"):
        state = "Terminating"
    elif conditions.get("SuccessCriteriaMet") == "True":
        state = "SuccessCriteriaMet"
    elif conditions.get("FailureTarget") == "True":
        state = "FailureTarget"
    elif conditions.get("Suspended") == "True":
        state = "Suspended"
    else:
        state = "Running"
    start, end = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = ""
    if start is not None:
        duration = human_duration(((end if end is not None else now) - start) // SECOND)
    containers, images = _containers_images(dig(spec, "template", "spec"))
    return [_name(obj), state, completions_text, duration, _age(obj, now), containers, images, selector_string(spec.get("selector"))]


CRONJOB_COLUMNS = [
    NAME, _col("Schedule"), _col("Timezone"), _col("Suspend", "boolean"), _col("Active", "integer"), _col("Last Schedule"), AGE,
    _col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1),
]


def _cronjob_row(obj, now) -> list:
    spec, status = _d(obj.get("spec")), _d(obj.get("status"))
    containers, images = _containers_images(dig(spec, "jobTemplate", "spec", "template", "spec"))
    last = status.get("lastScheduleTime")
    return [
        _name(obj), spec.get("schedule", ""), _none(spec.get("timeZone")), bool(spec.get("suspend")), len(_list(status.get("active"))),
        since(last, now) if last else "<none>", _age(obj, now), containers, images, selector_string(dig(spec, "jobTemplate", "spec", "selector")),
    ]


# --- services and networking ---------------------------------------------------------------------
SERVICE_COLUMNS = [NAME, _col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), AGE, _col("Selector", priority=1)]


def _service_row(obj, now) -> list:
    spec, status = _d(obj.get("spec")), _d(obj.get("status"))
    kind = spec.get("type", "ClusterIP")
    external = "<none>"
    if kind == "ExternalName":
        external = spec.get("externalName") or "<none>"
    elif kind == "LoadBalancer":
        ingress = [i.get("ip") or i.get("hostname") for i in _list(dig(status, "loadBalancer", "ingress", default=[])) if isinstance(i, dict)]
        ips = [*ingress, *_list(spec.get("externalIPs"))]
        external = ",".join(i for i in ips if i) or "<pending>"
    elif spec.get("externalIPs"):
        external = ",".join(_list(spec.get("externalIPs")))
    ports = []
    for port in _list(spec.get("ports")):
        if not isinstance(port, dict):
            continue
        text = f"{port.get('port')}"
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        ports.append(f"{text}/{port.get('protocol', 'TCP')}")
    selector = _d(spec.get("selector"))
    selector_text = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    return [_name(obj), kind, spec.get("clusterIP") or "<none>", external, ",".join(ports) or "<none>", _age(obj, now), _none(selector_text)]


ENDPOINTS_COLUMNS = [NAME, _col("Endpoints"), AGE]


def format_endpoints(subsets) -> str:
    pairs = []
    for subset in _list(subsets):
        if not isinstance(subset, dict):
            continue
        ports = [p for p in _list(subset.get("ports")) if isinstance(p, dict)] or [None]
        for address in _list(subset.get("addresses")):
            if not isinstance(address, dict):
                continue
            for port in ports:
                pairs.append(f"{address.get('ip')}:{port['port']}" if port else str(address.get("ip")))
    if not pairs:
        return "<none>"
    text = ",".join(pairs[:3])
    if len(pairs) > 3:
        text += f" + {len(pairs) - 3} more..."
    return text


def _endpoints_row(obj, now) -> list:
    return [_name(obj), format_endpoints(obj.get("subsets")), _age(obj, now)]


ENDPOINTSLICE_COLUMNS = [NAME, _col("AddressType"), _col("Ports"), _col("Endpoints"), AGE]


def _endpointslice_row(obj, now) -> list:
    ports = [str(p.get("port")) for p in _list(obj.get("ports")) if isinstance(p, dict) and p.get("port") is not None]
    addresses = [a for e in _list(obj.get("endpoints")) if isinstance(e, dict) for a in _list(e.get("addresses"))]
    text = ",".join(addresses[:3]) + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")
    return [_name(obj), obj.get("addressType", ""), ",".join(ports) or "<unset>", text or "<unset>", _age(obj, now)]


# --- cluster objects -------------------------------------------------------------------------------
NODE_COLUMNS = [
    NAME, _col("Status"), _col("Roles"), AGE, _col("Version"), _col("Internal-IP", priority=1), _col("External-IP", priority=1),
    _col("OS-Image", priority=1), _col("Kernel-Version", priority=1), _col("Container-Runtime", priority=1),
]


def node_status_text(node) -> str:
    conditions = {_k(c.get("type")): c.get("status") for c in _list(dig(node, "status", "conditions", default=[])) if isinstance(c, dict)}
    ready = conditions.get("Ready")
    parts = ["Ready" if ready == "True" else ("NotReady" if ready == "False" else "Unknown")]
    if dig(node, "spec", "unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def _node_row(obj, now) -> list:
    labels = _d(dig(obj, "metadata", "labels"))
    roles = sorted(k[len("node-role.kubernetes.io/"):] for k in labels if isinstance(k, str) and k.startswith("node-role.kubernetes.io/"))
    if labels.get("kubernetes.io/role"):
        roles = sorted({*roles, labels["kubernetes.io/role"]})
    addresses = {_k(a.get("type")): a.get("address") for a in _list(dig(obj, "status", "addresses", default=[])) if isinstance(a, dict)}
    info = _d(dig(obj, "status", "nodeInfo"))
    return [
        _name(obj), node_status_text(obj), ",".join(r for r in roles if r) or "<none>", _age(obj, now), info.get("kubeletVersion", ""),
        _none(addresses.get("InternalIP")), _none(addresses.get("ExternalIP")), info.get("osImage", "<unknown>") or "<unknown>",
        info.get("kernelVersion", "<unknown>") or "<unknown>", info.get("containerRuntimeVersion", "<unknown>") or "<unknown>",
    ]


NAMESPACE_COLUMNS = [NAME, _col("Status"), AGE]


def _namespace_row(obj, now) -> list:
    return [_name(obj), dig(obj, "status", "phase", default="Active") or "Active", _age(obj, now)]


EVENT_COLUMNS = [
    _col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Subobject", priority=1), _col("Source", priority=1), _col("Message"),
    _col("First Seen", priority=1), _col("Count", "integer", priority=1), _col("Name", priority=1),
]


def _event_row(obj, now) -> list:
    last = dig(obj, "series", "lastObservedTime") or obj.get("lastTimestamp") or obj.get("eventTime") or dig(obj, "metadata", "creationTimestamp")
    first = obj.get("firstTimestamp") or obj.get("eventTime") or dig(obj, "metadata", "creationTimestamp")
    involved = _d(obj.get("involvedObject"))
    source = obj.get("reportingComponent") or dig(obj, "source", "component") or ""
    host = dig(obj, "source", "host")
    if host:
        source = f"{source}, {host}"
    count = dig(obj, "series", "count") or obj.get("count") or 1
    return [
        since(last, now), obj.get("type", ""), obj.get("reason", ""), f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        involved.get("fieldPath", ""), source, str(obj.get("message", "")).strip(), since(first, now), count, _name(obj),
    ]


CONFIGMAP_COLUMNS = [NAME, _col("Data", "integer"), AGE]
SECRET_COLUMNS = [NAME, _col("Type"), _col("Data", "integer"), AGE]
LEASE_COLUMNS = [NAME, _col("Holder"), AGE]
SERVICEACCOUNT_COLUMNS = [NAME, _col("Secrets", "integer"), AGE]
QUOTA_COLUMNS = [NAME, AGE, _col("Request"), _col("Limit")]
PDB_COLUMNS = [NAME, _col("Min Available"), _col("Max Unavailable"), _col("Allowed Disruptions", "integer"), AGE]
ROLEBINDING_COLUMNS = [NAME, _col("Role"), AGE, _col("Users", priority=1), _col("Groups", priority=1), _col("ServiceAccounts", priority=1)]
CREATED_AT = [NAME, _col("Created At", "date")]


def _quota_row(obj, now) -> list:
    hard = _d(dig(obj, "status", "hard")) or _d(dig(obj, "spec", "hard"))
    used = _d(dig(obj, "status", "used"))
    requests, limits = [], []
    for name in sorted(hard):
        text = f"{name}: {used.get(name, '0')}/{hard[name]}"
        (limits if name.startswith("limits.") else requests).append(text)
    return [_name(obj), _age(obj, now), ", ".join(requests), ", ".join(limits)]


def _pdb_row(obj, now) -> list:
    spec = _d(obj.get("spec"))
    min_available = spec.get("minAvailable")
    max_unavailable = spec.get("maxUnavailable")
    return [
        _name(obj), "N/A" if min_available is None else str(min_available), "N/A" if max_unavailable is None else str(max_unavailable),
        dig(obj, "status", "disruptionsAllowed", default=0), _age(obj, now),
    ]


def _binding_row(obj, now) -> list:
    ref = _d(obj.get("roleRef"))
    subjects = [s for s in _list(obj.get("subjects")) if isinstance(s, dict)]
    users = ",".join(s.get("name", "") for s in subjects if s.get("kind") == "User")
    groups = ",".join(s.get("name", "") for s in subjects if s.get("kind") == "Group")
    accounts = ",".join(f"{s.get('namespace', '')}/{s.get('name', '')}" for s in subjects if s.get("kind") == "ServiceAccount")
    return [_name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}", _age(obj, now), users, groups, accounts]


PRINTERS = {
    "pods": (POD_COLUMNS, _pod_row),
    "deployments": (DEPLOYMENT_COLUMNS, _deployment_row),
    "replicasets": (REPLICASET_COLUMNS, _replicaset_row),
    "daemonsets": (DAEMONSET_COLUMNS, _daemonset_row),
    "statefulsets": (STATEFULSET_COLUMNS, _statefulset_row),
    "jobs": (JOB_COLUMNS, _job_row),
    "cronjobs": (CRONJOB_COLUMNS, _cronjob_row),
    "services": (SERVICE_COLUMNS, _service_row),
    "endpoints": (ENDPOINTS_COLUMNS, _endpoints_row),
    "endpointslices": (ENDPOINTSLICE_COLUMNS, _endpointslice_row),
    "nodes": (NODE_COLUMNS, _node_row),
    "namespaces": (NAMESPACE_COLUMNS, _namespace_row),
    "events": (EVENT_COLUMNS, _event_row),
    "configmaps": (CONFIGMAP_COLUMNS, lambda o, now: [_name(o), len(o.get("data") or {}) + len(o.get("binaryData") or {}), _age(o, now)]),
    "secrets": (SECRET_COLUMNS, lambda o, now: [_name(o), o.get("type", "Opaque"), len(o.get("data") or {}), _age(o, now)]),
    "leases": (LEASE_COLUMNS, lambda o, now: [_name(o), dig(o, "spec", "holderIdentity", default="") or "", _age(o, now)]),
    "serviceaccounts": (SERVICEACCOUNT_COLUMNS, lambda o, now: [_name(o), len(_list(o.get("secrets"))), _age(o, now)]),
    "resourcequotas": (QUOTA_COLUMNS, _quota_row),
    "poddisruptionbudgets": (PDB_COLUMNS, _pdb_row),
    "rolebindings": (ROLEBINDING_COLUMNS, _binding_row),
    "clusterrolebindings": (ROLEBINDING_COLUMNS, _binding_row),
}


def _created_at_row(obj, now) -> list:
    return [_name(obj), dig(obj, "metadata", "creationTimestamp", default="")]


def columns(plural: str) -> list[dict]:
    return [dict(c) for c in PRINTERS.get(plural, (CREATED_AT, None))[0]]


def row(info: dict, obj: dict, now_us: int, include_object: str | None = "Metadata") -> dict:
    columns_, printer = PRINTERS.get(info["plural"], (CREATED_AT, _created_at_row))
    try:
        cells = printer(obj, now_us)
    except (TypeError, ValueError, AttributeError, KeyError):
        # Status written by a component is not validated field by field: print what can be printed.
        cells = [str(dig(obj, "metadata", "name", default=""))] + ["<error>"] * (len(columns_) - 1)
    out = {"cells": cells}
    if include_object == "Object":
        out["object"] = copy_json(obj)
    elif include_object != "None":
        out["object"] = partial_metadata(obj)
    return out


def partial_metadata(obj: dict) -> dict:
    """The row's object for includeObject=Metadata: a new metadata dict whose values (labels,
    annotations, ownerReferences, managedFields) are the object's own, not copies. Copying
    them was most of the time of a 10,000-pod `kubectl get pods`; sharing them is safe because
    the objects passed here are never changed in place (the watch cache replaces an object on
    every change, and writers copy first) and a Table is only ever serialized."""
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": dict(obj.get("metadata") or {})}


def table(info: dict, objs: list[dict], now_us: int, include_object: str | None = "Metadata", resource_version: str | None = None,
          continue_token: str | None = None, with_columns: bool = True) -> dict:
    """A meta.k8s.io/v1 Table of the objects (`include_object`: None, Metadata or Object).
    The objects are only read: pass the watch cache's own, uncopied (see partial_metadata)."""
    meta = {}
    if resource_version is not None:
        meta["resourceVersion"] = resource_version
    if continue_token:
        meta["continue"] = continue_token
    out = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
    if with_columns:
        out["columnDefinitions"] = columns(info["plural"])
    out["rows"] = [row(info, obj, now_us, include_object) for obj in objs]
    return out


def kind_list(info: dict) -> dict:
    return {"kind": f"{info['kind']}List", "apiVersion": api_version(info)}
