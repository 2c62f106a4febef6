"""`KubeScheduler`: the `kube-scheduler` component. Watches pods and nodes through the API
server, schedules one pod per cycle with the framework, binds through pods/binding.

    scheduler = build_scheduler(sim, profile=timing_profile)   # added to the simulation
    scheduler.pod_decisions("default", "web-1")                 # {"pod", "uid", "attempts": [...]}

A pod's way through it:

    watch: pending pod ─▶ queue (active) ──cycle──▶ Framework.schedule
        fits:     assume it on the node (the cache counts it at once), Reserve, Permit,
                  Bind: POST pods/<name>/binding ─▶ 201: bound (event "Scheduled")
                                                 └▶ error: forget the assumption, back-off
        no node:  PostFilter (preemption): maybe nominate a node and evict lower-priority pods
                  (PATCH their status with DisruptionTarget, then DELETE), then
                  PATCH the pod's status: PodScheduled=False, Unschedulable, the FitError message
                  (and nominatedNodeName); Event FailedScheduling; the pod waits in the
                  unschedulable pool until a cluster event a rejecting plugin cares about
    watch: node added/changed, pod bound/deleted ─▶ the cache, and the queue moves pods back

The scheduler never talks to a kubelet. Its informers (pods without Succeeded/Failed, nodes,
namespaces, services, replicasets, statefulsets, poddisruptionbudgets) are its whole view of
the cluster; the cache and queue are rebuilt from them after a crash. Decision records are
the simulator's notebook, not the scheduler's memory: they survive a crash.

Events (source kube-scheduler): scheduler.queue (a pod enters a sub-queue), scheduler.attempt
(the outcome of a cycle with a compact table: one sentence, small data), scheduler.bind /
scheduler.bound / scheduler.bind_failed, scheduler.preempt, scheduler.move (a cluster event
sends unschedulable pods back), scheduler.backoff (back-off over).
"""

from ..apiserver.meta import rfc3339
from ..client import ApiClient
from ..kernel import MILLISECOND, SECOND, Component
from .cache import SchedulerCache
from .framework import DEFAULT_CONFIG, Framework, PodInfo, Profile
from .framework import status as st
from .queue import SchedulingQueue
from .records import DecisionRecords, attempt_record, expand, summary_rows

NAME = "kube-scheduler"
USER = {"name": "system:kube-scheduler", "groups": []}
PODS_SELECTOR = "status.phase!=Succeeded,status.phase!=Failed"
# How long one scheduling cycle takes in virtual time, per timing profile: slow enough in
# `teaching` to watch the queue drain and the table change, about real in `realistic`.
CYCLE_US = {"teaching": 500 * MILLISECOND, "realistic": 2 * MILLISECOND}
SYNC_POLL_US = 100 * MILLISECOND
FLUSH_US = 1 * SECOND
LEFTOVER_US = 30 * SECOND
TABLE_ROWS = 30  # node rows of the current cycle's table in the view
EVENT_ROWS = 8  # rows of the compact table in a scheduler.attempt event


