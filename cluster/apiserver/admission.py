"""Admission that needs the cluster's state: Service address allocation, ResourceQuota
and PodDisruptionBudgets for evictions. Each function reads the API server's watch
cache (and its in-flight reservations), never etcd directly.

Quota usage is computed from the cache (the pods and objects that exist in the
namespace) plus the creates that admission let through and that the cache has not seen
yet, so two racing creates cannot both take the last unit of a quota. (Kubernetes
keeps the count in ResourceQuota.status.used, updated by compare-and-swap; the
quota controller that would maintain that status is not simulated, so the usage is
derived here.)
"""

import ipaddress
import math

from . import status as st
from .meta import dig, meta_of
from .selectors import labels_match, selector_from_label_selector
from .status import ApiError
from .validation import parse_quantity

NODE_PORT_RANGE = (30000, 32767)


# --- Service addresses ------------------------------------------------------------------------------
def service_ip_at(cidr: str, index: int) -> str:
    network = ipaddress.ip_network(cidr, strict=False)
    return str(network.network_address + index)


def _ips_in_use(server) -> set[str]:
    used = set()
    for _key, svc in server.cache.items("services"):
        for ip in dig(svc, "spec", "clusterIPs", default=[]) or [dig(svc, "spec", "clusterIP")]:
            if isinstance(ip, str):
                used.add(ip)
    for op in server.ops.values():
        if op.get("allocated_ip"):
            used.add(op["allocated_ip"])
    return used


def _node_ports_in_use(server) -> set[int]:
    used = set()
    for _key, svc in server.cache.items("services"):
        for port in dig(svc, "spec", "ports", default=[]) or []:
            if isinstance(port, dict) and isinstance(port.get("nodePort"), int):
                used.add(port["nodePort"])
    for op in server.ops.values():
        used.update(op.get("allocated_ports") or [])
    return used


