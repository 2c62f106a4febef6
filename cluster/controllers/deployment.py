"""Deployment controller (pkg/controller/deployment): ReplicaSets per pod template, rollouts, history.

A Deployment owns one ReplicaSet per distinct pod template, named "<deployment>-<hash>" where
the hash (label and selector `pod-template-hash`) is computed from the template and
status.collisionCount. The ReplicaSet whose template equals the Deployment's (ignoring the
hash label) is the *new* one; the rest are *old*.

Annotations, as kubectl expects them:
    on each ReplicaSet   deployment.kubernetes.io/revision          its revision (max + 1 when it becomes new)
                         deployment.kubernetes.io/revision-history  revisions it had before (after an undo)
                         deployment.kubernetes.io/desired-replicas, max-replicas
    on the Deployment    deployment.kubernetes.io/revision          the new ReplicaSet's revision
`kubectl rollout undo` (1.32, client-side) picks the ReplicaSet with the wanted revision (or
the one before the current), and patches the Deployment's template with that ReplicaSet's
template minus pod-template-hash; the controller then finds that old ReplicaSet equal to the
template, makes it the new one and gives it the next revision.

One sync, one step (each step's writes are answered before the key is synced again):
    paused ─────────────────────────────────────────▶ scale the new ReplicaSet, status only
    no new ReplicaSet ──────────────────────────────▶ create it (RollingUpdate: as many replicas as
                                                      maxSurge allows; Recreate: after old pods are gone)
    RollingUpdate: scale the new one up to min(replicas, replicas + maxSurge - all pods);
                   scale old ones down by (available pods - (replicas - maxUnavailable)),
                   unhealthy old pods first; availability counts only what is ready and
                   still wanted, so `replicas - maxUnavailable` available pods are kept.
    Recreate:      scale old ones to 0; once none of their pods is left, scale the new one up.
    complete ───────────────────────────────────────▶ delete old ReplicaSets beyond revisionHistoryLimit
    status: replicas, updatedReplicas, readyReplicas, availableReplicas, unavailableReplicas,
            observedGeneration, conditions Available and Progressing (what `kubectl rollout status` reads)
"""

import json

