"""The fields each kind knows, for fieldValidation (Strict: 400 on an unknown field;
Warn: a warning). A compact nested description, not an OpenAPI document:

    {"field": None}        a known scalar, or a value that is not checked further
    {"field": ANY}         a subtree that is not checked (maps of labels, free-form parts)
    {"field": OBJECT}      an object whose fields are not checked (status)
    {"field": {...}}       an object with these fields
    {"field": [{...}]}     a list of such objects

    unknown_fields("deployments", {"spec": {"replicas": 1, "foo": 2}})  -> ["spec.foo"]
"""

ANY = "*"
OBJECT = "{}"  # an object whose fields are not checked (status)

OWNER_REFERENCE = {"apiVersion": None, "kind": None, "name": None, "uid": None, "controller": None, "blockOwnerDeletion": None}
METADATA = {
    "name": None, "generateName": None, "namespace": None, "selfLink": None, "uid": None, "resourceVersion": None, "generation": None,
    "creationTimestamp": None, "deletionTimestamp": None, "deletionGracePeriodSeconds": None, "labels": ANY, "annotations": ANY,
    "ownerReferences": [OWNER_REFERENCE], "finalizers": None, "managedFields": ANY,
}
CONTAINER = {
    "name": None, "image": None, "command": None, "args": None, "workingDir": None,
    "ports": [{"name": None, "hostPort": None, "containerPort": None, "protocol": None, "hostIP": None}],
    "envFrom": ANY, "env": [{"name": None, "value": None, "valueFrom": ANY}], "resources": {"limits": ANY, "requests": ANY, "claims": ANY},
    "resizePolicy": ANY, "restartPolicy": None,
    "volumeMounts": [{"name": None, "readOnly": None, "recursiveReadOnly": None, "mountPath": None, "subPath": None, "mountPropagation": None, "subPathExpr": None}],
    "volumeDevices": ANY, "livenessProbe": ANY, "readinessProbe": ANY, "startupProbe": ANY, "lifecycle": ANY, "terminationMessagePath": None,
    "terminationMessagePolicy": None, "imagePullPolicy": None, "securityContext": ANY, "stdin": None, "stdinOnce": None, "tty": None,
}
POD_SPEC = {
    "volumes": ANY, "initContainers": [CONTAINER], "containers": [CONTAINER], "ephemeralContainers": ANY, "restartPolicy": None,
    "terminationGracePeriodSeconds": None, "activeDeadlineSeconds": None, "dnsPolicy": None, "nodeSelector": ANY, "serviceAccountName": None,
    "serviceAccount": None, "automountServiceAccountToken": None, "nodeName": None, "hostNetwork": None, "hostPID": None, "hostIPC": None,
    "shareProcessNamespace": None, "securityContext": ANY, "imagePullSecrets": ANY, "hostname": None, "subdomain": None, "affinity": ANY,
    "schedulerName": None, "tolerations": ANY, "hostAliases": ANY, "priorityClassName": None, "priority": None, "dnsConfig": ANY,
    "readinessGates": ANY, "runtimeClassName": None, "enableServiceLinks": None, "preemptionPolicy": None, "overhead": ANY,
    "topologySpreadConstraints": ANY, "setHostnameAsFQDN": None, "os": ANY, "hostUsers": None, "schedulingGates": ANY, "resourceClaims": ANY,
    "resources": ANY,
}
TEMPLATE = {"metadata": METADATA, "spec": POD_SPEC}
JOB_SPEC = {
    "parallelism": None, "completions": None, "activeDeadlineSeconds": None, "podFailurePolicy": ANY, "successPolicy": ANY, "backoffLimit": None,
    "backoffLimitPerIndex": None, "maxFailedIndexes": None, "selector": ANY, "manualSelector": None, "template": TEMPLATE,
    "ttlSecondsAfterFinished": None, "completionMode": None, "suspend": None, "podReplacementPolicy": None, "managedBy": None,
}


def _kind(**fields) -> dict:
    return {"apiVersion": None, "kind": None, "metadata": METADATA, **fields}


