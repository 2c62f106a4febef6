"""Pod workers: the kubelet's per-pod loop that makes the node match the pods bound to it.

One worker per pod uid, plain data. `_sync(uid)` looks at the pod (the informer's cache) and
at what the worker knows of the runtime, and takes the next step; one setup call to
containerd is in flight per pod at a time (`busy`), so the runtime calls of a pod happen in a
fixed order, each one a message:

    admit ─▶ RunPodSandbox ─▶ for each init container, then each container, in order:
                               ImageStatus ─▶ (PullImage, through the node's serial puller) ─▶ CreateContainer ─▶ StartContainer
             ─▶ probes (startup, then liveness and readiness) ─▶ ready

    restarts: a container that exits is restarted per restartPolicy (Always, OnFailure: on
              failure, Never), after CrashLoopBackOff's back-off (backoff.py) counted from its
              finishedAt; a failed pull waits out ImagePullBackOff.
    deletion: deletionTimestamp seen ─▶ StopContainer(grace left) for each running container
              (SIGTERM, SIGKILL at the deadline: containerd) ─▶ StopPodSandbox ─▶ terminal status
              ─▶ DELETE with gracePeriodSeconds 0 (the API server then removes the pod)
              ─▶ RemoveContainer / RemovePodSandbox once the pod is gone.
    eviction: the same with a grace of 2 s (the kubelet's minimum), the pod stays as Failed/Evicted.

The worker's `step` (bound, admission, sandbox, pull, create, start, probes, ready, backoff,
terminating, terminated, rejected) is what the node box shows per pod.
"""

from ..apiserver.meta import dig, meta_of, parse_time
from ..kernel import SECOND
from ..runtime.images import short_name
from ..runtime.runc import pod_cgroup
from . import backoff
from .node import EVICTION_HARD_MEMORY, allocatable
from .status import containers_of, limits_of, pod_requests, pod_status, requests_of

MIN_GRACE_S = 2  # kuberuntime's minimumGracePeriodInSeconds
PROBE_KINDS = ("startup", "liveness", "readiness")
PROBE_DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3}


