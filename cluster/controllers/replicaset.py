"""ReplicaSet controller (pkg/controller/replicaset): keep `replicas` pods that match the selector.

sync(key):
    rs gone ─▶ forget its expectations
    pods = the namespace's active pods, claimed (adopt matching orphans, release non-matching own)
    expectations satisfied? ─▶ diff = len(pods) - replicas
        diff < 0: create -diff pods (generateName "<rs>-", controller ownerReference), expect -diff adds
        diff > 0: delete the diff pods that matter least (unscheduled, pending, not ready, newest first)
    status: replicas, fullyLabeledReplicas, readyReplicas, availableReplicas, observedGeneration
"""

from ..apiserver.meta import copy_json, dig, meta_of
from ..client import controller_of, is_pod_active, is_pod_ready, key_of, selector_matches, split_key
from ..client.informer import register_index
from ..kernel import SECOND
from .base import Controller, Expectations, is_available, plural, pod_from_template, pod_phase

ORPHANS = "orphans"  # an informer index: objects with no controller, by namespace (what a ReplicaSet may adopt)


def _orphans(obj: dict) -> list[str]:
    namespace = meta_of(obj).get("namespace")
    return [namespace] if namespace and controller_of(obj) is None else []


register_index(ORPHANS, _orphans)
BURST_REPLICAS = 500  # --replicaset-burst: at most this many creates or deletes per sync


def owner_key(pod: dict, kind: str) -> str | None:
    ref = controller_of(pod)
    if ref is None or ref.get("kind") != kind:
        return None
    return f"{meta_of(pod).get('namespace')}/{ref.get('name')}"


def deletion_rank(pod: dict) -> tuple:
    """controller.ActivePods ordering: the pods that matter least come first."""
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(pod_phase(pod), 0)
    created = meta_of(pod).get("creationTimestamp") or ""
    return (1 if dig(pod, "spec", "nodeName") else 0, phase_rank, 1 if is_pod_ready(pod) else 0, _negate(created), meta_of(pod).get("name") or "")


def _negate(text: str) -> tuple:
    return tuple(-ord(c) for c in text)


