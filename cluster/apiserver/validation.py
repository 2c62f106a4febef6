"""Validation: what kube-apiserver rejects with 422 Invalid, with the same fields,
reasons and messages (k8s.io/kubernetes/pkg/apis/*/validation).

    errors = validate(info, obj)             # create
    errors = validate(info, obj, old)        # update: also the immutable fields
    invalid_status(info, name, errors)       # the 422 Status (status.py)

Each check appends FieldErrors; nothing raises on odd input (a string where a list
belongs is itself reported), so validation is safe on any JSON.
"""

import json

from . import status as st
from .meta import dig
from .selectors import labels_match, selector_from_label_selector
from .validation_names import (
    config_key_errors,
    dns1035_label_errors,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    env_var_name_errors,
    label_value_errors,
    path_segment_errors,
    qualified_name_errors,
)

ANNOTATIONS_MAX = 256 * 1024

# Which rule names must follow, per resource (ValidateObjectMeta's nameFn).
NAME_RULES = {
    "namespaces": dns1123_label_errors,
    "services": dns1035_label_errors,
    "roles": path_segment_errors,
    "clusterroles": path_segment_errors,
    "rolebindings": path_segment_errors,
    "clusterrolebindings": path_segment_errors,
}


class Errors(list):
    """A list of FieldErrors with small helpers."""

    def required(self, field, detail=""):
        self.append(st.required(field, detail))

    def invalid(self, field, value, detail):
        self.append(st.invalid(field, value, detail))

    def not_supported(self, field, value, supported):
        self.append(st.not_supported(field, value, supported))

    def forbidden(self, field, detail):
        self.append(st.forbidden(field, detail))


def _hashable(value) -> str:
    """A set key for any JSON value (values from a request may be lists or objects)."""
    return json.dumps(value, sort_keys=True)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _expect_dict(errs: Errors, value, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errs.invalid(field, value, "must be an object")
        return {}
    return value


def _expect_list(errs: Errors, value, field: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        errs.invalid(field, value, "must be a list")
        return []
    return value


# --- metadata -----------------------------------------------------------------------------------
def validate_labels(errs: Errors, labels, field: str) -> None:
    labels = _expect_dict(errs, labels, field)
    for key, value in labels.items():
        for problem in qualified_name_errors(key):
            errs.invalid(field, key, problem)
        if not isinstance(value, str):
            errs.invalid(f"{field}", value, "label values must be strings")
            continue
        for problem in label_value_errors(value):
            errs.invalid(field, value, problem)


def validate_annotations(errs: Errors, annotations, field: str) -> None:
    annotations = _expect_dict(errs, annotations, field)
    total = 0
    for key, value in annotations.items():
        for problem in qualified_name_errors(key.lower()):
            errs.invalid(field, key, problem)
        if not isinstance(value, str):
            errs.invalid(field, value, "annotation values must be strings")
            continue
        total += len(key) + len(value.encode())
    if total > ANNOTATIONS_MAX:
        errs.append(st.too_long(field, "", ANNOTATIONS_MAX))


def validate_metadata(errs: Errors, info: dict, obj: dict) -> None:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        errs.required("metadata")
        return
    name = meta.get("name")
    rule = NAME_RULES.get(info["plural"], dns1123_subdomain_errors)
    if not name:
        if meta.get("generateName"):
            errs.required("metadata.name", "name or generateName is required")
        else:
            errs.required("metadata.name", "name or generateName is required")
    elif not isinstance(name, str):
        errs.invalid("metadata.name", name, "must be a string")
    else:
        for problem in rule(name):
            errs.invalid("metadata.name", name, problem)
    generate = meta.get("generateName")
    if generate is not None and not isinstance(generate, str):
        errs.invalid("metadata.generateName", generate, "must be a string")
    namespace = meta.get("namespace")
    if info["namespaced"]:
        if not namespace:
            errs.required("metadata.namespace")
        elif isinstance(namespace, str):
            for problem in dns1123_label_errors(namespace):
                errs.invalid("metadata.namespace", namespace, problem)
    elif namespace:
        errs.forbidden("metadata.namespace", "not allowed on this type")
    validate_labels(errs, meta.get("labels"), "metadata.labels")
    validate_annotations(errs, meta.get("annotations"), "metadata.annotations")
    finalizers = _expect_list(errs, meta.get("finalizers"), "metadata.finalizers")
    for i, finalizer in enumerate(finalizers):
        if not isinstance(finalizer, str):
            errs.invalid(f"metadata.finalizers[{i}]", finalizer, "must be a string")
        elif "/" not in finalizer and finalizer not in ("kubernetes", "orphan", "foregroundDeletion"):
            errs.invalid(f"metadata.finalizers[{i}]", finalizer, "name is neither a standard finalizer name nor is it fully qualified")
        else:
            for problem in qualified_name_errors(finalizer):
                errs.invalid(f"metadata.finalizers[{i}]", finalizer, problem)
    for i, ref in enumerate(_expect_list(errs, meta.get("ownerReferences"), "metadata.ownerReferences")):
        path = f"metadata.ownerReferences[{i}]"
        if not isinstance(ref, dict):
            errs.invalid(path, ref, "must be an object")
            continue
        for part in ("apiVersion", "kind", "name", "uid"):
            if not ref.get(part):
                errs.invalid(f"{path}.{part}", ref.get(part, ""), f"{part} must not be empty" if part != "uid" else "uid must not be empty")


def validate_metadata_update(errs: Errors, obj: dict, old: dict) -> None:
    meta, old_meta = obj.get("metadata") or {}, old.get("metadata") or {}
    for field in ("name", "namespace", "uid", "creationTimestamp"):
        if field in ("uid", "creationTimestamp") and not meta.get(field):
            continue
        if meta.get(field) != old_meta.get(field):
            errs.invalid(f"metadata.{field}", meta.get(field), "field is immutable")
    if old_meta.get("deletionTimestamp") and meta.get("finalizers"):
        added = [f for f in meta.get("finalizers") or [] if f not in (old_meta.get("finalizers") or [])]
        if added:
            errs.forbidden("metadata.finalizers", f"no new finalizers can be added if the object is being deleted, found new finalizers {added!r}".replace("'", '"'))


# --- pods -----------------------------------------------------------------------------------------
RESTART_POLICIES = ["Always", "OnFailure", "Never"]
DNS_POLICIES = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]
PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]