class PodWorkersMixin:
    # --- the informer's handler ------------------------------------------------------------------
    def on_pod(self, event: str, obj: dict, old) -> None:
        meta = meta_of(obj)
        uid, key = meta.get("uid"), f"{meta.get('namespace')}/{meta.get('name')}"
        if event == "delete":
            w = self.workers.get(uid)
            if w is not None:
                w["gone"] = True
                self._sync(uid)
            return
        if self.phase != "running":
            return
        previous = self.by_key.get(key)
        if previous is not None and previous != uid and previous in self.workers:
            # The name now belongs to a new pod: the old one is gone from the API.
            self.workers[previous]["gone"] = True
            self._sync(previous)
        self._ensure_worker(obj)
        self._sync(uid)

    def _pods_by_creation(self) -> list:
        pods = self.pods_informer.list()
        return sorted(pods, key=lambda p: (parse_time(meta_of(p).get("creationTimestamp")) or 0, meta_of(p).get("namespace") or "", meta_of(p).get("name") or ""))

    def _pod_of(self, w: dict) -> dict | None:
        pod = self.pods_informer.get(w["key"])
        if pod is None or meta_of(pod).get("uid") != w["uid"]:
            return None
        return pod

    # --- workers -----------------------------------------------------------------------------------
    def _ensure_worker(self, pod: dict) -> dict:
        meta = meta_of(pod)
        uid = meta.get("uid")
        w = self.workers.get(uid)
        if w is not None:
            return w
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        w = {
            "uid": uid, "key": key, "namespace": meta.get("namespace"), "name": meta.get("name"), "step": "bound", "seen": self.now,
            "admitted": False, "start_time": None, "busy": None, "sandbox": None, "containers": {}, "stops": {}, "gone": False,
            "terminal_phase": None, "reason": None, "message": None, "evicted": False, "kill_deadline": None, "delete_sent": False,
            "cleaned": False, "killing_reported": False, "sent_status": None, "old_sandboxes": [],
        }
        for spec in containers_of(pod, init=True) + containers_of(pod):
            w["containers"][spec["name"]] = _new_container_state(spec["name"], spec in containers_of(pod, init=True))
        self.workers[uid] = w
        self.by_key[key] = uid
        self._adopt(w)
        for spec in containers_of(pod):
            cs = w["containers"][spec["name"]]
            if cs["state"] == "running":
                self._start_probes(w, spec, cs)  # adopted: probed again from the start, as after a kubelet restart
        if w["sandbox"] is None:
            self.emit("kubelet.pod", f"kubelet on {self.node} sees pod {key} bound to its node", target=self.runtime, pod=key, uid=uid, step="bound")
        return w

    def _adopt(self, w: dict) -> None:
        """What containerd already runs for this pod (after a kubelet restart, or a node reboot)."""
        snapshot = self.runtime_snapshot or {"sandboxes": [], "containers": []}
        sandboxes = [s for s in snapshot["sandboxes"] if s["pod_uid"] == w["uid"]]
        if not sandboxes:
            return
        latest = max(sandboxes, key=lambda s: (s["attempt"], s["created"], s["id"]))
        w["sandbox"] = {"id": latest["id"], "ip": latest["ip"], "state": "ready" if latest["state"] == "SANDBOX_READY" else "notready", "attempt": latest["attempt"]}
        w["old_sandboxes"] = sorted(s["id"] for s in sandboxes if s["id"] != latest["id"])
        w["admitted"] = True
        w["start_time"] = min(s["created"] for s in sandboxes)
        for name, cs in w["containers"].items():
            mine = sorted((c for c in snapshot["containers"] if c["pod_uid"] == w["uid"] and c["name"] == name), key=lambda c: (c["attempt"], c["created"], c["id"]))
            if not mine:
                continue
            cs["dead"] = [c["id"] for c in mine[:-1]]
            c = mine[-1]
            cs["restarts"] = c["attempt"]
            cs["image_ref"], cs["repo_digest"] = c.get("image_ref"), c.get("repo_digest")
            if c["state"] == "CONTAINER_RUNNING" and c["sandbox_id"] == latest["id"] and latest["state"] == "SANDBOX_READY":
                cs.update(id=c["id"], sandbox=c["sandbox_id"], state="running", running_since=c["started"], started=False, ready=False, ever_ran=True)
            elif c["state"] == "CONTAINER_EXITED" or c["state"] == "CONTAINER_RUNNING":
                cs.update(id=c["id"], sandbox=c["sandbox_id"], state="terminated", ever_ran=True,
                          terminated=_terminated(c["id"], c["exit_code"] if c["exit_code"] is not None else 255, c["reason"] or "Unknown", c["started"], c["finished"], c.get("message")))
            else:
                cs["dead"].append(c["id"])
        self.emit("kubelet.adopt", f"kubelet on {self.node} finds pod {w['key']} in containerd: sandbox {latest['state'].split('_')[1].lower()}",
                  pod=w["key"], sandbox=latest["id"][:13])

    def _wake(self, w: dict, at: int) -> None:
        self.next_probe += 1
        token = self.next_probe
        self.wake_tokens[w["uid"]] = token
        self.set_timer(max(0, at - self.now), "wake", [w["uid"], token])

    def _set_step(self, w: dict, step: str, detail: str | None = None) -> None:
        if w["step"] != step:
            w["step"] = step
            self.emit("kubelet.step", f"kubelet on {self.node}: {w['key']} → {step}" + (f" ({detail})" if detail else ""), pod=w["key"], step=step, detail=detail)

    def _status_changed(self, w: dict) -> None:
        if not w["gone"]:
            self.status_queue.add(w["uid"])

    # --- sync ----------------------------------------------------------------------------------------------
    def _sync(self, uid: str) -> None:
        w = self.workers.get(uid)
        if w is None or self.phase != "running":
            return
        pod = self._pod_of(w)
        if pod is None:
            w["gone"] = True
        if w["gone"] or (pod is not None and meta_of(pod).get("deletionTimestamp")) or w["evicted"]:
            self._sync_terminating(w, pod)
        elif w["terminal_phase"] and not w["admitted"]:
            pass  # rejected at admission: nothing runs
        elif not w["admitted"]:
            self._admit(w, pod)
        else:
            self._sync_running(w, pod)
        if uid in self.workers:
            self._status_changed(w)

    def _admit(self, w: dict, pod: dict) -> None:
        self._set_step(w, "admission")
        w["start_time"] = self.now
        alloc = allocatable(self.config)
        used_cpu = used_memory = used_pods = 0
        for other in self.workers.values():
            if other is w or not other["admitted"] or other["terminal_phase"] or other["gone"]:
                continue
            other_pod = self._pod_of(other)
            if other_pod is None:
                continue
            cpu, memory = pod_requests(other_pod)
            used_cpu += cpu
            used_memory += memory
            used_pods += 1
        cpu, memory = pod_requests(pod)
        failure = None
        selector = dig(pod, "spec", "nodeSelector") or {}
        labels = dict(self.config["labels"])
        labels.update({"kubernetes.io/hostname": self.node, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"})
        if isinstance(selector, dict) and any(labels.get(k) != v for k, v in selector.items()):
            failure = ("NodeAffinity", "Pod was rejected: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector")
        elif used_pods + 1 > alloc["pods"]:
            failure = ("OutOfpods", f"Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: {used_pods}, capacity: {alloc['pods']}")
        elif cpu > alloc["cpu_m"] - used_cpu:
            failure = ("OutOfcpu", f"Pod was rejected: Node didn't have enough resource: cpu, requested: {cpu}, used: {used_cpu}, capacity: {alloc['cpu_m']}")
        elif memory > alloc["memory"] - used_memory:
            failure = ("OutOfmemory", f"Pod was rejected: Node didn't have enough resource: memory, requested: {memory}, used: {used_memory}, capacity: {alloc['memory']}")
        if failure is not None:
            reason, message = failure
            w.update(terminal_phase="Failed", reason=reason, message=message, admitted=False)
            for cs in w["containers"].values():
                cs["waiting"] = {"reason": "ContainerCreating"}
            self._set_step(w, "rejected", reason)
            self.emit("kubelet.reject", f"kubelet on {self.node} rejects {w['key']}: {message}", pod=w["key"], reason=reason)
            self.record(pod, "Warning", reason, message.replace("Pod was rejected: ", ""))
            return
        w["admitted"] = True
        self.emit("kubelet.admit", f"kubelet on {self.node} admits {w['key']} (requests {cpu}m cpu, {memory // (1 << 20)}Mi memory; "
                  f"{alloc['cpu_m'] - used_cpu - cpu}m cpu left)", pod=w["key"])
        self._sync_running(w, pod)

    def _sync_running(self, w: dict, pod: dict) -> None:
        if w["busy"] is not None:
            return
        if w["terminal_phase"]:
            self._stop_sandbox_if_up(w)
            return
        policy = dig(pod, "spec", "restartPolicy") or "Always"
        sandbox = w["sandbox"]
        if sandbox is None or sandbox["state"] != "ready":
            self._run_sandbox(w, pod)
            return
        # Init containers, one at a time, each to completion.
        for spec in containers_of(pod, init=True):
            cs = w["containers"][spec["name"]]
            if cs["state"] == "terminated" and cs["terminated"]["exit_code"] == 0 and cs["sandbox"] == sandbox["id"]:
                continue
            if cs["state"] == "running" and cs["sandbox"] == sandbox["id"]:
                self._set_step(w, "init", spec["name"])
                return
            if cs["state"] == "terminated" and cs["sandbox"] == sandbox["id"] and policy == "Never":
                self._terminal(w, pod, "Failed")
                return
            self._maybe_start(w, pod, spec, cs, policy)
            return
        # Containers, in order.
        for spec in containers_of(pod):
            cs = w["containers"][spec["name"]]
            if cs["state"] == "running" and cs["sandbox"] == sandbox["id"]:
                continue
            if cs["state"] == "terminated" and not _restart_allowed(policy, cs["terminated"]["exit_code"]):
                continue
            if self._maybe_start(w, pod, spec, cs, policy):
                return
        # Nothing left to start: is the pod done?
        regular = [w["containers"][c["name"]] for c in containers_of(pod)]
        if regular and all(cs["state"] == "terminated" and not _restart_allowed(policy, cs["terminated"]["exit_code"]) for cs in regular):
            phase = "Succeeded" if all(cs["terminated"]["exit_code"] == 0 for cs in regular) else "Failed"
            self._terminal(w, pod, phase)
            return
        self._update_step(w)

    def _update_step(self, w: dict) -> None:
        self._status_changed(w)
        pod = self._pod_of(w)
        regular = [w["containers"][c["name"]] for c in containers_of(pod)] if pod else []
        if regular and all(cs["ready"] for cs in regular):
            self._set_step(w, "ready")
        elif any(cs["state"] == "waiting" and (cs["waiting"] or {}).get("reason") in ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerError") for cs in regular):
            reason = next(cs["waiting"]["reason"] for cs in regular if cs["state"] == "waiting" and (cs["waiting"] or {}).get("reason") in ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerError"))
            self._set_step(w, "backoff", reason)
        elif regular and all(cs["state"] == "running" for cs in regular):
            self._set_step(w, "probes")

    def _terminal(self, w: dict, pod: dict, phase: str) -> None:
        w["terminal_phase"] = phase
        self._set_step(w, "terminated", phase)
        self.emit("kubelet.pod_done", f"kubelet on {self.node}: pod {w['key']} has {phase.lower()}; its sandbox is torn down", pod=w["key"], phase=phase)
        self._stop_sandbox_if_up(w)

    def _stop_sandbox_if_up(self, w: dict) -> None:
        sandbox = w["sandbox"]
        if w["busy"] is None and sandbox is not None and sandbox["state"] == "ready":
            w["busy"] = {"method": "StopPodSandbox"}
            self.cri("StopPodSandbox", "_on_sandbox_stopped", w["uid"], sandbox_id=sandbox["id"], summary=f"kubelet → containerd: StopPodSandbox {w['key']}")

    def _maybe_start(self, w: dict, pod: dict, spec: dict, cs: dict, policy: str) -> bool:
        """Start the container now, or wait out its back-off. True when a runtime call went out."""
        if cs.get("ever_ran") and cs["state"] in ("terminated", "waiting") and (cs["terminated"] or cs["last_terminated"]):
            finished = (cs["terminated"] or cs["last_terminated"])["finished"] or self.now
            key = f"{w['uid']}/{spec['name']}"
            cap = self.timing["backoff_max_us"]
            if backoff.in_backoff_since(self.crash_backoff, key, finished, self.now, cap):
                delay = backoff.current(self.crash_backoff, key)
                if cs["state"] == "terminated":
                    cs["last_terminated"], cs["terminated"] = cs["terminated"], None
                message = f"back-off {_duration(delay)} restarting failed container={spec['name']} pod={w['name']}_{w['namespace']}({w['uid']})"
                if (cs["waiting"] or {}).get("reason") != "CrashLoopBackOff" or cs["waiting"].get("message") != message:
                    cs["state"], cs["waiting"] = "waiting", {"reason": "CrashLoopBackOff", "message": message}
                    self.emit("kubelet.backoff", f"kubelet on {self.node}: {w['key']}/{spec['name']} in CrashLoopBackOff: restarts in "
                              f"{(finished + delay - self.now) / SECOND:.1f} s (back-off {_duration(delay)})", pod=w["key"], container=spec["name"], backoff=delay / SECOND)
                    self.record(pod, "Warning", "BackOff", f"Back-off restarting failed container {spec['name']} in pod {w['name']}_{w['namespace']}({w['uid']})", _field(spec, cs))
                self._wake(w, finished + delay)
                self._update_step(w)
                return False
            backoff.next_backoff(self.crash_backoff, key, finished, self.now, self.timing["backoff_initial_us"], cap)
        return self._begin_start(w, pod, spec, cs)

    # --- the sandbox ------------------------------------------------------------------------------------
    def _run_sandbox(self, w: dict, pod: dict) -> None:
        old = w["sandbox"]
        attempt = old["attempt"] + 1 if old else 0
        if old is not None:
            w["old_sandboxes"].append(old["id"])
            for cs in w["containers"].values():
                if cs["state"] == "running":
                    cs["state"] = "terminated"
        self._set_step(w, "sandbox")
        if old is not None:
            self.record(pod, "Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
        w["busy"] = {"method": "RunPodSandbox"}
        qos = dig(pod, "status", "qosClass") or "BestEffort"
        config = {"name": w["name"], "namespace": w["namespace"], "uid": w["uid"], "attempt": attempt, "hostname": dig(pod, "spec", "hostname") or w["name"],
                  "cgroup_parent": pod_cgroup(qos, w["uid"]), "qos": qos}
        self.cri("RunPodSandbox", "_on_sandbox", [w["uid"], attempt], config=config, summary=f"kubelet → containerd: RunPodSandbox {w['key']}")

    def _on_sandbox(self, response: dict, context) -> None:
        uid, attempt = context
        w = self.workers.get(uid)
        if w is None:
            if response.get("ok"):
                self.cri("StopPodSandbox", "_ignore", None, sandbox_id=response["sandbox_id"])
            return
        w["busy"] = None
        pod = self._pod_of(w)
        if not response.get("ok"):
            message = f"Failed to create pod sandbox: {response.get('error')}"
            self.emit("kubelet.sandbox_failed", f"kubelet on {self.node}: {message} ({w['key']})", pod=w["key"])
            self.record(pod, "Warning", "FailedCreatePodSandBox", message)
            self._wake(w, self.now + self.timing["backoff_initial_us"])
            return
        w["sandbox"] = {"id": response["sandbox_id"], "ip": response["ip"], "state": "ready", "attempt": attempt}
        self.images_stale = True  # the first sandbox brought the pause image
        self.emit("kubelet.sandbox", f"kubelet on {self.node}: sandbox of {w['key']} is up with IP {response['ip']}", pod=w["key"], ip=response["ip"])
        self._sync(uid)

    def _on_sandbox_stopped(self, response: dict, uid: str) -> None:
        w = self.workers.get(uid)
        if w is None:
            return
        w["busy"] = None
        if response.get("ok") and w["sandbox"] is not None:
            w["sandbox"]["state"] = "notready"
        for cs in w["containers"].values():
            if cs["state"] == "running":
                # Killed with the sandbox: containerd's stop event carries the details.
                cs["ready"] = False
        self._sync(uid)

    # --- starting a container: image, pull, create, start ----------------------------------------------------
    def _begin_start(self, w: dict, pod: dict, spec: dict, cs: dict) -> bool:
        if cs["state"] == "terminated":
            cs["last_terminated"], cs["terminated"] = cs["terminated"], None
        cs["state"] = "waiting"
        if (cs["waiting"] or {}).get("reason") not in ("ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff"):
            cs["waiting"] = {"reason": "PodInitializing" if not cs["init"] and any(c["init"] for c in w["containers"].values()) and not cs.get("ever_ran") else "ContainerCreating"}
        image = spec.get("image") or ""
        policy = spec.get("imagePullPolicy") or "IfNotPresent"
        cs["stage"] = "image"
        if policy == "Always" or backoff.in_backoff_since_update(self.image_backoff, f"{w['uid']}/{image}", self.now):
            return self._request_pull(w, pod, spec, cs)
        self._set_step(w, "pull", short_name(image) if image else None)
        w["busy"] = {"method": "ImageStatus", "container": spec["name"]}
        self.cri("ImageStatus", "_on_image_status", [w["uid"], spec["name"]], image=image, summary=f"kubelet → containerd: ImageStatus {image}")
        return True

    def _on_image_status(self, response: dict, context) -> None:
        w, pod, spec, cs = self._resume(context)
        if w is None:
            return
        image = spec.get("image") or ""
        found = response.get("image") if response.get("ok") else None
        if found is not None:
            cs["image_ref"], cs["repo_digest"] = found["refs"][0] if found["refs"] else image, found["repo_digest"]
            self.record(pod, "Normal", "Pulled", f'Container image "{image}" already present on machine', _field(spec, cs))
            self._create(w, pod, spec, cs)
            return
        if (spec.get("imagePullPolicy") or "IfNotPresent") == "Never":
            message = f'Container image "{image}" is not present with pull policy of Never'
            cs["waiting"] = {"reason": "ErrImageNeverPull", "message": message}
            self.record(pod, "Warning", "ErrImageNeverPull", message, _field(spec, cs))
            self._wake(w, self.now + self.timing["backoff_initial_us"])
            self._update_step(w)
            return
        self._request_pull(w, pod, spec, cs)

    def _request_pull(self, w: dict, pod: dict, spec: dict, cs: dict) -> bool:
        image = spec.get("image") or ""
        key = f"{w['uid']}/{image}"
        if backoff.in_backoff_since_update(self.image_backoff, key, self.now):
            message = f'Back-off pulling image "{image}"'
            first = (cs["waiting"] or {}).get("reason") != "ImagePullBackOff"
            cs["waiting"] = {"reason": "ImagePullBackOff", "message": message}
            cs["stage"] = None
            if first:
                self.emit("kubelet.backoff", f"kubelet on {self.node}: {w['key']}/{spec['name']} in ImagePullBackOff: next pull of {image} in "
                          f"{(backoff.retry_at(self.image_backoff, key) - self.now) / SECOND:.1f} s", pod=w["key"], container=spec["name"])
                self.record(pod, "Normal", "BackOff", message, _field(spec, cs))
                self.record(pod, "Warning", "Failed", "Error: ImagePullBackOff", _field(spec, cs))
            self._wake(w, backoff.retry_at(self.image_backoff, key))
            self._update_step(w)
            return False
        cs["stage"] = "pull"
        self._set_step(w, "pull", short_name(image))
        self.record(pod, "Normal", "Pulling", f'Pulling image "{image}"', _field(spec, cs))
        w["busy"] = {"method": "PullImage", "container": spec["name"], "queued": self.now}
        self.pull_queue.append([w["uid"], spec["name"], image])
        self._pump_pulls()
        return True

    def _pump_pulls(self) -> None:
        while self.pulling is None and self.pull_queue:
            entry = self.pull_queue.pop(0)
            w = self.workers.get(entry[0])
            if w is None or (w["busy"] or {}).get("method") != "PullImage":
                continue
            self.pulling = entry
            w["busy"]["sent"] = self.now
            self.cri("PullImage", "_on_pulled", [entry[0], entry[1]], image=entry[2], summary=f"kubelet → containerd: PullImage {entry[2]}")

    def _on_pulled(self, response: dict, context) -> None:
        self.pulling = None
        self._pump_pulls()
        w, pod, spec, cs = self._resume(context, method="PullImage")
        if w is None:
            return
        image = spec.get("image") or ""
        if response.get("ok"):
            took = response.get("seconds", 0)
            queued_at = (w.get("busy_done") or {}).get("queued")
            total = (self.now - queued_at) / SECOND if queued_at is not None else took
            self.record(pod, "Normal", "Pulled", f'Successfully pulled image "{image}" in {took:.3g}s ({max(total, took):.3g}s including waiting). '
                        f"Image size: {response.get('size', 0)} bytes.", _field(spec, cs))
            self.emit("kubelet.pulled", f"kubelet on {self.node} pulled {short_name(image)} ({response.get('layers')} layers, "
                      f"{response.get('layers', 0) - response.get('fetched', 0)} already present) in {took:.1f} s", pod=w["key"], image=short_name(image))
            self.image_backoff.pop(f"{w['uid']}/{image}", None)
            self.images_stale = True
            cs["image_ref"], cs["repo_digest"] = response.get("ref"), response.get("repo_digest")
            self._create(w, pod, spec, cs)
            return
        error = str(response.get("error"))
        key = f"{w['uid']}/{image}"
        backoff.next_backoff(self.image_backoff, key, self.now, self.now, self.timing["backoff_initial_us"], self.timing["backoff_max_us"])
        cs["waiting"] = {"reason": "ErrImagePull", "message": error}
        cs["stage"] = None
        self.emit("kubelet.pull_failed", f"kubelet on {self.node}: cannot pull {image} for {w['key']}: ErrImagePull", pod=w["key"], image=image)
        self.record(pod, "Warning", "Failed", f'Failed to pull image "{image}": {error}', _field(spec, cs))
        self.record(pod, "Warning", "Failed", "Error: ErrImagePull", _field(spec, cs))
        self._update_step(w)
        # The next sync (soon) finds the image in back-off: ImagePullBackOff.
        self._wake(w, self.now + self.timing["error_resync_us"])

    def _create(self, w: dict, pod: dict, spec: dict, cs: dict) -> None:
        cs["stage"] = "create"
        self._set_step(w, "create", spec["name"])
        attempt = cs["restarts"] + 1 if cs.get("ever_ran") else cs["restarts"]
        cpu_req, mem_req = requests_of(spec)
        cpu_lim, mem_lim = limits_of(spec)
        config = {
            "name": spec["name"], "attempt": attempt, "image": cs.get("image_ref") or spec.get("image") or "",
            "command": [str(x) for x in spec.get("command") or []], "args": [str(x) for x in spec.get("args") or []],
            "env": self._env_of(pod, spec), "ports": [p.get("containerPort") for p in spec.get("ports") or [] if isinstance(p, dict)],
            "resources": {"cpu_request_m": cpu_req, "cpu_limit_m": cpu_lim, "memory_request": mem_req, "memory_limit": mem_lim},
        }
        w["busy"] = {"method": "CreateContainer", "container": spec["name"]}
        self.cri("CreateContainer", "_on_created", [w["uid"], spec["name"]], sandbox_id=w["sandbox"]["id"], config=config,
                 summary=f"kubelet → containerd: CreateContainer {spec['name']} in {w['key']}")

    def _env_of(self, pod: dict, spec: dict) -> dict:
        env = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
        for item in spec.get("env") or []:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            if "value" in item:
                env[item["name"]] = str(item.get("value") or "")
                continue
            path = dig(item, "valueFrom", "fieldRef", "fieldPath")
            values = {"metadata.name": dig(pod, "metadata", "name"), "metadata.namespace": dig(pod, "metadata", "namespace"), "metadata.uid": dig(pod, "metadata", "uid"),
                      "spec.nodeName": self.node, "status.hostIP": self.config["ip"], "status.podIP": ((self.workers.get(meta_of(pod).get("uid")) or {}).get("sandbox") or {}).get("ip"),
                      "spec.serviceAccountName": dig(pod, "spec", "serviceAccountName")}
            if path in values and values[path] is not None:
                env[item["name"]] = str(values[path])
        return env

    def _on_created(self, response: dict, context) -> None:
        w, pod, spec, cs = self._resume(context, method="CreateContainer")
        if w is None:
            if response.get("ok"):
                owner = self.workers.get(context[0])
                if owner is not None and context[1] in owner["containers"]:
                    owner["containers"][context[1]]["dead"].append(response["container_id"])  # removed at clean-up
                else:
                    self.cri("RemoveContainer", "_ignore", None, container_id=response["container_id"])
            return
        if not response.get("ok"):
            message = str(response.get("error"))
            cs["waiting"] = {"reason": "CreateContainerError", "message": message}
            cs["stage"] = None
            self.record(pod, "Warning", "Failed", f"Error: {message}", _field(spec, cs))
            self._wake(w, self.now + self.timing["backoff_initial_us"])
            self._update_step(w)
            return
        if cs.get("id"):
            cs["dead"].append(cs["id"])
        if cs.get("ever_ran"):
            cs["restarts"] += 1
        cs.update(id=response["container_id"], sandbox=w["sandbox"]["id"], stage="start")
        self.record(pod, "Normal", "Created", f"Created container {spec['name']}", _field(spec, cs))
        self._set_step(w, "start", spec["name"])
        w["busy"] = {"method": "StartContainer", "container": spec["name"]}
        self.cri("StartContainer", "_on_started", [w["uid"], spec["name"]], container_id=cs["id"], summary=f"kubelet → containerd: StartContainer {spec['name']} in {w['key']}")

    def _on_started(self, response: dict, context) -> None:
        w, pod, spec, cs = self._resume(context, method="StartContainer")
        if w is None:
            return
        cs["stage"] = None
        cs["ever_ran"] = True
        if not response.get("ok"):
            message = str(response.get("error"))
            cs.update(state="terminated", terminated=_terminated(cs["id"], 128, "StartError", None, self.now, message), ready=False, started=False)
            self.record(pod, "Warning", "Failed", f"Error: {message}", _field(spec, cs))
            self._sync(w["uid"])
            return
        if cs["state"] == "terminated":
            self.record(pod, "Normal", "Started", f"Started container {spec['name']}", _field(spec, cs))
            self._sync(w["uid"])  # it has already exited (containerd's stop event came first)
            return
        cs.update(state="running", running_since=self.now, waiting=None, ready=False, started=False)
        self.record(pod, "Normal", "Started", f"Started container {spec['name']}", _field(spec, cs))
        self.emit("kubelet.started", f"kubelet on {self.node}: container {spec['name']} of {w['key']} is running", pod=w["key"], container=spec["name"])
        self._start_probes(w, spec, cs)
        # Garbage collection keeps one dead container per container (for logs --previous).
        while len(cs["dead"]) > 1:
            old = cs["dead"].pop(0)
            self.cri("RemoveContainer", "_ignore", None, container_id=old, summary="kubelet → containerd: RemoveContainer (garbage collection)")
        self._sync(w["uid"])

    def _resume(self, context, method: str | None = None):
        """The worker, pod, spec and container state a CRI answer belongs to; (None, …) when the
        pod is gone or terminating (the answer then only frees the worker)."""
        uid, name = context
        w = self.workers.get(uid)
        if w is None:
            return None, None, None, None
        w["busy_done"], w["busy"] = w["busy"], None
        pod = self._pod_of(w)
        spec = next((c for c in containers_of(pod) + containers_of(pod, init=True) if c["name"] == name), None) if pod else None
        cs = w["containers"].get(name)
        if pod is None or spec is None or cs is None or w["gone"] or meta_of(pod).get("deletionTimestamp") or w["evicted"] or w["terminal_phase"]:
            if cs is not None:
                cs["stage"] = None
            if method == "CreateContainer":
                return None, None, None, None
            if method == "StartContainer" and cs is not None:
                cs.update(state="running", running_since=self.now, ever_ran=True)
            self._sync(uid)
            return None, None, None, None
        return w, pod, spec, cs

    # --- runtime events ---------------------------------------------------------------------------------------
    def _on_runtime_event(self, event: dict) -> None:
        if event.get("type") != "CONTAINER_STOPPED_EVENT":
            return
        w = self.workers.get(event.get("pod_uid"))
        if w is None:
            return
        cs = w["containers"].get(event.get("name"))
        if cs is None or cs.get("id") != event.get("container_id"):
            return
        code = event.get("exit_code")
        reason = event.get("reason") or ("Completed" if code == 0 else "Error")
        cs.update(state="terminated", terminated=_terminated(cs["id"], code, reason, cs.get("running_since"), self.now, None), ready=False, started=False)
        cs["probe_token"] += 1
        cs["probes"] = {}
        stop = w["stops"].pop(cs["id"], None)
        self._pod_of(w)
        if reason == "OOMKilled":
            self.emit("kubelet.oom", f"kubelet on {self.node}: {w['key']}/{cs['name']} was OOM-killed", pod=w["key"], container=cs["name"])
        elif stop is None and not w["gone"]:
            self.emit("kubelet.exited", f"kubelet on {self.node}: {w['key']}/{cs['name']} exited ({reason}, code {code})", pod=w["key"], container=cs["name"], exit_code=code)
        self._sync(w["uid"])

    # --- termination --------------------------------------------------------------------------------------------
    def _grace_s(self, w: dict, pod: dict | None) -> int:
        if w["evicted"] or pod is None:
            return MIN_GRACE_S
        grace = meta_of(pod).get("deletionGracePeriodSeconds")
        if not isinstance(grace, int) or isinstance(grace, bool):
            grace = dig(pod, "spec", "terminationGracePeriodSeconds", default=30)
        return max(int(grace), MIN_GRACE_S) if isinstance(grace, int) else 30

    def _sync_terminating(self, w: dict, pod: dict | None) -> None:
        if w["step"] not in ("terminating", "terminated", "rejected"):
            self._set_step(w, "terminating")
        busy = w["busy"]
        if busy is not None and busy["method"] in ("PullImage", "ImageStatus"):
            # A pull is not worth waiting for: its answer finds the pod terminating.
            self.pull_queue = [e for e in self.pull_queue if e[0] != w["uid"]]
            w["busy"] = busy = None
        if busy is not None:
            return  # a sandbox or container on its way: stop it once it is there
        grace = self._grace_s(w, pod)
        deadline = self.now + grace * SECOND
        shorter = w["kill_deadline"] is not None and deadline < w["kill_deadline"]
        if w["kill_deadline"] is None or shorter:
            w["kill_deadline"] = deadline
        running = [cs for cs in w["containers"].values() if cs["state"] == "running" and cs.get("id")]
        hooks = w.setdefault("prestop", {})
        for cs in sorted(running, key=lambda c: c["name"]):
            if cs["id"] in w["stops"] and not shorter:
                continue
            if not w["killing_reported"] and pod is not None:
                self.record(pod, "Normal", "Killing", f"Stopping container {cs['name']}", f"spec.containers{{{cs['name']}}}")
            spec = next((c for c in containers_of(pod) if c["name"] == cs["name"]), None) if pod is not None else None
            hook = _prestop(spec) if spec is not None and not w["evicted"] else None
            if hook is not None and cs["id"] not in hooks:
                # The preStop hook runs first; its time counts against the grace period.
                seconds, command = hook
                hooks[cs["id"]] = min(self.now + int(seconds * SECOND), w["kill_deadline"])
                self.emit("kubelet.prestop", f"kubelet on {self.node} runs the preStop hook of {w['key']}/{cs['name']}" + (f" ({seconds:g} s)" if seconds else ""),
                          pod=w["key"], container=cs["name"], seconds=seconds)
                if command:
                    self.cri("ExecSync", "_ignore", None, container_id=cs["id"], cmd=command, timeout=max(1, int(seconds) + 1),
                             summary=f"kubelet → containerd: ExecSync (preStop hook of {w['key']}/{cs['name']})")
            if cs["id"] in hooks and self.now < hooks[cs["id"]] and not shorter:
                continue
            left = max(0, (w["kill_deadline"] - self.now) // SECOND)
            cs["probe_token"] += 1
            w["stops"][cs["id"]] = self.cri("StopContainer", "_on_container_stopped", [w["uid"], cs["id"]], container_id=cs["id"], timeout=left,
                                            summary=f"kubelet → containerd: StopContainer {cs['name']} of {w['key']} (grace {left} s)")
        if running:
            w["killing_reported"] = True
        waiting = [at for cid, at in hooks.items() if cid not in w["stops"] and at > self.now and any(cs["id"] == cid for cs in running)]
        if waiting:
            self._wake(w, min(waiting))
            return
        if w["stops"]:
            return
        sandbox = w["sandbox"]
        if sandbox is not None and sandbox["state"] == "ready":
            self._stop_sandbox_if_up(w)
            return
        if not w["gone"] and pod is not None:
            if not w["terminal_phase"]:
                regular = [w["containers"][c["name"]] for c in containers_of(pod)]
                ok = regular and all(cs["state"] == "terminated" and cs["terminated"]["exit_code"] == 0 for cs in regular)
                w["terminal_phase"] = "Succeeded" if ok else "Failed"
            self._set_step(w, "terminated", w["terminal_phase"])
            if meta_of(pod).get("deletionTimestamp") and not w["delete_sent"]:
                sent = w["sent_status"]
                if sent is None or sent.get("phase") != w["terminal_phase"]:
                    self._status_changed(w)  # the terminal status first; its answer syncs again
                    return
                w["delete_sent"] = True
                self.emit("kubelet.confirm_delete", f"kubelet on {self.node}: every container of {w['key']} has stopped: confirms the deletion (grace period 0)",
                          target="kube-apiserver", pod=w["key"])
                self.api.request("delete", "pods", namespace=w["namespace"], name=w["name"], body={"gracePeriodSeconds": 0, "preconditions": {"uid": w["uid"]}},
                                 then="_on_delete_confirmed", context=w["uid"], ok=(404, 409), summary=f"{self.name} → kube-apiserver: delete pod {w['key']} (grace 0)")
            return
        self._cleanup(w)

    def _on_container_stopped(self, response: dict, context) -> None:
        uid, cid = context
        w = self.workers.get(uid)
        if w is None:
            return
        if w["stops"].get(cid) is not None and response.get("ok"):
            cs = next((c for c in w["containers"].values() if c.get("id") == cid), None)
            if cs is not None and cs["state"] == "running":
                return  # the stop event (with the exit code) is on its way
        w["stops"].pop(cid, None)
        self._sync(uid)

    def _on_delete_confirmed(self, response: dict, uid: str) -> None:
        w = self.workers.get(uid)
        if w is None:
            return
        if response.get("code") in (200, 404, 409):
            w["gone"] = w["gone"] or response.get("code") == 404
            self._sync(uid)
        else:
            w["delete_sent"] = False
            self._wake(w, self.now + self.timing["retry_us"])

    def _cleanup(self, w: dict) -> None:
        """The pod is gone from the API and nothing of it runs: remove its containers and sandboxes."""
        if w["cleaned"]:
            return
        w["cleaned"] = True
        ids = []
        for cs in w["containers"].values():
            ids.extend(cs["dead"])
            if cs.get("id"):
                ids.append(cs["id"])
        for cid in sorted(set(ids)):
            self.cri("RemoveContainer", "_ignore", None, container_id=cid, summary="kubelet → containerd: RemoveContainer")
        for sid in sorted(set(w["old_sandboxes"] + ([w["sandbox"]["id"]] if w["sandbox"] else []))):
            self.cri("RemovePodSandbox", "_ignore", None, sandbox_id=sid, summary=f"kubelet → containerd: RemovePodSandbox {w['key']}")
        self.emit("kubelet.pod_removed", f"kubelet on {self.node} has cleaned up pod {w['key']}: its containers and sandbox are removed", pod=w["key"])
        self.workers.pop(w["uid"], None)
        if self.by_key.get(w["key"]) == w["uid"]:
            del self.by_key[w["key"]]
        self.wake_tokens.pop(w["uid"], None)

    def _runtime_restarted(self, started) -> None:
        """containerd came back on its own (its calls in flight are lost): forget and re-learn."""
        self.emit("kubelet.runtime", f"kubelet on {self.node}: containerd restarted: re-reading its state", node=self.node)
        self.runtime_started = started
        for rid in sorted(self.cri_pending):
            record = self.cri_pending.pop(rid)
            getattr(self, record["then"])({"id": rid, "ok": False, "code": "Unavailable", "error": "containerd restarted"}, record["context"])
        self.pulling = None
        self._pump_pulls()
        self.cri("ListPodSandbox", "_on_relist_sandboxes")

    def _on_relist_sandboxes(self, response: dict, _context) -> None:
        if response.get("ok"):
            self.cri("ListContainers", "_on_relist_containers", response.get("sandboxes") or [])

    def _on_relist_containers(self, response: dict, sandboxes: list) -> None:
        """After containerd restarted: what died with it (sandboxes NOTREADY, containers EXITED 255)."""
        if not response.get("ok"):
            return
        states = {s["id"]: s["state"] for s in sandboxes}
        containers = {c["id"]: c for c in response.get("containers") or []}
        for uid in sorted(self.workers):
            w = self.workers[uid]
            sandbox = w["sandbox"]
            if sandbox is not None and sandbox["state"] == "ready" and states.get(sandbox["id"]) != "SANDBOX_READY":
                sandbox["state"] = "notready"
            for cs in w["containers"].values():
                c = containers.get(cs.get("id"))
                if cs["state"] == "running" and (c is None or c["state"] != "CONTAINER_RUNNING"):
                    code = c["exit_code"] if c and c["exit_code"] is not None else 255
                    cs.update(state="terminated", ready=False, started=False,
                              terminated=_terminated(cs["id"], code, (c or {}).get("reason") or "Unknown", cs.get("running_since"), self.now, (c or {}).get("message")))
                    cs["probe_token"] += 1
                    cs["probes"] = {}
                    w["stops"].pop(cs["id"], None)
            self._sync(uid)

    # --- evictions (node-pressure) and orphans --------------------------------------------------------------------
    def _eviction_check(self, stats: list) -> None:
        available = self.config["memory"] - self.stats["memory_used"]
        pressure = available < EVICTION_HARD_MEMORY
        if pressure != self.memory_pressure:
            self.memory_pressure = pressure
            self._update_node_status()
        if not pressure:
            return
        usage: dict[str, int] = {}
        for s in stats:
            usage[s["pod_uid"]] = usage.get(s["pod_uid"], 0) + s["memory"]
        candidates = []
        for uid, used in sorted(usage.items()):
            w = self.workers.get(uid)
            pod = self._pod_of(w) if w else None
            if w is None or pod is None or w["evicted"] or w["terminal_phase"]:
                continue
            request = pod_requests(pod)[1]
            priority = dig(pod, "spec", "priority", default=0)
            # Ranking: usage above the request first, then lower priority, then the larger excess.
            candidates.append((used <= request, priority if isinstance(priority, int) else 0, -(used - request), w["key"], uid, used, request))
        if not candidates:
            return
        candidates.sort()
        _, _, _, _, uid, used, request = candidates[0]
        w = self.workers[uid]
        pod = self._pod_of(w)
        container = max((cs for cs in w["containers"].values() if cs.get("id") in self.stats["containers"]), key=lambda cs: self.stats["containers"][cs["id"]]["memory"], default=None)
        message = (f"The node was low on resource: memory. Threshold quantity: {EVICTION_HARD_MEMORY // (1 << 20)}Mi, available: {max(available, 0) // 1024}Ki. "
                   + (f"Container {container['name']} was using {used // 1024}Ki, request is {request // 1024}Ki, has larger consumption of memory. " if container else ""))
        w.update(evicted=True, terminal_phase="Failed", reason="Evicted", message=message.strip())
        self.emit("kubelet.evict", f"kubelet on {self.node} evicts {w['key']}: the node is low on memory ({max(available, 0) // (1 << 20)}Mi available)", pod=w["key"], reason="Evicted")
        self.record(pod, "Warning", "Evicted", message.strip())
        self._sync(uid)

    def _cleanup_orphans(self) -> None:
        """Sandboxes of pods this kubelet no longer has (deleted while it was down): stop and remove."""
        if not self.pods_informer.synced or self.runtime_snapshot is None:
            return
        known = set(self.workers)
        orphans = sorted({s["pod_uid"] for s in self.runtime_snapshot["sandboxes"]} - known - {meta_of(p).get("uid") for p in self.pods_informer.list()})
        for uid in orphans:
            for s in [s for s in self.runtime_snapshot["sandboxes"] if s["pod_uid"] == uid]:
                self.cri("StopPodSandbox", "_ignore", None, sandbox_id=s["id"], summary=f"kubelet → containerd: StopPodSandbox (orphaned pod {s['namespace']}/{s['name']})")
                self.cri("RemovePodSandbox", "_ignore", None, sandbox_id=s["id"], summary=f"kubelet → containerd: RemovePodSandbox (orphaned pod {s['namespace']}/{s['name']})")
            self.emit("kubelet.orphan", f"kubelet on {self.node} removes the sandbox of a pod the API server no longer has (uid {uid[:8]})", uid=uid)
        self.runtime_snapshot["sandboxes"] = [s for s in self.runtime_snapshot["sandboxes"] if s["pod_uid"] not in orphans]

    # --- probes ------------------------------------------------------------------------------------------------
    def _start_probes(self, w: dict, spec: dict, cs: dict) -> None:
        cs["probe_token"] += 1
        cs["probes"] = {}
        has_startup = isinstance(spec.get("startupProbe"), dict)
        cs["started"] = not has_startup
        cs["ready"] = cs["started"] and not isinstance(spec.get("readinessProbe"), dict)
        if cs["init"]:
            cs["ready"] = False
            return
        for kind in PROBE_KINDS:
            probe = spec.get(f"{kind}Probe")
            if not isinstance(probe, dict):
                continue
            cs["probes"][kind] = {"successes": 0, "failures": 0, "result": "success" if kind == "liveness" else "unknown", "last": None}
            self.set_timer(0, "probe", [w["uid"], cs["name"], kind, cs["probe_token"]])

    def _on_probe_timer(self, data) -> None:
        uid, name, kind, token = data
        w = self.workers.get(uid)
        cs = w["containers"].get(name) if w else None
        if cs is None or cs["probe_token"] != token or cs["state"] != "running":
            return
        pod = self._pod_of(w)
        spec = next((c for c in containers_of(pod) if c["name"] == name), None) if pod else None
        probe = {**PROBE_DEFAULTS, **spec.get(f"{kind}Probe")} if spec and isinstance(spec.get(f"{kind}Probe"), dict) else None
        if probe is None:
            return
        self.set_timer(max(1, int(probe["periodSeconds"])) * SECOND, "probe", data)
        if kind != "startup" and not cs["started"]:
            return  # liveness and readiness wait for the startup probe
        if kind == "startup" and cs["started"]:
            return
        if self.now - (cs["running_since"] or self.now) < int(probe["initialDelaySeconds"]) * SECOND:
            return
        self.next_probe += 1
        pid = self.next_probe
        self.probes_pending[pid] = [uid, name, kind, token]
        ip = (w["sandbox"] or {}).get("ip")
        if isinstance(probe.get("exec"), dict):
            self.cri("ExecSync", "_on_exec_probe", pid, container_id=cs["id"], cmd=probe["exec"].get("command") or [], timeout=probe["timeoutSeconds"],
                     summary=f"kubelet → containerd: ExecSync ({kind} probe of {w['key']}/{name})")
        elif isinstance(probe.get("httpGet"), dict):
            http = probe["httpGet"]
            port = _port(http.get("port"), spec)
            self.send(self.runtime, "probe.request", {"id": pid, "type": "http", "ip": ip, "port": port, "path": http.get("path") or "/"},
                      summary=f"{kind} probe: GET http://{ip}:{port}{http.get('path') or '/'}", info={"probe": kind})
        elif isinstance(probe.get("tcpSocket"), dict) or isinstance(probe.get("grpc"), dict):
            target = probe.get("tcpSocket") or probe.get("grpc")
            port = _port(target.get("port"), spec)
            self.send(self.runtime, "probe.request", {"id": pid, "type": "tcp" if "tcpSocket" in probe else "grpc", "ip": ip, "port": port},
                      summary=f"{kind} probe: connect {ip}:{port}", info={"probe": kind})
        else:
            del self.probes_pending[pid]

    def _on_exec_probe(self, response: dict, pid: int) -> None:
        ok = bool(response.get("ok")) and response.get("exit_code") == 0
        detail = response.get("stdout") or response.get("error") or f"command exited with {response.get('exit_code')}"
        self._on_probe_response({"id": pid, "ok": ok, "detail": detail, "exec": True})

    def _on_probe_response(self, payload: dict) -> None:
        entry = self.probes_pending.pop(payload.get("id"), None)
        if entry is None:
            return
        uid, name, kind, token = entry
        w = self.workers.get(uid)
        cs = w["containers"].get(name) if w else None
        if cs is None or cs["probe_token"] != token or kind not in cs["probes"]:
            return
        pod = self._pod_of(w)
        spec = next((c for c in containers_of(pod) if c["name"] == name), None) if pod else None
        if spec is None:
            return
        probe = {**PROBE_DEFAULTS, **spec.get(f"{kind}Probe")}
        state = cs["probes"][kind]
        ok = bool(payload.get("ok"))
        state["last"] = "success" if ok else "failure"
        if ok:
            state["successes"] += 1
            state["failures"] = 0
            if state["successes"] >= int(probe["successThreshold"]) and state["result"] != "success":
                state["result"] = "success"
                self._probe_changed(w, pod, spec, cs, kind, True)
            return
        state["failures"] += 1
        state["successes"] = 0
        label = {"startup": "Startup", "liveness": "Liveness", "readiness": "Readiness"}[kind]
        detail = str(payload.get("detail") or "probe failed")
        if payload.get("exec"):
            detail = detail or "command failed"
        self.record(pod, "Warning", "Unhealthy", f"{label} probe failed: {detail}", _field(spec, cs))
        if state["failures"] >= int(probe["failureThreshold"]) and state["result"] != "failure":
            state["result"] = "failure"
            self._probe_changed(w, pod, spec, cs, kind, False)

    def _probe_changed(self, w: dict, pod: dict, spec: dict, cs: dict, kind: str, ok: bool) -> None:
        self.emit("kubelet.probe", f"kubelet on {self.node}: {kind} probe of {w['key']}/{cs['name']} " + ("succeeds" if ok else "fails"), pod=w["key"], container=cs["name"], probe=kind, ok=ok)
        if kind == "readiness":
            cs["ready"] = ok and cs["started"]
        elif kind == "startup" and ok:
            cs["started"] = True
            cs["ready"] = not isinstance(spec.get("readinessProbe"), dict)
        elif not ok:
            # startup or liveness failed: the container is killed and restarted per restartPolicy
            self.record(pod, "Normal", "Killing", f"Container {cs['name']} failed {kind} probe, will be restarted", _field(spec, cs))
            grace = probe_grace = (spec.get(f"{kind}Probe") or {}).get("terminationGracePeriodSeconds")
            if not isinstance(probe_grace, int):
                grace = dig(pod, "spec", "terminationGracePeriodSeconds", default=30)
            cs["probe_token"] += 1
            cs["ready"] = False
            w["stops"][cs["id"]] = self.cri("StopContainer", "_on_container_stopped", [w["uid"], cs["id"]], container_id=cs["id"], timeout=max(int(grace), MIN_GRACE_S),
                                            summary=f"kubelet → containerd: StopContainer {cs['name']} ({kind} probe failed)")
        self._update_step(w)
        self._status_changed(w)

    # --- pod status -----------------------------------------------------------------------------------------------
    def sync_status(self, uid: str):
        """The status queue's sync: write the pod's status when it differs from what was last written."""
        w = self.workers.get(uid)
        if w is None or w["gone"]:
            return True
        pod = self._pod_of(w)
        if pod is None:
            return True
        status = pod_status(w, pod, self.config["ip"], self.now)
        if status == w["sent_status"]:
            return True
        self.api.request("patch", "pods", namespace=w["namespace"], name=w["name"], subresource="status", patch_type="merge", body={"status": status},
                         then="_on_status_written", context=[uid, status], ok=(404,), summary=f"{self.name} → kube-apiserver: status of {w['key']}: {status['phase']}")
        return None

    def _on_status_written(self, response: dict, context) -> None:
        uid, status = context
        w = self.workers.get(uid)
        if w is None:
            return
        if response.get("code") == 200:
            w["sent_status"] = status
            if w["terminal_phase"] or w["gone"] or w["evicted"]:
                self._sync(uid)


# --- plain helpers -----------------------------------------------------------------------------------------------
def _new_container_state(name: str, init: bool) -> dict:
    return {"name": name, "init": init, "id": None, "sandbox": None, "state": "waiting", "waiting": {"reason": "ContainerCreating"},
            "running_since": None, "terminated": None, "last_terminated": None, "ready": False, "started": False, "restarts": 0, "ever_ran": False,
            "image_ref": None, "repo_digest": None, "stage": None, "probes": {}, "probe_token": 0, "dead": []}


def _terminated(cid, code, reason, started, finished, message) -> dict:
    out = {"id": cid, "exit_code": code if isinstance(code, int) else 255, "reason": reason, "started": started, "finished": finished, "message": message}
    if code == 137 and reason != "OOMKilled":
        out["signal"] = 9
    return out


def _prestop(spec: dict):
    """(seconds, exec command or None) of a container's preStop hook, or None without one.
    `sleep: {seconds}` waits; an exec hook takes as long as a `sleep N` in it; httpGet is at once."""
    hook = dig(spec, "lifecycle", "preStop")
    if not isinstance(hook, dict):
        return None
    if isinstance(hook.get("sleep"), dict):
        seconds = hook["sleep"].get("seconds")
        return (float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else 0.0), None
    command = dig(hook, "exec", "command")
    if isinstance(command, list):
        words = " ".join(str(c) for c in command).replace(";", " ").split()
        seconds = 0.0
        for i, word in enumerate(words[:-1]):
            if word.rsplit("/", 1)[-1] == "sleep":
                try:
                    seconds += float(words[i + 1])
                except ValueError:
                    pass
        return seconds, [str(c) for c in command]
    return 0.0, None


def _restart_allowed(policy: str, exit_code: int) -> bool:
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


def _duration(us: int) -> str:
    seconds = us // SECOND
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds // 60}m0s"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60}s"
    return f"{seconds}s"


def _field(spec: dict, cs: dict) -> str:
    return f"spec.{'initContainers' if cs['init'] else 'containers'}{{{spec['name']}}}"


def _port(port, spec: dict):
    if isinstance(port, int):
        return port
    for item in spec.get("ports") or []:
        if isinstance(item, dict) and item.get("name") == port:
            return item.get("containerPort")
    try:
        return int(port)
    except (TypeError, ValueError):
        return -1


class WorkerViewMixin:
    def _worker_view(self, w: dict, pod: dict | None) -> dict:
        """One pod of the node box: the kubelet's step, phase, restarts and each container."""
        phase = pod_status(w, pod, self.config["ip"], self.now)["phase"] if pod is not None else (w["terminal_phase"] or "Unknown")
        containers = []
        for spec in (containers_of(pod, init=True) + containers_of(pod)) if pod is not None else []:
            cs = w["containers"].get(spec["name"])
            if cs is None:
                continue
            reason = None
            if cs["state"] == "waiting":
                reason = (cs["waiting"] or {}).get("reason")
            elif cs["state"] == "terminated":
                reason = cs["terminated"]["reason"]
            containers.append({
                "name": cs["name"], "init": cs["init"], "state": cs["state"], "reason": reason, "ready": cs["ready"], "restarts": cs["restarts"],
                "id": (cs["id"] or "")[:13] or None, "stage": cs["stage"], "image": spec.get("image"),
                "probes": {kind: {"result": p["result"], "last": p["last"]} for kind, p in sorted(cs["probes"].items())},
                # why the last run ended (OOMKilled, Error, Completed): what a restart count is explained by
                "last_reason": (cs["last_terminated"] or {}).get("reason"), "last_exit_code": (cs["last_terminated"] or {}).get("exit_code"),
            })
        cpu, memory = pod_requests(pod) if pod is not None else (0, 0)
        waiting = next((c["reason"] for c in containers if c["state"] == "waiting" and c["reason"] not in ("ContainerCreating", "PodInitializing")), None)
        return {
            "namespace": w["namespace"], "name": w["name"], "uid": w["uid"], "step": w["step"], "phase": phase,
            "ready": bool(containers) and all(c["ready"] for c in containers if not c["init"]),
            "restarts": sum(c["restarts"] for c in containers), "ip": (w["sandbox"] or {}).get("ip"),
            "reason": w["reason"] or waiting, "busy": (w["busy"] or {}).get("method"), "terminating": bool(w["kill_deadline"]),
            "requests": {"cpu_m": cpu, "memory": memory}, "containers": containers,
        }