SCHEMAS = {
    "pods": _kind(spec=POD_SPEC, status=OBJECT),
    "deployments": _kind(spec={"replicas": None, "selector": ANY, "template": TEMPLATE, "strategy": ANY, "minReadySeconds": None,
                               "revisionHistoryLimit": None, "paused": None, "progressDeadlineSeconds": None}, status=OBJECT),
    "replicasets": _kind(spec={"replicas": None, "minReadySeconds": None, "selector": ANY, "template": TEMPLATE}, status=OBJECT),
    "daemonsets": _kind(spec={"selector": ANY, "template": TEMPLATE, "updateStrategy": ANY, "minReadySeconds": None, "revisionHistoryLimit": None}, status=OBJECT),
    "statefulsets": _kind(spec={"replicas": None, "selector": ANY, "template": TEMPLATE, "volumeClaimTemplates": ANY, "serviceName": None,
                                "podManagementPolicy": None, "updateStrategy": ANY, "revisionHistoryLimit": None, "minReadySeconds": None,
                                "persistentVolumeClaimRetentionPolicy": ANY, "ordinals": ANY}, status=OBJECT),
    "jobs": _kind(spec=JOB_SPEC, status=OBJECT),
    "cronjobs": _kind(spec={"schedule": None, "timeZone": None, "startingDeadlineSeconds": None, "concurrencyPolicy": None, "suspend": None,
                            "jobTemplate": {"metadata": METADATA, "spec": JOB_SPEC}, "successfulJobsHistoryLimit": None, "failedJobsHistoryLimit": None}, status=OBJECT),
    "services": _kind(spec={
        "ports": [{"name": None, "protocol": None, "appProtocol": None, "port": None, "targetPort": None, "nodePort": None}], "selector": ANY,
        "clusterIP": None, "clusterIPs": None, "type": None, "externalIPs": None, "sessionAffinity": None, "loadBalancerIP": None,
        "loadBalancerSourceRanges": None, "externalName": None, "externalTrafficPolicy": None, "healthCheckNodePort": None,
        "publishNotReadyAddresses": None, "sessionAffinityConfig": ANY, "ipFamilies": None, "ipFamilyPolicy": None,
        "allocateLoadBalancerNodePorts": None, "loadBalancerClass": None, "internalTrafficPolicy": None, "trafficDistribution": None}, status=OBJECT),
    "configmaps": _kind(data=ANY, binaryData=ANY, immutable=None),
    "secrets": _kind(data=ANY, stringData=ANY, type=None, immutable=None),
    "namespaces": _kind(spec={"finalizers": None}, status=OBJECT),
    "nodes": _kind(spec={"podCIDR": None, "podCIDRs": None, "providerID": None, "unschedulable": None, "taints": ANY, "configSource": ANY, "externalID": None}, status=OBJECT),
    "endpoints": _kind(subsets=ANY),
    "endpointslices": _kind(addressType=None, endpoints=ANY, ports=ANY),
    "events": _kind(involvedObject=ANY, reason=None, message=None, source=ANY, firstTimestamp=None, lastTimestamp=None, count=None, type=None,
                    eventTime=None, series=ANY, action=None, related=ANY, reportingComponent=None, reportingInstance=None),
    "leases": _kind(spec={"holderIdentity": None, "leaseDurationSeconds": None, "acquireTime": None, "renewTime": None, "leaseTransitions": None,
                          "strategy": None, "preferredHolder": None}),
    "resourcequotas": _kind(spec={"hard": ANY, "scopes": None, "scopeSelector": ANY}, status=OBJECT),
    "poddisruptionbudgets": _kind(spec={"minAvailable": None, "selector": ANY, "maxUnavailable": None, "unhealthyPodEvictionPolicy": None}, status=OBJECT),
    "serviceaccounts": _kind(secrets=ANY, imagePullSecrets=ANY, automountServiceAccountToken=None),
    "roles": _kind(rules=[{"verbs": None, "apiGroups": None, "resources": None, "resourceNames": None, "nonResourceURLs": None}]),
    "clusterroles": _kind(rules=[{"verbs": None, "apiGroups": None, "resources": None, "resourceNames": None, "nonResourceURLs": None}], aggregationRule=ANY),
    "rolebindings": _kind(subjects=[{"kind": None, "apiGroup": None, "name": None, "namespace": None}], roleRef={"apiGroup": None, "kind": None, "name": None}),
    "clusterrolebindings": _kind(subjects=[{"kind": None, "apiGroup": None, "name": None, "namespace": None}], roleRef={"apiGroup": None, "kind": None, "name": None}),
}


def unknown_fields(plural: str, obj) -> list[str]:
    """Paths of the fields in obj that the kind does not have, in document order."""
    schema = SCHEMAS.get(plural)
    out: list[str] = []
    if schema is not None:
        _check(obj, schema, "", out)
    return out


def _check(value, schema, path: str, out: list) -> None:
    if schema is None or schema == ANY or schema == OBJECT:
        return
    if isinstance(schema, list):
        if isinstance(value, list):
            for i, item in enumerate(value):
                _check(item, schema[0], f"{path}[{i}]", out)
        return
    if not isinstance(value, dict):
        return
    for key, child in value.items():
        child_path = f"{path}.{key}" if path else key
        if key not in schema:
            out.append(child_path)
        else:
            _check(child, schema[key], child_path, out)


def go_type(value) -> str:
    """The JSON type name Go's decoder uses in its errors."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def type_errors(plural: str, obj) -> list[str]:
    """Where an object or a list is required and something else is given: what Go's JSON
    decoder would refuse (`json: cannot unmarshal string into Go struct field .spec.template of type object`)."""
    schema = SCHEMAS.get(plural)
    out: list[str] = []
    if schema is not None:
        _types(obj, schema, "", out)
    return out


def _types(value, schema, path: str, out: list) -> None:
    if schema is None or schema == ANY or value is None:
        return
    if schema == OBJECT:
        if not isinstance(value, dict):
            out.append(f"json: cannot unmarshal {go_type(value)} into Go struct field {path or '.'} of type object")
        return
    if isinstance(schema, list):
        if not isinstance(value, list):
            out.append(f"json: cannot unmarshal {go_type(value)} into Go struct field {path} of type array")
            return
        for i, item in enumerate(value):
            _types(item, schema[0], f"{path}[{i}]", out)
        return
    if not isinstance(value, dict):
        out.append(f"json: cannot unmarshal {go_type(value)} into Go struct field {path or '.'} of type object")
        return
    for key, child in value.items():
        if key in schema:
            _types(child, schema[key], f"{path}.{key}", out)
