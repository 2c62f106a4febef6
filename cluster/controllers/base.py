"""What every control loop shares: its queue, its informers, its visible reconcile, expectations,
claiming (adoption and release by selector), pods from templates, taints and tolerations.

A loop is a plain object held by the controller-manager in `manager.loops[name]`; its handlers
and its sync are named "loops.<name>.<method>" so the manager's ApiClient can call them.

    class Foo(Controller):
        name, label = "foo", "Foo"
        def setup(self):                      # informers and handlers (at construction)
            self.foos = self.informer("foos", "on_foo")
        def on_foo(self, event, obj, old):    # handlers only enqueue keys
            self.queue.add(key_of(obj))
        def sync(self, key):                  # level-based: read the cache, compare, write
            ...
            self.reconcile(key, "create", "Foo default/x: want 2, have 1, creating 1")
"""

from ..apiserver.meta import copy_json, dig, meta_of, parse_time, rfc3339
from ..client import controller_of, key_of, owner_ref, selector_matches
from ..kernel import SECOND

EXPECTATIONS_TTL_US = 5 * 60 * SECOND  # client-go's ExpectationsTimeout


class Expectations:
    """pkg/controller's ControllerExpectations: what a loop has asked for and not yet seen.

    After creating 2 pods a ReplicaSet expects 2 adds; until its informer has shown them (or
    5 minutes have passed), a new sync must not count again and create 2 more."""

    def __init__(self):
        self.table: dict[str, dict] = {}  # key -> {"add": n, "del": [pod keys], "at": time}

    def expect(self, key: str, now: int, adds: int = 0, deletes=()) -> None:
        self.table[key] = {"add": adds, "del": sorted(deletes), "at": now}

    def creation_observed(self, key: str) -> None:
        entry = self.table.get(key)
        if entry is not None and entry["add"] > 0:
            entry["add"] -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        entry = self.table.get(key)
        if entry is not None and pod_key in entry["del"]:
            entry["del"].remove(pod_key)

    def satisfied(self, key: str, now: int) -> bool:
        entry = self.table.get(key)
        if entry is None:
            return True
        return (entry["add"] <= 0 and not entry["del"]) or now - entry["at"] > EXPECTATIONS_TTL_US

    def pending(self, key: str) -> dict | None:
        entry = self.table.get(key)
        return None if entry is None else {"add": entry["add"], "del": len(entry["del"])}

    def forget(self, key: str) -> None:
        self.table.pop(key, None)

    def observe_pod(self, event: str, pod: dict, owner_kind: str) -> str | None:
        """A pod event seen by a loop that owns pods of `owner_kind` directly (DaemonSet,
        Job): count it against the owner's expectations and return the owner's key to
        enqueue, or None when the pod is not controlled by such an owner."""
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != owner_kind:
            return None
        key = f"{meta_of(pod).get('namespace')}/{ref.get('name')}"
        if event == "add":
            self.creation_observed(key)
        if event == "delete" or meta_of(pod).get("deletionTimestamp"):
            self.deletion_observed(key, key_of(pod))
        return key


class Controller:
    name = ""
    label = ""
    workers = 5
    tick_us = 0  # a periodic tick (node monitor, pod GC): 0 for none

    def __init__(self, manager):
        self.manager = manager
        self.api = manager.api
        self.queue = self.api.queue(self.name, f"loops.{self.name}.sync", workers=self.workers, label=self.label)
        self.last: dict | None = None
        self.reconciles = 0
        self.setup()

    # --- wiring ------------------------------------------------------------------------------------
    def setup(self) -> None:
        """Create informers and register handlers."""

    def handler(self, method: str) -> str:
        return f"loops.{self.name}.{method}"

    def informer(self, resource: str, method: str | None = None, **options):
        options.setdefault("resync_us", self.manager.resync_us)
        return self.api.informer(resource, handler=self.handler(method) if method else None, **options)

    def start(self) -> None:
        """Leadership acquired: informers are listing, the queue starts; reset volatile state."""

    def stop(self) -> None:
        """Leadership lost or a crash: forget what is volatile."""

    def tick(self) -> None:
        """Called every tick_us while leading."""

    @property
    def now(self) -> int:
        return self.manager.now

    # --- visible work ------------------------------------------------------------------------------
    def reconcile(self, key: str, action: str, summary: str, **data) -> None:
        """One reconcile, one event: what the loop saw and what it did, in a sentence."""
        self.reconciles += 1
        self.last = {"time": self.now / SECOND, "key": key, "action": action, "summary": summary}
        self.manager.emit("controller.reconcile", summary, target=self.api.server if action != "none" else None,
                          controller=self.name, key=key, action=action, **data)

    def request(self, verb: str, resource: str, **kw) -> int:
        return self.api.request(verb, resource, **kw)

    def extra_view(self) -> dict:
        """Fields this loop adds to the controller-manager's view (node lifecycle: nodes)."""
        return {}

    def view(self) -> dict:
        queue = self.queue.view()
        return {
            "name": self.name, "label": self.label, "depth": queue["depth"], "processing": queue["processing"], "waiting": queue["waiting"],
            "retries": queue["retries"], "processed": queue["processed"], "reconciles": self.reconciles, "last": self.last,
        }

    # --- shared helpers ----------------------------------------------------------------------------
    def claim(self, owner: dict, candidates: list[dict], selector, resource: str) -> list[dict]:
        """ControllerRefManager: the candidates this owner controls after adopting orphans that match
        its selector and releasing its own that no longer match. Adoption and release are patches
        (guarded by resourceVersion); the adopted count as owned at once."""
        uid = meta_of(owner).get("uid")
        owned = []
        deleting = bool(meta_of(owner).get("deletionTimestamp"))
        for obj in candidates:
            ref = controller_of(obj)
            matches = selector_matches(selector, meta_of(obj).get("labels"))
            if ref is not None and ref.get("uid") == uid:
                if matches or deleting:
                    owned.append(obj)
                else:
                    self._patch_owners(obj, resource, [r for r in meta_of(obj).get("ownerReferences") or [] if r.get("uid") != uid], "release")
            elif ref is None and matches and not deleting and not meta_of(obj).get("deletionTimestamp"):
                refs = list(meta_of(obj).get("ownerReferences") or []) + [owner_ref(owner)]
                self._patch_owners(obj, resource, refs, "adopt")
                owned.append(obj)
        return owned

    def _patch_owners(self, obj: dict, resource: str, refs: list, why: str) -> None:
        meta = meta_of(obj)
        body = {"metadata": {"ownerReferences": refs or None, "resourceVersion": meta.get("resourceVersion")}}
        self.request("patch", resource, namespace=meta.get("namespace"), name=meta.get("name"), patch_type="merge", body=body, ok=(404,))
        self.manager.emit("controller.claim", f"{self.label}: {'adopts' if why == 'adopt' else 'releases'} {resource} {key_of(obj)}",
                          target=self.api.server, controller=self.name, key=key_of(obj), action=why)


