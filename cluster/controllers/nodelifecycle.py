"""Node lifecycle controller (pkg/controller/nodelifecycle) with taint-based eviction.

Heartbeats: a kubelet renews its Lease in kube-node-lease (every 10 s) and posts NodeStatus.
This loop remembers, on its own clock, when it last *saw* either change (the probe time).

    every node_monitor_period (5 s), per node:
        no heartbeat seen for node_monitor_grace_period (40 s) ─▶ Ready and the other conditions
            become Unknown ("Kubelet stopped posting node status."); its pods are marked not Ready
    per node, taints follow the Ready condition:
        Unknown ─▶ node.kubernetes.io/unreachable  NoSchedule + NoExecute
        False ───▶ node.kubernetes.io/not-ready    NoSchedule + NoExecute
        True ────▶ neither
    eviction (the taint manager): a pod on a node with a NoExecute taint it does not tolerate
    is deleted at once; one that tolerates it for tolerationSeconds (the API server gives every
    pod 300 s for not-ready and unreachable) is deleted that long after the taint's timeAdded.

On a node that is down nobody confirms the deletion, so evicted pods stay Terminating, but
they no longer count for their ReplicaSet, which creates replacements (the scheduler puts
them on other nodes).

The view shows each node's last heartbeat, the countdown to Unknown and to each eviction.
"""

from ..apiserver.meta import copy_json, dig, meta_of, parse_time, rfc3339
from ..client import key_of
from ..kernel import SECOND
from .base import Controller, condition, plural, tolerates

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
OUR_TAINTS = (NOT_READY, UNREACHABLE)
LEASE_NAMESPACE = "kube-node-lease"


