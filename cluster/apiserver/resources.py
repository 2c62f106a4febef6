"""The API's resource table: one row per resource, the single source for discovery,
routing, storage keys and scope.

    info = lookup("apps", "deployments")      # a row (a plain dict), or None
    info["kind"], info["namespaced"]           # "Deployment", True
    etcd_key(info, "default", "web")           # "/registry/deployments/default/web"
    BY_KIND[("apps", "Deployment")]            # the same row, found by kind

Each row:
    group, version, kind, plural, singular, namespaced, shortNames, categories, verbs,
    subresources: [{"name", "group", "version", "kind", "verbs"}],
    etcd_prefix   the real kube-apiserver key prefix under /registry/ (nodes are
                  "minions", services "services/specs", endpoints "services/endpoints"),
    generation    true when the kind tracks metadata.generation (bumped on spec changes),
    status        true when status is a subresource (the main resource ignores status
                  changes and the status subresource ignores everything else).

The HTTP layer builds discovery from RESOURCES in this order (the order of `get all`).
"""

CRUD = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SUB_RW = ["get", "patch", "update"]


def _sub(name, kind, verbs, group=None, version="v1"):
    return {"name": name, "group": group, "version": version, "kind": kind, "verbs": verbs}


def _row(group, kind, plural, *, namespaced=True, short=(), categories=(), subresources=(), etcd_prefix=None, generation=False, status=False, verbs=None, version="v1"):
    subs = []
    for sub in subresources:
        sub = dict(sub)
        if sub["group"] is None:
            sub["group"] = group
        subs.append(sub)
    return {
        "group": group,
        "version": version,
        "kind": kind,
        "plural": plural,
        "singular": kind.lower(),
        "namespaced": namespaced,
        "shortNames": list(short),
        "categories": list(categories),
        "verbs": list(verbs or CRUD),
        "subresources": subs,
        "etcd_prefix": etcd_prefix or plural,
        "generation": generation,
        "status": status,
    }


def _status(kind):
    return _sub("status", kind, SUB_RW)


def _scale():
    return _sub("scale", "Scale", SUB_RW, group="autoscaling")


RESOURCES: list[dict] = [
    _row("", "Pod", "pods", short=["po"], categories=["all"], status=True,
         subresources=[_status("Pod"), _sub("binding", "Binding", ["create"]), _sub("eviction", "Eviction", ["create"], group="policy"), _sub("log", "Pod", ["get"])]),
    _row("", "Service", "services", short=["svc"], categories=["all"], status=True, etcd_prefix="services/specs", subresources=[_status("Service")]),
    _row("apps", "Deployment", "deployments", short=["deploy"], categories=["all"], generation=True, status=True, subresources=[_scale(), _status("Deployment")]),
    _row("apps", "ReplicaSet", "replicasets", short=["rs"], categories=["all"], generation=True, status=True, subresources=[_scale(), _status("ReplicaSet")]),
    _row("apps", "StatefulSet", "statefulsets", short=["sts"], categories=["all"], generation=True, status=True, subresources=[_scale(), _status("StatefulSet")]),
    _row("apps", "DaemonSet", "daemonsets", short=["ds"], categories=["all"], generation=True, status=True, subresources=[_status("DaemonSet")]),
    _row("batch", "Job", "jobs", categories=["all"], generation=True, status=True, subresources=[_status("Job")]),
    _row("batch", "CronJob", "cronjobs", short=["cj"], categories=["all"], generation=True, status=True, subresources=[_status("CronJob")]),
    _row("", "Namespace", "namespaces", namespaced=False, short=["ns"], status=True,
         verbs=["create", "delete", "get", "list", "patch", "update", "watch"], subresources=[_status("Namespace"), _sub("finalize", "Namespace", ["update"])]),
    _row("", "Node", "nodes", namespaced=False, short=["no"], status=True, etcd_prefix="minions", subresources=[_status("Node")]),
    _row("", "Endpoints", "endpoints", short=["ep"], etcd_prefix="services/endpoints"),
    _row("discovery.k8s.io", "EndpointSlice", "endpointslices"),
    _row("", "ConfigMap", "configmaps", short=["cm"]),
    _row("", "Secret", "secrets"),
    _row("", "Event", "events", short=["ev"]),
    _row("coordination.k8s.io", "Lease", "leases"),
    _row("", "ResourceQuota", "resourcequotas", short=["quota"], status=True, subresources=[_status("ResourceQuota")]),
    _row("policy", "PodDisruptionBudget", "poddisruptionbudgets", short=["pdb"], generation=True, status=True, subresources=[_status("PodDisruptionBudget")]),
    _row("", "ServiceAccount", "serviceaccounts", short=["sa"]),
    _row("rbac.authorization.k8s.io", "Role", "roles"),
    _row("rbac.authorization.k8s.io", "ClusterRole", "clusterroles", namespaced=False),
    _row("rbac.authorization.k8s.io", "RoleBinding", "rolebindings"),
    _row("rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings", namespaced=False),
]

BY_RESOURCE: dict[tuple, dict] = {(r["group"], r["plural"]): r for r in RESOURCES}
BY_KIND: dict[tuple, dict] = {(r["group"], r["kind"]): r for r in RESOURCES}
BY_PREFIX: dict[str, dict] = {r["etcd_prefix"]: r for r in RESOURCES}

# Kinds that are not stored but travel in request and response bodies.
SUBRESOURCE_KINDS = {"Scale": "autoscaling/v1", "Binding": "v1", "Eviction": "policy/v1", "DeleteOptions": "v1", "Status": "v1"}

REGISTRY = "/registry/"


def lookup(group: str, plural: str) -> dict | None:
    return BY_RESOURCE.get((group, plural))


def api_version(info: dict) -> str:
    return f"{info['group']}/{info['version']}" if info["group"] else info["version"]


def group_resource(info: dict) -> str:
    """`deployments.apps`, or `pods` for the core group (as in error messages)."""
    return f"{info['plural']}.{info['group']}" if info["group"] else info["plural"]


def qualified_kind(info: dict) -> str:
    """`Deployment.apps`, or `Pod` for the core group (as in Invalid messages)."""
    return f"{info['kind']}.{info['group']}" if info["group"] else info["kind"]


def resource_prefix(info: dict) -> str:
    return f"{REGISTRY}{info['etcd_prefix']}/"


def etcd_key(info: dict, namespace: str | None, name: str) -> str:
    if info["namespaced"]:
        return f"{REGISTRY}{info['etcd_prefix']}/{namespace}/{name}"
    return f"{REGISTRY}{info['etcd_prefix']}/{name}"


def parse_key(key: str) -> tuple[dict, str | None, str] | None:
    """(row, namespace, name) for a registry key, or None for a key of no known resource."""
    if not key.startswith(REGISTRY):
        return None
    parts = key[len(REGISTRY):].split("/")
    for width in (2, 1):
        info = BY_PREFIX.get("/".join(parts[:width]))
        if info is None:
            continue
        rest = parts[width:]
        if info["namespaced"] and len(rest) == 2 and rest[0] and rest[1]:
            return info, rest[0], rest[1]
        if not info["namespaced"] and len(rest) == 1 and rest[0]:
            return info, None, rest[0]
    return None


def subresource(info: dict, name: str) -> dict | None:
    for sub in info["subresources"]:
        if sub["name"] == name:
            return sub
    return None
