"""`Containerd`: the high-level container runtime of one node (`node-1/containerd`).

It serves the kubelet a CRI-like API over loopback messages (PROTOCOL.md beside this file),
keeps the node's image store (images made of layers, shared between images, pulled at the
node's bandwidth), and runs sandboxes and containers through the low-level runtime
(runc.py) and the simulated programs (cluster/workloads).

    kubelet ──cri.request {RunPodSandbox}──▶ containerd ── pause image? pull it ── namespaces, IP ──▶ cri.response
    kubelet ──cri.request {PullImage}──────▶ containerd ── resolve ── layer 1 … layer n ────────────▶ cri.response
    kubelet ──cri.request {CreateContainer}▶ containerd ── runc: namespaces + cgroup ───────────────▶ cri.response
    kubelet ──cri.request {StartContainer}─▶ containerd ── process runs ───────────────────────────▶ cri.response
                                             containerd ──cri.event {CONTAINER_STOPPED_EVENT}──────▶ kubelet  (exit, OOM)

State that survives a crash of the node (the disk): the image and layer stores, container
and sandbox records, container logs. What does not (memory): processes, pulls in flight,
operations in flight, log followers. After a crash every container is EXITED (exit code
255, reason Unknown) and every sandbox NOTREADY: the kubelet, when it comes back, makes
new ones, as after a real reboot.

Operations take virtual time (`timing`): the request's effect happens when its timer
fires, and the answer leaves then, so the view shows e.g. a sandbox being created.
"""

from ..kernel import SECOND, Component
from ..workloads import catalogue as programs
from . import images as registry
from . import runc
from .units import human_bytes, show_bytes

MS = 1_000
MAX_LOG_LINES = 2000
RUNTIME_VERSION = "containerd://1.7.24"

TIMING = {
    # teaching: slow enough to watch each step; realistic: close to a real node
    "teaching": {"sandbox_us": 800 * MS, "create_us": 400 * MS, "start_us": 400 * MS, "resolve_us": 400 * MS, "quick_us": 50 * MS, "bandwidth": 20_000_000},
    "realistic": {"sandbox_us": 300 * MS, "create_us": 80 * MS, "start_us": 100 * MS, "resolve_us": 200 * MS, "quick_us": 5 * MS, "bandwidth": 40_000_000},
}

# Methods answered at once; the others finish on an "op" timer after their duration.
IMMEDIATE = ("Version", "Status", "ImageStatus", "ListImages", "ListPodSandbox", "ListContainers", "ContainerStatus", "ListContainerStats",
             "ExecSync", "ReadLog", "UnfollowLog")


class CRIError(Exception):
    def __init__(self, message: str, code: str = "Unknown"):
        super().__init__(message)
        self.message = message
        self.code = code


