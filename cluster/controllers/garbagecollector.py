"""Garbage collector (pkg/controller/garbagecollector): the owner graph and cascading deletion.

The graph is the union of the loop's informer caches, indexed by uid and by owner uid: an
edge runs from every object to each owner its metadata.ownerReferences names.

Two queues, keyed "delete:<uid>" and "orphan:<uid>":

attempt to delete (an object whose owners may be gone, or an owner deleting in the foreground)
    the object is deleting with the foregroundDeletion finalizer (propagationPolicy Foreground):
        dependents with blockOwnerDeletion left ─▶ queue every dependent; wait
        none left ────────────────────────────▶ remove the finalizer: the API server deletes it
    otherwise look at each owner: in the graph (same uid) it is *solid*, or *waiting* when it is
    itself deleting in the foreground; absent from the graph, it is confirmed with a live GET
    (404 or another uid: *dangling*), because an informer may simply not have seen it yet.
        solid owners and some dangling/waiting ─▶ patch the dangling refs away
        only waiting owners ─────────────────────▶ delete it (Foreground if it has dependents itself)
        only dangling owners ────────────────────▶ delete it (Background): this is how Background
                                                   deletion cascades, and how dangling dependents go

attempt to orphan (an owner deleting with the orphan finalizer: propagationPolicy Orphan)
    patch every dependent to drop its reference to the owner, then remove the orphan finalizer.

The API server records the policy (PROTOCOL.md "Delete"): Orphan adds the `orphan` finalizer,
Foreground `foregroundDeletion`; Background deletes the owner at once and leaves its
dependents dangling for this loop.
"""

from ..apiserver.meta import meta_of
from ..apiserver.resources import BY_KIND, RESOURCES
from .base import Controller, plural

# Every resource that can own or be owned (events are left to their TTL).
GC_RESOURCES = [row["plural"] for row in RESOURCES if row["plural"] != "events"]
ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
MAX_GRAPH_VIEW = 300


def describe(obj: dict) -> str:
    meta = meta_of(obj)
    where = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
    return f"{obj.get('kind') or '?'} {where}{meta.get('name')}"


def resource_for(ref: dict) -> dict | None:
    api_version = ref.get("apiVersion") or ""
    group = api_version.split("/")[0] if "/" in api_version else ""
    return BY_KIND.get((group, ref.get("kind")))