def allocate_service_addresses(server, op: dict, obj: dict, old: dict | None) -> None:
    """Give a Service its cluster IP (from the service CIDR) and node ports, keeping the
    ones it already has on update. A requested IP must be free and in range."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    kind = spec.get("type", "ClusterIP")
    old_spec = old.get("spec") if isinstance(old, dict) and isinstance(old.get("spec"), dict) else {}
    if kind == "ExternalName":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
        return
    ip = spec.get("clusterIP")
    if not ip and old_spec.get("clusterIP"):
        ip = old_spec["clusterIP"]
    elif not ip:
        if op.get("allocated_ip"):
            ip = op["allocated_ip"]
        else:
            ip = _draw_ip(server)
            op["allocated_ip"] = ip
    elif ip != "None" and ip != old_spec.get("clusterIP"):
        _check_requested_ip(server, op, ip)
    spec["clusterIP"] = ip
    spec["clusterIPs"] = [ip]
    if ip != "None":
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    else:
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    if kind in ("NodePort", "LoadBalancer"):
        old_ports = {_port_key(p): p.get("nodePort") for p in old_spec.get("ports") or [] if isinstance(p, dict)}
        allocated = list(op.get("allocated_ports") or [])
        used = None
        index = 0
        for port in spec.get("ports") or []:
            if not isinstance(port, dict) or port.get("nodePort"):
                continue
            previous = old_ports.get(_port_key(port))
            if previous:
                port["nodePort"] = previous
                continue
            if index < len(allocated):
                port["nodePort"] = allocated[index]
            else:
                used = used if used is not None else _node_ports_in_use(server)
                port["nodePort"] = _draw_node_port(server, used)
                used.add(port["nodePort"])
                allocated.append(port["nodePort"])
            index += 1
        op["allocated_ports"] = allocated


def _port_key(port: dict) -> str:
    return f"{port.get('port')!r}/{port.get('protocol', 'TCP')!r}"


def _draw_ip(server) -> str:
    network = ipaddress.ip_network(server.service_cidr, strict=False)
    size = network.num_addresses
    used = _ips_in_use(server)
    stream = server.stream("service-ips")
    start = stream.randint(2, size - 2)
    for step in range(size - 3):
        index = 2 + (start - 2 + step) % (size - 3)
        ip = str(network.network_address + index)
        if ip not in used:
            return ip
    raise ApiError(st.internal_error("range is full: no free cluster IP"))


def _check_requested_ip(server, op, ip) -> None:
    info = op["info"]
    name = dig(op.get("body"), "metadata", "name") or op.get("name") or ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise ApiError(st.invalid_status(info, name, [st.invalid("spec.clusterIPs[0]", ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")])) from None
    network = ipaddress.ip_network(server.service_cidr, strict=False)
    if address not in network:
        raise ApiError(st.invalid_status(info, name, [st.invalid("spec.clusterIPs", [ip], f"failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {server.service_cidr}")]))
    if ip in _ips_in_use(server):
        raise ApiError(st.invalid_status(info, name, [st.invalid("spec.clusterIPs", [ip], f"failed to allocate IP {ip}: provided IP is already allocated")]))


def _draw_node_port(server, used: set) -> int:
    low, high = NODE_PORT_RANGE
    stream = server.stream("node-ports")
    start = stream.randint(low, high)
    span = high - low + 1
    for step in range(span):
        port = low + (start - low + step) % span
        if port not in used:
            return port
    raise ApiError(st.internal_error("range is full: no free node port"))


# --- ResourceQuota -------------------------------------------------------------------------------------
LEGACY_COUNTS = {"pods": "pods", "services": "services", "configmaps": "configmaps", "secrets": "secrets", "resourcequotas": "resourcequotas",
                 "persistentvolumeclaims": "persistentvolumeclaims", "replicationcontrollers": "replicationcontrollers"}


def _count_name(info: dict) -> str:
    return f"count/{info['plural']}" + (f".{info['group']}" if info["group"] else "")


def pod_usage(pod: dict) -> dict:
    usage = {"pods": 1, "count/pods": 1}
    totals = {"requests.cpu": 0.0, "requests.memory": 0.0, "limits.cpu": 0.0, "limits.memory": 0.0}
    for container in dig(pod, "spec", "containers", default=[]) or []:
        if not isinstance(container, dict):
            continue
        resources = container.get("resources") if isinstance(container.get("resources"), dict) else {}
        for part in ("requests", "limits"):
            values = resources.get(part) if isinstance(resources.get(part), dict) else {}
            for name in ("cpu", "memory"):
                quantity = parse_quantity(values.get(name))
                if quantity:
                    totals[f"{part}.{name}"] += quantity
    usage.update(totals)
    usage["cpu"] = totals["requests.cpu"]
    usage["memory"] = totals["requests.memory"]
    return usage


def object_usage(info: dict, obj: dict) -> dict:
    if info["plural"] == "pods":
        return pod_usage(obj)
    usage = {_count_name(info): 1}
    legacy = LEGACY_COUNTS.get(info["plural"])
    if legacy and not info["group"]:
        usage[legacy] = 1
    if info["plural"] == "services":
        kind = dig(obj, "spec", "type", default="ClusterIP")
        ports = [p for p in dig(obj, "spec", "ports", default=[]) or [] if isinstance(p, dict)]
        if kind in ("NodePort", "LoadBalancer"):
            usage["services.nodeports"] = len(ports)
        if kind == "LoadBalancer":
            usage["services.loadbalancers"] = 1
    return usage


def _namespace_usage(server, namespace: str, names: set, skip: str | None = None) -> dict:
    from .resources import RESOURCES, resource_prefix

    used = dict.fromkeys(names, 0.0)
    for info in RESOURCES:
        if not info["namespaced"]:
            continue
        relevant = {_count_name(info), LEGACY_COUNTS.get(info["plural"])} & names
        if info["plural"] == "pods":
            relevant = names & {"pods", "count/pods", "cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"}
        if info["plural"] == "services":
            relevant |= names & {"services.nodeports", "services.loadbalancers"}
        if not relevant:
            continue
        for _key, obj in server.cache.items(info["plural"], resource_prefix(info) + namespace + "/"):
            if info["plural"] == "pods" and (dig(obj, "status", "phase") in ("Succeeded", "Failed")):
                continue
            for name, amount in object_usage(info, obj).items():
                if name in used:
                    used[name] += amount
    for key, reservation in server.reservations.items():
        if reservation["namespace"] != namespace or key == skip:
            continue
        for name, amount in reservation["usage"].items():
            if name in used:
                used[name] += amount
    return used


def format_quantity(name: str, value: float) -> str:
    if "cpu" in name:
        milli = round(value * 1000)
        return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"
    if "memory" in name or "storage" in name:
        number = round(value)
        for suffix, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
            if number and number % size == 0:
                return f"{number // size}{suffix}"
        return str(number)
    return str(round(value)) if value == int(value) else str(value)


def _pretty(values: dict) -> str:
    return ",".join(f"{name}={format_quantity(name, values[name])}" for name in sorted(values))


def check_quota(server, op: dict, obj: dict, old: dict | None) -> tuple[bool, str, dict | None]:
    """(allowed, message, usage to reserve). Only creates are charged."""
    info = op["info"]
    namespace = op.get("namespace")
    if old is not None or not info["namespaced"] or not namespace or op.get("dry_run"):
        return True, "", None
    quotas = [q for _k, q in server.cache.items("resourcequotas", f"/registry/resourcequotas/{namespace}/")]
    if not quotas:
        return True, "", None
    usage = object_usage(info, obj)
    for quota in sorted(quotas, key=lambda q: meta_of(q).get("name") or ""):
        hard = dig(quota, "spec", "hard", default={}) or {}
        if not isinstance(hard, dict):
            continue
        limits = {name: parse_quantity(value) for name, value in hard.items() if parse_quantity(value) is not None}
        name = meta_of(quota).get("name")
        if info["plural"] == "pods":
            missing = sorted(n for n in limits if n in ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory") and not usage.get(n))
            if missing:
                return False, f"failed quota: {name}: must specify {','.join(missing)}", None
        touched = {n for n in limits if usage.get(n)}
        if not touched:
            continue
        used = _namespace_usage(server, namespace, touched, skip=op["key"])
        exceeded = sorted(n for n in touched if used[n] + usage[n] > limits[n] + 1e-9)
        if exceeded:
            requested = {n: usage[n] for n in exceeded}
            message = f"exceeded quota: {name}, requested: {_pretty(requested)}, used: {_pretty({n: used[n] for n in exceeded})}, limited: {_pretty({n: limits[n] for n in exceeded})}"
            return False, message, None
    return True, "", usage


# --- The cluster's caps (ClusterConfig.max_pods, max_objects) -------------------------------------------
CAP_NAME = "cluster-limits"  # not a ResourceQuota object: the server's limit, named as quota messages name theirs


def cap_usage(server, plural: str) -> dict:
    """What a create would charge against the caps: one object, and one pod for a pod."""
    usage = {}
    if server.max_objects is not None:
        usage["cap/objects"] = 1
    if server.max_pods is not None and plural == "pods":
        usage["cap/pods"] = 1
    return usage


def check_caps(server, op: dict) -> tuple[bool, str, dict]:
    """(allowed, message, usage to reserve) for a create against the cluster-wide caps. Counted:
    every object in the watch cache (all kinds, pods whatever their phase: they take memory),
    plus creates admitted and not yet seen by the cache. The API server's own bootstrap
    (loopback) is never refused, so a restarted API server can always recreate its defaults."""
    if op.get("dry_run") or op.get("loopback"):
        return True, "", {}
    usage = cap_usage(server, op["info"]["plural"])
    if not usage:
        return True, "", {}
    used = {"cap/objects": sum(server.cache.count(plural) for plural in server.cache.objects), "cap/pods": server.cache.count("pods")}
    for key, reservation in server.reservations.items():
        if key != op["key"]:
            for name in used:
                used[name] += reservation["usage"].get(name, 0)
    limited = {"cap/objects": server.max_objects, "cap/pods": server.max_pods}
    exceeded = [name for name in sorted(usage) if used[name] + usage[name] > limited[name]]
    if exceeded:
        words = {"cap/objects": "objects", "cap/pods": "pods"}
        part = lambda values: ",".join(f"{words[n]}={values[n]}" for n in exceeded)  # noqa: E731
        return False, f"exceeded quota: {CAP_NAME}, requested: {part(usage)}, used: {part(used)}, limited: {part(limited)}", {}
    return True, "", usage


# --- PodDisruptionBudget (the eviction subresource) -------------------------------------------------------
def _healthy(pod: dict) -> bool:
    for condition in dig(pod, "status", "conditions", default=[]) or []:
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def _scaled(value, total: int, round_up: bool) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        amount = int(value[:-1]) * total / 100
        return math.ceil(amount) if round_up else math.floor(amount)
    return None


def disruption_budget(server, pdb: dict, namespace: str, skip: set) -> tuple[int, int, int]:
    """(expected pods, currently healthy, desired healthy) of a budget, from the cache."""
    reqs = selector_from_label_selector(dig(pdb, "spec", "selector"))
    expected, healthy = 0, 0
    for key, pod in server.cache.items("pods", f"/registry/pods/{namespace}/"):
        if not reqs or not labels_match(reqs, meta_of(pod).get("labels")):
            continue
        if meta_of(pod).get("deletionTimestamp") or dig(pod, "status", "phase") in ("Succeeded", "Failed"):
            continue
        expected += 1
        if _healthy(pod) and key not in skip:
            healthy += 1
    spec = pdb.get("spec") or {}
    if spec.get("maxUnavailable") is not None:
        unavailable = _scaled(spec["maxUnavailable"], expected, round_up=True) or 0
        desired = max(0, expected - unavailable)
    else:
        desired = _scaled(spec.get("minAvailable"), expected, round_up=True) or 0
    return expected, healthy, desired


def check_disruption(server, op: dict, pod: dict) -> tuple[bool, str, list]:
    """May this pod be evicted? (allowed, message, causes); records the eviction in flight."""
    namespace = op["namespace"]
    labels = meta_of(pod).get("labels") or {}
    pdbs = []
    for key, pdb in server.cache.items("poddisruptionbudgets", f"/registry/poddisruptionbudgets/{namespace}/"):
        reqs = selector_from_label_selector(dig(pdb, "spec", "selector"))
        if reqs and labels_match(reqs, labels):
            pdbs.append((key, pdb))
    if not pdbs:
        return True, "", []
    if len(pdbs) > 1:
        raise ApiError(st.internal_error("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."))
    key, pdb = pdbs[0]
    pod_key = op["etcd_key"]
    in_flight = set(server.evicting.get(key, []))
    _expected, healthy, desired = disruption_budget(server, pdb, namespace, in_flight)
    name = meta_of(pdb).get("name")
    if not _healthy(pod):
        if healthy >= desired:
            return True, "", []
    elif healthy - desired > 0:
        server.evicting.setdefault(key, [])
        if pod_key not in server.evicting[key]:
            server.evicting[key].append(pod_key)
        return True, "", []
    message = "Cannot evict pod as it would violate the pod's disruption budget."
    causes = [{"reason": "DisruptionBudget", "message": f"The disruption budget {name} needs {desired} healthy pods and has {healthy} currently"}]
    return False, message, causes

