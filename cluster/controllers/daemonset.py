"""DaemonSet controller (pkg/controller/daemon): one pod on every eligible node.

A node is eligible when the template's nodeSelector and required node affinity match its
labels and the pod tolerates its NoSchedule/NoExecute taints (DaemonSet pods tolerate
not-ready, unreachable, the pressure taints and unschedulable, as the real controller adds).
As in current Kubernetes the controller does not bind: each pod it creates carries a required
node affinity on the node's name (matchFields metadata.name In [node]) and the scheduler
places it there.

sync(key):
    for each node (sorted): eligible and no pod ─▶ create one for it
                            eligible, two or more ▶ delete all but the oldest
                            not eligible, pods ───▶ delete them
                            a Failed pod ─────────▶ delete it (a fresh one follows)
    RollingUpdate: a pod with an old template (label controller-revision-hash) is deleted while
    fewer than maxUnavailable of the DaemonSet's pods are unavailable.
    status: desiredNumberScheduled, currentNumberScheduled, numberMisscheduled, numberReady,
            numberAvailable, numberUnavailable, updatedNumberScheduled, observedGeneration
"""

from ..apiserver.meta import copy_json, dig, meta_of
from ..client import is_pod_ready, key_of, split_key
from .base import Controller, Expectations, int_or_percent, plural, pod_from_template, tolerates
from .deployment import template_hash

REVISION_LABEL = "controller-revision-hash"
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def daemon_tolerations(spec: dict) -> list:
    tolerations = list(spec.get("tolerations") or [])
    have = {(t.get("key"), t.get("effect")) for t in tolerations if isinstance(t, dict)}
    for t in DAEMON_TOLERATIONS:
        if (t["key"], t["effect"]) not in have:
            tolerations.append(dict(t))
    return tolerations


def target_node(pod: dict) -> str | None:
    """The node a daemon pod is for: where it is bound, else its metadata.name affinity."""
    node = dig(pod, "spec", "nodeName")
    if node:
        return node
    terms = dig(pod, "spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms", default=[]) or []
    for term in terms:
        for field in term.get("matchFields") or [] if isinstance(term, dict) else []:
            if field.get("key") == "metadata.name" and field.get("operator") == "In" and len(field.get("values") or []) == 1:
                return field["values"][0]
    return None


def _expression_matches(expr: dict, labels: dict) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return False


