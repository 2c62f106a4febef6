"""RBAC authorization over the objects in the watch cache, and the bootstrap roles.

    allowed, why = authorize(cache, user, attrs)
    attrs = {"verb": "list", "group": "", "resource": "pods", "subresource": None,
             "namespace": "default", "name": None}

A request is allowed when some rule of a role bound to the user (by a ClusterRoleBinding,
or by a RoleBinding in the request's namespace) matches verb, API group, resource (with
subresource as "pods/log") and, when the rule names any, the object name. "*" matches
everything in its list. The `system:masters` group and the API server's own components
(users named system:…, except anonymous and service accounts) are always allowed.
"""

from .meta import dig

RBAC = "rbac.authorization.k8s.io"


def forbidden_message(user: dict, attrs: dict, group_resource: str) -> str:
    """`pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"`."""
    resource = attrs["resource"] + (f"/{attrs['subresource']}" if attrs.get("subresource") else "")
    subject = f'{group_resource} "{attrs["name"]}"' if attrs.get("name") else group_resource
    scope = f'in the namespace "{attrs["namespace"]}"' if attrs.get("namespace") else "at the cluster scope"
    return f'{subject} is forbidden: User "{user["name"]}" cannot {attrs["verb"]} resource "{resource}" in API group "{attrs["group"]}" {scope}'


def is_privileged(user: dict) -> bool:
    name = user.get("name", "")
    if "system:masters" in (user.get("groups") or []):
        return True
    return name.startswith("system:") and name != "system:anonymous" and not name.startswith("system:serviceaccount:")


def _subject_matches(subject, user: dict, binding_namespace: str | None) -> bool:
    if not isinstance(subject, dict):
        return False
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return name == user.get("name")
    if kind == "Group":
        return name in (user.get("groups") or [])
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return user.get("name") == f"system:serviceaccount:{namespace}:{name}"
    return False


def _matches(values, wanted: str) -> bool:
    return isinstance(values, list) and ("*" in values or wanted in values)


def rule_allows(rule, attrs: dict) -> bool:
    if not isinstance(rule, dict):
        return False
    if not _matches(rule.get("verbs"), attrs["verb"]):
        return False
    if not _matches(rule.get("apiGroups"), attrs["group"]):
        return False
    resources = rule.get("resources")
    if not isinstance(resources, list):
        return False
    resource, sub = attrs["resource"], attrs.get("subresource")
    wanted = f"{resource}/{sub}" if sub else resource
    if not ("*" in resources or wanted in resources or (sub and f"*/{sub}" in resources)):
        return False
    names = rule.get("resourceNames")
    if names:
        return isinstance(names, list) and attrs.get("name") in names
    return True


def _role_rules(cache, ref, namespace: str | None) -> list:
    if not isinstance(ref, dict) or ref.get("apiGroup", RBAC) != RBAC:
        return []
    if ref.get("kind") == "ClusterRole":
        role = cache.get("clusterroles", f"/registry/clusterroles/{ref.get('name')}")
    elif ref.get("kind") == "Role" and namespace:
        role = cache.get("roles", f"/registry/roles/{namespace}/{ref.get('name')}")
    else:
        role = None
    rules = dig(role, "rules", default=[]) if role else []
    return rules if isinstance(rules, list) else []


def authorize(cache, user: dict, attrs: dict) -> tuple[bool, str]:
    """(allowed, reason): the reason names the binding that allowed it, or why not."""
    if is_privileged(user):
        return True, "privileged user"
    for _key, binding in cache.items("clusterrolebindings"):
        if any(_subject_matches(s, user, None) for s in binding.get("subjects") or []):
            for rule in _role_rules(cache, binding.get("roleRef"), None):
                if rule_allows(rule, attrs):
                    return True, f'allowed by ClusterRoleBinding "{dig(binding, "metadata", "name")}"'
    namespace = attrs.get("namespace")
    if namespace:
        for _key, binding in cache.items("rolebindings", prefix=f"/registry/rolebindings/{namespace}/"):
            if any(_subject_matches(s, user, namespace) for s in binding.get("subjects") or []):
                for rule in _role_rules(cache, binding.get("roleRef"), namespace):
                    if rule_allows(rule, attrs):
                        return True, f'allowed by RoleBinding "{dig(binding, "metadata", "name")}"'
    return False, "no RBAC policy matched"


# --- bootstrap policy (a small subset of kube-apiserver's) --------------------------------------------
_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]
_CORE = ["pods", "pods/log", "pods/status", "services", "endpoints", "configmaps", "events", "serviceaccounts", "resourcequotas", "persistentvolumeclaims"]
_APPS = ["deployments", "deployments/scale", "deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets", "statefulsets/scale", "daemonsets"]
_BATCH = ["jobs", "cronjobs"]


def _cluster_role(name: str, rules: list, aggregate: str | None = None) -> dict:
    labels = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    if aggregate:
        labels[f"rbac.authorization.k8s.io/aggregate-to-{aggregate}"] = "true"
    return {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": {"name": name, "labels": labels, "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}, "rules": rules}


def bootstrap_policy() -> list[tuple[str, dict]]:
    """(plural, object) pairs the API server creates at start when absent."""
    view = [
        {"apiGroups": [""], "resources": _CORE + ["endpoints", "namespaces", "pods/status"], "verbs": _READ},
        {"apiGroups": ["apps"], "resources": _APPS, "verbs": _READ},
        {"apiGroups": ["batch"], "resources": _BATCH, "verbs": _READ},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": _READ},
        {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": _READ},
    ]
    edit = view + [
        {"apiGroups": [""], "resources": ["pods", "pods/eviction", "services", "endpoints", "configmaps", "secrets", "serviceaccounts", "persistentvolumeclaims"], "verbs": _WRITE},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": _READ},
        {"apiGroups": ["apps"], "resources": _APPS, "verbs": _WRITE},
        {"apiGroups": ["batch"], "resources": _BATCH, "verbs": _WRITE},
        {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": _WRITE},
    ]
    admin = edit + [
        {"apiGroups": [RBAC], "resources": ["roles", "rolebindings"], "verbs": _READ + _WRITE},
        {"apiGroups": [""], "resources": ["resourcequotas"], "verbs": _READ},
    ]
    return [
        ("clusterroles", _cluster_role("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}])),
        ("clusterroles", _cluster_role("admin", admin, None)),
        ("clusterroles", _cluster_role("edit", edit, "admin")),
        ("clusterroles", _cluster_role("view", view, "edit")),
        ("clusterrolebindings", {
            "apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "cluster-admin", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}, "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": "system:masters"}],
        }),
    ]