def pod_from_template(template: dict, owner: dict, *, generate_name: str, labels: dict | None = None) -> dict:
    """A pod as controllers create it: the template's metadata and spec, a controller ownerReference."""
    tmeta = template.get("metadata") if isinstance(template.get("metadata"), dict) else {}
    meta = {"generateName": generate_name, "namespace": meta_of(owner).get("namespace"), "labels": dict(tmeta.get("labels") or {})}
    if labels:
        meta["labels"].update(labels)
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        meta["finalizers"] = list(tmeta["finalizers"])
    meta["ownerReferences"] = [owner_ref(owner)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": copy_json(template.get("spec") or {})}


def pod_phase(pod: dict) -> str:
    return dig(pod, "status", "phase", default="Pending") or "Pending"


def condition(obj: dict, kind: str) -> dict | None:
    for c in dig(obj, "status", "conditions", default=[]) or []:
        if isinstance(c, dict) and c.get("type") == kind:
            return c
    return None


def ready_since(pod: dict) -> int | None:
    c = condition(pod, "Ready")
    if c is None or c.get("status") != "True":
        return None
    return parse_time(c.get("lastTransitionTime")) or 0


def is_available(pod: dict, min_ready_seconds: int, now: int) -> bool:
    since = ready_since(pod)
    if since is None:
        return False
    return min_ready_seconds <= 0 or since + min_ready_seconds * SECOND <= now


def tolerates(tolerations, taint: dict) -> dict | None:
    """The first toleration that tolerates the taint, or None."""
    for t in tolerations or []:
        if not isinstance(t, dict):
            continue
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        operator = t.get("operator") or "Equal"
        if not t.get("key"):
            if operator == "Exists":
                return t
            continue
        if t.get("key") != taint.get("key"):
            continue
        if operator == "Exists" or (t.get("value") or "") == (taint.get("value") or ""):
            return t
    return None


def int_or_percent(value, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%"):
        try:
            percent = int(value[:-1])
        except ValueError:
            return 0
        scaled = percent * total
        return -(-scaled // 100) if round_up else scaled // 100
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def set_condition(conditions: list, kind: str, status: str, reason: str, message: str, now: int, *, update_time: bool = False) -> list:
    """Set one condition, keeping lastTransitionTime when the status does not change."""
    out = [c for c in conditions if isinstance(c, dict) and c.get("type") != kind]
    old = next((c for c in conditions if isinstance(c, dict) and c.get("type") == kind), None)
    stamp = rfc3339(now)
    new = {"type": kind, "status": status, "reason": reason, "message": message}
    if old is not None and old.get("status") == status:
        new["lastTransitionTime"] = old.get("lastTransitionTime") or stamp
        if "lastUpdateTime" in old:
            new["lastUpdateTime"] = stamp if update_time or old.get("reason") != reason else old["lastUpdateTime"]
    else:
        new["lastTransitionTime"] = stamp
    if update_time and "lastUpdateTime" not in new:
        new["lastUpdateTime"] = stamp
    out.append(new)
    return sorted(out, key=lambda c: str(c.get("type")))


def plural(n: int, word: str) -> str:
    """'1 pod', '3 pods', '2 ready addresses'."""
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word}es" if word.endswith(("s", "sh", "ch", "x")) else f"{n} {word}s"


__all__ = [
    "Controller", "Expectations", "condition", "int_or_percent", "is_available", "plural", "pod_from_template", "pod_phase", "ready_since",
    "set_condition", "tolerates",
]
