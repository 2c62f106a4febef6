"""A minimal valid object of every kind, for round-trip tests."""

TEMPLATE = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
SELECTOR = {"matchLabels": {"app": "x"}}

BODIES = {
    "pods": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}},
    "services": {"spec": {"ports": [{"port": 80}], "selector": {"app": "x"}}},
    "deployments": {"spec": {"selector": SELECTOR, "template": TEMPLATE}},
    "replicasets": {"spec": {"selector": SELECTOR, "template": TEMPLATE}},
    "statefulsets": {"spec": {"selector": SELECTOR, "template": TEMPLATE, "serviceName": "x"}},
    "daemonsets": {"spec": {"selector": SELECTOR, "template": TEMPLATE}},
    "jobs": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"}}}},
    "cronjobs": {"spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "OnFailure"}}}}}},
    "namespaces": {},
    "nodes": {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
    "endpoints": {"subsets": [{"addresses": [{"ip": "10.244.0.5"}], "ports": [{"port": 80}]}]},
    "endpointslices": {"addressType": "IPv4", "endpoints": [{"addresses": ["10.244.0.5"]}], "ports": [{"port": 80}]},
    "configmaps": {"data": {"k": "v"}},
    "secrets": {"data": {"k": "dmFsdWU="}},
    "events": {"involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}, "reason": "Started", "message": "m", "type": "Normal"},
    "leases": {"spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}},
    "resourcequotas": {"spec": {"hard": {"configmaps": "100"}}},
    "poddisruptionbudgets": {"spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "nothing"}}}},
    "serviceaccounts": {},
    "roles": {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    "clusterroles": {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    "rolebindings": {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"}, "subjects": [{"kind": "User", "name": "u"}]},
    "clusterrolebindings": {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"}, "subjects": [{"kind": "User", "name": "u"}]},
}


def sample(info: dict, name: str | None = None) -> tuple[str, dict]:
    name = name or f"sample-{info['singular']}"
    body = {"apiVersion": f"{info['group']}/{info['version']}" if info["group"] else info["version"], "kind": info["kind"], "metadata": {"name": name}}
    body.update({k: v for k, v in BODIES[info["plural"]].items()})
    return name, body