class NodeLifecycleController(Controller):
    name = "nodelifecycle"
    label = "NodeLifecycle"
    tick_us = 5 * SECOND
    workers = 5

    def setup(self) -> None:
        self.grace_us = int(self.manager.option("node_monitor_grace_period_s", 40) * SECOND)
        self.tick_us = int(self.manager.option("node_monitor_period_s", 5) * SECOND)
        self.nodes = self.informer("nodes", "on_node")
        self.leases = self.informer("leases", "on_lease", namespace=LEASE_NAMESPACE)
        self.pods = self.informer("pods", "on_pod", indexes=("namespace", "controller", "node", "owner"))
        self.health: dict[str, dict] = {}
        self.evictions: dict[str, dict] = {}  # node -> {pod key: deadline}

    def start(self) -> None:
        self.health = {}
        self.evictions = {}

    def stop(self) -> None:
        self.health = {}
        self.evictions = {}

    # --- heartbeats --------------------------------------------------------------------------------------
    def _observe(self, node_name: str) -> None:
        node = self.nodes.get(node_name)
        if node is None:
            self.health.pop(node_name, None)
            return
        ready = condition(node, "Ready") or {}
        lease = self.leases.get(f"{LEASE_NAMESPACE}/{node_name}")
        beat = (ready.get("lastHeartbeatTime"), dig(lease, "spec", "renewTime") if lease else None)
        entry = self.health.get(node_name)
        if entry is None or entry["beat"] != beat:
            self.health[node_name] = {"beat": beat, "probe": self.now}

    def on_node(self, event, node, old) -> None:
        name = meta_of(node).get("name")
        if event == "delete":
            self.health.pop(name, None)
            self.evictions.pop(name, None)
            return
        self._observe(name)
        if event != "resync":
            self.queue.add(name)

    def on_lease(self, event, lease, old) -> None:
        name = meta_of(lease).get("name")
        if self.nodes.get(name) is not None and event != "delete":
            self._observe(name)

    def on_pod(self, event, pod, old) -> None:
        node = dig(pod, "spec", "nodeName")
        if node and event in ("add", "update") and (old is None or dig(old, "spec", "nodeName") != node) and node in self.evictions:
            self.queue.add(node)

    def tick(self) -> None:
        for name in self.nodes.keys():
            self._observe(name)
            entry = self.health[name]
            status = (condition(self.nodes.get(name), "Ready") or {}).get("status")
            if self.now - entry["probe"] >= self.grace_us and status != "Unknown":
                self.queue.add(name)

    # --- sync: conditions, taints, evictions for one node ---------------------------------------------------
    def sync(self, key: str):
        node = self.nodes.get(key)
        if node is None:
            self.evictions.pop(key, None)
            return True
        self._observe(key)
        entry = self.health[key]
        ready = condition(node, "Ready") or {}
        status = ready.get("status") or "Unknown"
        silent = self.now - entry["probe"]
        if silent >= self.grace_us and status != "Unknown":
            self.reconcile(key, "unknown", f"Node {key}: no heartbeat for {silent // SECOND} s (grace period {self.grace_us // SECOND} s); "
                                           f"marking it NotReady (Unknown) and its pods not ready", silent=silent / SECOND)
            self._mark_unknown(node)
            self._mark_pods_not_ready(key)
            return True
        # Taints follow the Ready condition.
        want = {"Unknown": UNREACHABLE, "False": NOT_READY}.get(status)
        taints = [t for t in dig(node, "spec", "taints", default=[]) or [] if isinstance(t, dict)]
        ours = [t for t in taints if t.get("key") in OUR_TAINTS]
        wanted = [] if want is None else [{"key": want, "effect": "NoSchedule"}, {"key": want, "effect": "NoExecute"}]
        have = sorted((t.get("key"), t.get("effect")) for t in ours)
        if have != sorted((t["key"], t["effect"]) for t in wanted):
            new = [t for t in taints if t.get("key") not in OUR_TAINTS]
            for t in wanted:
                kept = next((o for o in ours if o.get("key") == t["key"] and o.get("effect") == t["effect"]), None)
                new.append(kept or dict(t, timeAdded=rfc3339(self.now)))
            if wanted:
                self.reconcile(key, "taint", f"Node {key} is {'unreachable' if want == UNREACHABLE else 'not ready'}: tainting it {want}:NoExecute "
                                             f"(pods not tolerating it are evicted)", taint=want)
            else:
                self.reconcile(key, "untaint", f"Node {key} is Ready again: removing its {', '.join(sorted({t.get('key') for t in ours}))} taints")
                self.evictions.pop(key, None)
            self.request("patch", "nodes", name=key, patch_type="merge", ok=(404,),
                         body={"metadata": {"resourceVersion": meta_of(node).get("resourceVersion")}, "spec": {"taints": new or None}})
            return True
        self._evict(key, node, taints)
        return True

    def _mark_unknown(self, node: dict) -> None:
        stamp = rfc3339(self.now)
        conditions = []
        for c in dig(node, "status", "conditions", default=[]) or []:
            c = dict(c)
            if c.get("status") != "Unknown":
                c["lastTransitionTime"] = stamp
            c.update({"status": "Unknown", "reason": "NodeStatusUnknown", "message": "Kubelet stopped posting node status."})
            conditions.append(c)
        if not any(c.get("type") == "Ready" for c in conditions):
            conditions.append({"type": "Ready", "status": "Unknown", "reason": "NodeStatusNeverUpdated", "message": "Kubelet never posted node status.",
                               "lastHeartbeatTime": stamp, "lastTransitionTime": stamp})
        body = copy_json(node)
        body.setdefault("status", {})["conditions"] = conditions
        self.request("update", "nodes", subresource="status", name=meta_of(node).get("name"), body=body, ok=(404,))

    def _mark_pods_not_ready(self, node_name: str) -> None:
        stamp = rfc3339(self.now)
        for pod in self.pods.by_index("node", node_name):
            ready = condition(pod, "Ready")
            if ready is None or ready.get("status") != "True" or dig(pod, "status", "phase") in ("Succeeded", "Failed"):
                continue
            body = copy_json(pod)
            body["status"]["conditions"] = [dict(c, status="False", lastTransitionTime=stamp) if c.get("type") == "Ready" else c
                                            for c in body["status"].get("conditions") or []]
            meta = meta_of(pod)
            self.request("update", "pods", subresource="status", namespace=meta.get("namespace"), name=meta.get("name"), body=body, ok=(404, 409))

    def _evict(self, key: str, node: dict, taints: list) -> None:
        no_execute = [t for t in taints if t.get("effect") == "NoExecute"]
        if not no_execute:
            self.evictions.pop(key, None)
            return
        deadlines = {}
        now_due = []
        for pod in self.pods.by_index("node", key):
            if meta_of(pod).get("deletionTimestamp") or dig(pod, "status", "phase") in ("Succeeded", "Failed"):
                continue
            deadline = None
            for taint in no_execute:
                toleration = tolerates(dig(pod, "spec", "tolerations"), taint)
                if toleration is None:
                    deadline = self.now
                    break
                seconds = toleration.get("tolerationSeconds")
                if isinstance(seconds, int) and not isinstance(seconds, bool):
                    added = parse_time(taint.get("timeAdded")) or self.now
                    at = added + max(0, seconds) * SECOND
                    deadline = at if deadline is None else min(deadline, at)
            if deadline is None:
                continue  # tolerates forever
            if deadline <= self.now:
                now_due.append(pod)
            else:
                deadlines[key_of(pod)] = deadline
        self.evictions[key] = deadlines
        if deadlines:
            self.queue.add_after(key, min(deadlines.values()) - self.now)
        if now_due:
            names = ", ".join(meta_of(p).get("name") for p in now_due[:5])
            verb = "tolerates" if len(now_due) == 1 else "tolerate"
            self.reconcile(key, "evict", f"Node {key}: {plural(len(now_due), 'pod')} no longer {verb} its {no_execute[0].get('key')} taint; evicting {names}",
                           pods=[key_of(p) for p in now_due])
            for pod in now_due:
                meta = meta_of(pod)
                self.manager.emit("controller.evict", f"NodeLifecycle: evicting pod {key_of(pod)} from node {key}", target=self.api.server,
                                  controller=self.name, key=key_of(pod), node=key)
                self.request("delete", "pods", namespace=meta.get("namespace"), name=meta.get("name"), ok=(404,), body={"preconditions": {"uid": meta.get("uid")}})

    # --- view --------------------------------------------------------------------------------------------
    def extra_view(self) -> dict:
        out = []
        for name in self.nodes.keys():
            node = self.nodes.get(name)
            entry = self.health.get(name)
            ready = (condition(node, "Ready") or {}).get("status") or "Unknown"
            probe = entry["probe"] if entry else None
            unknown_in = unknown_at = None
            if probe is not None and ready != "Unknown":
                unknown_at = (probe + self.grace_us) / SECOND
                unknown_in = max(0, probe + self.grace_us - self.now) / SECOND
            # `at` and `unknown_at` are virtual times, so a page can count down with its own clock.
            evictions = [{"pod": pod, "in": max(0, at - self.now) / SECOND, "at": at / SECOND} for pod, at in sorted(self.evictions.get(name, {}).items())]
            out.append({
                "name": name, "ready": ready, "last_heartbeat": None if probe is None else probe / SECOND,
                "unknown_in": unknown_in, "unknown_at": unknown_at,
                "taints": [f"{t.get('key')}:{t.get('effect')}" for t in dig(node, "spec", "taints", default=[]) or []],
                "evictions": evictions,
            })
        return {"nodes": out, "node_monitor_grace_period": self.grace_us / SECOND}