def _port_number(errs: Errors, value, field: str, allow_zero=False) -> None:
    if not _is_int(value):
        errs.invalid(field, value, "must be an integer")
    elif not (0 if allow_zero else 1) <= value <= 65535:
        errs.invalid(field, value, "must be between 1 and 65535, inclusive")


def validate_container(errs: Errors, container, path: str, names: set, init: bool = False) -> None:
    if not isinstance(container, dict):
        errs.invalid(path, container, "must be an object")
        return
    name = container.get("name")
    if not name:
        errs.required(f"{path}.name")
    elif not isinstance(name, str):
        errs.invalid(f"{path}.name", name, "must be a string")
    else:
        for problem in dns1123_label_errors(name):
            errs.invalid(f"{path}.name", name, problem)
        if name in names:
            errs.append(st.duplicate(f"{path}.name", name))
        names.add(name)
    image = container.get("image")
    if not image or not isinstance(image, str) or not image.strip():
        errs.required(f"{path}.image")
    policy = container.get("imagePullPolicy")
    if policy is not None and policy not in PULL_POLICIES:
        errs.not_supported(f"{path}.imagePullPolicy", policy, PULL_POLICIES)
    ports = _expect_list(errs, container.get("ports"), f"{path}.ports")
    seen_ports = set()
    for j, port in enumerate(ports):
        ppath = f"{path}.ports[{j}]"
        if not isinstance(port, dict):
            errs.invalid(ppath, port, "must be an object")
            continue
        if "containerPort" not in port:
            errs.required(f"{ppath}.containerPort")
        else:
            _port_number(errs, port["containerPort"], f"{ppath}.containerPort")
        if port.get("protocol") is not None and port.get("protocol") not in PROTOCOLS:
            errs.not_supported(f"{ppath}.protocol", port.get("protocol"), PROTOCOLS)
        pname = port.get("name")
        if pname is not None:
            if not isinstance(pname, str) or not pname or len(pname) > 15 or not all(c.islower() or c.isdigit() or c == "-" for c in pname):
                errs.invalid(f"{ppath}.name", pname, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)" if isinstance(pname, str) and len(pname) <= 15 else "must be no more than 15 characters")
        key = _hashable([port.get("containerPort"), port.get("protocol", "TCP"), port.get("hostPort"), port.get("hostIP")])
        if _is_int(port.get("containerPort")) and key in seen_ports:
            errs.append(st.duplicate(ppath, f"{port.get('containerPort')}/{port.get('protocol', 'TCP')}"))
        seen_ports.add(key)
    for j, env in enumerate(_expect_list(errs, container.get("env"), f"{path}.env")):
        epath = f"{path}.env[{j}]"
        if not isinstance(env, dict):
            errs.invalid(epath, env, "must be an object")
            continue
        ename = env.get("name")
        if not ename:
            errs.required(f"{epath}.name")
        elif isinstance(ename, str):
            for problem in env_var_name_errors(ename):
                errs.invalid(f"{epath}.name", ename, problem)
        if env.get("value") is not None and env.get("valueFrom") is not None:
            errs.invalid(f"{epath}.valueFrom", "", "may not be specified when `value` is not empty")
    names_seen = set()
    for j, mount in enumerate(_expect_list(errs, container.get("volumeMounts"), f"{path}.volumeMounts")):
        mpath = f"{path}.volumeMounts[{j}]"
        if not isinstance(mount, dict):
            errs.invalid(mpath, mount, "must be an object")
            continue
        if not mount.get("name"):
            errs.required(f"{mpath}.name")
        if not mount.get("mountPath"):
            errs.required(f"{mpath}.mountPath")
        elif _hashable(mount.get("mountPath")) in names_seen:
            errs.invalid(f"{mpath}.mountPath", mount.get("mountPath"), "must be unique")
        names_seen.add(_hashable(mount.get("mountPath")))
    resources = _expect_dict(errs, container.get("resources"), f"{path}.resources")
    for part in ("requests", "limits"):
        values = _expect_dict(errs, resources.get(part), f"{path}.resources.{part}")
        for rname, quantity in values.items():
            if parse_quantity(quantity) is None:
                errs.invalid(f"{path}.resources.{part}.{rname}", quantity, "must be a valid quantity" if not isinstance(quantity, str) else "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
            elif parse_quantity(quantity) < 0:
                errs.invalid(f"{path}.resources.{part}.{rname}", quantity, "must be greater than or equal to 0")
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    if isinstance(requests, dict) and isinstance(limits, dict):
        for rname in sorted(set(requests) & set(limits)):
            req, lim = parse_quantity(requests[rname]), parse_quantity(limits[rname])
            if req is not None and lim is not None and req > lim:
                errs.invalid(f"{path}.resources.requests", requests[rname], f"must be less than or equal to {rname} limit of {limits[rname]}")


def validate_pod_spec(errs: Errors, spec, path: str, *, template: bool = False) -> None:
    if not isinstance(spec, dict):
        errs.required(path)
        return
    containers = spec.get("containers")
    names: set = set()
    if not containers:
        errs.required(f"{path}.containers")
    elif not isinstance(containers, list):
        errs.invalid(f"{path}.containers", containers, "must be a list")
    else:
        for i, container in enumerate(containers):
            validate_container(errs, container, f"{path}.containers[{i}]", names)
    for i, container in enumerate(_expect_list(errs, spec.get("initContainers"), f"{path}.initContainers")):
        validate_container(errs, container, f"{path}.initContainers[{i}]", names, init=True)
    restart = spec.get("restartPolicy")
    if restart not in RESTART_POLICIES:
        errs.not_supported(f"{path}.restartPolicy", restart, RESTART_POLICIES) if restart else errs.required(f"{path}.restartPolicy")
    dns = spec.get("dnsPolicy")
    if dns is not None and dns not in DNS_POLICIES:
        errs.not_supported(f"{path}.dnsPolicy", dns, DNS_POLICIES)
    grace = spec.get("terminationGracePeriodSeconds")
    if grace is not None and (not _is_int(grace) or grace < 0):
        errs.invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than or equal to 0")
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and (not _is_int(deadline) or deadline < 1):
        errs.invalid(f"{path}.activeDeadlineSeconds", deadline, "must be between 1 and 2147483647, inclusive")
    node_selector = spec.get("nodeSelector")
    if node_selector is not None:
        validate_labels(errs, node_selector, f"{path}.nodeSelector")
    volumes = set()
    for i, volume in enumerate(_expect_list(errs, spec.get("volumes"), f"{path}.volumes")):
        vpath = f"{path}.volumes[{i}]"
        if not isinstance(volume, dict):
            errs.invalid(vpath, volume, "must be an object")
            continue
        vname = volume.get("name")
        if not vname:
            errs.required(f"{vpath}.name")
        elif isinstance(vname, str):
            for problem in dns1123_label_errors(vname):
                errs.invalid(f"{vpath}.name", vname, problem)
            if vname in volumes:
                errs.append(st.duplicate(f"{vpath}.name", vname))
            volumes.add(vname)
    for group in ("containers", "initContainers"):
        for i, container in enumerate(spec.get(group) or [] if isinstance(spec.get(group), list) else []):
            if not isinstance(container, dict) or not isinstance(container.get("volumeMounts"), list):
                continue
            for j, mount in enumerate(container["volumeMounts"]):
                if isinstance(mount, dict) and mount.get("name") and mount.get("name") not in volumes:
                    errs.append(st.field_not_found(f"{path}.{group}[{i}].volumeMounts[{j}].name", mount.get("name")))
    for i, toleration in enumerate(_expect_list(errs, spec.get("tolerations"), f"{path}.tolerations")):
        if not isinstance(toleration, dict):
            errs.invalid(f"{path}.tolerations[{i}]", toleration, "must be an object")
            continue
        operator = toleration.get("operator", "Equal")
        if operator not in ("Equal", "Exists"):
            errs.not_supported(f"{path}.tolerations[{i}].operator", operator, ["Equal", "Exists"])
        effect = toleration.get("effect")
        if effect not in (None, "", "NoSchedule", "PreferNoSchedule", "NoExecute"):
            errs.not_supported(f"{path}.tolerations[{i}].effect", effect, ["NoExecute", "NoSchedule", "PreferNoSchedule"])


def _pod(errs: Errors, obj: dict) -> None:
    validate_pod_spec(errs, obj.get("spec"), "spec")


def _pod_update(errs: Errors, obj: dict, old: dict) -> None:
    """A pod's spec is immutable except image, activeDeadlineSeconds and added tolerations."""
    spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    if not isinstance(spec, dict) or not isinstance(old_spec, dict):
        return
    relaxed = dict(spec)
    relaxed_old = dict(old_spec)
    for group in ("containers", "initContainers"):
        new_list, old_list = spec.get(group), old_spec.get(group)
        if isinstance(new_list, list) and isinstance(old_list, list) and len(new_list) == len(old_list):
            relaxed[group] = [
                dict(c, image=o.get("image")) if isinstance(c, dict) and isinstance(o, dict) else c for c, o in zip(new_list, old_list, strict=True)
            ]
    relaxed.pop("activeDeadlineSeconds", None)
    relaxed_old.pop("activeDeadlineSeconds", None)
    old_tolerations = old_spec.get("tolerations") or []
    new_tolerations = spec.get("tolerations") or []
    if isinstance(new_tolerations, list) and isinstance(old_tolerations, list) and all(t in new_tolerations for t in old_tolerations):
        relaxed.pop("tolerations", None)
        relaxed_old.pop("tolerations", None)
    if relaxed != relaxed_old:
        errs.forbidden(
            "spec",
            "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
            "`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
        )


# --- workloads ------------------------------------------------------------------------------------
def _replicas(errs: Errors, spec: dict, field: str) -> None:
    replicas = spec.get("replicas")
    if replicas is not None and (not _is_int(replicas) or replicas < 0):
        errs.invalid(field, replicas, "must be greater than or equal to 0")


def validate_selector_and_template(errs: Errors, spec: dict, *, require_selector=True, template_field="template") -> None:
    selector = spec.get("selector")
    template = spec.get(template_field)
    reqs = None
    if selector is None:
        if require_selector:
            errs.required("spec.selector")
    elif not isinstance(selector, dict):
        errs.invalid("spec.selector", selector, "must be an object")
    else:
        reqs = selector_from_label_selector(selector)
        if reqs is None:
            errs.invalid("spec.selector", selector, "invalid label selector")
        elif not reqs:
            errs.invalid("spec.selector", selector, "empty selector is invalid for deployment") if require_selector else None
        if isinstance(selector.get("matchLabels"), dict):
            validate_labels(errs, selector["matchLabels"], "spec.selector.matchLabels")
    if not isinstance(template, dict):
        errs.required(f"spec.{template_field}")
        return
    meta = template.get("metadata") if isinstance(template.get("metadata"), dict) else {}
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    validate_labels(errs, meta.get("labels"), f"spec.{template_field}.metadata.labels")
    if reqs:
        if not labels_match(reqs, labels):
            errs.invalid(f"spec.{template_field}.metadata.labels", labels, "`selector` does not match template `labels`")
    validate_pod_spec(errs, template.get("spec"), f"spec.{template_field}.spec", template=True)


def _intstr_percent(errs: Errors, value, field: str) -> None:
    if value is None:
        return
    if _is_int(value):
        if value < 0:
            errs.invalid(field, value, "must be greater than or equal to 0")
    elif isinstance(value, str):
        if not value.endswith("%") or not value[:-1].isdigit():
            errs.invalid(field, value, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")
        elif int(value[:-1]) > 100:
            errs.invalid(field, value, "must not be greater than 100%")
    else:
        errs.invalid(field, value, "must be an integer or percentage (e.g '5%')")


def _deployment(errs: Errors, obj: dict) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.required("spec")
        return
    _replicas(errs, spec, "spec.replicas")
    validate_selector_and_template(errs, spec)
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    restart = dig(template, "spec", "restartPolicy")
    if restart not in (None, "Always"):
        errs.not_supported("spec.template.spec.restartPolicy", restart, ["Always"])
    strategy = spec.get("strategy") if isinstance(spec.get("strategy"), dict) else {}
    kind = strategy.get("type")
    if kind not in (None, "RollingUpdate", "Recreate"):
        errs.not_supported("spec.strategy.type", kind, ["Recreate", "RollingUpdate"])
    if kind == "Recreate" and strategy.get("rollingUpdate") is not None:
        errs.forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")
    rolling = strategy.get("rollingUpdate") if isinstance(strategy.get("rollingUpdate"), dict) else {}
    _intstr_percent(errs, rolling.get("maxUnavailable"), "spec.strategy.rollingUpdate.maxUnavailable")
    _intstr_percent(errs, rolling.get("maxSurge"), "spec.strategy.rollingUpdate.maxSurge")
    if rolling.get("maxUnavailable") in (0, "0%") and rolling.get("maxSurge") in (0, "0%"):
        errs.invalid("spec.strategy.rollingUpdate.maxUnavailable", rolling.get("maxUnavailable"), "may not be 0 when `maxSurge` is 0")
    for field in ("revisionHistoryLimit", "minReadySeconds"):
        value = spec.get(field)
        if value is not None and (not _is_int(value) or value < 0):
            errs.invalid(f"spec.{field}", value, "must be greater than or equal to 0")
    deadline = spec.get("progressDeadlineSeconds")
    if deadline is not None and (not _is_int(deadline) or deadline <= 0):
        errs.invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds")


def _replicaset(errs: Errors, obj: dict) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.required("spec")
        return
    _replicas(errs, spec, "spec.replicas")
    validate_selector_and_template(errs, spec)


def _daemonset(errs: Errors, obj: dict) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.required("spec")
        return
    validate_selector_and_template(errs, spec)
    restart = dig(spec, "template", "spec", "restartPolicy")
    if restart not in (None, "Always"):
        errs.not_supported("spec.template.spec.restartPolicy", restart, ["Always"])


def _statefulset(errs: Errors, obj: dict) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.required("spec")
        return
    _replicas(errs, spec, "spec.replicas")
    validate_selector_and_template(errs, spec)
    policy = spec.get("podManagementPolicy")
    if policy not in (None, "OrderedReady", "Parallel"):
        errs.not_supported("spec.podManagementPolicy", policy, ["OrderedReady", "Parallel"])


def _job(errs: Errors, obj: dict) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.required("spec")
        return
    validate_selector_and_template(errs, spec)
    restart = dig(spec, "template", "spec", "restartPolicy")
    if restart not in ("OnFailure", "Never"):
        errs.not_supported("spec.template.spec.restartPolicy", restart, ["OnFailure", "Never"])
    for field in ("parallelism", "completions", "backoffLimit"):
        value = spec.get(field)
        if value is not None and (not _is_int(value) or value < 0):
            errs.invalid(f"spec.{field}", value, "must be greater than or equal to 0")


def _cronjob(errs: Errors, obj: dict) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.required("spec")
        return
    schedule = spec.get("schedule")
    if not schedule:
        errs.required("spec.schedule")
    elif not isinstance(schedule, str) or (len(schedule.split()) != 5 and not schedule.startswith("@")):
        errs.invalid("spec.schedule", schedule, "unparseable schedule")
    policy = spec.get("concurrencyPolicy")
    if policy not in (None, "Allow", "Forbid", "Replace"):
        errs.not_supported("spec.concurrencyPolicy", policy, ["Allow", "Forbid", "Replace"])
    job_spec = dig(spec, "jobTemplate", "spec")
    if not isinstance(job_spec, dict):
        errs.required("spec.jobTemplate.spec")
        return
    template = job_spec.get("template")
    if not isinstance(template, dict):
        errs.required("spec.jobTemplate.spec.template")
        return
    validate_pod_spec(errs, template.get("spec"), "spec.jobTemplate.spec.template.spec", template=True)
    restart = dig(template, "spec", "restartPolicy")
    if restart not in ("OnFailure", "Never"):
        errs.not_supported("spec.jobTemplate.spec.template.spec.restartPolicy", restart, ["OnFailure", "Never"])


def _immutable(errs: Errors, obj: dict, old: dict, *path: str) -> None:
    if dig(obj, *path) != dig(old, *path):
        errs.invalid(".".join(path), dig(obj, *path), "field is immutable")


def _selector_immutable(errs: Errors, obj: dict, old: dict) -> None:
    if dig(obj, "spec", "selector") != dig(old, "spec", "selector"):
        errs.invalid("spec.selector", dig(obj, "spec", "selector"), "field is immutable")


def _job_update(errs: Errors, obj: dict, old: dict) -> None:
    _selector_immutable(errs, obj, old)
    for field in ("completions", "completionMode"):
        _immutable(errs, obj, old, "spec", field)
    old_template, new_template = dig(old, "spec", "template"), dig(obj, "spec", "template")
    if old_template != new_template:
        errs.invalid("spec.template", new_template, "field is immutable")


def _statefulset_update(errs: Errors, obj: dict, old: dict) -> None:
    _selector_immutable(errs, obj, old)
    old_spec, new_spec = dict(old.get("spec") or {}), dict(obj.get("spec") or {})
    allowed = ("replicas", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds", "ordinals", "revisionHistoryLimit")
    for field in allowed:
        old_spec.pop(field, None)
        new_spec.pop(field, None)
    if old_spec != new_spec:
        errs.forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")


# --- services and networking -----------------------------------------------------------------------
SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]


def _service(errs: Errors, obj: dict) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.required("spec")
        return
    kind = spec.get("type", "ClusterIP")
    if kind not in SERVICE_TYPES:
        errs.not_supported("spec.type", kind, SERVICE_TYPES)
        return
    ports = spec.get("ports")
    if kind == "ExternalName":
        if not spec.get("externalName"):
            errs.required("spec.externalName")
    elif not ports and spec.get("clusterIP") != "None":
        errs.required("spec.ports")
    names, seen = set(), set()
    for i, port in enumerate(_expect_list(errs, ports, "spec.ports")):
        path = f"spec.ports[{i}]"
        if not isinstance(port, dict):
            errs.invalid(path, port, "must be an object")
            continue
        if isinstance(ports, list) and len(ports) > 1 and not port.get("name"):
            errs.required(f"{path}.name")
        name = port.get("name")
        if name:
            if _hashable(name) in names:
                errs.append(st.duplicate(f"{path}.name", name))
            names.add(_hashable(name))
        if "port" not in port:
            errs.required(f"{path}.port")
        else:
            _port_number(errs, port["port"], f"{path}.port")
        protocol = port.get("protocol", "TCP")
        if protocol not in PROTOCOLS:
            errs.not_supported(f"{path}.protocol", protocol, PROTOCOLS)
        target = port.get("targetPort")
        if target is not None:
            if _is_int(target):
                _port_number(errs, target, f"{path}.targetPort")
            elif not isinstance(target, str) or not target:
                errs.invalid(f"{path}.targetPort", target, "must contain at least one letter or number (a-z, 0-9)")
        node_port = port.get("nodePort")
        if node_port is not None:
            if kind not in ("NodePort", "LoadBalancer") and node_port != 0:
                errs.forbidden(f"{path}.nodePort", "may not be used when `type` is 'ClusterIP'")
            elif not _is_int(node_port) or not 0 <= node_port <= 65535:
                errs.invalid(f"{path}.nodePort", node_port, "must be between 1 and 65535, inclusive")
        key = _hashable([port.get("port"), protocol])
        if key in seen:
            errs.append(st.duplicate(path, {"port": port.get("port"), "protocol": protocol}))
        seen.add(key)
    selector = spec.get("selector")
    if selector is not None:
        validate_labels(errs, selector, "spec.selector")
    affinity = spec.get("sessionAffinity")
    if affinity is not None and affinity not in ("None", "ClientIP"):
        errs.not_supported("spec.sessionAffinity", affinity, ["ClientIP", "None"])


def _service_update(errs: Errors, obj: dict, old: dict) -> None:
    old_ip, new_ip = dig(old, "spec", "clusterIP"), dig(obj, "spec", "clusterIP")
    if old_ip and new_ip != old_ip and dig(obj, "spec", "type") != "ExternalName":
        errs.invalid("spec.clusterIPs[0]", new_ip, "may not change once set")


def _configmap(errs: Errors, obj: dict) -> None:
    data = _expect_dict(errs, obj.get("data"), "data")
    binary = _expect_dict(errs, obj.get("binaryData"), "binaryData")
    for key, value in list(data.items()) + list(binary.items()):
        for problem in config_key_errors(key):
            errs.invalid("data", key, problem)
        if not isinstance(value, str):
            errs.invalid(f"data[{key}]", value, "must be a string")
    for key in set(data) & set(binary):
        errs.invalid("data", key, "duplicate of key present in binaryData")


def _secret(errs: Errors, obj: dict) -> None:
    import base64
    import binascii

    data = _expect_dict(errs, obj.get("data"), "data")
    for key, value in data.items():
        for problem in config_key_errors(key):
            errs.invalid("data", key, problem)
        if not isinstance(value, str):
            errs.invalid(f"data[{key}]", value, "must be a base64 string")
            continue
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            errs.invalid(f"data[{key}]", "<secret contents redacted>", "illegal base64 data")
    string_data = _expect_dict(errs, obj.get("stringData"), "stringData")
    for key in string_data:
        for problem in config_key_errors(key):
            errs.invalid("stringData", key, problem)


def _secret_update(errs: Errors, obj: dict, old: dict) -> None:
    if obj.get("type", "Opaque") != old.get("type", "Opaque"):
        errs.invalid("type", obj.get("type"), "field is immutable")
    if old.get("immutable") and (obj.get("data") != old.get("data") or not obj.get("immutable")):
        errs.forbidden("data", "field is immutable when `immutable` is set")


def _configmap_update(errs: Errors, obj: dict, old: dict) -> None:
    if old.get("immutable") and (obj.get("data") != old.get("data") or obj.get("binaryData") != old.get("binaryData") or not obj.get("immutable")):
        errs.forbidden("data", "field is immutable when `immutable` is set")


def _namespace(errs: Errors, obj: dict) -> None:
    for i, finalizer in enumerate(dig(obj, "spec", "finalizers", default=[]) or []):
        if not isinstance(finalizer, str) or qualified_name_errors(finalizer):
            errs.invalid(f"spec.finalizers[{i}]", finalizer, "name is neither a standard finalizer name nor is it fully qualified")


def _event(errs: Errors, obj: dict) -> None:
    involved = obj.get("involvedObject")
    if not isinstance(involved, dict):
        errs.required("involvedObject")
        return
    namespace = dig(obj, "metadata", "namespace")
    if involved.get("namespace") and involved.get("namespace") != namespace:
        errs.invalid("involvedObject.namespace", involved.get("namespace"), "does not match event.namespace")
    kind = obj.get("type")
    if kind is not None and kind not in ("Normal", "Warning"):
        errs.not_supported("type", kind, ["Normal", "Warning"])


def _lease(errs: Errors, obj: dict) -> None:
    spec = obj.get("spec")
    if spec is None:
        return
    spec = _expect_dict(errs, spec, "spec")
    duration = spec.get("leaseDurationSeconds")
    if duration is not None and (not _is_int(duration) or duration <= 0):
        errs.invalid("spec.leaseDurationSeconds", duration, "must be greater than 0")
    transitions = spec.get("leaseTransitions")
    if transitions is not None and (not _is_int(transitions) or transitions < 0):
        errs.invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0")


def _node(errs: Errors, obj: dict) -> None:
    spec = _expect_dict(errs, obj.get("spec"), "spec")
    for i, taint in enumerate(_expect_list(errs, spec.get("taints"), "spec.taints")):
        if not isinstance(taint, dict):
            errs.invalid(f"spec.taints[{i}]", taint, "must be an object")
            continue
        if not taint.get("key"):
            errs.required(f"spec.taints[{i}].key")
        if taint.get("effect") not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errs.not_supported(f"spec.taints[{i}].effect", taint.get("effect"), ["NoExecute", "NoSchedule", "PreferNoSchedule"])


def _quota(errs: Errors, obj: dict) -> None:
    hard = _expect_dict(errs, dig(obj, "spec", "hard"), "spec.hard")
    for name, value in hard.items():
        quantity = parse_quantity(value)
        if quantity is None:
            errs.invalid(f"spec.hard[{name}]", value, "must be a valid quantity")
        elif quantity < 0:
            errs.invalid(f"spec.hard[{name}]", value, "must be greater than or equal to 0")


def _pdb(errs: Errors, obj: dict) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        errs.invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set")
    _intstr_percent(errs, spec.get("minAvailable"), "spec.minAvailable")
    _intstr_percent(errs, spec.get("maxUnavailable"), "spec.maxUnavailable")


RBAC_GROUP = "rbac.authorization.k8s.io"


def _role(errs: Errors, obj: dict) -> None:
    for i, rule in enumerate(_expect_list(errs, obj.get("rules"), "rules")):
        path = f"rules[{i}]"
        if not isinstance(rule, dict):
            errs.invalid(path, rule, "must be an object")
            continue
        if not rule.get("verbs"):
            errs.required(f"{path}.verbs", "verbs must contain at least one value")
        if rule.get("nonResourceURLs"):
            if dig(obj, "metadata", "namespace"):
                errs.invalid(f"{path}.nonResourceURLs", rule["nonResourceURLs"], "namespaced rules cannot apply to non-resource URLs")
            continue
        if not rule.get("apiGroups") and rule.get("resources"):
            errs.required(f"{path}.apiGroups", "resource rules must supply at least one api group")
        if not rule.get("resources"):
            errs.required(f"{path}.resources", "resource rules must supply at least one resource")
        for field in ("verbs", "apiGroups", "resources", "resourceNames"):
            value = rule.get(field)
            if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
                errs.invalid(f"{path}.{field}", value, "must be a list of strings")


def _binding(errs: Errors, obj: dict) -> None:
    ref = obj.get("roleRef")
    if not isinstance(ref, dict):
        errs.required("roleRef")
    else:
        if ref.get("apiGroup") != RBAC_GROUP:
            errs.not_supported("roleRef.apiGroup", ref.get("apiGroup", ""), [RBAC_GROUP])
        allowed = ["ClusterRole"] if obj.get("kind") == "ClusterRoleBinding" or not dig(obj, "metadata", "namespace") else ["ClusterRole", "Role"]
        if ref.get("kind") not in allowed:
            errs.not_supported("roleRef.kind", ref.get("kind", ""), allowed)
        if not ref.get("name"):
            errs.required("roleRef.name")
    for i, subject in enumerate(_expect_list(errs, obj.get("subjects"), "subjects")):
        path = f"subjects[{i}]"
        if not isinstance(subject, dict):
            errs.invalid(path, subject, "must be an object")
            continue
        kind = subject.get("kind")
        if kind not in ("ServiceAccount", "User", "Group"):
            errs.not_supported(f"{path}.kind", kind, ["Group", "ServiceAccount", "User"])
        if not subject.get("name"):
            errs.required(f"{path}.name")
        if kind == "ServiceAccount" and not subject.get("namespace") and not dig(obj, "metadata", "namespace"):
            errs.required(f"{path}.namespace")


def _binding_update(errs: Errors, obj: dict, old: dict) -> None:
    if obj.get("roleRef") != old.get("roleRef"):
        errs.invalid("roleRef", obj.get("roleRef"), "cannot change roleRef")


def _endpointslice(errs: Errors, obj: dict) -> None:
    kind = obj.get("addressType")
    if kind not in ("IPv4", "IPv6", "FQDN"):
        errs.not_supported("addressType", kind, ["FQDN", "IPv4", "IPv6"]) if kind else errs.required("addressType")
    for i, endpoint in enumerate(_expect_list(errs, obj.get("endpoints"), "endpoints")):
        if not isinstance(endpoint, dict) or not endpoint.get("addresses"):
            errs.required(f"endpoints[{i}].addresses", "must contain at least 1 address")


def _endpointslice_update(errs: Errors, obj: dict, old: dict) -> None:
    if obj.get("addressType") != old.get("addressType"):
        errs.invalid("addressType", obj.get("addressType"), "field is immutable")


VALIDATORS = {
    "pods": _pod,
    "deployments": _deployment,
    "replicasets": _replicaset,
    "daemonsets": _daemonset,
    "statefulsets": _statefulset,
    "jobs": _job,
    "cronjobs": _cronjob,
    "services": _service,
    "configmaps": _configmap,
    "secrets": _secret,
    "namespaces": _namespace,
    "events": _event,
    "leases": _lease,
    "nodes": _node,
    "resourcequotas": _quota,
    "poddisruptionbudgets": _pdb,
    "roles": _role,
    "clusterroles": _role,
    "rolebindings": _binding,
    "clusterrolebindings": _binding,
    "endpointslices": _endpointslice,
}

UPDATE_VALIDATORS = {
    "pods": _pod_update,
    "deployments": _selector_immutable,
    "replicasets": _selector_immutable,
    "daemonsets": _selector_immutable,
    "statefulsets": _statefulset_update,
    "jobs": _job_update,
    "services": _service_update,
    "secrets": _secret_update,
    "configmaps": _configmap_update,
    "rolebindings": _binding_update,
    "clusterrolebindings": _binding_update,
    "endpointslices": _endpointslice_update,
}


def validate(info: dict, obj: dict, old: dict | None = None) -> list:
    errs = Errors()
    validate_metadata(errs, info, obj)
    validator = VALIDATORS.get(info["plural"])
    if validator is not None:
        validator(errs, obj)
    if old is not None:
        validate_metadata_update(errs, obj, old)
        update_validator = UPDATE_VALIDATORS.get(info["plural"])
        if update_validator is not None:
            update_validator(errs, obj, old)
    return errs


def validate_status_update(info: dict, obj: dict, old: dict) -> list:
    """A status write: only metadata rules (the spec is the old one) and a pod's phase."""
    errs = Errors()
    validate_metadata(errs, info, obj)
    validate_metadata_update(errs, obj, old)
    if info["plural"] == "pods":
        phase = dig(obj, "status", "phase")
        phases = ["Pending", "Running", "Succeeded", "Failed", "Unknown"]
        if phase is not None and phase not in phases:
            errs.not_supported("status.phase", phase, phases)
    return errs


# --- quantities -------------------------------------------------------------------------------------
_SUFFIXES = {
    "": 1, "m": 0.001, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": 1e-9, "u": 1e-6,
}


def parse_quantity(value) -> float | None:
    """A resource.Quantity as a number (cpu in cores, memory in bytes); None if malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value == value else None
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    text = value.strip()
    for suffix in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "m", "k", "M", "G", "T", "P", "E", "n", "u"):
        if text.endswith(suffix):
            number, multiplier = text[: -len(suffix)], _SUFFIXES[suffix]
            break
    else:
        number, multiplier = text, 1
    if not number or any(c not in "0123456789.+-eE" for c in number):
        return None
    try:
        parsed = float(number)
    except ValueError:
        return None
    if parsed != parsed or parsed in (float("inf"), float("-inf")):
        return None
    return parsed * multiplier