class Containerd(Component):
    kind = "runtime"

    def __init__(self, sim, node: str, *, pod_cidr: str, cpu_m: int, memory: int, profile: str = "teaching", bandwidth: int | None = None):
        super().__init__(sim, f"{node}/containerd", host=node)
        self.node = node
        self.kubelet = f"{node}/kubelet"
        self.timing = dict(TIMING.get(profile, TIMING["teaching"]))
        if bandwidth:
            self.timing["bandwidth"] = int(bandwidth)
        self.pod_cidr = pod_cidr
        self.cpu_m = cpu_m
        self.memory = memory
        # The disk: survives crashes.
        self.images: dict[str, dict] = {}  # image id -> {"id", "refs", "repo_digest", "size", "layers", "pulled"}
        self.refs: dict[str, str] = {}  # ref (docker.io/library/nginx:1.27) -> image id
        self.layers: dict[str, dict] = {}  # digest -> {"name", "size"}
        self.sandboxes: dict[str, dict] = {}
        self.containers: dict[str, dict] = {}
        self.alloc = {"inode": runc.FIRST_INODE, "pid": 1000}
        self.ip_next = 2
        self.started_at = 0
        self.counters = {"pulls": 0, "layers_pulled": 0, "bytes_pulled": 0, "oom_kills": 0}
        self._volatile()

    def _volatile(self) -> None:
        self.pulls: dict[str, dict] = {}  # ref -> a pull in flight
        self.ops: dict[str, dict] = {}  # op key -> an operation waiting for its timer (or for a pull)
        self.next_op = 0
        self.stopping: dict[str, dict] = {}  # container id -> {"waiters": [[client, rid]], "deadline"}
        self.follows: dict[str, dict] = {}  # stream id -> {"client", "container"}
        self.wake_tokens: dict[str, int] = {}  # container id -> token of its process's wake-up timer

    # --- life cycle -----------------------------------------------------------------------------
    def on_start(self) -> None:
        self.started_at = self.now
        self.emit("runtime.start", f"containerd on {self.node} starts ({RUNTIME_VERSION.split('//')[1]}): {len(self.images)} image(s) on disk", node=self.node)

    def on_crash(self) -> None:
        died = 0
        for cid in sorted(self.containers):
            c = self.containers[cid]
            if c["state"] in ("CONTAINER_RUNNING", "CONTAINER_CREATED"):
                if c["state"] == "CONTAINER_RUNNING":
                    died += 1
                    c["exit_code"], c["reason"], c["finished"] = 255, "Unknown", self.now
                    c["message"] = "the node went down"
                c["state"] = "CONTAINER_EXITED"
                c["usage"] = {"cpu_m": 0, "memory": 0}
                if c.get("process"):
                    c["process"]["exit"] = {"code": 255}
        for sid in sorted(self.sandboxes):
            sandbox = self.sandboxes[sid]
            if sandbox["state"] == "SANDBOX_READY":
                sandbox["state"] = "SANDBOX_NOTREADY"
                sandbox["ip_released"] = True
        self._volatile()
        self.emit("runtime.crash", f"{self.node} went down: {died} running container(s) died with it; images stay on disk", node=self.node, died=died)

    def on_restart(self) -> None:
        self.on_start()

    # --- messages --------------------------------------------------------------------------------
    def on_message(self, msg) -> None:
        payload = msg.payload if isinstance(msg.payload, dict) else {}
        if msg.kind == "cri.request":
            self._on_request(msg.source, payload)
        elif msg.kind == "probe.request":
            self._on_probe(msg.source, payload)
        elif msg.kind == "http.request":
            self._on_http(msg.source, payload)

    def _on_request(self, client: str, payload: dict) -> None:
        method = payload.get("method")
        rid = payload.get("id")
        handler = getattr(self, f"_cri_{method}", None) if isinstance(method, str) else None
        if handler is None:
            self._reply(client, rid, method, error=f"unknown method {method!r}", code="Unimplemented")
            return
        if method in IMMEDIATE:
            try:
                result = handler(payload)
            except CRIError as err:
                self._reply(client, rid, method, error=err.message, code=err.code)
                return
            if result is not None:
                self._reply(client, rid, method, result=result)
            return
        self.next_op += 1
        key = f"op-{self.next_op}"
        op = {"key": key, "client": client, "rid": rid, "method": method, "request": payload}
        try:
            delay = handler(op)
        except CRIError as err:
            self._reply(client, rid, method, error=err.message, code=err.code)
            return
        if delay is None:
            return  # the op finishes on its own (a pull, a stop)
        self.ops[key] = op
        self.set_timer(delay, "op", key)

    def _reply(self, client: str, rid, method: str, result: dict | None = None, error: str | None = None, code: str = "Unknown") -> None:
        payload = {"id": rid, "method": method, "ok": error is None}
        if error is None:
            payload.update(result or {})
        else:
            payload["error"] = error
            payload["code"] = code
        summary = f"containerd → kubelet: {method} " + ("ok" if error is None else f"failed: {code}")
        self.send(client, "cri.response", payload, summary=summary, info={"method": method, "ok": error is None})

    def on_timer(self, tag: str, data) -> None:
        if tag == "op":
            op = self.ops.pop(data, None)
            if op is not None:
                try:
                    result = getattr(self, f"_finish_{op['method']}")(op)
                except CRIError as err:
                    self._reply(op["client"], op["rid"], op["method"], error=err.message, code=err.code)
                    return
                if result is not None:
                    self._reply(op["client"], op["rid"], op["method"], result=result)
                after = getattr(self, f"_after_{op['method']}", None)
                if after is not None:
                    after(op)
        elif tag == "pull_step":
            self._pull_step(data)
        elif tag == "wake":
            cid, token = data
            if self.wake_tokens.get(cid) == token:
                del self.wake_tokens[cid]
                c = self.containers.get(cid)
                if c is not None and c["state"] == "CONTAINER_RUNNING":
                    self._apply(c, programs.wake(c["process"], self.now))
        elif tag == "kill":
            cid, token = data
            entry = self.stopping.get(cid)
            c = self.containers.get(cid)
            if entry is not None and entry["token"] == token and c is not None and c["state"] == "CONTAINER_RUNNING":
                self.emit("runtime.signal", f"containerd on {self.node}: {self._label(c)} did not stop within its grace period: SIGKILL", container=cid[:13], signal="SIGKILL")
                self._apply(c, programs.signal(c["process"], "SIGKILL", self.now), signal="SIGKILL")
        elif tag == "http_reply":
            client, payload = data
            self.send(client, "http.response", payload, summary=f"{self.node}: HTTP {payload.get('code') or 'error'} from {payload.get('pod')}")

    # --- images --------------------------------------------------------------------------------------
    def _image_for(self, image: str) -> dict | None:
        parsed = registry.parse_reference(image)
        if parsed is None:
            return self.images.get(image)
        image_id = self.refs.get(parsed["ref"])
        if image_id is None and parsed["digest"]:
            image_id = next((i for i, img in sorted(self.images.items()) if img["repo_digest"] == f"{parsed['repo']}@{parsed['digest']}"), None)
        return self.images.get(image_id) if image_id else self.images.get(image)

    def _cri_ImageStatus(self, req: dict) -> dict:
        img = self._image_for(str(req.get("image", "")))
        return {"image": None if img is None else self._image_info(img)}

    def _cri_ListImages(self, req: dict) -> dict:
        return {"images": [self._image_info(self.images[i]) for i in sorted(self.images)]}

    def _image_info(self, img: dict) -> dict:
        return {"id": img["id"], "refs": list(img["refs"]), "repo_digest": img["repo_digest"], "size": img["size"]}

    def _cri_PullImage(self, op: dict):
        image = str(op["request"].get("image", ""))
        self._start_pull(image, {"type": "cri", "client": op["client"], "rid": op["rid"]})
        return None

    def _start_pull(self, image: str, waiter: dict) -> None:
        parsed = registry.parse_reference(image)
        ref = parsed["ref"] if parsed else image
        pull = self.pulls.get(ref)
        if pull is not None:
            pull["waiters"].append(waiter)
            return
        self.counters["pulls"] += 1
        self.next_op += 1
        token = self.next_op
        pull = self.pulls[ref] = {"ref": ref, "image": image, "token": token, "started": self.now, "state": "resolving", "waiters": [waiter],
                                  "layers": [], "index": 0, "bytes": 0, "done_bytes": 0, "layer_started": self.now, "resolved": None}
        self.emit("runtime.pull_start", f"containerd on {self.node} resolves {registry.short_name(ref)} at the registry", image=registry.short_name(ref))
        self.set_timer(self.timing["resolve_us"], "pull_step", [ref, token])

    def _pull_step(self, data) -> None:
        ref, token = data
        pull = self.pulls.get(ref)
        if pull is None or pull["token"] != token:
            return
        if pull["state"] == "resolving":
            resolved = registry.resolve(pull["image"])
            if "error" in resolved:
                self._pull_failed(pull, resolved["message"], "NotFound" if resolved["error"] != "invalid" else "InvalidArgument")
                return
            pull["resolved"] = {k: resolved[k] for k in ("id", "digest", "repo_digest", "size", "repo", "version")}
            pull["layers"] = [{"digest": layer["digest"], "name": layer["name"], "size": layer["size"], "present": layer["digest"] in self.layers} for layer in resolved["layers"]]
            pull["bytes"] = sum(layer["size"] for layer in pull["layers"] if not layer["present"])
            pull["state"] = "downloading"
            pull["downloading_since"] = self.now
            pull["index"] = -1
        else:
            layer = pull["layers"][pull["index"]]
            self.layers[layer["digest"]] = {"name": layer["name"], "size": layer["size"]}
            layer["present"] = True
            layer["pulled"] = True
            pull["done_bytes"] += layer["size"]
            self.counters["layers_pulled"] += 1
            self.counters["bytes_pulled"] += layer["size"]
            self.emit("runtime.layer", f"containerd on {self.node} pulled layer {layer['digest'][7:19]} ({human_bytes(layer['size'])}) of {registry.short_name(ref)}",
                      image=registry.short_name(ref), layer=layer["digest"][7:19], bytes=layer["size"])
        # The next missing layer, or done.
        index = pull["index"] + 1
        while index < len(pull["layers"]) and pull["layers"][index]["present"]:
            index += 1
        pull["index"] = index
        if index < len(pull["layers"]):
            pull["layer_started"] = self.now
            duration = max(1, pull["layers"][index]["size"] * SECOND // self.timing["bandwidth"])
            self.set_timer(duration, "pull_step", [ref, token])
            return
        self._pull_done(pull)

    def _pull_done(self, pull: dict) -> None:
        ref, info = pull["ref"], pull["resolved"]
        del self.pulls[ref]
        img = self.images.get(info["id"])
        if img is None:
            img = self.images[info["id"]] = {"id": info["id"], "refs": [], "repo_digest": info["repo_digest"], "size": info["size"],
                                             "layers": [layer["digest"] for layer in pull["layers"]], "pulled": self.now}
        if ref not in img["refs"]:
            img["refs"] = sorted(img["refs"] + [ref])
        self.refs[ref] = info["id"]
        fetched = [layer for layer in pull["layers"] if layer.get("pulled")]
        took = (self.now - pull["started"]) / SECOND
        short = registry.short_name(ref)
        if fetched:
            summary = (f"containerd on {self.node} pulled {short} ({len(pull['layers'])} layers, {len(pull['layers']) - len(fetched)} already present, "
                       f"{human_bytes(pull['bytes'])}) in {took:.1f} s")
        else:
            summary = f"containerd on {self.node}: {short} is up to date (all {len(pull['layers'])} layers present) in {took:.1f} s"
        self.emit("runtime.pulled", summary, image=short, layers=len(pull["layers"]), fetched=len(fetched), bytes=pull["bytes"], seconds=took)
        for waiter in pull["waiters"]:
            if waiter["type"] == "cri":
                self._reply(waiter["client"], waiter["rid"], "PullImage", result={"image_ref": info["id"], "ref": ref, "repo_digest": info["repo_digest"], "size": info["size"], "bytes": pull["bytes"],
                                                                                 "layers": len(pull["layers"]), "fetched": len(fetched), "seconds": took})
            else:
                op = self.ops.get(waiter["key"])
                if op is not None:
                    self.set_timer(self.timing["sandbox_us"], "op", waiter["key"])

    def _pull_failed(self, pull: dict, message: str, code: str) -> None:
        del self.pulls[pull["ref"]]
        short = registry.short_name(pull["ref"])
        self.emit("runtime.pull_failed", f"containerd on {self.node} cannot pull {short}: {message.rsplit(': ', 1)[-1]}", image=short, code=code)
        for waiter in pull["waiters"]:
            if waiter["type"] == "cri":
                self._reply(waiter["client"], waiter["rid"], "PullImage", error=message, code=code)
            else:
                op = self.ops.pop(waiter["key"], None)
                if op is not None:
                    self._reply(op["client"], op["rid"], op["method"], error=f"failed to get sandbox image {registry.PAUSE_IMAGE!r}: {message}", code=code)

    # --- sandboxes -------------------------------------------------------------------------------------
    def _cri_RunPodSandbox(self, op: dict):
        config = op["request"].get("config") or {}
        if not config.get("uid") or not config.get("name"):
            raise CRIError("sandbox config needs the pod's name, namespace and uid", "InvalidArgument")
        if self._image_for(registry.PAUSE_IMAGE) is None:
            # containerd pulls the sandbox image itself; the sandbox waits for it.
            self.ops[op["key"]] = op
            self._start_pull(registry.PAUSE_IMAGE, {"type": "op", "key": op["key"]})
            return None
        return self.timing["sandbox_us"]

    def _finish_RunPodSandbox(self, op: dict) -> dict:
        config = op["request"].get("config") or {}
        sid = self._new_id()
        ip = self._allocate_ip()
        sandbox = {
            "id": sid, "pod_uid": config["uid"], "name": config["name"], "namespace": config.get("namespace", "default"), "attempt": int(config.get("attempt") or 0),
            "state": "SANDBOX_READY", "created": self.now, "ip": ip, "hostname": config.get("hostname") or config["name"],
            "cgroup_parent": config.get("cgroup_parent") or runc.pod_cgroup("BestEffort", config["uid"]), "qos": config.get("qos", "BestEffort"),
            "namespaces": runc.sandbox_namespaces(self.alloc), "pause_pid": runc.new_pid(self.alloc),
        }
        self.sandboxes[sid] = sandbox
        ns = runc.show_namespaces(sandbox["namespaces"])
        self.emit("runtime.sandbox", f"containerd on {self.node} created the sandbox of {sandbox['namespace']}/{sandbox['name']}: pause process {sandbox['pause_pid']}, "
                  f"{ns['net']}, IP {ip}", sandbox=sid[:13], pod=f"{sandbox['namespace']}/{sandbox['name']}", ip=ip)
        return {"sandbox_id": sid, "ip": ip}

    def _allocate_ip(self) -> str:
        """host-local IPAM: the next free address of the node's pod CIDR (.1 is the bridge)."""
        base = self.pod_cidr.split("/")[0].rsplit(".", 1)[0]
        used = {s["ip"] for s in self.sandboxes.values() if s["state"] == "SANDBOX_READY"}
        for _ in range(253):
            candidate = f"{base}.{self.ip_next}"
            self.ip_next = self.ip_next + 1 if self.ip_next < 254 else 2
            if candidate not in used:
                return candidate
        raise CRIError(f"failed to allocate for range 0: no IP addresses available in range set: {base}.1-{base}.254", "ResourceExhausted")

    def _cri_StopPodSandbox(self, op: dict):
        self._sandbox(op["request"].get("sandbox_id"))
        return self.timing["quick_us"]

    def _finish_StopPodSandbox(self, op: dict) -> dict:
        sid = op["request"].get("sandbox_id")
        sandbox = self.sandboxes.get(sid)
        if sandbox is None:
            return {}
        for cid in self._containers_of(sid):
            c = self.containers[cid]
            if c["state"] == "CONTAINER_RUNNING":
                self._apply(c, programs.signal(c["process"], "SIGKILL", self.now), signal="SIGKILL")
        if sandbox["state"] == "SANDBOX_READY":
            sandbox["state"] = "SANDBOX_NOTREADY"
            self.emit("runtime.sandbox_stop", f"containerd on {self.node} stopped the sandbox of {sandbox['namespace']}/{sandbox['name']}: network torn down, IP {sandbox['ip']} released",
                      sandbox=sid[:13], pod=f"{sandbox['namespace']}/{sandbox['name']}")
        return {}

    def _cri_RemovePodSandbox(self, op: dict):
        return self.timing["quick_us"]

    def _finish_RemovePodSandbox(self, op: dict) -> dict:
        sid = op["request"].get("sandbox_id")
        sandbox = self.sandboxes.pop(sid, None)
        if sandbox is None:
            return {}
        for cid in self._containers_of(sid):
            self._remove_container(cid)
        self.emit("runtime.sandbox_remove", f"containerd on {self.node} removed the sandbox of {sandbox['namespace']}/{sandbox['name']}", sandbox=sid[:13])
        return {}

    def _cri_ListPodSandbox(self, req: dict) -> dict:
        return {"sandboxes": [self._sandbox_info(self.sandboxes[s]) for s in sorted(self.sandboxes, key=lambda s: (self.sandboxes[s]["created"], s))]}

    def _sandbox_info(self, s: dict) -> dict:
        return {"id": s["id"], "pod_uid": s["pod_uid"], "name": s["name"], "namespace": s["namespace"], "attempt": s["attempt"], "state": s["state"], "ip": s["ip"], "created": s["created"]}

    def _sandbox(self, sid) -> dict:
        sandbox = self.sandboxes.get(sid)
        if sandbox is None:
            raise CRIError(f'an error occurred when try to find sandbox "{sid}": not found', "NotFound")
        return sandbox

    def _containers_of(self, sid: str) -> list:
        return sorted(cid for cid, c in self.containers.items() if c["sandbox_id"] == sid)

    # --- containers --------------------------------------------------------------------------------------
    def _cri_CreateContainer(self, op: dict):
        req = op["request"]
        sandbox = self._sandbox(req.get("sandbox_id"))
        if sandbox["state"] != "SANDBOX_READY":
            raise CRIError(f"sandbox {sandbox['id'][:13]} is not ready", "FailedPrecondition")
        config = req.get("config") or {}
        if self._image_for(str(config.get("image", ""))) is None:
            raise CRIError(f'failed to create containerd container: error unpacking image: image "{config.get("image")}": not found', "NotFound")
        return self.timing["create_us"]

    def _finish_CreateContainer(self, op: dict) -> dict:
        req = op["request"]
        sandbox = self._sandbox(req.get("sandbox_id"))
        if sandbox["state"] != "SANDBOX_READY":
            raise CRIError(f"sandbox {sandbox['id'][:13]} is not ready", "FailedPrecondition")
        config = req.get("config") or {}
        img = self._image_for(str(config.get("image", "")))
        if img is None:
            raise CRIError(f'failed to create containerd container: error unpacking image: image "{config.get("image")}": not found', "NotFound")
        cid = self._new_id()
        repo = img["refs"][0].rsplit(":", 1)[0] if img["refs"] else img["repo_digest"].split("@")[0]
        resources = config.get("resources") or {}
        process = programs.plan(repo, config.get("command"), config.get("args"), config.get("env") or {}, config.get("ports") or [])
        process["cpu_limit_m"] = resources.get("cpu_limit_m") or self.cpu_m
        c = {
            "id": cid, "sandbox_id": sandbox["id"], "pod_uid": sandbox["pod_uid"], "pod": sandbox["name"], "namespace": sandbox["namespace"],
            "name": str(config.get("name", "")), "attempt": int(config.get("attempt") or 0), "image": str(config.get("image", "")), "image_id": img["id"],
            "image_ref": img["refs"][0] if img["refs"] else img["repo_digest"], "repo_digest": img["repo_digest"],
            "state": "CONTAINER_CREATED", "created": self.now, "started": None, "finished": None, "exit_code": None, "reason": None, "message": None,
            "namespaces": runc.container_namespaces(self.alloc, sandbox), "cgroup": runc.cgroup(sandbox["cgroup_parent"], cid, resources),
            "pid": None, "process": process, "usage": {"cpu_m": 0, "memory": 0}, "log": [], "log_dropped": 0,
            "log_path": f"/var/log/pods/{sandbox['namespace']}_{sandbox['name']}_{sandbox['pod_uid']}/{config.get('name')}/{int(config.get('attempt') or 0)}.log",
        }
        self.containers[cid] = c
        cg = c["cgroup"]
        self.emit("runtime.create", f"containerd on {self.node} created container {c['name']} of {c['namespace']}/{c['pod']} ({programs.describe(process)}): "
                  f"new pid and mnt namespaces, cgroup cpu.max {cg['cpu.max']}, memory.max {show_bytes(cg['memory_limit']) if cg['memory_limit'] else 'max'}",
                  container=cid[:13], pod=f"{c['namespace']}/{c['pod']}", name=c["name"])
        return {"container_id": cid}

    def _cri_StartContainer(self, op: dict):
        c = self._container(op["request"].get("container_id"))
        if c["state"] != "CONTAINER_CREATED":
            raise CRIError(f"container {c['id'][:13]} is in {c['state']} state", "FailedPrecondition")
        return self.timing["start_us"]

    def _finish_StartContainer(self, op: dict) -> dict:
        c = self._container(op["request"].get("container_id"))
        if c["state"] != "CONTAINER_CREATED":
            raise CRIError(f"container {c['id'][:13]} is in {c['state']} state", "FailedPrecondition")
        proc = c["process"]
        sandbox = self.sandboxes.get(c["sandbox_id"])
        if proc.get("missing") or sandbox is None or sandbox["state"] != "SANDBOX_READY":
            why = proc.get("missing") or "sandbox is not ready"
            message = (f"failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: "
                       f"unable to start container process: {why}: unknown")
            c.update(state="CONTAINER_EXITED", started=None, finished=self.now, exit_code=128, reason="StartError", message=message)
            self.emit("runtime.start_failed", f"containerd on {self.node} cannot start {self._label(c)}: {why}", container=c["id"][:13])
            raise CRIError(message, "Unknown")
        c["pid"] = runc.new_pid(self.alloc)
        c["state"] = "CONTAINER_RUNNING"
        c["started"] = self.now
        self.emit("runtime.started", f"containerd on {self.node} started {self._label(c)}: pid {c['pid']}, {programs.describe(proc)}", container=c["id"][:13], pid=c["pid"])
        return {}

    def _after_StartContainer(self, op: dict) -> None:
        """The process runs once StartContainer has answered (so its exit, if at once, comes after)."""
        c = self.containers.get(op["request"].get("container_id"))
        if c is None or c["state"] != "CONTAINER_RUNNING" or c["process"]["started"] is not None:
            return
        sandbox = self.sandboxes[c["sandbox_id"]]
        self._apply(c, programs.start(c["process"], self.now, {"hostname": sandbox["hostname"], "ip": sandbox["ip"]}))

    def _cri_StopContainer(self, op: dict):
        req = op["request"]
        c = self._container(req.get("container_id"))
        if c["state"] != "CONTAINER_RUNNING":
            return self.timing["quick_us"]
        timeout_s = req.get("timeout")
        timeout_s = 0 if not isinstance(timeout_s, (int, float)) or isinstance(timeout_s, bool) else max(0, timeout_s)
        entry = self.stopping.get(c["id"])
        waiter = [op["client"], op["rid"]]
        if entry is not None:
            entry["waiters"].append(waiter)
            deadline = self.now + int(timeout_s * SECOND)
            if deadline < entry["deadline"]:
                self._arm_kill(c, entry, deadline)
            return None
        self.next_op += 1
        entry = self.stopping[c["id"]] = {"waiters": [waiter], "deadline": 0, "token": 0, "signal": c["process"]["stop_signal"]}
        if timeout_s == 0:
            self.emit("runtime.signal", f"containerd on {self.node} sends SIGKILL to {self._label(c)} (no grace period)", container=c["id"][:13], signal="SIGKILL")
            self._apply(c, programs.signal(c["process"], "SIGKILL", self.now), signal="SIGKILL")
            return None
        sig = entry["signal"]
        self.emit("runtime.signal", f"containerd on {self.node} sends {sig} to {self._label(c)}; SIGKILL in {timeout_s:g} s if it is still running",
                  container=c["id"][:13], signal=sig, grace=timeout_s)
        self._arm_kill(c, entry, self.now + int(timeout_s * SECOND))
        self._apply(c, programs.signal(c["process"], sig, self.now))
        return None

    def _arm_kill(self, c: dict, entry: dict, deadline: int) -> None:
        self.next_op += 1
        entry["token"] = self.next_op
        entry["deadline"] = deadline
        self.set_timer(deadline - self.now, "kill", [c["id"], entry["token"]])

    def _finish_StopContainer(self, op: dict) -> dict:
        return {}

    def _cri_RemoveContainer(self, op: dict):
        return self.timing["quick_us"]

    def _finish_RemoveContainer(self, op: dict) -> dict:
        cid = op["request"].get("container_id")
        c = self.containers.get(cid)
        if c is None:
            return {}
        if c["state"] == "CONTAINER_RUNNING":
            self._apply(c, programs.signal(c["process"], "SIGKILL", self.now), signal="SIGKILL")
        self._remove_container(cid)
        return {}

    def _remove_container(self, cid: str) -> None:
        c = self.containers.pop(cid, None)
        if c is None:
            return
        self.wake_tokens.pop(cid, None)
        self.emit("runtime.remove", f"containerd on {self.node} removed {self._label(c)} (attempt {c['attempt']}) and its log", container=cid[:13])
        for stream in sorted(s for s, f in self.follows.items() if f["container"] == cid):
            self._end_follow(stream)

    def _cri_ContainerStatus(self, req: dict) -> dict:
        return {"status": self._container_info(self._container(req.get("container_id")))}

    def _cri_ListContainers(self, req: dict) -> dict:
        return {"containers": [self._container_info(self.containers[c]) for c in sorted(self.containers, key=lambda c: (self.containers[c]["created"], c))]}

    def _container_info(self, c: dict) -> dict:
        return {k: c[k] for k in ("id", "sandbox_id", "pod_uid", "pod", "namespace", "name", "attempt", "state", "created", "started", "finished",
                                  "exit_code", "reason", "message", "image", "image_id", "image_ref", "repo_digest")}

    def _cri_ListContainerStats(self, req: dict) -> dict:
        stats = []
        for cid in sorted(self.containers):
            c = self.containers[cid]
            if c["state"] == "CONTAINER_RUNNING":
                stats.append({"id": cid, "pod_uid": c["pod_uid"], "name": c["name"], "cpu_m": c["usage"]["cpu_m"], "memory": c["usage"]["memory"]})
        return {"stats": stats, "memory_used": sum(s["memory"] for s in stats), "cpu_used_m": sum(s["cpu_m"] for s in stats)}

    def _cri_ExecSync(self, req: dict) -> dict:
        c = self._container(req.get("container_id"))
        if c["state"] != "CONTAINER_RUNNING":
            raise CRIError(f"container {c['id'][:13]} is not running", "FailedPrecondition")
        code, output = programs.exec_probe(c["process"], [str(a) for a in req.get("cmd") or []], self.now)
        return {"exit_code": code, "stdout": output}

    def _container(self, cid) -> dict:
        c = self.containers.get(cid)
        if c is None:
            raise CRIError(f'an error occurred when try to find container "{cid}": not found', "NotFound")
        return c

    def _cri_Version(self, req: dict) -> dict:
        return {"runtime_name": "containerd", "runtime_version": RUNTIME_VERSION.split("//")[1], "runtime_api_version": "v1"}

    def _cri_Status(self, req: dict) -> dict:
        return {"conditions": [{"type": "RuntimeReady", "status": True}, {"type": "NetworkReady", "status": True}], "started": self.started_at}

    # --- logs (the kubelet reads the files under /var/log/pods) -------------------------------------------------
    def _cri_ReadLog(self, req: dict) -> dict:
        c = self._container(req.get("container_id"))
        lines = c["log"]
        since = req.get("since_us")
        if isinstance(since, int):
            lines = [line for line in lines if line[0] >= since]
        tail = req.get("tail")
        if isinstance(tail, int) and tail >= 0:
            lines = lines[-tail:] if tail else []
        following = False
        if req.get("follow") and c["state"] == "CONTAINER_RUNNING":
            # Reading and following in one call: no line falls between the two.
            self.follows[str(req.get("stream"))] = {"client": self.kubelet, "container": c["id"]}
            following = True
        return {"lines": [list(line) for line in lines], "finished": c["state"] == "CONTAINER_EXITED", "following": following}

    def _cri_UnfollowLog(self, req: dict) -> dict:
        self.follows.pop(str(req.get("stream")), None)
        return {}

    def _end_follow(self, stream: str) -> None:
        follow = self.follows.pop(stream)
        self.send(follow["client"], "cri.log_end", {"stream": stream}, summary="containerd → kubelet: log stream ends")

    # --- processes ------------------------------------------------------------------------------------------
    def _apply(self, c: dict, outputs: list, signal: str | None = None) -> None:
        """Apply a program's outputs: log lines, an exit; then memory (OOM) and the next wake-up."""
        proc = c["process"]
        new_lines = []
        exit_code = None
        for out in outputs:
            if out[0] == "log":
                for text in str(out[2]).split("\n"):
                    new_lines.append([self.now, out[1], text])
            elif out[0] == "exit" and exit_code is None:
                exit_code = out[1]
        if new_lines:
            c["log"].extend(new_lines)
            if len(c["log"]) > MAX_LOG_LINES:
                c["log_dropped"] += len(c["log"]) - MAX_LOG_LINES
                del c["log"][: len(c["log"]) - MAX_LOG_LINES]
            for stream in sorted(s for s, f in self.follows.items() if f["container"] == c["id"]):
                self.send(self.follows[stream]["client"], "cri.log", {"stream": stream, "lines": new_lines}, summary=f"containerd → kubelet: {len(new_lines)} log line(s)")
        if exit_code is not None:
            reason = "Completed" if exit_code == 0 else "Error"
            self._exited(c, exit_code, reason, signal=signal if exit_code == 137 else None)
            return
        c["usage"] = {"cpu_m": runc.capped_cpu(proc.get("cpu_m", 0), c["cgroup"], self.cpu_m), "memory": proc.get("memory", 0)}
        if runc.over_memory_limit(proc["memory"], c["cgroup"]):
            self.counters["oom_kills"] += 1
            self.emit("runtime.oom", f"the kernel on {self.node} OOM-killed {self._label(c)}: it used {show_bytes(proc['memory']) if proc['memory'] % (1 << 20) == 0 else proc['memory']} "
                      f"of its {show_bytes(c['cgroup']['memory_limit'])} memory.max", container=c["id"][:13], memory=proc["memory"], limit=c["cgroup"]["memory_limit"])
            proc["exit"] = {"code": 137}
            self._exited(c, 137, "OOMKilled", signal="SIGKILL")
            return
        if self._node_memory_used() > self.memory:
            self.counters["oom_kills"] += 1
            self.emit("runtime.oom", f"{self.node} is out of memory: the kernel's OOM killer picks {self._label(c)}", container=c["id"][:13], memory=proc["memory"], limit=self.memory)
            proc["exit"] = {"code": 137}
            self._exited(c, 137, "OOMKilled", signal="SIGKILL")
            return
        if proc.get("wake_at") is not None:
            self.next_op += 1
            self.wake_tokens[c["id"]] = self.next_op
            self.set_timer(max(0, proc["wake_at"] - self.now), "wake", [c["id"], self.next_op])
        else:
            self.wake_tokens.pop(c["id"], None)

    def _node_memory_used(self) -> int:
        return sum(c["process"].get("memory", 0) for c in self.containers.values() if c["state"] == "CONTAINER_RUNNING")

    def _exited(self, c: dict, code: int, reason: str, signal: str | None = None) -> None:
        proc = c["process"]
        proc["exit"] = {"code": code}
        proc["wake_at"] = None
        self.wake_tokens.pop(c["id"], None)
        c.update(state="CONTAINER_EXITED", finished=self.now, exit_code=code, reason=reason, usage={"cpu_m": 0, "memory": 0})
        if reason == "OOMKilled":
            c["message"] = None
        how = f"killed by {signal}" if signal else f"exited with code {code}"
        if reason == "OOMKilled":
            how = "OOM-killed (exit code 137)"
        self.emit("runtime.exit", f"{self._label(c)} on {self.node} {how}", container=c["id"][:13], exit_code=code, reason=reason)
        entry = self.stopping.pop(c["id"], None)
        if entry is not None:
            for client, rid in entry["waiters"]:
                self._reply(client, rid, "StopContainer", result={})
        for stream in sorted(s for s, f in self.follows.items() if f["container"] == c["id"]):
            self._end_follow(stream)
        self.send(self.kubelet, "cri.event", {"type": "CONTAINER_STOPPED_EVENT", "container_id": c["id"], "sandbox_id": c["sandbox_id"], "pod_uid": c["pod_uid"],
                                              "name": c["name"], "exit_code": code, "reason": reason},
                  summary=f"containerd → kubelet: {c['name']} of {c['pod']} stopped ({reason}, exit {code})", info={"event": "CONTAINER_STOPPED_EVENT"})

    def _label(self, c: dict) -> str:
        return f"container {c['name']} of {c['namespace']}/{c['pod']}"

    def _new_id(self) -> str:
        stream = self.stream("ids")
        return "".join(f"{stream.next64():016x}" for _ in range(4))

    # --- the pod network: probes and requests reach the process that listens -----------------------------
    def _listener(self, ip: str, port: int) -> dict | None:
        # Asked for every request and probe: the sandboxes with this address first, then their order.
        for sid in sorted(sid for sid, sandbox in self.sandboxes.items() if sandbox["ip"] == ip and sandbox["state"] == "SANDBOX_READY"):
            for cid in self._containers_of(sid):
                c = self.containers[cid]
                if c["state"] == "CONTAINER_RUNNING" and programs.listening(c["process"], port):
                    return c
        return None

    def _on_probe(self, client: str, req: dict) -> None:
        kind = req.get("type")
        ip, port = str(req.get("ip")), req.get("port")
        c = self._listener(ip, port) if isinstance(port, int) else None
        answer = {"id": req.get("id")}
        if c is None:
            answer.update(ok=False, detail=f'dial tcp {ip}:{port}: connect: connection refused')
        elif kind == "http":
            result, outputs = programs.serve(c["process"], self.now, port, str(req.get("path") or "/"), agent="kube-probe/1.32", source=self._gateway())
            self._apply(c, outputs)
            if result["code"] is None:
                answer.update(ok=False, detail=result.get("error", "connection refused"))
            else:
                answer.update(ok=200 <= result["code"] < 400, code=result["code"], detail=f"HTTP probe failed with statuscode: {result['code']}")
        else:  # tcp and grpc: the port accepts connections
            ok = programs.tcp_open(c["process"], port)
            answer.update(ok=ok, detail="" if ok else f'dial tcp {ip}:{port}: connect: connection refused')
        self.send(client, "probe.response", answer, summary=f"{ip}:{port} answers the probe: {'ok' if answer['ok'] else 'failure'}")

    def _gateway(self) -> str:
        return self.pod_cidr.split("/")[0].rsplit(".", 1)[0] + ".1"

    def serve_request(self, ip: str, port: int, path: str = "/", source: str = "10.244.0.1") -> dict:
        """Serve one HTTP request now, without a message (for a caller that models the trip itself):
        {"code" (None: refused), "latency_us", "bytes", "pod", "namespace", "container", "node"}."""
        c = self._listener(ip, port)
        if c is None:
            return {"code": None, "latency_us": 0, "bytes": 0, "error": f"dial tcp {ip}:{port}: connect: connection refused", "node": self.node}
        result, outputs = programs.serve(c["process"], self.now, port, path, source=source)
        self._apply(c, outputs)
        return {**result, "pod": c["pod"], "namespace": c["namespace"], "container": c["name"], "node": self.node}

    def _on_http(self, client: str, req: dict) -> None:
        port = req.get("port")
        result = self.serve_request(str(req.get("ip")), port if isinstance(port, int) else -1, str(req.get("path") or "/"), str(req.get("source") or "10.244.0.1"))
        payload = {"id": req.get("id"), **result}
        self.set_timer(result.get("latency_us") or 0, "http_reply", [client, payload])

    # --- view ---------------------------------------------------------------------------------------------
    def view(self) -> dict:
        layer_users: dict[str, list] = {}
        for img in self.images.values():
            for digest in img["layers"]:
                layer_users.setdefault(digest, []).extend(registry.short_name(r) for r in img["refs"])
        pulls = []
        for ref in sorted(self.pulls):
            pull = self.pulls[ref]
            done = pull["done_bytes"]
            if pull["state"] == "downloading" and 0 <= pull["index"] < len(pull["layers"]):
                layer = pull["layers"][pull["index"]]
                elapsed = self.now - pull["layer_started"]
                done += min(layer["size"], elapsed * self.timing["bandwidth"] // SECOND)
            total = pull["bytes"]
            pulls.append({
                "image": registry.short_name(ref), "state": pull["state"], "started": pull["started"] / SECOND,
                "bytes": total, "done_bytes": done, "fraction": round(done / total, 4) if total else (0.0 if pull["state"] == "resolving" else 1.0),
                # missing layers come down back to back at the node's bandwidth: a page fills the bar
                # with its own clock, done_bytes = (t - downloading_since) * bandwidth
                "bandwidth": self.timing["bandwidth"],
                "downloading_since": pull["downloading_since"] / SECOND if "downloading_since" in pull else None,
                "resolves_at": (pull["started"] + self.timing["resolve_us"]) / SECOND,
                "layers": [{"digest": layer["digest"][7:19], "size": layer["size"], "present": layer["present"]} for layer in pull["layers"]],
            })
        return {
            "name": self.name, "kind": self.kind, "alive": self.alive, "node": self.node, "version": RUNTIME_VERSION,
            "images": [{"id": img["id"][7:19], "refs": [registry.short_name(r) for r in img["refs"]], "size": img["size"],
                        "layers": [d[7:19] for d in img["layers"]]} for _i, img in sorted(self.images.items())],
            "layers": [{"digest": d[7:19], "name": layer["name"], "size": layer["size"], "images": sorted(set(layer_users.get(d, [])))} for d, layer in sorted(self.layers.items())],
            "pulls": pulls,
            "sandboxes": [{"id": s["id"][:13], "pod": f"{s['namespace']}/{s['name']}", "pod_uid": s["pod_uid"], "state": s["state"], "ip": s["ip"], "attempt": s["attempt"],
                           "pause_pid": s["pause_pid"], "namespaces": runc.show_namespaces(s["namespaces"]), "cgroup": s["cgroup_parent"]}
                          for _sid, s in sorted(self.sandboxes.items(), key=lambda kv: (kv[1]["created"], kv[0]))],
            "containers": [self._container_view(c) for _cid, c in sorted(self.containers.items(), key=lambda kv: (kv[1]["created"], kv[0]))],
            "counters": dict(self.counters),
        }

    def _container_view(self, c: dict) -> dict:
        cg = c["cgroup"]
        return {
            "id": c["id"][:13], "pod": f"{c['namespace']}/{c['pod']}", "pod_uid": c["pod_uid"], "name": c["name"], "attempt": c["attempt"], "state": c["state"],
            "image": registry.short_name(c["image_ref"]), "pid": c["pid"], "program": programs.describe(c["process"]),
            "exit_code": c["exit_code"], "reason": c["reason"],
            "namespaces": runc.show_namespaces(c["namespaces"]),
            "cgroup": {"path": cg["path"], "cpu.max": cg["cpu.max"], "cpu.weight": cg["cpu.weight"], "memory.max": cg["memory.max"],
                       "cpu_limit_m": cg["cpu_limit_m"], "memory_limit": cg["memory_limit"], "cpu_request_m": cg["cpu_request_m"], "memory_request": cg["memory_request"]},
            "usage": dict(c["usage"]),
        }
