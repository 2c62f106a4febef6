"""`Kubelet`: the agent of one node (`node-1/kubelet`, on host `node-1`).

It talks to kube-apiserver over the network (cluster/client: an informer on the pods bound
to its node, fieldSelector spec.nodeName=<node>; requests for the Node, its Lease, pod
status, pod deletion and Events) and to its node's containerd over loopback messages (the
CRI-like protocol of cluster/runtime/PROTOCOL.md). Every runtime call is a message, so the
view can show each step.

    start ─▶ CRI Version/Status ─▶ ListPodSandbox, ListContainers (adopt what runs) ─▶ pods informer
      └────▶ register the Node (create; 409: it exists) ─▶ Lease every 10 s ─▶ NodeStatus every 10 s
    per pod: a worker (pods.py): admit ─▶ sandbox ─▶ pull ─▶ create ─▶ start ─▶ probes ─▶ ready

Everything the kubelet holds is volatile: after a crash it learns again from the API server
and from containerd (which keeps its containers if only the kubelet fell).

The API server reaches it for logs (`kubectl logs`): "kubelet.log" from kube-apiserver, answered
from containerd's log files (CRI ReadLog), "kubelet.log_chunk" for `-f`.
"""

from ..apiserver.meta import meta_of, rfc3339, rfc3339_micro
from ..client import ApiClient
from ..kernel import SECOND, Component
from ..runtime import RUNTIME_VERSION
from ..runtime.images import short_name
from ..runtime.units import show_bytes
from . import node as nodecfg
from .pods import PodWorkersMixin, WorkerViewMixin
from .status import pod_requests

NODE_LEASE_NAMESPACE = "kube-node-lease"
MAX_NODE_IMAGES = 50