from ..apiserver.meta import copy_json, dig, meta_of, parse_time
from ..client import controller_of, key_of, owner_ref, selector_matches, split_key
from ..kernel import SECOND
from .base import Controller, condition, int_or_percent, plural, set_condition

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
SAFE = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: dict, collision_count: int | None = None) -> str:
    """controller.ComputeHash: FNV-32a over the template (canonical JSON here) and the collision
    count, printed in decimal and each digit mapped to a safe letter (rand.SafeEncodeString)."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(SAFE[ord(c) % len(SAFE)] for c in str(h))


def without_hash(template: dict) -> dict:
    t = copy_json(template or {})
    labels = dig(t, "metadata", "labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
        if not labels:
            t["metadata"].pop("labels")
    if isinstance(t.get("metadata"), dict) and not t["metadata"]:
        t.pop("metadata")
    return t


def revision_of(rs: dict) -> int:
    try:
        return int((meta_of(rs).get("annotations") or {}).get(REVISION) or 0)
    except ValueError:
        return 0


def spec_replicas(obj: dict) -> int:
    value = dig(obj, "spec", "replicas", default=1)
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def status_int(obj: dict, field: str) -> int:
    value = dig(obj, "status", field, default=0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def fenceposts(d: dict) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) resolved against replicas (surge rounds up, unavailable down;
    both 0 makes maxUnavailable 1)."""
    if dig(d, "spec", "strategy", "type") == "Recreate":
        return 0, 0
    rolling = dig(d, "spec", "strategy", "rollingUpdate", default={}) or {}
    replicas = spec_replicas(d)
    surge = int_or_percent(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = int_or_percent(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


class DeploymentController(Controller):
    name = "deployment"
    label = "Deployment"

    def setup(self) -> None:
        self.deployments = self.informer("deployments", "on_deployment", indexes=("namespace",))
        self.sets = self.informer("replicasets", "on_set", indexes=("namespace", "controller"))
        self.pods = self.informer("pods", "on_pod", indexes=("namespace", "controller", "node", "owner"))

    # --- handlers -----------------------------------------------------------------------------------
    def on_deployment(self, event: str, obj: dict, old) -> None:
        self.queue.add(key_of(obj))

    def _owner_of_set(self, rs: dict) -> list[str]:
        ref = controller_of(rs)
        namespace = meta_of(rs).get("namespace")
        if ref is not None:
            return [f"{namespace}/{ref.get('name')}"] if ref.get("kind") == "Deployment" else []
        labels = meta_of(rs).get("labels")
        return [key_of(d) for d in self.deployments.list(namespace) if selector_matches(dig(d, "spec", "selector"), labels)]

    def on_set(self, event: str, rs: dict, old) -> None:
        for key in self._owner_of_set(rs):
            self.queue.add(key)
        if old is not None and event == "update" and controller_of(old) != controller_of(rs):
            for key in self._owner_of_set(old):
                self.queue.add(key)

    def on_pod(self, event: str, pod: dict, old) -> None:
        # Recreate waits for old pods to be gone: their deletion must wake the Deployment.
        if event != "delete":
            return
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.sets.get_by(meta_of(pod).get("namespace"), ref.get("name"))
        if rs is not None:
            for key in self._owner_of_set(rs):
                d = self.deployments.get(key)
                if d is not None and dig(d, "spec", "strategy", "type") == "Recreate":
                    self.queue.add(key)

    # --- sync -------------------------------------------------------------------------------------------
    def sync(self, key: str):
        d = self.deployments.get(key)
        if d is None:
            return True
        namespace, name = split_key(key)
        selector = dig(d, "spec", "selector")
        if not isinstance(selector, dict) or not (selector.get("matchLabels") or selector.get("matchExpressions")):
            self.reconcile(key, "none", f"Deployment {key}: an empty selector selects nothing; ignored")
            return True
        all_sets = self.claim(d, self.sets.list(namespace), selector, "replicasets")
        if meta_of(d).get("deletionTimestamp"):
            self.reconcile(key, "none", f"Deployment {key}: being deleted; only its status is kept up to date")
            self._status(d, None, all_sets, [])
            return True
        template = dig(d, "spec", "template", default={})
        collision = dig(d, "status", "collisionCount")
        new_rs = None
        old_sets = []
        for rs in sorted(all_sets, key=lambda r: (meta_of(r).get("creationTimestamp") or "", meta_of(r).get("name"))):
            if new_rs is None and without_hash(dig(rs, "spec", "template")) == without_hash(template):
                new_rs = rs
            else:
                old_sets.append(rs)
        self.pending_writes = []
        if dig(d, "spec", "paused"):
            self._paused(key, d, new_rs, old_sets)
        elif new_rs is None:
            self._create_new_set(key, d, old_sets, collision)
            return True
        elif self._sync_revision(key, d, new_rs, old_sets):
            return True
        elif dig(d, "spec", "strategy", "type") == "Recreate":
            self._recreate(key, d, new_rs, old_sets)
        else:
            self._rolling(key, d, new_rs, old_sets)
        self._status(d, new_rs, [new_rs] + old_sets if new_rs else old_sets, self.pending_writes)
        return True

    # --- the new ReplicaSet and revisions --------------------------------------------------------------------
    def _create_new_set(self, key: str, d: dict, old_sets: list, collision) -> None:
        namespace, name = split_key(key)
        template = copy_json(dig(d, "spec", "template", default={}))
        digest = template_hash(template, collision)
        rs_name = f"{name}-{digest}"
        clash = self.sets.get_by(namespace, rs_name)
        if clash is not None:
            # A ReplicaSet of that name with another template: bump collisionCount, hash again.
            count = (collision or 0) + 1
            self.reconcile(key, "collision", f"Deployment {key}: ReplicaSet {rs_name} exists with another template; collisionCount → {count}")
            body = copy_json(d)
            body["status"] = dict(d.get("status") or {}, collisionCount=count)
            self.request("update", "deployments", subresource="status", namespace=namespace, name=name, body=body, ok=(404,))
            return
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = digest
        selector = copy_json(dig(d, "spec", "selector"))
        selector.setdefault("matchLabels", {})[HASH_LABEL] = digest
        revision = max([revision_of(r) for r in old_sets] + [0]) + 1
        replicas = spec_replicas(d)
        surge, _unavailable = fenceposts(d)
        if dig(d, "spec", "strategy", "type") == "Recreate":
            if any(spec_replicas(r) for r in old_sets) or self._old_pods_left(old_sets):
                self._recreate(key, d, None, old_sets)
                self._status(d, None, old_sets, self.pending_writes)
                return
        elif dig(d, "spec", "paused"):
            replicas = 0
        else:
            current = sum(spec_replicas(r) for r in old_sets)
            replicas = max(0, min(replicas, replicas + surge - current))
        annotations = {k: v for k, v in (meta_of(d).get("annotations") or {}).items() if _copied_annotation(k)}
        annotations.update({REVISION: str(revision), DESIRED: str(spec_replicas(d)), MAX_REPLICAS: str(spec_replicas(d) + surge)})
        body = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rs_name, "namespace": namespace, "labels": dict(template["metadata"]["labels"]), "annotations": annotations,
                         "ownerReferences": [owner_ref(d)]},
            "spec": {"replicas": replicas, "minReadySeconds": dig(d, "spec", "minReadySeconds", default=0) or 0, "selector": selector, "template": template},
        }
        self.reconcile(key, "create", f"Deployment {key}: no ReplicaSet has the current template; creating {rs_name} (revision {revision}) with {plural(replicas, 'replica')}",
                       revision=revision, replicas=replicas)
        self.request("create", "replicasets", namespace=namespace, body=body, ok=(409,))
        self._annotate_deployment(d, revision)

    def _sync_revision(self, key: str, d: dict, new_rs: dict, old_sets: list) -> bool:
        """The new ReplicaSet must carry the highest revision (after an undo it had an old one)."""
        highest_old = max([revision_of(r) for r in old_sets] + [0])
        revision = revision_of(new_rs)
        if revision > highest_old and str(revision) == (meta_of(d).get("annotations") or {}).get(REVISION):
            return False
        if revision <= highest_old:
            target = highest_old + 1
            body = copy_json(new_rs)
            annotations = body["metadata"].setdefault("annotations", {})
            history = [h for h in (annotations.get(REVISION_HISTORY) or "").split(",") if h]
            if revision:
                history.append(str(revision))
            annotations[REVISION] = str(target)
            if history:
                annotations[REVISION_HISTORY] = ",".join(history)
            for k, v in (meta_of(d).get("annotations") or {}).items():
                if _copied_annotation(k):
                    annotations[k] = v
            self.reconcile(key, "revision", f"Deployment {key}: ReplicaSet {meta_of(new_rs).get('name')} has the current template again; revision {revision} → {target}",
                           revision=target)
            meta = meta_of(new_rs)
            self.request("update", "replicasets", namespace=meta.get("namespace"), name=meta.get("name"), body=body, ok=(404,))
        else:
            target = revision
        self._annotate_deployment(d, target)
        return True

    def _annotate_deployment(self, d: dict, revision: int) -> None:
        if (meta_of(d).get("annotations") or {}).get(REVISION) == str(revision):
            return
        meta = meta_of(d)
        self.request("patch", "deployments", namespace=meta.get("namespace"), name=meta.get("name"), patch_type="merge",
                     body={"metadata": {"annotations": {REVISION: str(revision)}}}, ok=(404,))

    # --- strategies --------------------------------------------------------------------------------------
    def _scale(self, rs: dict, replicas: int, d: dict) -> None:
        surge, _ = fenceposts(d)
        body = copy_json(rs)
        body["spec"]["replicas"] = replicas
        annotations = body["metadata"].setdefault("annotations", {})
        annotations[DESIRED] = str(spec_replicas(d))
        annotations[MAX_REPLICAS] = str(spec_replicas(d) + surge)
        meta = meta_of(rs)
        self.pending_writes.append((meta.get("name"), replicas))
        self.request("update", "replicasets", namespace=meta.get("namespace"), name=meta.get("name"), body=body, ok=(404,))

    def _paused(self, key: str, d: dict, new_rs, old_sets: list) -> None:
        if new_rs is not None and spec_replicas(new_rs) != spec_replicas(d) and not any(spec_replicas(r) for r in old_sets):
            self.reconcile(key, "scale", f"Deployment {key} (paused): scaling {meta_of(new_rs).get('name')} to {spec_replicas(d)}")
            self._scale(new_rs, spec_replicas(d), d)
        else:
            self.reconcile(key, "none", f"Deployment {key} is paused: no rollout")

    def _old_pods_left(self, old_sets: list) -> int:
        count = 0
        for rs in old_sets:
            for pod in self.pods.by_index("controller", meta_of(rs).get("uid")):
                if dig(pod, "status", "phase") not in ("Succeeded", "Failed"):
                    count += 1
        return count

    def _recreate(self, key: str, d: dict, new_rs, old_sets: list) -> None:
        active_old = [r for r in old_sets if spec_replicas(r) > 0]
        if active_old:
            names = ", ".join(meta_of(r).get("name") for r in active_old)
            self.reconcile(key, "scale", f"Deployment {key} (Recreate): scaling old ReplicaSet(s) {names} to 0 first")
            for rs in active_old:
                self._scale(rs, 0, d)
            return
        left = self._old_pods_left(old_sets)
        if left:
            self.reconcile(key, "wait", f"Deployment {key} (Recreate): waiting for {plural(left, 'old pod')} to terminate")
            return
        if new_rs is None:
            return
        want = spec_replicas(d)
        if spec_replicas(new_rs) != want:
            self.reconcile(key, "scale", f"Deployment {key} (Recreate): old pods gone, scaling {meta_of(new_rs).get('name')} to {want}")
            self._scale(new_rs, want, d)
        else:
            self._finish(key, d, new_rs, old_sets)

    def _rolling(self, key: str, d: dict, new_rs: dict, old_sets: list) -> None:
        want = spec_replicas(d)
        surge, max_unavailable = fenceposts(d)
        rs_name = meta_of(new_rs).get("name")
        new_replicas = spec_replicas(new_rs)
        all_pods = new_replicas + sum(spec_replicas(r) for r in old_sets)
        # 1. Scale the new ReplicaSet up (or down to the wanted count).
        if new_replicas > want:
            self.reconcile(key, "scale", f"Deployment {key}: want {want}, new ReplicaSet {rs_name} has {new_replicas}; scaling it down to {want}")
            self._scale(new_rs, want, d)
            return
        if new_replicas < want:
            room = want + surge - all_pods
            target = new_replicas + max(0, min(room, want - new_replicas))
            if target > new_replicas:
                self.reconcile(key, "scale", f"Deployment {key}: rolling update, scaling new ReplicaSet {rs_name} up {new_replicas} → {target} "
                                             f"({all_pods} pods of at most {want + surge})", want=want, surge=surge)
                self._scale(new_rs, target, d)
                return
        # 2. Scale old ReplicaSets down, keeping replicas - maxUnavailable available.
        old_active = [r for r in old_sets if spec_replicas(r) > 0]
        if old_active:
            min_available = want - max_unavailable
            new_unavailable = new_replicas - self._available(new_rs)
            budget = all_pods - min_available - new_unavailable
            if budget > 0:
                plan = {}
                # Unhealthy old pods go first (they count for nothing).
                for rs in sorted(old_active, key=lambda r: meta_of(r).get("creationTimestamp") or ""):
                    unhealthy = spec_replicas(rs) - self._available(rs)
                    cut = min(budget, max(0, unhealthy))
                    if cut:
                        plan[meta_of(rs).get("name")] = cut
                        budget -= cut
                available = sum(self._available(r) for r in [new_rs] + old_sets)
                spare = available - min_available
                for rs in sorted(old_active, key=lambda r: meta_of(r).get("creationTimestamp") or ""):
                    if spare <= 0:
                        break
                    name = meta_of(rs).get("name")
                    left = spec_replicas(rs) - plan.get(name, 0)
                    cut = min(left, spare)
                    if cut > 0:
                        plan[name] = plan.get(name, 0) + cut
                        spare -= cut
                if plan:
                    parts = ", ".join(f"{n} {spec_replicas(self.sets.get_by(meta_of(d).get('namespace'), n))} → "
                                      f"{spec_replicas(self.sets.get_by(meta_of(d).get('namespace'), n)) - c}" for n, c in sorted(plan.items()))
                    self.reconcile(key, "scale", f"Deployment {key}: rolling update, {available} available (at least {min_available} must stay); scaling down {parts}",
                                   min_available=min_available, available=available)
                    for rs in old_active:
                        cut = plan.get(meta_of(rs).get("name"))
                        if cut:
                            self._scale(rs, spec_replicas(rs) - cut, d)
                    return
            self.reconcile(key, "wait", f"Deployment {key}: rolling update waits: {self._available(new_rs)} of {new_replicas} new pods available, "
                                        f"{sum(spec_replicas(r) for r in old_active)} old pods kept for availability")
            return
        self._finish(key, d, new_rs, old_sets)

    def _available(self, rs: dict) -> int:
        # What the ReplicaSet reports available, but never more than it still wants: pods it
        # is deleting may still show in a status not yet updated.
        return min(status_int(rs, "availableReplicas"), spec_replicas(rs))

    def _finish(self, key: str, d: dict, new_rs: dict, old_sets: list) -> None:
        """Rolled out: delete the oldest empty ReplicaSets beyond revisionHistoryLimit."""
        want = spec_replicas(d)
        complete = status_int(new_rs, "availableReplicas") >= want and status_int(new_rs, "replicas") == want
        limit = dig(d, "spec", "revisionHistoryLimit", default=10)
        limit = limit if isinstance(limit, int) else 10
        empty = [r for r in old_sets if spec_replicas(r) == 0 and status_int(r, "replicas") == 0 and not meta_of(r).get("deletionTimestamp")]
        excess = sorted(empty, key=revision_of)[: max(0, len(empty) - limit)] if complete else []
        if excess:
            names = ", ".join(meta_of(r).get("name") for r in excess)
            self.reconcile(key, "cleanup", f"Deployment {key}: rolled out; deleting old ReplicaSet(s) beyond revisionHistoryLimit {limit}: {names}")
            for rs in excess:
                meta = meta_of(rs)
                self.request("delete", "replicasets", namespace=meta.get("namespace"), name=meta.get("name"), ok=(404, 409),
                             body={"preconditions": {"uid": meta.get("uid")}})
            return
        if complete:
            self.reconcile(key, "none", f"Deployment {key}: {want} of {want} updated replicas available, rolled out")
        else:
            self.reconcile(key, "wait", f"Deployment {key}: {status_int(new_rs, 'availableReplicas')} of {want} updated replicas available, waiting")
            deadline = dig(d, "spec", "progressDeadlineSeconds", default=600)
            if isinstance(deadline, int) and deadline > 0:
                self.queue.add_after(key, deadline * SECOND + SECOND)

    # --- status -----------------------------------------------------------------------------------------
    def _status(self, d: dict, new_rs, all_sets: list, writes: list) -> None:
        wanted = {name: replicas for name, replicas in writes}
        sets = [r for r in all_sets if r is not None]
        replicas = sum(status_int(r, "replicas") for r in sets)
        updated = status_int(new_rs, "replicas") if new_rs is not None else 0
        ready = sum(status_int(r, "readyReplicas") for r in sets)
        available = sum(status_int(r, "availableReplicas") for r in sets)
        total_spec = sum(wanted.get(meta_of(r).get("name"), spec_replicas(r)) for r in sets)
        want = spec_replicas(d)
        _surge, max_unavailable = fenceposts(d)
        old = d.get("status") or {}
        conditions = list(old.get("conditions") or [])
        if available >= want - max_unavailable:
            conditions = set_condition(conditions, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", self.now, update_time=True)
        else:
            conditions = set_condition(conditions, "Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", self.now, update_time=True)
        conditions = self._progressing(d, new_rs, conditions, updated, ready, available, replicas, want)
        status = {"observedGeneration": meta_of(d).get("generation", 1), "replicas": replicas, "updatedReplicas": updated, "readyReplicas": ready,
                  "availableReplicas": available, "unavailableReplicas": max(0, total_spec - available), "conditions": conditions}
        if old.get("collisionCount") is not None:
            status["collisionCount"] = old["collisionCount"]
        status = {k: v for k, v in status.items() if v or k in ("observedGeneration", "conditions")}
        if _same_status(status, old):
            return
        body = copy_json(d)
        body["status"] = status
        meta = meta_of(d)
        self.request("update", "deployments", subresource="status", namespace=meta.get("namespace"), name=meta.get("name"), body=body, ok=(404, 409))

    def _progressing(self, d, new_rs, conditions, updated, ready, available, replicas, want) -> list:
        rs_name = meta_of(new_rs).get("name") if new_rs is not None else None
        current = condition({"status": {"conditions": conditions}}, "Progressing")
        old = d.get("status") or {}
        if new_rs is not None and updated == want and replicas == want and available == want and status_int(new_rs, "availableReplicas") >= want:
            return set_condition(conditions, "Progressing", "True", "NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.', self.now, update_time=True)
        progress = (
            current is None or rs_name is None
            or updated > old.get("updatedReplicas", 0) or ready > old.get("readyReplicas", 0) or available > old.get("availableReplicas", 0)
            or (current.get("reason") == "NewReplicaSetAvailable" and current.get("message") != f'ReplicaSet "{rs_name}" has successfully progressed.')
            or meta_of(d).get("generation", 1) != old.get("observedGeneration")
        )
        if progress:
            reason, message = ("ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.') if rs_name else ("NewReplicaSetCreated", "Creating a new ReplicaSet.")
            return set_condition(conditions, "Progressing", "True", reason, message, self.now, update_time=True)
        deadline = dig(d, "spec", "progressDeadlineSeconds", default=600)
        last = parse_time(current.get("lastUpdateTime")) if current else None
        if isinstance(deadline, int) and last is not None and self.now > last + deadline * SECOND and current.get("reason") != "ProgressDeadlineExceeded":
            return set_condition(conditions, "Progressing", "False", "ProgressDeadlineExceeded", f'ReplicaSet "{rs_name}" has timed out progressing.', self.now, update_time=True)
        return conditions


def _copied_annotation(key: str) -> bool:
    """Deployment annotations copied to its ReplicaSets (not kubectl's last-applied, not ours)."""
    return key not in (REVISION, REVISION_HISTORY, DESIRED, MAX_REPLICAS, "kubectl.kubernetes.io/last-applied-configuration")


def _same_status(a: dict, b: dict) -> bool:
    def strip(s):
        s = dict(s)
        s["conditions"] = [{k: v for k, v in c.items() if k not in ("lastUpdateTime", "lastTransitionTime")} for c in s.get("conditions") or []]
        return s

    return strip(a) == strip(b)