class KubeScheduler(Component):
    kind = "scheduler"
    # The framework (plugin instances: args only, nothing kept between cycles) is rebuilt on
    # demand; it is not state.
    _unhashed = ("_framework",)

    def __init__(self, sim, name: str = NAME, *, profile: dict | None = None, cycle_us: int = 500 * MILLISECOND,
                 records_per_pod: int = 20, records_max_pods: int = 2000, record_rows: int = 100, fast: bool = True):
        super().__init__(sim, name)
        self.profile_config = profile if profile is not None else DEFAULT_CONFIG
        self.profile = Profile.build(self.profile_config)
        self.cycle_us = cycle_us
        self.fast = fast
        self.records = DecisionRecords(per_pod=records_per_pod, max_pods=records_max_pods, row_limit=record_rows)
        self.event_plugins = self._event_plugins()
        self.api = ApiClient(self, user=USER, event_prefix="scheduler")
        self.pods = self.api.informer("pods", handler="on_pod", field_selector=PODS_SELECTOR)
        self.api.informer("nodes", handler="on_node")
        self.api.informer("namespaces", handler="on_namespace")
        self.api.informer("services", handler="on_service")
        self.api.informer("replicasets", handler="on_replicaset")
        self.api.informer("statefulsets", handler="on_statefulset")
        self.api.informer("poddisruptionbudgets", handler="on_pdb")
        self.counters = {"cycles": 0, "scheduled": 0, "bound": 0, "unschedulable": 0, "errors": 0, "preemptions": 0, "victims": 0, "bind_failures": 0}
        self.event_seq = 0
        self._volatile()

    def _volatile(self) -> None:
        """Everything a crash loses (rebuilt from the informers after a restart)."""
        self.cache = SchedulerCache()
        self.queue = SchedulingQueue()
        self.binding: dict[str, dict] = {}  # pod key -> {"node", "since", "attempt", "uid", "priority"}
        self.next_start = 0
        self.cycle_pending = False
        self.sync_pending = False
        self.current: dict | None = None  # the newest attempt: the table the view shows
        self._framework = None
        self.posted: dict[str, dict] = {}  # pod key -> its FailedScheduling event {"name", "message", "count"}

    def _event_plugins(self) -> dict:
        from .plugins import IN_TREE

        enabled = set()
        for entries in self.profile.points.values():
            enabled.update(name for name, _w in entries)
        found: dict[str, list] = {}
        for name in sorted(enabled):
            for event in IN_TREE[name].EVENTS:
                found.setdefault(event, []).append(name)
        return found

    # --- kernel entries --------------------------------------------------------------------------
    def on_start(self) -> None:
        self.emit("scheduler.start", f"{self.name} starts: it lists and watches pods and nodes through {self.api.server}", profile=self.profile.name)
        self.api.start()
        self.set_timer(FLUSH_US, "flush")
        self.set_timer(LEFTOVER_US, "leftover")

    def on_message(self, msg) -> None:
        self.api.handle_message(msg)

    def on_undeliverable(self, msg, reason: str) -> None:
        self.api.handle_undeliverable(msg, reason)

    def on_timer(self, tag: str, data) -> None:
        if self.api.handle_timer(tag, data):
            return
        if tag == "cycle":
            self.cycle_pending = False
            self._schedule_one()
            self._kick()
        elif tag == "sync":
            self.sync_pending = False
            self._kick()
        elif tag == "flush":
            moved = self.queue.flush(self.now)
            if moved:
                self.emit("scheduler.backoff", f"{self.name}: back-off over for {_some(moved)}: back to the active queue", pods=moved[:20], count=len(moved))
            self._kick()
            self.set_timer(FLUSH_US, "flush")
        elif tag == "leftover":
            moved = self.queue.flush_leftover(self.now)
            if moved:
                self.emit("scheduler.move", f"{self.name}: {_some(moved)} waited 5 minutes as unschedulable: trying again", pods=moved[:20], count=len(moved), event="UnschedulableTimeout")
                self._kick()
            self.set_timer(LEFTOVER_US, "leftover")

    def on_crash(self) -> None:
        self.api.stop()
        self._volatile()

    def on_restart(self) -> None:
        self.emit("scheduler.start", f"{self.name} restarts: its cache and queue are empty until it has listed again", profile=self.profile.name)
        self.api.start()
        self.set_timer(FLUSH_US, "flush")
        self.set_timer(LEFTOVER_US, "leftover")

    # --- informer handlers ------------------------------------------------------------------------
    def on_pod(self, event: str, obj: dict, old) -> None:
        info = PodInfo.from_pod(obj)
        key = info.key
        if event == "delete":
            self._pod_gone(key)
            return
        if info.node_name:
            if key in self.queue:
                self.queue.delete(key)
            self.cache.clear_nominated(key)
            self.posted.pop(key, None)
            self._cluster_events(self.cache.add_pod(info), f"{key} is on {info.node_name}")
            return
        if info.scheduler_name != self.profile.name:
            return
        if info.terminating:
            self.queue.delete(key)
            self.cache.clear_nominated(key)
            return
        if self.cache.is_assumed(key) or key in self.binding:
            return  # our own binding is on its way; the watch has not caught up yet
        self.cache.set_nominated(info, info.nominated_node)
        gated = not self._pre_enqueue(info)
        if key not in self.queue:
            where = self.queue.add(key, info.priority, gated, self.now)
            what = "waits for its scheduling gates" if where == "gated" else f"joins the active queue (priority {info.priority})"
            self.emit("scheduler.queue", f"{self.name}: {key} {what}", pod=key, queue=where, priority=info.priority)
        else:
            before = self.queue.where(key)
            where = self.queue.update(key, info.priority, gated, self.now, changed=_spec_changed(old, obj))
            if where != before:
                self.emit("scheduler.queue", f"{self.name}: {key} changed: it moves from {before} to {where}", pod=key, queue=where, priority=info.priority)
        self._kick()

    def _pre_enqueue(self, info: PodInfo) -> bool:
        """PreEnqueue plugins (SchedulingGates): may the pod enter activeQ at all?"""
        from .plugins import IN_TREE

        for name in self.profile.enabled("preEnqueue"):
            if not IN_TREE[name](None, self.profile.args.get(name)).pre_enqueue(info).ok:
                return False
        return True

    def _pod_gone(self, key: str) -> None:
        self.queue.delete(key)
        self.cache.clear_nominated(key)
        self.posted.pop(key, None)
        self.binding.pop(key, None)
        if self.cache.is_assumed(key):
            self.cache.forget(key)
            self._cluster_events(["AssignedPodDelete"], f"{key} was deleted")
        else:
            self._cluster_events(self.cache.remove_pod(key), f"{key} was deleted")

    def on_node(self, event: str, obj: dict, old) -> None:
        name = (obj.get("metadata") or {}).get("name")
        if event == "delete":
            events = self.cache.remove_node(name)
            self._cluster_events(events, f"node {name} was deleted")
            return
        events = self.cache.set_node(obj)
        what = "was added" if "NodeAdd" in events else "changed (" + ", ".join(e[4:].lower() for e in events) + ")"
        self._cluster_events(events, f"node {name} {what}")

    def on_namespace(self, event: str, obj: dict, old) -> None:
        meta = obj.get("metadata") or {}
        self.cache.set_namespace(meta.get("name"), None if event == "delete" else (meta.get("labels") or {}))

    def on_service(self, event: str, obj: dict, old) -> None:
        meta = obj.get("metadata") or {}
        selector = None if event == "delete" else (obj.get("spec") or {}).get("selector")
        self.cache.set_service(f"{meta.get('namespace')}/{meta.get('name')}", selector)

    def on_replicaset(self, event: str, obj: dict, old) -> None:
        self._owner("ReplicaSet", event, obj)

    def on_statefulset(self, event: str, obj: dict, old) -> None:
        self._owner("StatefulSet", event, obj)

    def _owner(self, kind: str, event: str, obj: dict) -> None:
        meta = obj.get("metadata") or {}
        selector = None if event == "delete" else (obj.get("spec") or {}).get("selector")
        self.cache.set_owner(kind, f"{meta.get('namespace')}/{meta.get('name')}", selector)

    def on_pdb(self, event: str, obj: dict, old) -> None:
        meta = obj.get("metadata") or {}
        self.cache.set_pdb(f"{meta.get('namespace')}/{meta.get('name')}", None if event == "delete" else obj)

    def _cluster_events(self, events: list, what: str) -> None:
        """A cluster event: unschedulable pods rejected by a plugin that cares go back."""
        for event in events:
            interested = set(self.event_plugins.get(event, ()))
            if event == "NodeAdd":
                interested = None  # a new node may fit anything
            moved = self.queue.move(interested, self.now)
            if moved:
                self.emit("scheduler.move", f"{self.name}: {what}: {_some(moved)} may fit now and leave the unschedulable pool",
                          event=event, pods=moved[:20], count=len(moved))
        if events:
            self._kick()

    # --- the scheduling loop -------------------------------------------------------------------------
    def _kick(self) -> None:
        if not self.alive or self.cycle_pending or not self.queue.has_active():
            return
        if not self.api.synced():
            if not self.sync_pending:
                self.sync_pending = True
                self.set_timer(SYNC_POLL_US, "sync")
            return
        self.cycle_pending = True
        self.set_timer(self.cycle_us, "cycle")

    def _schedule_one(self) -> None:
        key = self.queue.pop()
        if key is None:
            return
        obj = self.pods.get(key)
        if obj is None or (obj.get("spec") or {}).get("nodeName") or (obj.get("metadata") or {}).get("deletionTimestamp"):
            self.queue.delete(key)
            return
        info = PodInfo.from_pod(obj)
        self.counters["cycles"] += 1
        if self._framework is None or self._framework.snapshot is not self.cache:
            self._framework = Framework(self.profile, self.cache, stream=self.stream("tiebreak"), fast=self.fast)
        fw = self._framework.begin(self.now)
        result = fw.schedule(info, start=self.next_start)
        self.next_start = result.next_start
        attempt = self.queue.attempts(key)
        if result.node is not None:
            self._assume_and_bind(fw, info, obj, result, attempt)
            return
        if result.status.rejected:
            fw.post_filter(result)
        self._failed(info, obj, result, attempt)

    def _record(self, info: PodInfo, result, attempt: int) -> dict:
        record = attempt_record(result, self.now, attempt=attempt, cycle=self.queue.cycle, row_limit=self.records.row_limit, strategy=_strategy(self.profile))
        self.records.add(info.key, info.uid, record)
        self.current = {"pod": info.key, "record": record}
        return record

    def _assume_and_bind(self, fw: Framework, info: PodInfo, obj: dict, result, attempt: int) -> None:
        node = result.node
        state = result.state
        self.cache.assume(info, node, self.now)
        status = fw.reserve(state, info, node)
        if status.ok:
            status = fw.permit(state, info, node)
            if not status.ok:
                fw.unreserve(state, info, node)
        if status.ok:
            status = fw.pre_bind(state, info, node)
            if not status.ok:
                fw.unreserve(state, info, node)
        request = fw.bind(state, info, node) if status.ok else status
        if isinstance(request, st.Status):
            self.cache.forget(info.key)
            result.node = None
            result.status = request
            result.message = f"running {request.plugin or 'a'} plugin: {request.message}"
            self._failed(info, obj, result, attempt)
            return
        record = self._record(info, result, attempt)
        self.counters["scheduled"] += 1
        self.queue.done(info.key)
        self.cache.clear_nominated(info.key)
        self.binding[info.key] = {"node": node, "since": self.now, "attempt": attempt, "uid": info.uid, "priority": info.priority, "why": record["why"]}
        self.emit("scheduler.attempt", f"{self.name} chose {node} for {info.key}: {record['why']}", target=node, **_attempt_data(info.key, record))
        self.emit("scheduler.bind", f"{self.name} binds {info.key} to {node}: POST pods/{info.name}/binding to {self.api.server}", target=self.api.server, pod=info.key, node=node)
        self.api.request(request["verb"], request["resource"], namespace=request["namespace"], name=request["name"], body=request["body"],
                         subresource=request["subresource"], then="on_bound", context={"pod": info.key, "node": node, "uid": info.uid},
                         summary=f"{self.name} → {self.api.server}: bind {info.key} to {node}")

    def on_bound(self, response: dict, context: dict) -> None:
        key, node = context["pod"], context["node"]
        pending = self.binding.pop(key, None)
        code = response.get("code")
        if code == 201:
            self.counters["bound"] += 1
            self.records.update_last(key, binding="bound")
            why = f": {pending['why']}" if pending else ""
            self.emit("scheduler.bound", f"{self.name} bound {key} to {node}{why}", target=node, pod=key, node=node)
            namespace, name = key.split("/", 1)
            self._post_event(namespace, name, context["uid"], "Normal", "Scheduled", "Binding", f"Successfully assigned {key} to {node}")
            return
        message = (response.get("body") or {}).get("message") or f"code {code}"
        self.counters["bind_failures"] += 1
        self.records.update_last(key, binding=f"failed: {message}")
        self.emit("scheduler.bind_failed", f"{self.name} could not bind {key} to {node}: {message}", target=node, pod=key, node=node, code=code)
        if self.cache.forget(key):
            self._cluster_events(["AssignedPodDelete"], f"the binding of {key} failed")
        obj = self.pods.get(key)
        if obj is None or (obj.get("spec") or {}).get("nodeName") or pending is None:
            return
        info = PodInfo.from_pod(obj)
        self.queue.add(key, info.priority, False, self.now)
        self.queue.entries[key]["attempts"] = pending["attempt"]
        self.queue.backoff_now(key, self.now)
        self._update_status(obj, "SchedulerError", f"binding rejected: {message}", None, clear=False)

    def _failed(self, info: PodInfo, obj: dict, result, attempt: int) -> None:
        record = self._record(info, result, attempt)
        unschedulable = result.status.rejected
        self.counters["unschedulable" if unschedulable else "errors"] += 1
        key = info.key
        if result.nominated_node:
            self.counters["preemptions"] += 1
            self.cache.set_nominated(_nominated(info, result.nominated_node), result.nominated_node)
            for victim in result.victims:
                self._evict(victim, info, result.nominated_node)
            for other in result.clear_nominated:
                other_obj = self.pods.get(other.key)
                if other_obj is not None:
                    self._patch_status(other_obj, {"nominatedNodeName": None}, f"clear the nomination of {other.key}")
        elif result.clear_nomination:
            self.cache.clear_nominated(key)
        where = self.queue.failed(key, result.diagnosis.plugins if unschedulable else (), self.now)
        outcome = f"nominated {result.nominated_node} (preempting {len(result.victims)} pod(s))" if result.nominated_node else f"no node: {result.message}"
        self.emit("scheduler.attempt", f"{self.name} could not place {key}: {outcome}", target=result.nominated_node, queue=where, **_attempt_data(key, record))
        nominated = result.nominated_node if result.nominated_node else (None if result.clear_nomination else info.nominated_node)
        reason = "Unschedulable" if unschedulable else "SchedulerError"
        self._update_status(obj, reason, result.message, nominated, clear=result.clear_nomination)
        self._post_event(info.namespace, info.name, info.uid, "Warning", "FailedScheduling", "Scheduling", result.message)

    # --- API writes ------------------------------------------------------------------------------------
    def _update_status(self, obj: dict, reason: str, message: str, nominated: str | None, clear: bool) -> None:
        """updatePod: PodScheduled=False with the reason and message, and nominatedNodeName,
        patched only when something changed."""
        status = obj.get("status") or {}
        conditions = [dict(c) for c in status.get("conditions") or [] if isinstance(c, dict)]
        found = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
        changed = found is None or (found.get("status"), found.get("reason"), found.get("message")) != ("False", reason, message)
        if found is None:
            found = {"type": "PodScheduled"}
            conditions.append(found)
        if changed:
            if found.get("status") != "False":
                found["lastTransitionTime"] = rfc3339(self.now)
            found.update({"status": "False", "reason": reason, "message": message, "lastProbeTime": None})
            found.setdefault("lastTransitionTime", rfc3339(self.now))
        patch: dict = {}
        if changed:
            patch["conditions"] = conditions
        old_nominated = status.get("nominatedNodeName")
        if nominated and nominated != old_nominated:
            patch["nominatedNodeName"] = nominated
        elif clear and old_nominated:
            patch["nominatedNodeName"] = None
        if patch:
            self._patch_status(obj, patch, f"PodScheduled=False ({reason})")

    def _patch_status(self, obj: dict, status_patch: dict, what: str, then: str | None = None, context=None) -> None:
        meta = obj.get("metadata") or {}
        self.api.request("patch", "pods", namespace=meta.get("namespace"), name=meta.get("name"), subresource="status", patch_type="merge",
                         body={"status": status_patch}, then=then, context=context,
                         summary=f"{self.name} → {self.api.server}: status of {meta.get('namespace')}/{meta.get('name')}: {what}")

    def _evict(self, victim: PodInfo, preemptor: PodInfo, node: str) -> None:
        self.counters["victims"] += 1
        obj = self.pods.get(victim.key)
        self.emit("scheduler.preempt", f"{self.name} preempts {victim.key} (priority {victim.priority}) on {node} to make room for {preemptor.key} (priority {preemptor.priority})",
                  target=node, pod=preemptor.key, victim=victim.key, node=node)
        if obj is None:
            return
        condition = {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
                     "message": f"{self.profile.name}: preempting to accommodate a higher priority pod", "lastProbeTime": None, "lastTransitionTime": rfc3339(self.now)}
        conditions = [dict(c) for c in (obj.get("status") or {}).get("conditions") or [] if isinstance(c, dict) and c.get("type") != "DisruptionTarget"]
        conditions.append(condition)
        context = {"victim": victim.key, "uid": victim.uid, "preemptor_uid": preemptor.uid, "node": node}
        self._patch_status(obj, {"conditions": conditions}, "DisruptionTarget: preempted", then="on_victim_marked", context=context)

    def on_victim_marked(self, response: dict, context: dict) -> None:
        if response.get("code") == 404:
            return
        namespace, name = context["victim"].split("/", 1)
        self.api.request("delete", "pods", namespace=namespace, name=name, summary=f"{self.name} → {self.api.server}: delete the preempted pod {context['victim']}")
        self._post_event(namespace, name, context["uid"], "Normal", "Preempted", "Preempting", f"Preempted by pod {context['preemptor_uid']} on node {context['node']}")

    def _post_event(self, namespace: str, name: str, uid, kind: str, reason: str, action: str, message: str) -> None:
        """A core/v1 Event about a pod. A repeated FailedScheduling with the same message counts
        up the first one (count, lastTimestamp) instead of making a new object."""
        key = f"{namespace}/{name}"
        now = rfc3339(self.now)
        if reason == "FailedScheduling":
            posted = self.posted.get(key)
            if posted is not None and posted["message"] == message:
                posted["count"] += 1
                self.api.request("patch", "events", namespace=namespace, name=posted["name"], patch_type="merge",
                                 body={"count": posted["count"], "lastTimestamp": now}, summary=f"{self.name} → {self.api.server}: FailedScheduling ×{posted['count']} for {key}")
                return
        self.event_seq += 1
        event_name = f"{name}.{self.now * 1000 + self.event_seq:x}"
        if reason == "FailedScheduling":
            self.posted[key] = {"name": event_name, "message": message, "count": 1}
        body = {
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": event_name, "namespace": namespace},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": name, "namespace": namespace, "uid": uid},
            "reason": reason, "message": message, "type": kind, "action": action,
            "source": {"component": self.profile.name}, "reportingComponent": self.profile.name, "reportingInstance": f"{self.profile.name}-{self.name}",
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        }
        self.api.request("create", "events", namespace=namespace, body=body, summary=f"{self.name} → {self.api.server}: Event {reason} for {key}")

    # --- reading ---------------------------------------------------------------------------------------
    def pod_decisions(self, namespace: str, name: str) -> dict | None:
        """Every recorded attempt for the pod, oldest first (None: never attempted, or forgotten)."""
        found = self.records.get(f"{namespace}/{name}")
        if found is None:
            return None
        return {"pod": f"{namespace}/{name}", "uid": found["uid"], "attempts": found["attempts"]}

    def view(self) -> dict:
        return {
            "name": self.name, "kind": self.kind, "alive": self.alive,
            "phase": "ready" if self.api.synced() else "syncing",
            "profile": self.profile.view(),
            "queue": self.queue.view(),
            "cycle": None if self.current is None else {"pod": self.current["pod"], **expand(self.current["record"], TABLE_ROWS)},
            "decisions": list(self.records.recent),
            "binding": [{"pod": k, "node": v["node"], "since": v["since"] / SECOND} for k, v in sorted(self.binding.items())],
            "cache": self.cache.view(),
            "counters": dict(self.counters),
        }