class ReplicaSetController(Controller):
    name = "replicaset"
    label = "ReplicaSet"
    kind = "ReplicaSet"
    resource = "replicasets"

    def setup(self) -> None:
        self.expectations = Expectations()
        self.sets = self.informer(self.resource, "on_set", indexes=("namespace", "controller"))
        self.pods = self.informer("pods", "on_pod", indexes=("namespace", "controller", "node", "owner", ORPHANS))

    def stop(self) -> None:
        self.expectations = Expectations()

    # --- handlers: only enqueue -----------------------------------------------------------------------
    def on_set(self, event: str, obj: dict, old: dict | None) -> None:
        self.queue.add(key_of(obj))

    def _sets_for_orphan(self, pod: dict) -> list[str]:
        labels = meta_of(pod).get("labels")
        return [key_of(s) for s in self.sets.list(meta_of(pod).get("namespace")) if selector_matches(dig(s, "spec", "selector"), labels)]

    def on_pod(self, event: str, pod: dict, old: dict | None) -> None:
        key = owner_key(pod, self.kind)
        pod_key = key_of(pod)
        if event == "add":
            if key is not None:
                self.expectations.creation_observed(key)
                self.queue.add(key)
            else:
                for k in self._sets_for_orphan(pod):
                    self.queue.add(k)
            if meta_of(pod).get("deletionTimestamp") and key is not None:
                self.expectations.deletion_observed(key, pod_key)
        elif event == "delete":
            if key is not None:
                self.expectations.deletion_observed(key, pod_key)
                self.queue.add(key)
        else:
            if key is not None and meta_of(pod).get("deletionTimestamp"):
                self.expectations.deletion_observed(key, pod_key)
            old_key = owner_key(old, self.kind) if old is not None else None
            if old_key is not None and old_key != key:
                self.queue.add(old_key)
            if key is not None:
                self.queue.add(key)
            elif old is None or meta_of(old).get("labels") != meta_of(pod).get("labels") or event == "resync":
                for k in self._sets_for_orphan(pod):
                    self.queue.add(k)

    # --- sync ----------------------------------------------------------------------------------------
    def sync(self, key: str):
        rs = self.sets.get(key)
        if rs is None:
            self.expectations.forget(key)
            return True
        namespace, name = split_key(key)
        selector = dig(rs, "spec", "selector")
        candidates = [p for p in self._claimable(rs, namespace) if is_pod_active(p)]
        pods = self.claim(rs, candidates, selector, "pods")
        want = dig(rs, "spec", "replicas", default=1)
        want = want if isinstance(want, int) else 1
        have = len(pods)
        what = f"{self.label} {key}"
        if meta_of(rs).get("deletionTimestamp"):
            self.reconcile(key, "none", f"{what}: being deleted, leaves its {plural(have, 'pod')} to the garbage collector", want=want, have=have)
        elif not self.expectations.satisfied(key, self.now):
            pending = self.expectations.pending(key)
            self.reconcile(key, "wait", f"{what}: want {want}, have {have}, still waiting to see {pending['add']} created / {pending['del']} deleted pod(s)",
                           want=want, have=have)
        elif have < want:
            count = min(want - have, BURST_REPLICAS)
            self.expectations.expect(key, self.now, adds=count)
            self.reconcile(key, "create", f"{what}: want {want}, have {have}, creating {plural(count, 'pod')}", want=want, have=have, count=count)
            for _ in range(count):
                body = pod_from_template(dig(rs, "spec", "template", default={}), rs, generate_name=f"{name}-")
                self.request("create", "pods", namespace=namespace, body=body, then=self.handler("created"), context=key)
        elif have > want:
            count = min(have - want, BURST_REPLICAS)
            victims = sorted(pods, key=deletion_rank)[:count]
            self.expectations.expect(key, self.now, deletes=[key_of(p) for p in victims])
            names = ", ".join(meta_of(p).get("name") for p in victims[:5]) + ("…" if count > 5 else "")
            self.reconcile(key, "delete", f"{what}: want {want}, have {have}, deleting {plural(count, 'pod')} ({names})", want=want, have=have, count=count)
            for pod in victims:
                self.request("delete", "pods", namespace=namespace, name=meta_of(pod).get("name"), ok=(404,),
                             body={"preconditions": {"uid": meta_of(pod).get("uid")}}, then=self.handler("deleted"), context=[key, key_of(pod)])
        else:
            self.reconcile(key, "none", f"{what}: want {want}, have {have}, nothing to do", want=want, have=have)
        self._update_status(rs, pods)
        return True

    def _claimable(self, rs: dict, namespace: str) -> list[dict]:
        """The namespace's pods that claim() can act on for this set, in list order: those it
        controls and the orphans. claim() skips every other pod, so the outcome is the same as
        passing them all, without walking a namespace of 100,000 pods on every sync."""
        uid = meta_of(rs).get("uid")
        if not isinstance(uid, str):
            return self.pods.list(namespace)
        index = self.pods.index
        keys = {k for k in index["controller"].get(uid, ()) if meta_of(self.pods.cache[k]).get("namespace") == namespace}
        keys.update(index[ORPHANS].get(namespace, ()))
        return [self.pods.cache[k] for k in sorted(keys)]

    def created(self, response: dict, key: str) -> None:
        if response.get("code", 0) >= 300:
            # The pod will never be seen: lower the expectation so the next sync can try again.
            self.expectations.creation_observed(key)

    def deleted(self, response: dict, context) -> None:
        if response.get("code", 0) >= 300 and response.get("code") != 404:
            self.expectations.deletion_observed(context[0], context[1])

    def _update_status(self, rs: dict, pods: list[dict]) -> None:
        template_labels = dig(rs, "spec", "template", "metadata", "labels", default={}) or {}
        min_ready = dig(rs, "spec", "minReadySeconds", default=0) or 0
        status = dict(rs.get("status") or {})
        new = {
            "replicas": len(pods),
            "fullyLabeledReplicas": sum(1 for p in pods if all((meta_of(p).get("labels") or {}).get(k) == v for k, v in template_labels.items())),
            "readyReplicas": sum(1 for p in pods if is_pod_ready(p)),
            "availableReplicas": sum(1 for p in pods if is_available(p, min_ready, self.now)),
            "observedGeneration": meta_of(rs).get("generation", 1),
        }
        if min_ready and new["readyReplicas"] > new["availableReplicas"]:
            self.queue.add_after(key_of(rs), min_ready * SECOND)
        merged = {k: v for k, v in status.items() if k not in new}
        merged.update({k: v for k, v in new.items() if v or k in ("replicas", "observedGeneration")})  # omitempty, like the real API
        if merged == status:
            return
        body = copy_json(rs)
        body["status"] = merged
        meta = meta_of(rs)
        self.request("update", self.resource, subresource="status", namespace=meta.get("namespace"), name=meta.get("name"), body=body, ok=(404,))