class GarbageCollector(Controller):
    name = "garbagecollector"
    label = "GarbageCollector"
    workers = 20

    def setup(self) -> None:
        self.informers = {}
        for resource in GC_RESOURCES:
            self.informers[resource] = self.informer(resource, "on_object", indexes=("uid", "owner"))
        self.checks: dict[str, dict] = {}  # queue key -> owners being confirmed with a live GET
        self.orphaning: dict[str, dict] = {}  # queue key -> dependents being released

    def stop(self) -> None:
        self.checks = {}
        self.orphaning = {}

    # --- the graph ------------------------------------------------------------------------------------
    def find(self, uid: str) -> dict | None:
        for resource in GC_RESOURCES:
            found = self.informers[resource].by_index("uid", uid)
            if found:
                return found[0]
        return None

    def dependents(self, uid: str) -> list[dict]:
        out = []
        for resource in GC_RESOURCES:
            out += self.informers[resource].by_index("owner", uid)
        return out

    @staticmethod
    def _deleting_with(obj: dict, finalizer: str) -> bool:
        meta = meta_of(obj)
        return bool(meta.get("deletionTimestamp")) and finalizer in (meta.get("finalizers") or [])

    # --- handlers -------------------------------------------------------------------------------------
    def on_object(self, event: str, obj: dict, old) -> None:
        meta = meta_of(obj)
        uid = meta.get("uid")
        if not uid:
            return
        if event == "delete":
            for dep in self.dependents(uid):
                self.queue.add(f"delete:{meta_of(dep).get('uid')}")
            for ref in meta.get("ownerReferences") or []:
                owner = self.find(ref.get("uid"))
                if owner is not None and self._deleting_with(owner, FOREGROUND):
                    self.queue.add(f"delete:{ref.get('uid')}")
            return
        if self._deleting_with(obj, ORPHAN):
            self.queue.add(f"orphan:{uid}")
        if self._deleting_with(obj, FOREGROUND):
            self.queue.add(f"delete:{uid}")
        refs = meta.get("ownerReferences") or []
        if not refs:
            return
        changed = old is None or meta_of(old).get("ownerReferences") != refs or event == "resync"
        if changed or any(self.find(r.get("uid")) is None for r in refs):
            self.queue.add(f"delete:{uid}")

    # --- sync -----------------------------------------------------------------------------------------
    def sync(self, key: str):
        what, uid = key.split(":", 1)
        obj = self.find(uid)
        if obj is None:
            return True
        if what == "orphan":
            return self._orphan(key, obj)
        meta = meta_of(obj)
        if meta.get("deletionTimestamp"):
            if FOREGROUND in (meta.get("finalizers") or []):
                self._deleting_dependents(key, obj)
            return True
        refs = [r for r in meta.get("ownerReferences") or [] if isinstance(r, dict)]
        if not refs:
            return True
        verdicts, unknown = {}, []
        for ref in refs:
            owner = self.find(ref.get("uid"))
            if owner is not None:
                verdicts[ref.get("uid")] = "waiting" if self._deleting_with(owner, FOREGROUND) else "solid"
            elif resource_for(ref) is None:
                verdicts[ref.get("uid")] = "solid"  # a kind this API does not serve: never collected
            else:
                unknown.append(ref)
        if not unknown:
            self._decide(key, obj, verdicts)
            return True
        # Owners missing from the graph: ask the API server (an informer may lag behind).
        token = self.checks.get(key, {}).get("token", 0) + 1
        self.checks[key] = {"token": token, "left": len(unknown), "verdicts": verdicts, "uid": uid}
        for ref in unknown:
            info = resource_for(ref)
            namespace = meta.get("namespace") if info["namespaced"] else None
            self.request("get", info["plural"], group=info["group"], namespace=namespace, name=ref.get("name"), ok=(404,),
                         then=self.handler("owner_checked"), context=[key, token, ref.get("uid")])
        return True

    def owner_checked(self, response: dict, context) -> None:
        key, token, owner_uid = context
        check = self.checks.get(key)
        if check is None or check["token"] != token:
            return
        code = response.get("code")
        if code == 200:
            owner = response["body"]
            same = meta_of(owner).get("uid") == owner_uid
            check["verdicts"][owner_uid] = ("waiting" if self._deleting_with(owner, FOREGROUND) else "solid") if same else "dangling"
        elif code == 404:
            check["verdicts"][owner_uid] = "dangling"
        else:
            check["failed"] = True
        check["left"] -= 1
        if check["left"] > 0:
            return
        del self.checks[key]
        obj = self.find(check["uid"])
        if obj is None or check.get("failed"):
            return
        self._decide(key, obj, check["verdicts"])

    def _decide(self, key: str, obj: dict, verdicts: dict) -> None:
        meta = meta_of(obj)
        refs = [r for r in meta.get("ownerReferences") or [] if isinstance(r, dict)]
        solid = [r for r in refs if verdicts.get(r.get("uid")) == "solid"]
        dangling = [r for r in refs if verdicts.get(r.get("uid")) == "dangling"]
        waiting = [r for r in refs if verdicts.get(r.get("uid")) == "waiting"]
        resource = resource_for(obj) or {}
        plural_name = resource.get("plural")
        namespace, name = meta.get("namespace"), meta.get("name")
        owners_text = ", ".join(f"{r.get('kind')} {r.get('name')}" for r in dangling or waiting)
        data = {"uid": meta.get("uid"), "kind": obj.get("kind"), "name": name, "namespace": namespace}
        if solid:
            if not dangling and not waiting:
                return
            keep = []
            for r in refs:
                if verdicts.get(r.get("uid")) == "dangling":
                    continue
                if verdicts.get(r.get("uid")) == "waiting" and r.get("blockOwnerDeletion"):
                    r = dict(r, blockOwnerDeletion=False)
                keep.append(r)
            self.reconcile(key, "patch", f"GarbageCollector: {describe(obj)} still has an owner; removing its references to {owners_text}",
                           owners=[r.get("uid") for r in dangling + waiting], **data)
            self.request("patch", plural_name, group=resource.get("group"), namespace=namespace, name=name, patch_type="merge", ok=(404,),
                         body={"metadata": {"ownerReferences": keep, "resourceVersion": meta.get("resourceVersion")}})
            return
        if waiting:
            policy = "Foreground" if self.dependents(meta.get("uid")) else "Background"
            self.reconcile(key, "delete", f"GarbageCollector: {describe(obj)}: its owner {owners_text} is deleting in the foreground; deleting it ({policy})",
                           owners=[r.get("uid") for r in waiting], policy=policy, **data)
        else:
            policy = "Background"
            self.reconcile(key, "delete", f"GarbageCollector: {describe(obj)}: its owner {owners_text} is gone; deleting it ({policy})",
                           owners=[r.get("uid") for r in dangling], policy=policy, **data)
        self.request("delete", plural_name, group=resource.get("group"), namespace=namespace, name=name, ok=(404, 409),
                     body={"propagationPolicy": policy, "preconditions": {"uid": meta.get("uid")}})

    def _deleting_dependents(self, key: str, owner: dict) -> None:
        uid = meta_of(owner).get("uid")
        dependents = self.dependents(uid)
        blocking = [d for d in dependents if any(r.get("uid") == uid and r.get("blockOwnerDeletion") for r in meta_of(d).get("ownerReferences") or [])]
        for dep in dependents:
            if not meta_of(dep).get("deletionTimestamp"):
                self.queue.add(f"delete:{meta_of(dep).get('uid')}")
        data = {"uid": uid, "kind": owner.get("kind"), "name": meta_of(owner).get("name"), "namespace": meta_of(owner).get("namespace")}
        if blocking:
            names = ", ".join(describe(d) for d in blocking[:4])
            self.reconcile(key, "wait", f"GarbageCollector: {describe(owner)} (Foreground) waits for {plural(len(blocking), 'dependent')} to go first: {names}",
                           blocking=len(blocking), **data)
            return
        self.reconcile(key, "finalize", f"GarbageCollector: {describe(owner)} (Foreground): no blocking dependents left; removing its {FOREGROUND} finalizer",
                       **data)
        self._remove_finalizer(owner, FOREGROUND)

    def _remove_finalizer(self, obj: dict, finalizer: str) -> None:
        meta = meta_of(obj)
        resource = resource_for(obj) or {}
        rest = [f for f in meta.get("finalizers") or [] if f != finalizer]
        self.request("patch", resource.get("plural"), group=resource.get("group"), namespace=meta.get("namespace"), name=meta.get("name"), patch_type="merge",
                     ok=(404,), body={"metadata": {"finalizers": rest or None, "resourceVersion": meta.get("resourceVersion")}})

    # --- orphaning -----------------------------------------------------------------------------------------
    def _orphan(self, key: str, owner: dict) -> bool:
        if not self._deleting_with(owner, ORPHAN):
            return True
        uid = meta_of(owner).get("uid")
        dependents = self.dependents(uid)
        data = {"uid": uid, "kind": owner.get("kind"), "name": meta_of(owner).get("name"), "namespace": meta_of(owner).get("namespace")}
        if not dependents:
            self.reconcile(key, "finalize", f"GarbageCollector: {describe(owner)} (Orphan): no dependents point to it; removing its {ORPHAN} finalizer", **data)
            self._remove_finalizer(owner, ORPHAN)
            return True
        token = self.orphaning.get(key, {}).get("token", 0) + 1
        self.orphaning[key] = {"token": token, "left": len(dependents), "failed": False, "uid": uid}
        names = ", ".join(describe(d) for d in dependents[:4])
        self.reconcile(key, "orphan", f"GarbageCollector: {describe(owner)} (Orphan): releasing {plural(len(dependents), 'dependent')} ({names}) before it goes",
                       dependents=len(dependents), **data)
        for dep in dependents:
            meta = meta_of(dep)
            resource = resource_for(dep) or {}
            refs = [r for r in meta.get("ownerReferences") or [] if r.get("uid") != uid]
            self.request("patch", resource.get("plural"), group=resource.get("group"), namespace=meta.get("namespace"), name=meta.get("name"),
                         patch_type="merge", ok=(404,), then=self.handler("released"), context=[key, token],
                         body={"metadata": {"ownerReferences": refs or None, "resourceVersion": meta.get("resourceVersion")}})
        return True

    def released(self, response: dict, context) -> None:
        key, token = context
        state = self.orphaning.get(key)
        if state is None or state["token"] != token:
            return
        if response.get("code", 0) >= 300 and response.get("code") != 404:
            state["failed"] = True
        state["left"] -= 1
        if state["left"] > 0:
            return
        del self.orphaning[key]
        owner = self.find(state["uid"])
        if owner is not None and not state["failed"] and self._deleting_with(owner, ORPHAN):
            self._remove_finalizer(owner, ORPHAN)

    # --- view ------------------------------------------------------------------------------------------
    def extra_view(self) -> dict:
        """The owner graph around objects that have owners or are deleting (bounded)."""
        nodes, edges, seen = [], [], set()

        def add(obj):
            uid = meta_of(obj).get("uid")
            if uid in seen or len(nodes) >= MAX_GRAPH_VIEW:
                return
            seen.add(uid)
            meta = meta_of(obj)
            nodes.append({"uid": uid, "kind": obj.get("kind"), "namespace": meta.get("namespace"), "name": meta.get("name"),
                          "deleting": bool(meta.get("deletionTimestamp")), "finalizers": list(meta.get("finalizers") or [])})

        for resource in GC_RESOURCES:
            for obj in self.informers[resource].list():
                refs = meta_of(obj).get("ownerReferences") or []
                if not refs and not meta_of(obj).get("deletionTimestamp"):
                    continue
                add(obj)
                for ref in refs:
                    owner = self.find(ref.get("uid"))
                    if owner is not None:
                        add(owner)
                    # the owner's kind and name too: an owner already gone (Background) is drawn as a ghost
                    edges.append({"dependent": meta_of(obj).get("uid"), "owner": ref.get("uid"), "block": bool(ref.get("blockOwnerDeletion")),
                                  "owner_kind": ref.get("kind"), "owner_name": ref.get("name")})
        return {"owner_graph": {"nodes": nodes, "edges": [e for e in edges if e["dependent"] in seen][: 2 * MAX_GRAPH_VIEW]}}