class Kubelet(PodWorkersMixin, WorkerViewMixin, Component):
    kind = "kubelet"

    def __init__(self, sim, config: dict, *, profile: str = "teaching"):
        super().__init__(sim, f"{config['name']}/kubelet", host=config["name"])
        self.node = config["name"]
        self.config = config
        self.runtime = f"{self.node}/containerd"
        self.timing = dict(nodecfg.KUBELET_TIMING.get(profile, nodecfg.KUBELET_TIMING["teaching"]))
        self.api = ApiClient(self, user={"name": f"system:node:{self.node}", "groups": ["system:nodes"]}, event_prefix="kubelet",
                             request_timeout_us=self.timing["request_timeout_us"], watch_timeout_range_s=self.timing["watch_timeout_range_s"])
        self.pods_informer = self.api.informer("pods", handler="on_pod", field_selector=f"spec.nodeName={self.node}")
        self.status_queue = self.api.queue("pod-status", "sync_status", workers=5, event_prefix="kubelet", base_delay_us=200_000, max_delay_us=30 * SECOND)
        self.starts = 0
        self._volatile()

    def _volatile(self) -> None:
        self.phase = "starting"  # starting -> runtime -> running
        self.cri_next = 0
        self.cri_pending: dict[int, dict] = {}
        self.runtime_ready = False
        self.runtime_snapshot: dict | None = None  # {"sandboxes", "containers"} from the first lists
        self.workers: dict[str, dict] = {}
        self.by_key: dict[str, str] = {}  # namespace/name -> uid of its worker
        self.pull_queue: list = []  # [uid, container, image]: the serial image puller (serializeImagePulls)
        self.pulling: list | None = None
        self.crash_backoff: dict[str, dict] = {}
        self.image_backoff: dict[str, dict] = {}
        self.probes_pending: dict[int, list] = {}
        self.next_probe = 0
        self.wake_tokens: dict[str, int] = {}
        self.registered = False
        self.node_uid = None
        self.node_status_sent: dict | None = None  # what the last NodeStatus write said (without heartbeats)
        self.node_status_at: int | None = None
        self.node_status_inflight = False
        self.conditions_since: dict[str, int] = {}
        self.lease_rv: str | None = None
        self.lease_inflight = False
        self.last_heartbeat: int | None = None  # the Lease's last successful renewal
        self.stats: dict = {"memory_used": 0, "cpu_used_m": 0, "containers": {}, "at": None}
        self.memory_pressure = False
        self.log_streams: dict[str, dict] = {}  # API server request key -> {"stream", "container"}
        self.recorded: dict[str, dict] = {}  # event dedup key -> {"name", "count", "pending"}
        self.next_event = 0
        self.boot_id = None
        self.runtime_started = None
        self.runtime_version = RUNTIME_VERSION  # what containerd reports (Version)
        self.images_known: list = []  # the node's images, for NodeStatus (ListImages at housekeeping after a pull)
        self.images_stale = True

    # --- life cycle -----------------------------------------------------------------------------
    def on_start(self) -> None:
        if self.removed:
            return
        self.starts += 1
        stream = self.stream("boot")
        self.boot_id = f"{stream.next64():016x}-{stream.next64() & 0xFFFF:04x}"
        self.emit("kubelet.start", f"kubelet {nodecfg.KUBELET_VERSION} on {self.node} starts: asks containerd for its status", node=self.node)
        self.cri("Version", "_on_runtime_version")
        self.cri("Status", "_on_runtime_status")
        self.set_timer(self.timing["housekeeping_us"], "housekeeping", self.starts)

    def on_crash(self) -> None:
        self.api.stop()
        self._volatile()

    def on_restart(self) -> None:
        self.on_start()

    # --- kernel entries ---------------------------------------------------------------------------
    def on_message(self, msg) -> None:
        if self.removed:
            return
        kind = msg.kind
        payload = msg.payload if isinstance(msg.payload, dict) else {}
        if self.api.handle_message(msg):
            return
        if kind == "cri.response":
            record = self.cri_pending.pop(payload.get("id"), None)
            if record is not None:
                getattr(self, record["then"])(payload, record["context"])
        elif kind == "cri.event":
            self._on_runtime_event(payload)
        elif kind == "probe.response":
            self._on_probe_response(payload)
        elif kind == "cri.log":
            self._on_log_lines(payload)
        elif kind == "cri.log_end":
            self._on_log_end(payload)
        elif kind == "kubelet.log":
            self._on_log_request(msg.source, payload)
        elif kind == "kubelet.log_cancel":
            self._on_log_cancel(payload)

    def on_timer(self, tag: str, data) -> None:
        if self.removed:
            return
        if self.api.handle_timer(tag, data):
            return
        if tag == "housekeeping":
            if data == self.starts:
                self._housekeeping()
                self.set_timer(self.timing["housekeeping_us"], "housekeeping", self.starts)
        elif tag == "lease":
            if data == self.starts:
                self._renew_lease()
        elif tag == "node_status":
            if data == self.starts:
                self._update_node_status()
                self.set_timer(self.timing["status_update_us"], "node_status", self.starts)
        elif tag == "register":
            if data == self.starts:
                self._register()
        elif tag == "wake":
            uid, token = data
            if self.wake_tokens.get(uid) == token:
                del self.wake_tokens[uid]
                self._sync(uid)
        elif tag == "probe":
            self._on_probe_timer(data)

    def on_undeliverable(self, msg, reason: str) -> None:
        if self.removed:
            return
        if self.api.handle_undeliverable(msg, reason):
            return
        payload = msg.payload if isinstance(msg.payload, dict) else {}
        if msg.kind == "cri.request":
            record = self.cri_pending.pop(payload.get("id"), None)
            if record is not None:
                getattr(self, record["then"])({"id": payload.get("id"), "method": payload.get("method"), "ok": False, "code": "Unavailable",
                                               "error": f"rpc error: code = Unavailable desc = connection error: {reason}"}, record["context"])
        elif msg.kind == "probe.request":
            self._on_probe_response({"id": payload.get("id"), "ok": False, "detail": reason})

    # --- the CRI client -------------------------------------------------------------------------------
    def cri(self, method: str, then: str, context=None, summary: str | None = None, **fields) -> int:
        """Send one CRI call to containerd; `then` (a method name) gets (response, context)."""
        self.cri_next += 1
        rid = self.cri_next
        self.cri_pending[rid] = {"method": method, "then": then, "context": context}
        self.send(self.runtime, "cri.request", {"id": rid, "method": method, **fields}, summary=summary or f"kubelet → containerd: {method}", info={"method": method})
        return rid

    def _on_runtime_version(self, response: dict, _context) -> None:
        if response.get("ok"):
            self.runtime_version = f"{response.get('runtime_name')}://{response.get('runtime_version')}"
            self.node_status_sent = None

    def _on_runtime_status(self, response: dict, _context) -> None:
        if not response.get("ok"):
            # containerd is not up (yet): the kubelet keeps asking, as it does on a real node.
            self.emit("kubelet.runtime", f"kubelet on {self.node}: container runtime is down ({response.get('error')}); retrying", node=self.node)
            self.cri("Status", "_on_runtime_status")
            return
        self.runtime_ready = True
        self.runtime_started = response.get("started")
        self.phase = "runtime"
        self.cri("ListPodSandbox", "_on_runtime_sandboxes")

    def _on_runtime_sandboxes(self, response: dict, _context) -> None:
        if not response.get("ok"):
            self.cri("ListPodSandbox", "_on_runtime_sandboxes")
            return
        self.runtime_snapshot = {"sandboxes": response.get("sandboxes") or [], "containers": []}
        self.cri("ListContainers", "_on_runtime_containers")

    def _on_runtime_containers(self, response: dict, _context) -> None:
        if not response.get("ok"):
            self.cri("ListContainers", "_on_runtime_containers")
            return
        self.runtime_snapshot["containers"] = response.get("containers") or []
        running = sum(1 for c in self.runtime_snapshot["containers"] if c["state"] == "CONTAINER_RUNNING")
        self.emit("kubelet.runtime", f"kubelet on {self.node}: containerd is ready ({len(self.runtime_snapshot['sandboxes'])} sandbox(es), {running} running container(s)); "
                  "registers the node and watches its pods", node=self.node, running=running)
        self.phase = "running"
        self.api.start()
        self._register()
        # Pods the informer already holds (none yet on a fresh start) get workers as it lists.
        for pod in self._pods_by_creation():
            self._ensure_worker(pod)

    # --- node registration, Lease and NodeStatus -----------------------------------------------------
    def _conditions(self) -> list:
        now = self.now
        ready = self.runtime_ready
        wanted = [
            ("MemoryPressure", self.memory_pressure, "KubeletHasInsufficientMemory" if self.memory_pressure else "KubeletHasSufficientMemory",
             "kubelet has insufficient memory available" if self.memory_pressure else "kubelet has sufficient memory available"),
            ("DiskPressure", False, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", False, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ("Ready", ready, "KubeletReady" if ready else "KubeletNotReady",
             "kubelet is posting ready status" if ready else ("container runtime is down" if self.phase == "running" else "container runtime status check may not have completed yet")),
        ]
        out = []
        for ctype, value, reason, message in wanted:
            status = "True" if value else "False"
            key = f"{ctype}={status}"
            since = self.conditions_since.get(ctype)
            if since is None or since[0] != key:
                self.conditions_since[ctype] = since = [key, now]
            out.append({"type": ctype, "status": status, "lastHeartbeatTime": rfc3339(now), "lastTransitionTime": rfc3339(since[1]), "reason": reason, "message": message})
        return out

    def _register(self) -> None:
        if self.registered:
            return
        body = nodecfg.registration(self.config, self._conditions(), self.boot_id, self.runtime_version)
        self.emit("kubelet.register", f"kubelet registers node {self.node}: {self.config['cpu_m'] // 1000 if self.config['cpu_m'] % 1000 == 0 else self.config['cpu_m']} cpu, "
                  f"{show_bytes(self.config['memory'])} memory, pod CIDR {self.config['pod_cidr']}", node=self.node)
        self.api.request("create", "nodes", body=body, then="_on_registered", ok=(409,), summary=f"{self.name} → kube-apiserver: register node {self.node}")

    def _on_registered(self, response: dict, _context) -> None:
        code = response.get("code")
        if code == 201 or code == 409:
            self.registered = True
            if code == 201:
                self.node_uid = meta_of(response.get("body")).get("uid")
            self.emit("kubelet.registered", f"node {self.node} " + ("registered" if code == 201 else "was already registered: kubelet takes it over"), node=self.node)
            self.node_status_sent = None  # write a full status at once
            self._update_node_status()
            self.set_timer(self.timing["status_update_us"], "node_status", self.starts)
            self._renew_lease()
            return
        self.set_timer(self.timing["retry_us"], "register", self.starts)

    def _lease_body(self) -> dict:
        meta = {"name": self.node, "namespace": NODE_LEASE_NAMESPACE}
        if self.lease_rv:
            meta["resourceVersion"] = self.lease_rv
        if self.node_uid:
            meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": self.node, "uid": self.node_uid}]
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
                "spec": {"holderIdentity": self.node, "leaseDurationSeconds": self.timing["lease_duration_s"], "renewTime": rfc3339_micro(self.now)}}

    def _renew_lease(self) -> None:
        if self.lease_inflight:
            return
        self.lease_inflight = True
        if self.lease_rv is None:
            self.api.request("get", "leases", namespace=NODE_LEASE_NAMESPACE, name=self.node, then="_on_lease_read", ok=(404,))
        else:
            self.api.request("update", "leases", namespace=NODE_LEASE_NAMESPACE, name=self.node, body=self._lease_body(), then="_on_lease_written", ok=(409, 404),
                             summary=f"{self.name} → kube-apiserver: renew lease {NODE_LEASE_NAMESPACE}/{self.node}")

    def _on_lease_read(self, response: dict, _context) -> None:
        code = response.get("code")
        if code == 200:
            self.lease_rv = meta_of(response.get("body")).get("resourceVersion")
            self.api.request("update", "leases", namespace=NODE_LEASE_NAMESPACE, name=self.node, body=self._lease_body(), then="_on_lease_written", ok=(409, 404),
                             summary=f"{self.name} → kube-apiserver: renew lease {NODE_LEASE_NAMESPACE}/{self.node}")
        elif code == 404:
            self.lease_rv = None
            self.api.request("create", "leases", namespace=NODE_LEASE_NAMESPACE, body=self._lease_body(), then="_on_lease_written", ok=(409,),
                             summary=f"{self.name} → kube-apiserver: create lease {NODE_LEASE_NAMESPACE}/{self.node}")
        else:
            self.lease_inflight = False
            self.set_timer(self.timing["retry_us"], "lease", self.starts)

    def _on_lease_written(self, response: dict, _context) -> None:
        self.lease_inflight = False
        code = response.get("code")
        if code in (200, 201):
            self.lease_rv = meta_of(response.get("body")).get("resourceVersion")
            self.last_heartbeat = self.now
            self.emit("kubelet.heartbeat", f"kubelet on {self.node} renewed its lease (heartbeat)", target="kube-apiserver", node=self.node)
            self.set_timer(self.timing["lease_renew_us"], "lease", self.starts)
        else:
            # 409: someone else wrote it; 404: gone; errors: the API server is unreachable. Read it again soon.
            self.lease_rv = None
            delay = self.timing["retry_us"] if code in (409, 404) else min(self.timing["lease_renew_us"], self.timing["retry_us"] * 2)
            self.set_timer(delay, "lease", self.starts)

    def _node_status_body(self) -> dict:
        return {"conditions": self._conditions(), "images": self._node_images(), "nodeInfo": nodecfg.node_info(self.config, self.boot_id, self.runtime_version)}

    def _node_images(self) -> list:
        return self.images_known[:MAX_NODE_IMAGES]

    def _update_node_status(self) -> None:
        if not self.registered or self.node_status_inflight:
            return
        body = self._node_status_body()
        comparable = {**body, "conditions": [{k: v for k, v in c.items() if k != "lastHeartbeatTime"} for c in body["conditions"]]}
        due = self.node_status_at is None or self.now - self.node_status_at >= self.timing["status_report_us"]
        if comparable == self.node_status_sent and not due:
            return
        self.node_status_inflight = True
        self.api.request("patch", "nodes", name=self.node, subresource="status", patch_type="merge", body={"status": body},
                         then="_on_node_status_written", context=comparable, summary=f"{self.name} → kube-apiserver: update status of node {self.node}")

    def _on_node_status_written(self, response: dict, comparable) -> None:
        self.node_status_inflight = False
        if response.get("code") == 200:
            self.node_status_sent = comparable
            self.node_status_at = self.now
            self.emit("kubelet.node_status", f"kubelet on {self.node} posted node status: Ready={'True' if self.runtime_ready else 'False'}", target="kube-apiserver", node=self.node)
        elif response.get("code") == 404:
            # The Node was deleted while this kubelet runs: register it again.
            self.registered = False
            self.set_timer(self.timing["retry_us"], "register", self.starts)

    # --- housekeeping: runtime health, stats, eviction, orphans ---------------------------------------------
    def _housekeeping(self) -> None:
        if self.phase != "running":
            return
        self.cri("Status", "_on_housekeeping_status")
        self.cri("ListContainerStats", "_on_stats")
        if self.images_stale:
            self.images_stale = False
            self.cri("ListImages", "_on_images")

    def _on_housekeeping_status(self, response: dict, _context) -> None:
        if not response.get("ok"):
            if self.runtime_ready:
                self.runtime_ready = False
                self.emit("kubelet.runtime", f"kubelet on {self.node}: container runtime is down: {response.get('error')}", node=self.node)
            return
        if not self.runtime_ready:
            self.runtime_ready = True
        if self.runtime_started is not None and response.get("started") != self.runtime_started:
            self._runtime_restarted(response.get("started"))

    def _on_images(self, response: dict, _context) -> None:
        if response.get("ok"):
            found = [{"names": sorted({img["repo_digest"], *[short_name(r) if r.startswith("docker.io/") else r for r in img["refs"]]}), "sizeBytes": img["size"]}
                     for img in response.get("images") or []]
            self.images_known = sorted(found, key=lambda i: (-i["sizeBytes"], i["names"]))

    def _on_stats(self, response: dict, _context) -> None:
        if not response.get("ok"):
            return
        self.stats = {"memory_used": response.get("memory_used", 0), "cpu_used_m": response.get("cpu_used_m", 0), "at": self.now,
                      "containers": {s["id"]: {"cpu_m": s["cpu_m"], "memory": s["memory"]} for s in response.get("stats") or []}}
        self._eviction_check(response.get("stats") or [])
        self._cleanup_orphans()

    # --- the API server asks for logs ----------------------------------------------------------------------
    def _on_log_request(self, source: str, req: dict) -> None:
        key = req.get("id")
        uid = req.get("uid")
        w = self.workers.get(uid) if uid else self.workers.get(self.by_key.get(f"{req.get('namespace')}/{req.get('pod')}"))
        name = req.get("container")
        cs = w["containers"].get(name) if w else None
        if cs is None:
            self.send(source, "kubelet.log_response", {"id": key, "code": 404, "body": _status(404, "NotFound", f'container "{name}" in pod "{req.get("pod")}" not found')},
                      summary=f"{self.name} → {source}: no such container")
            return
        previous = req.get("previous") in (True, "true")
        cid, error = _log_container(cs, previous)
        if error is not None:
            message = error.format(container=name, pod=req.get("pod"))
            self.send(source, "kubelet.log_response", {"id": key, "code": 400, "body": _status(400, "BadRequest", message)}, summary=f"{self.name} → {source}: {message}")
            return
        fields = {"container_id": cid}
        tail = _int(req.get("tailLines"))
        if tail is not None:
            fields["tail"] = max(0, tail)
        since = _int(req.get("sinceSeconds"))
        if since is not None:
            fields["since_us"] = self.now - since * SECOND
        follow = req.get("follow") in (True, "true") and not previous
        if follow:
            fields["follow"] = True
            fields["stream"] = key
        context = {"source": source, "key": key, "timestamps": req.get("timestamps") in (True, "true"), "limit": _int(req.get("limitBytes")), "follow": follow, "container": cid}
        self.emit("kubelet.log", f"kubelet on {self.node} reads the log of {req.get('namespace')}/{req.get('pod')}/{name}" + (" (follow)" if follow else ""), target=source)
        self.cri("ReadLog", "_on_log_read", context, **fields)

    def _on_log_read(self, response: dict, context: dict) -> None:
        source, key = context["source"], context["key"]
        if not response.get("ok"):
            self.send(source, "kubelet.log_response", {"id": key, "code": 500, "body": _status(500, "InternalError", str(response.get("error")))})
            return
        text = self._format_lines(response.get("lines") or [], context["timestamps"])
        if context["limit"] is not None and context["limit"] >= 0:
            text = text.encode()[: context["limit"]].decode(errors="ignore")
        stream = bool(context["follow"] and response.get("following"))
        if stream:
            self.log_streams[key] = {"client": source, "container": context["container"], "timestamps": context["timestamps"]}
        self.send(source, "kubelet.log_response", {"id": key, "code": 200, "text": text, "stream": stream}, summary=f"{self.name} → {source}: log text")

    def _format_lines(self, lines: list, timestamps: bool) -> str:
        if not lines:
            return ""
        if timestamps:
            return "".join(f"{_nano(line[0])} {line[2]}\n" for line in lines)
        return "".join(f"{line[2]}\n" for line in lines)

    def _on_log_lines(self, payload: dict) -> None:
        stream = self.log_streams.get(payload.get("stream"))
        if stream is not None:
            self.send(stream["client"], "kubelet.log_chunk", {"id": payload["stream"], "text": self._format_lines(payload.get("lines") or [], stream["timestamps"])},
                      summary=f"{self.name} → {stream['client']}: log lines")

    def _on_log_end(self, payload: dict) -> None:
        stream = self.log_streams.pop(payload.get("stream"), None)
        if stream is not None:
            self.send(stream["client"], "kubelet.log_end", {"id": payload["stream"]}, summary=f"{self.name} → {stream['client']}: the container stopped: log ends")

    def _on_log_cancel(self, payload: dict) -> None:
        key = payload.get("id")
        if self.log_streams.pop(key, None) is not None:
            self.cri("UnfollowLog", "_ignore", None, stream=key)

    def _ignore(self, _response, _context) -> None:
        return None

    # --- Kubernetes Events (what `kubectl describe` lists) --------------------------------------------------------
    def record(self, pod: dict | None, etype: str, reason: str, message: str, field_path: str | None = None) -> None:
        if pod is None:
            return
        meta = meta_of(pod)
        namespace, name, uid = meta.get("namespace"), meta.get("name"), meta.get("uid")
        self.emit("kubelet.event", f"{reason}: {message} ({namespace}/{name})", target="kube-apiserver", reason=reason, type=etype, pod=f"{namespace}/{name}")
        dedup = f"{uid}|{reason}|{message}|{field_path}"
        entry = self.recorded.get(dedup)
        stamp = rfc3339(self.now)
        if entry is not None:
            entry["count"] += 1
            if entry["name"] and not entry["pending"]:
                entry["pending"] = True
                self.api.request("patch", "events", namespace=namespace, name=entry["name"], patch_type="merge", body={"count": entry["count"], "lastTimestamp": stamp},
                                 then="_on_event_written", context=dedup, ok=(404,))
            return
        self.next_event += 1
        event_name = f"{name}.{(self.now * 1000 + self.next_event):016x}"
        involved = {"apiVersion": "v1", "kind": "Pod", "name": name, "namespace": namespace, "uid": uid}
        if field_path:
            involved["fieldPath"] = field_path
        body = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": event_name, "namespace": namespace}, "involvedObject": involved,
                "reason": reason, "message": message, "source": {"component": "kubelet", "host": self.node}, "firstTimestamp": stamp,
                "lastTimestamp": stamp, "count": 1, "type": etype, "reportingComponent": "kubelet", "reportingInstance": self.node}
        self.recorded[dedup] = {"name": event_name, "count": 1, "pending": True}
        if len(self.recorded) > 500:
            for old in sorted(self.recorded)[:100]:
                if not self.recorded[old]["pending"]:
                    del self.recorded[old]
        self.api.request("create", "events", namespace=namespace, body=body, then="_on_event_written", context=dedup, ok=(409, 404),
                         summary=f"{self.name} → kube-apiserver: event {reason} for {name}")

    def _on_event_written(self, response: dict, dedup: str) -> None:
        entry = self.recorded.get(dedup)
        if entry is not None:
            entry["pending"] = False

    # --- view -----------------------------------------------------------------------------------------------
    def view(self) -> dict:
        pods = [self._worker_view(self.workers[uid], self._pod_of(self.workers[uid])) for uid in sorted(self.workers, key=lambda u: (self.workers[u]["key"], u))]
        return {
            **self.compact_view(),
            "lease_renew_seconds": self.timing["lease_renew_us"] / SECOND,
            "pods": pods,
            "pulling": None if self.pulling is None else {"pod": self.workers[self.pulling[0]]["key"] if self.pulling[0] in self.workers else None, "image": self.pulling[2]},
            "pull_queue": [entry[2] for entry in self.pull_queue],
            "client": self.api.view(),
        }

    def compact_view(self) -> dict:
        """The node without its pods' detail (a large cluster's picture, cluster/compact.py): its
        condition, requested against allocatable, usage, and its pods counted by the kubelet's step."""
        requested_cpu = requested_memory = admitted = 0
        steps: dict[str, int] = {}
        for w in self.workers.values():
            steps[w["step"]] = steps.get(w["step"], 0) + 1
            if w.get("admitted") and not w.get("terminal_phase"):
                pod = self._pod_of(w)
                cpu, memory = pod_requests(pod) if pod else (0, 0)
                requested_cpu, requested_memory, admitted = requested_cpu + cpu, requested_memory + memory, admitted + 1
        return {
            "name": self.name, "kind": self.kind, "alive": self.alive, "node": self.node, "phase": self.phase, "removed": self.removed,
            "registered": self.registered, "runtime_ready": self.runtime_ready,
            "ready": self.alive and self.runtime_ready and self.registered,
            "last_heartbeat": None if self.last_heartbeat is None else self.last_heartbeat / SECOND,
            "last_status": None if self.node_status_at is None else self.node_status_at / SECOND,
            "memory_pressure": self.memory_pressure,
            "labels": dict(self.config["labels"]),
            "capacity": {"cpu_m": self.config["cpu_m"], "memory": self.config["memory"], "pods": self.config["pods"]},
            "allocatable": nodecfg.allocatable(self.config),
            "requested": {"cpu_m": requested_cpu, "memory": requested_memory, "pods": admitted},
            "usage": {"cpu_m": self.stats["cpu_used_m"], "memory": self.stats["memory_used"]},
            "pod_steps": dict(sorted(steps.items())),
        }


