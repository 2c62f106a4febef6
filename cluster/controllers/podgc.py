"""Pod garbage collector (pkg/controller/podgc), every 20 s:

    terminated pods (Succeeded or Failed) beyond terminated_pod_gc_threshold ─▶ delete the oldest
    pods bound to a node that does not exist (absent for two passes in a row) ─▶ force delete
    terminating pods that were never scheduled ─────────────────────────────────▶ force delete
    terminating pods on a node tainted node.kubernetes.io/out-of-service ───────▶ force delete

Force delete = gracePeriodSeconds 0: nobody is left to stop the containers.
"""

from ..apiserver.meta import dig, meta_of
from ..client import key_of
from ..kernel import SECOND
from .base import Controller, plural

OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"


class PodGCController(Controller):
    name = "podgc"
    label = "PodGC"
    workers = 1

    def setup(self) -> None:
        self.tick_us = int(self.manager.option("pod_gc_period_s", 20) * SECOND)
        self.threshold = int(self.manager.option("terminated_pod_gc_threshold", 12500))
        self.pods = self.informer("pods", None, indexes=("namespace", "controller", "node", "owner"))
        self.nodes = self.informer("nodes", None)
        self.missing: dict[str, int] = {}  # node name -> passes it has been missing

    def stop(self) -> None:
        self.missing = {}

    def tick(self) -> None:
        self.queue.add("pass")

    def sync(self, key: str):
        pods = self.pods.list()
        nodes = set(self.nodes.keys())
        deletes = []  # (pod, reason, force)
        terminated = sorted((p for p in pods if dig(p, "status", "phase") in ("Succeeded", "Failed") and not meta_of(p).get("deletionTimestamp")),
                            key=lambda p: (meta_of(p).get("creationTimestamp") or "", key_of(p)))
        excess = len(terminated) - self.threshold
        for pod in terminated[:max(0, excess)]:
            deletes.append((pod, "terminated, over the threshold", False))
        missing = {}
        for pod in pods:
            node = dig(pod, "spec", "nodeName")
            if node and node not in nodes:
                missing[node] = self.missing.get(node, 0) + 1
                if missing[node] >= 2:
                    deletes.append((pod, f"its node {node} does not exist", True))
            elif meta_of(pod).get("deletionTimestamp") and not node:
                deletes.append((pod, "terminating and never scheduled", True))
            elif meta_of(pod).get("deletionTimestamp") and node:
                taints = dig(self.nodes.get(node), "spec", "taints", default=[]) or []
                if any(t.get("key") == OUT_OF_SERVICE for t in taints):
                    deletes.append((pod, f"terminating on out-of-service node {node}", True))
        self.missing = missing
        if not deletes:
            self.reconcile("pass", "none", f"PodGC: {len(pods)} pods, {len(terminated)} terminated (threshold {self.threshold}), nothing to collect")
            return True
        reasons = sorted({why for _p, why, _f in deletes})
        self.reconcile("pass", "delete", f"PodGC: deleting {plural(len(deletes), 'pod')}: " + "; ".join(reasons), count=len(deletes))
        for pod, _why, force in deletes:
            meta = meta_of(pod)
            self.request("delete", "pods", namespace=meta.get("namespace"), name=meta.get("name"), ok=(404,),
                         query={"gracePeriodSeconds": 0} if force else None, body={"preconditions": {"uid": meta.get("uid")}})
        return True
