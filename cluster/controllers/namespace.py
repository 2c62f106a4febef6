"""Namespace controller (pkg/controller/namespace): empty a terminating namespace, then let it go.

Deleting a namespace only marks it (deletionTimestamp, phase Terminating); the API server keeps
it while spec.finalizers holds "kubernetes". This loop does the rest:

    sync(ns): not terminating ─▶ nothing
              list every namespaced resource in it (consistent lists: the truth, not the cache)
                 something left ─▶ deletecollection of each kind that has live objects;
                                   look again in 2 s (pods take their grace period to go)
                 nothing left ───▶ update namespaces/<ns>/finalize without "kubernetes":
                                   the API server removes the namespace
"""

from ..apiserver.meta import dig, meta_of
from ..apiserver.resources import RESOURCES
from ..client import key_of
from ..kernel import SECOND
from .base import Controller

NAMESPACED = [row["plural"] for row in RESOURCES if row["namespaced"] and "deletecollection" in row["verbs"]]
FINALIZER = "kubernetes"
RECHECK_US = 2 * SECOND


class NamespaceController(Controller):
    name = "namespace"
    label = "Namespace"
    workers = 2

    def setup(self) -> None:
        self.namespaces = self.informer("namespaces", "on_namespace")
        self.rounds: dict[str, dict] = {}

    def stop(self) -> None:
        self.rounds = {}

    def on_namespace(self, event, obj, old) -> None:
        if meta_of(obj).get("deletionTimestamp") and event != "delete":
            self.queue.add(key_of(obj))

    def sync(self, key: str):
        ns = self.namespaces.get(key)
        if ns is None or not meta_of(ns).get("deletionTimestamp"):
            self.rounds.pop(key, None)
            return True
        if FINALIZER not in (dig(ns, "spec", "finalizers", default=[]) or []):
            self.reconcile(key, "none", f"Namespace {key}: terminating, its content already removed")
            return True
        token = self.rounds.get(key, {}).get("token", 0) + 1
        self.rounds[key] = {"token": token, "left": len(NAMESPACED), "found": {}, "live": {}}
        for resource in NAMESPACED:
            self.request("list", resource, namespace=key, then=self.handler("listed"), context=[key, resource, token])
        return True

    def listed(self, response: dict, context) -> None:
        key, resource, token = context
        state = self.rounds.get(key)
        if state is None or state["token"] != token:
            return
        state["left"] -= 1
        if response.get("code") == 200:
            items = response["body"].get("items") or []
            if items:
                state["found"][resource] = len(items)
                live = sum(1 for i in items if not meta_of(i).get("deletionTimestamp"))
                if live:
                    state["live"][resource] = live
        else:
            state["failed"] = True
        if state["left"] > 0:
            return
        if state.get("failed"):
            self.reconcile(key, "wait", f"Namespace {key}: terminating; could not list everything, trying again")
            self.queue.add_after(key, RECHECK_US)
            return
        found = state["found"]
        if not found:
            self.reconcile(key, "finalize", f"Namespace {key}: terminating and empty; removing its '{FINALIZER}' finalizer so the API server deletes it")
            ns = self.namespaces.get(key)
            finalizers = [f for f in (dig(ns, "spec", "finalizers", default=[]) or []) if f != FINALIZER] if ns else []
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": key}, "spec": {"finalizers": finalizers}}
            self.request("update", "namespaces", name=key, subresource="finalize", body=body, ok=(404, 409))
            return
        total = sum(found.values())
        listing = ", ".join(f"{n} {r}" for r, n in sorted(found.items()))
        if state["live"]:
            self.reconcile(key, "delete", f"Namespace {key}: terminating; {total} object(s) left ({listing}): deleting them", left=total)
            for resource in sorted(state["live"]):
                self.request("deletecollection", resource, namespace=key, query={"propagationPolicy": "Background"}, ok=(404,))
        else:
            self.reconcile(key, "wait", f"Namespace {key}: terminating; waiting for {total} object(s) to finish terminating ({listing})", left=total)
        self.queue.add_after(key, RECHECK_US)