# --- helpers -------------------------------------------------------------------------------------------
def _strategy(profile: Profile) -> str:
    strategy = (profile.args.get("NodeResourcesFit") or {}).get("scoringStrategy") or {}
    return strategy.get("type") or "LeastAllocated"


def _some(keys: list, limit: int = 3) -> str:
    if len(keys) <= limit:
        return ", ".join(keys)
    return ", ".join(keys[:limit]) + f" and {len(keys) - limit} more"


def _nominated(info: PodInfo, node: str) -> PodInfo:
    copy = PodInfo.__new__(PodInfo)
    copy.__setstate__(info.__getstate__())
    copy.nominated_node = node
    return copy


def _spec_changed(old: dict | None, new: dict) -> bool:
    """isPodUpdated: a change other than resourceVersion, generation, status, managedFields
    and finalizers (the scheduler's own status patches do not count)."""
    if old is None:
        return True

    def strip(obj):
        out = {k: v for k, v in obj.items() if k != "status"}
        meta = dict(out.get("metadata") or {})
        for field in ("resourceVersion", "generation", "managedFields", "finalizers"):
            meta.pop(field, None)
        out["metadata"] = meta
        return out

    return strip(old) != strip(new)


def _attempt_data(key: str, record: dict) -> dict:
    """The scheduler.attempt event's data: small, with a compact table of the best rows."""
    return {
        "pod": key, "attempt": record["attempt"], "result": record["result"], "node": record["node"], "examined": record["examined"],
        "total_nodes": record["total_nodes"], "feasible": record["feasible"], "nominated_node": record["nominated_node"],
        "victims": record["victims"][:5], "table": summary_rows(record, EVENT_ROWS),
    }


def build_scheduler(sim, profile=None, *, config: dict | None = None, **options) -> KubeScheduler:
    """Create kube-scheduler with the cycle pace of a timing profile and add it to `sim`."""
    if profile is not None and "cycle_us" not in options:
        options["cycle_us"] = CYCLE_US.get(profile.name, max(MILLISECOND, profile.net_latency_us))
    scheduler = KubeScheduler(sim, profile=config, **options)
    sim.add(scheduler)
    return scheduler


__all__ = ["NAME", "KubeScheduler", "build_scheduler"]
