"""Defaulting: the values kube-apiserver fills in when a manifest leaves them out
(SetDefaults_* in k8s.io/kubernetes/pkg/apis/*/v1, plus the defaulting admission
plugins: ServiceAccount and DefaultTolerationSeconds for pods).

`apply_defaults(plural, obj)` changes obj in place. It runs before validation, so it
must cope with any JSON: it only fills in where the surrounding structure has the
right type and leaves everything else for validation to report.
"""

from .meta import dig


def _obj(parent, key) -> dict | None:
    """parent[key] as a dict, created if absent; None if present with another type."""
    if not isinstance(parent, dict):
        return None
    value = parent.get(key)
    if value is None:
        value = parent[key] = {}
    return value if isinstance(value, dict) else None


def _dicts(value) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def image_pull_policy(image) -> str:
    if not isinstance(image, str):
        return "IfNotPresent"
    last = image.split("/")[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.split(":")[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def default_container(container: dict) -> None:
    container.setdefault("imagePullPolicy", image_pull_policy(container.get("image")))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    if container.get("resources") is None:
        container["resources"] = {}
    resources = container["resources"]
    if isinstance(resources, dict) and isinstance(resources.get("limits"), dict) and resources.get("requests") is None:
        # Requests default to limits (Guaranteed when only limits are given).
        resources["requests"] = dict(resources["limits"])
    for port in _dicts(container.get("ports")):
        port.setdefault("protocol", "TCP")
    for env in _dicts(container.get("env")):
        ref = dig(env, "valueFrom", "fieldRef")
        if isinstance(ref, dict):
            ref.setdefault("apiVersion", "v1")


def default_pod_spec(spec: dict) -> None:
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for container in _dicts(spec.get("containers")) + _dicts(spec.get("initContainers")):
        default_container(container)
    for volume in _dicts(spec.get("volumes")):
        for source in ("configMap", "secret"):
            if isinstance(volume.get(source), dict):
                volume[source].setdefault("defaultMode", 420)
        if not any(k for k in volume if k != "name"):
            volume["emptyDir"] = {}


def qos_class(spec) -> str:
    """BestEffort, Burstable or Guaranteed, from the containers' cpu and memory requests and limits."""
    containers = _dicts(dig(spec, "containers", default=[])) + _dicts(dig(spec, "initContainers", default=[]))
    any_set = False
    guaranteed = bool(containers)
    for container in containers:
        resources = container.get("resources") if isinstance(container.get("resources"), dict) else {}
        requests = resources.get("requests") if isinstance(resources.get("requests"), dict) else {}
        limits = resources.get("limits") if isinstance(resources.get("limits"), dict) else {}
        for name in ("cpu", "memory"):
            if requests.get(name) or limits.get(name):
                any_set = True
            if not limits.get(name) or requests.get(name, limits.get(name)) != limits.get(name):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


NOT_READY_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


def _pod(obj: dict) -> None:
    spec = _obj(obj, "spec")
    if spec is None:
        return
    default_pod_spec(spec)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    # ServiceAccount admission.
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec.get("serviceAccount") or "default"
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    # DefaultTolerationSeconds admission.
    tolerations = spec.get("tolerations")
    if tolerations is None:
        tolerations = spec["tolerations"] = []
    if isinstance(tolerations, list):
        keys = {t.get("key") for t in _dicts(tolerations) if t.get("effect") in (None, "", "NoExecute")}
        for toleration in NOT_READY_TOLERATIONS:
            if toleration["key"] not in keys:
                tolerations.append(dict(toleration))


def _template(obj: dict) -> None:
    template = dig(obj, "spec", "template")
    if isinstance(template, dict):
        default_pod_spec(template.get("spec"))


def _deployment(obj: dict) -> None:
    spec = _obj(obj, "spec")
    if spec is None:
        return
    spec.setdefault("replicas", 1)
    strategy = _obj(spec, "strategy")
    if strategy is not None:
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = _obj(strategy, "rollingUpdate")
            if rolling is not None:
                rolling.setdefault("maxUnavailable", "25%")
                rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(obj)


def _replicaset(obj: dict) -> None:
    spec = _obj(obj, "spec")
    if spec is None:
        return
    spec.setdefault("replicas", 1)
    _template(obj)


def _daemonset(obj: dict) -> None:
    spec = _obj(obj, "spec")
    if spec is None:
        return
    strategy = _obj(spec, "updateStrategy")
    if strategy is not None:
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = _obj(strategy, "rollingUpdate")
            if rolling is not None:
                rolling.setdefault("maxUnavailable", 1)
                rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    _template(obj)


def _statefulset(obj: dict) -> None:
    spec = _obj(obj, "spec")
    if spec is None:
        return
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = _obj(spec, "updateStrategy")
    if strategy is not None:
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = _obj(strategy, "rollingUpdate")
            if rolling is not None:
                rolling.setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    retention = _obj(spec, "persistentVolumeClaimRetentionPolicy")
    if retention is not None:
        retention.setdefault("whenDeleted", "Retain")
        retention.setdefault("whenScaled", "Retain")
    _template(obj)


def job_spec_defaults(spec: dict) -> None:
    if not isinstance(spec, dict):
        return
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    template = spec.get("template")
    if isinstance(template, dict):
        default_pod_spec(template.get("spec"))


def _job(obj: dict) -> None:
    job_spec_defaults(_obj(obj, "spec"))


def job_selector(obj: dict) -> None:
    """A Job without manualSelector gets a selector on its own uid, and its template the
    matching labels (done at create time, once the uid is known)."""
    spec = obj.get("spec")
    uid = dig(obj, "metadata", "uid")
    if not isinstance(spec, dict) or spec.get("manualSelector") or not uid:
        return
    template = _obj(spec, "template")
    if template is None:
        return
    meta = _obj(template, "metadata")
    if meta is None:
        return
    labels = _obj(meta, "labels")
    if labels is None:
        return
    name = dig(obj, "metadata", "name", default="")
    labels.setdefault("batch.kubernetes.io/controller-uid", uid)
    labels.setdefault("batch.kubernetes.io/job-name", name)
    labels.setdefault("controller-uid", uid)
    labels.setdefault("job-name", name)
    if spec.get("selector") is None:
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}


def _cronjob(obj: dict) -> None:
    spec = _obj(obj, "spec")
    if spec is None:
        return
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_spec = dig(spec, "jobTemplate", "spec")
    if isinstance(job_spec, dict):
        template = job_spec.get("template")
        if isinstance(template, dict):
            default_pod_spec(template.get("spec"))


def _service(obj: dict) -> None:
    spec = _obj(obj, "spec")
    if spec is None:
        return
    spec.setdefault("type", "ClusterIP")
    if spec["type"] == "ExternalName":
        return
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    for port in _dicts(spec.get("ports")):
        port.setdefault("protocol", "TCP")
        if port.get("targetPort") is None and port.get("port") is not None:
            port["targetPort"] = port["port"]
    status = _obj(obj, "status")
    if status is not None:
        status.setdefault("loadBalancer", {})


def _namespace(obj: dict) -> None:
    spec = _obj(obj, "spec")
    if spec is not None:
        spec.setdefault("finalizers", ["kubernetes"])
    name = dig(obj, "metadata", "name")
    meta = obj.get("metadata")
    if isinstance(name, str) and isinstance(meta, dict):
        labels = _obj(meta, "labels")
        if labels is not None:
            labels["kubernetes.io/metadata.name"] = name


def _secret(obj: dict) -> None:
    obj.setdefault("type", "Opaque")


def _endpointslice(obj: dict) -> None:
    for port in _dicts(obj.get("ports")):
        port.setdefault("protocol", "TCP")


def _binding_subjects(obj: dict) -> None:
    for subject in _dicts(obj.get("subjects")):
        if subject.get("kind") in ("User", "Group"):
            subject.setdefault("apiGroup", "rbac.authorization.k8s.io")


def _endpoints(obj: dict) -> None:
    for subset in _dicts(obj.get("subsets")):
        for port in _dicts(subset.get("ports")):
            port.setdefault("protocol", "TCP")


DEFAULTERS = {
    "pods": _pod,
    "deployments": _deployment,
    "replicasets": _replicaset,
    "daemonsets": _daemonset,
    "statefulsets": _statefulset,
    "jobs": _job,
    "cronjobs": _cronjob,
    "services": _service,
    "namespaces": _namespace,
    "secrets": _secret,
    "endpointslices": _endpointslice,
    "endpoints": _endpoints,
    "rolebindings": _binding_subjects,
    "clusterrolebindings": _binding_subjects,
}


def apply_defaults(plural: str, obj: dict) -> None:
    defaulter = DEFAULTERS.get(plural)
    if defaulter is not None:
        defaulter(obj)