def node_should_run(spec: dict, node: dict) -> tuple[bool, str]:
    labels = meta_of(node).get("labels") or {}
    name = meta_of(node).get("name")
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False, f"nodeSelector {k}={v} does not match"
    terms = dig(spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms", default=None)
    if terms:
        def term_ok(term):
            return all(_expression_matches(e, labels) for e in term.get("matchExpressions") or []) and all(
                _expression_matches(f, {"metadata.name": name}) for f in term.get("matchFields") or [])
        if not any(term_ok(t) for t in terms if isinstance(t, dict)):
            return False, "node affinity does not match"
    tolerations = daemon_tolerations(spec)
    for taint in dig(node, "spec", "taints", default=[]) or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and tolerates(tolerations, taint) is None:
            return False, f"taint {taint.get('key')}:{taint.get('effect')} not tolerated"
    return True, ""


class DaemonSetController(Controller):
    name = "daemonset"
    label = "DaemonSet"

    def setup(self) -> None:
        self.expectations = Expectations()
        self.sets = self.informer("daemonsets", "on_set", indexes=("namespace",))
        self.nodes = self.informer("nodes", "on_node")
        self.pods = self.informer("pods", "on_pod", indexes=("namespace", "controller", "node", "owner"))

    def stop(self) -> None:
        self.expectations = Expectations()

    def on_set(self, event, obj, old) -> None:
        self.queue.add(key_of(obj))

    def on_node(self, event, node, old) -> None:
        if event == "resync":
            return
        if old is not None and meta_of(old).get("labels") == meta_of(node).get("labels") and dig(old, "spec", "taints") == dig(node, "spec", "taints"):
            return
        for ds in self.sets.list():
            self.queue.add(key_of(ds))

    def on_pod(self, event, pod, old) -> None:
        key = self.expectations.observe_pod(event, pod, "DaemonSet")
        if key is not None:
            self.queue.add(key)

    def sync(self, key: str):
        ds = self.sets.get(key)
        if ds is None:
            self.expectations.forget(key)
            return True
        namespace, name = split_key(key)
        uid = meta_of(ds).get("uid")
        template = dig(ds, "spec", "template", default={})
        spec = template.get("spec") or {}
        revision = template_hash(template)
        pods = [p for p in self.pods.by_index("controller", uid) if not meta_of(p).get("deletionTimestamp")]
        by_node: dict[str, list] = {}
        for pod in pods:
            by_node.setdefault(target_node(pod) or "", []).append(pod)
        creates, deletes = [], []
        desired = 0
        nodes = self.nodes.list()
        node_names = {meta_of(n).get("name") for n in nodes}
        for node in nodes:
            node_name = meta_of(node).get("name")
            should, _why = node_should_run(spec, node)
            here = sorted(by_node.get(node_name, []), key=lambda p: (meta_of(p).get("creationTimestamp") or "", meta_of(p).get("name")))
            if should:
                desired += 1
                failed = [p for p in here if dig(p, "status", "phase") == "Failed"]
                deletes += failed
                alive = [p for p in here if p not in failed]
                if not alive:
                    creates.append(node_name)
                elif len(alive) > 1:
                    deletes += alive[1:]
            else:
                deletes += here
        for node_name, stray in sorted(by_node.items()):
            if node_name not in node_names:
                deletes += stray  # their node is gone
        # RollingUpdate: replace pods of an old template, maxUnavailable at a time.
        updated = [p for p in pods if (meta_of(p).get("labels") or {}).get(REVISION_LABEL) == revision]
        if dig(ds, "spec", "updateStrategy", "type", default="RollingUpdate") == "RollingUpdate" and not creates and not deletes:
            max_unavailable = int_or_percent(dig(ds, "spec", "updateStrategy", "rollingUpdate", "maxUnavailable", default=1), desired, True) or 1
            unavailable = sum(1 for p in pods if not is_pod_ready(p))
            old = [p for p in pods if p not in updated]
            old.sort(key=lambda p: (is_pod_ready(p), meta_of(p).get("name")))
            for pod in old:
                if unavailable >= max_unavailable and is_pod_ready(pod):
                    break
                deletes.append(pod)
                if is_pod_ready(pod):
                    unavailable += 1
        what = f"DaemonSet {key}"
        if not self.expectations.satisfied(key, self.now):
            self.reconcile(key, "wait", f"{what}: waiting to see earlier creates and deletes")
        elif creates or deletes:
            self.expectations.expect(key, self.now, adds=len(creates), deletes=[key_of(p) for p in deletes])
            parts = []
            if creates:
                parts.append(f"creating {plural(len(creates), 'pod')} for {', '.join(creates)}")
            if deletes:
                parts.append(f"deleting {plural(len(deletes), 'pod')} ({', '.join(meta_of(p).get('name') for p in deletes[:4])})")
            self.reconcile(key, "create" if creates else "delete", f"{what}: {desired} eligible node(s), {len(pods)} pod(s); " + "; ".join(parts),
                           desired=desired, have=len(pods))
            for node_name in creates:
                body = pod_from_template(template, ds, generate_name=f"{name}-", labels={REVISION_LABEL: revision})
                pod_spec = body["spec"]
                pod_spec["tolerations"] = daemon_tolerations(pod_spec)
                affinity = pod_spec.setdefault("affinity", {})
                node_affinity = affinity.setdefault("nodeAffinity", {})
                node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
                    "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}
                self.request("create", "pods", namespace=namespace, body=body, then=self.handler("created"), context=key)
            for pod in deletes:
                self.request("delete", "pods", namespace=namespace, name=meta_of(pod).get("name"), ok=(404,),
                             body={"preconditions": {"uid": meta_of(pod).get("uid")}})
        else:
            self.reconcile(key, "none", f"{what}: {desired} eligible node(s), {len(pods)} pod(s), nothing to do", desired=desired, have=len(pods))
        self._status(ds, pods, desired, revision, node_names)
        return True

    def created(self, response, key) -> None:
        if response.get("code", 0) >= 300:
            self.expectations.creation_observed(key)

    def _status(self, ds: dict, pods: list, desired: int, revision: str, node_names: set) -> None:
        nodes = {meta_of(n).get("name"): n for n in self.nodes.list()}
        scheduled = [p for p in pods if dig(p, "spec", "nodeName")]
        current = [p for p in scheduled if dig(p, "spec", "nodeName") in nodes and node_should_run(dig(ds, "spec", "template", "spec", default={}), nodes[dig(p, "spec", "nodeName")])[0]]
        ready = sum(1 for p in current if is_pod_ready(p))
        status = {
            "currentNumberScheduled": len(current), "numberMisscheduled": len(scheduled) - len(current), "desiredNumberScheduled": desired,
            "numberReady": ready, "numberAvailable": ready, "numberUnavailable": max(0, desired - ready),
            "updatedNumberScheduled": sum(1 for p in current if (meta_of(p).get("labels") or {}).get(REVISION_LABEL) == revision),
            "observedGeneration": meta_of(ds).get("generation", 1),
        }
        status = {k: v for k, v in status.items() if v or k in ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady")}
        if status == (ds.get("status") or {}):
            return
        body = copy_json(ds)
        body["status"] = status
        meta = meta_of(ds)
        self.request("update", "daemonsets", subresource="status", namespace=meta.get("namespace"), name=meta.get("name"), body=body, ok=(404, 409))
