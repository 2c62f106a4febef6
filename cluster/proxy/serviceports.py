"""What kube-proxy makes of Services and EndpointSlices (pkg/proxy: servicechangetracker.go,
endpointslicecache.go, topology.go), as plain data both proxy modes build their rules from.

    ports = service_ports(service)           one entry per port of a Service with a cluster IP
    eps = endpoints_for(ports[0], slices, "node-1")
    cluster, local, reachable, has_any = categorize(eps, ports[0])

A service port (ServicePortName): its key is `namespace/name` plus `:portname` when the port
is named, exactly the string kube-proxy hashes into chain names and writes into comments:

    {"key": "default/web:http", "service": "default/web", "port_name": "http", "protocol": "TCP",
     "cluster_ip": "10.96.14.2", "port": 80, "node_port": 30080 (0: none), "affinity_seconds": 10800 (0: none),
     "internal_local": False, "external_local": False, "externally_accessible": True}

An endpoint, from every slice labelled with the Service's name whose port of that name and
protocol resolves (the same address in two slices counts once):

    {"endpoint": "10.244.2.3:8080", "ip": "10.244.2.3", "port": 8080, "pod": "web-7f9c-x2k4q",
     "node": "node-2", "ready": True, "serving": True, "terminating": False, "local": False}

Endpoints are sorted by their "ip:port" string, as kube-proxy's endpoint cache sorts them, so
10.244.1.10:80 comes before 10.244.1.9:80. Headless Services (clusterIP None) and
ExternalName Services get no port entries: kube-proxy writes no rules for them.
"""

from ..apiserver.meta import dig, meta_of

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
DEFAULT_AFFINITY_SECONDS = 10800  # sessionAffinityConfig.clientIP.timeoutSeconds default (3 h)


def service_ports(service: dict) -> list[dict]:
    spec = service.get("spec") if isinstance(service.get("spec"), dict) else {}
    kind = spec.get("type") or "ClusterIP"
    ip = spec.get("clusterIP")
    if kind == "ExternalName" or not isinstance(ip, str) or ip in ("", "None"):
        return []
    meta = meta_of(service)
    namespace, name = meta.get("namespace") or "default", meta.get("name") or ""
    affinity = 0
    if spec.get("sessionAffinity") == "ClientIP":
        seconds = dig(spec, "sessionAffinityConfig", "clientIP", "timeoutSeconds")
        affinity = seconds if isinstance(seconds, int) and not isinstance(seconds, bool) and seconds > 0 else DEFAULT_AFFINITY_SECONDS
    out = []
    for port in spec.get("ports") or []:
        if not isinstance(port, dict) or not isinstance(port.get("port"), int):
            continue
        port_name = port.get("name") or ""
        node_port = port.get("nodePort") if kind in ("NodePort", "LoadBalancer") and isinstance(port.get("nodePort"), int) else 0
        accessible = bool(node_port) or kind == "LoadBalancer"
        out.append({
            "key": f"{namespace}/{name}" + (f":{port_name}" if port_name else ""),
            "service": f"{namespace}/{name}",
            "namespace": namespace,
            "name": name,
            "port_name": port_name,
            "protocol": port.get("protocol") or "TCP",
            "cluster_ip": ip,
            "port": port["port"],
            "node_port": node_port,
            "affinity_seconds": affinity,
            "internal_local": spec.get("internalTrafficPolicy") == "Local",
            # ExternalPolicyLocal is false for a Service nothing outside can reach.
            "external_local": accessible and spec.get("externalTrafficPolicy") == "Local",
            "externally_accessible": accessible,
        })
    return out


def endpoints_for(info: dict, slices: list[dict], node: str) -> list[dict]:
    """The endpoints of one service port on `node`, from the Service's EndpointSlices."""
    found: dict[str, dict] = {}
    for slice_ in sorted(slices, key=lambda s: meta_of(s).get("name") or ""):
        if slice_.get("addressType", "IPv4") != "IPv4":
            continue
        port = None
        for candidate in slice_.get("ports") or []:
            if not isinstance(candidate, dict):
                continue
            if (candidate.get("name") or "") == info["port_name"] and (candidate.get("protocol") or "TCP") == info["protocol"]:
                port = candidate.get("port")
                break
        if not isinstance(port, int) or port <= 0:
            continue
        for ep in slice_.get("endpoints") or []:
            addresses = ep.get("addresses") if isinstance(ep, dict) else None
            if not addresses or not isinstance(addresses[0], str):
                continue
            conditions = ep.get("conditions") if isinstance(ep.get("conditions"), dict) else {}
            # Unset conditions: ready means true, serving means "as ready" (EndpointConditions).
            ready = conditions.get("ready") is not False
            serving = conditions.get("serving") if isinstance(conditions.get("serving"), bool) else ready
            key = f"{addresses[0]}:{port}"
            if key in found:
                continue
            ep_node = ep.get("nodeName") if isinstance(ep.get("nodeName"), str) else None
            target = ep.get("targetRef") if isinstance(ep.get("targetRef"), dict) else {}
            found[key] = {
                "endpoint": key, "ip": addresses[0], "port": port, "pod": target.get("name") if target.get("kind", "Pod") == "Pod" else None,
                "node": ep_node, "ready": ready, "serving": serving, "terminating": conditions.get("terminating") is True, "local": ep_node == node,
            }
    return [found[key] for key in sorted(found)]


def categorize(endpoints: list[dict], info: dict) -> tuple[list, list, list, bool]:
    """proxy.CategorizeEndpoints: (cluster endpoints, local endpoints, every endpoint this node's
    rules may reach, whether the Service has any usable endpoint anywhere).

    Cluster policy uses the ready endpoints, or when there is none the serving terminating
    ones (so a rollout's last pods keep answering while they drain). Local policy does the
    same among the endpoints on this node.
    """
    # UsesClusterEndpoints: an externally reachable Service always has a cluster chain, since
    # pod traffic to its external destinations is short-circuited to it even under Local.
    uses_cluster = not info["internal_local"] or info["externally_accessible"]
    uses_local = info["internal_local"] or (info["externally_accessible"] and info["external_local"])
    cluster: list = []
    local: list = []
    has_any = False
    if uses_cluster:
        cluster = [e for e in endpoints if e["ready"]]
        if not cluster:
            cluster = [e for e in endpoints if e["serving"] and e["terminating"]]
        has_any = bool(cluster)
    if not uses_local:
        return cluster, local, cluster, has_any
    local_ready = local_serving = False
    for e in endpoints:
        if e["ready"]:
            has_any = True
            local_ready = local_ready or e["local"]
        elif e["serving"] and e["terminating"]:
            has_any = True
            local_serving = local_serving or e["local"]
    if local_ready:
        local = [e for e in endpoints if e["local"] and e["ready"]]
    elif local_serving:
        local = [e for e in endpoints if e["local"] and e["serving"] and e["terminating"]]
    if not uses_cluster:
        return cluster, local, local, has_any
    seen = {e["endpoint"] for e in cluster}
    reachable = sorted(cluster + [e for e in local if e["endpoint"] not in seen], key=lambda e: e["endpoint"])
    return cluster, local, reachable, has_any


def service_label(slice_: dict) -> str | None:
    """`namespace/name` of the Service a slice belongs to (its kubernetes.io/service-name label)."""
    meta = meta_of(slice_)
    name = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return f"{meta.get('namespace')}/{name}" if name else None