def _log_container(cs: dict, previous: bool) -> tuple[str | None, str | None]:
    """Which container's log a request means (kubelet's validateContainerLogStatus): (id, None) or (None, error)."""
    last = cs.get("last_terminated") or {}
    if previous:
        if not last.get("id"):
            return None, 'previous terminated container "{container}" in pod "{pod}" not found'
        return last["id"], None
    if cs["state"] == "running" and cs.get("id"):
        return cs["id"], None
    if cs["state"] == "terminated":
        if cs["terminated"].get("id"):
            return cs["terminated"]["id"], None
        if last.get("id"):
            return last["id"], None
        return None, 'container "{container}" in pod "{pod}" is terminated'
    if last.get("id"):
        return last["id"], None  # waiting to restart (CrashLoopBackOff): the last run's log
    reason = (cs.get("waiting") or {}).get("reason") or "ContainerCreating"
    if reason == "ErrImagePull":
        return None, 'container "{container}" in pod "{pod}" is waiting to start: image can\'t be pulled'
    if reason == "ImagePullBackOff":
        return None, 'container "{container}" in pod "{pod}" is waiting to start: trying and failing to pull image'
    return None, 'container "{container}" in pod "{pod}" is waiting to start: ' + reason


def _status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}


def _int(value):
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _nano(time_us: int) -> str:
    text = rfc3339_micro(time_us)  # ...SS.ffffffZ
    return text[:-1] + "000Z"


__all__ = ["Kubelet"]
