"""The user's kubectl: every request a person sends to /k8s/<cluster>/ travels from here.

Real kubectl (or the Python client) talks HTTP to the dashboard; the dashboard turns each
request into a recorded `kube` command, and this component sends it to `kube-apiserver`
over the simulated network as PROTOCOL.md's "api.request". So a student's own command is
a dot leaving the endpoint named `kubectl`, delayed, lost and partitioned like every other
message, and replay rebuilds it exactly from the command log.

    cluster.command({"type": "kube", "verb": "list", "group": "", "version": "v1",
                     "resource": "pods", "namespace": "default", ...})  -> {"id": 7}
    client.result(7)          None while pending, then {"code", "body"} (or "text", "watch")
    client.take(7)            the same, and the answer's body is forgotten (the HTTP layer reads once)
    client.drain(7)           watch events / log chunks received since the last drain
    cluster.command({"type": "kube", "verb": "cancel", "watch": 7})

A request's life:

    pending ──api.response──▶ done                      (get, create, patch, ..., a plain log)
       │            └─(watch: true)─▶ watching ──api.watch_end──▶ ended
       │                                 └──cancel──▶ cancelled
       ├─dropped on the way (the API server never saw it)──▶ failed (503)
       ├─the API server went down meanwhile (connection reset)▶ failed (503) / a watch: ended
       └─no answer within EXPIRE_US of virtual time────────▶ failed (504)

Connections. Real kubectl holds a TCP connection to the API server; when that process dies,
the connection resets and kubectl's request fails (a watch ends) at once instead of waiting.
The kubectl component models that: each request remembers the API server's incarnation (its
kernel `epoch`, which grows on every crash and restart) and, while requests are open, a
timer checks every CONNECTION_CHECK_US whether that process is still the one it talked to.
A network partition does not reset connections (TCP would wait), so it is not checked here.

Finished requests are remembered for callers to read and forgotten oldest first, after
KEEP_FINISHED more have finished, so what is kept depends only on the simulation. A request's
hashed record is its state and HTTP code; the answer itself (a list can be megabytes) waits
in `answers`, outside the hashed state like the watch buffers below, until the HTTP layer
takes it.

Watch buffers, and why they are not hashed. The HTTP layer drains a watch's events in wall
time, whenever its polling loop comes round; a replay of the same command log drains at
other moments, or never. So the buffers cannot be part of the state that `state_hash`
compares, and nothing the simulation does may depend on them. They live in `streams`,
listed in `_unhashed` (the canonical hash skips it), and are written only by message
handlers and read-and-cleared only by `drain`. Everything that is simulation state stays
hashed: the request's state, how many events it received, when it ended. A buffer is
bounded (MAX_BUFFERED); when a reader falls that far behind, further events are dropped
from the buffer and the stream is marked `overflowed`, again outside the hashed state; the
HTTP layer then ends that watch with a 410 Expired event (as a real API server closes the
watch of a client that cannot keep up) and records a `cancel` command, which is state,
logged and replayed like any other. The alternative, a ring of recent events that readers
index with their own cursor, would keep buffers hashed but holds every watch's last
events in the state, in every checkpoint and in every hash; drained-and-cleared buffers
cost memory only while a reader is slow.
"""

import math
import re

from ..commands import CommandError, no_unknown_fields, require
from ..kernel import SECOND, Component

ENDPOINT = "kubectl"
APISERVER = "kube-apiserver"
EXPIRE_US = 60 * SECOND  # the real API server's request timeout
CONNECTION_CHECK_US = 1 * SECOND  # how soon a reset connection is noticed
KEEP_FINISHED = 500  # finished requests remembered for readers (oldest forgotten first)
MAX_BUFFERED = 5000  # watch events or log chunks held for a reader that has not drained

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
PATCH_TYPES = ("merge", "strategic", "json", "apply")
INCLUDE_OBJECT = ("None", "Metadata", "Object")
# Who sent the HTTP request, from its User-Agent (dashboard/views/kube.py): the student's kubectl,
# their Python client, this page's inspector, or another HTTP client. The dashboard draws each apart.
AGENTS = ("kubectl", "python", "inspector", "http")
QUERY_STRINGS = (
    "labelSelector", "fieldSelector", "resourceVersion", "resourceVersionMatch", "continue", "propagationPolicy",
    "dryRun", "fieldManager", "fieldValidation", "container", "sinceTime",
)
QUERY_INTS = ("limit", "timeoutSeconds", "gracePeriodSeconds", "tailLines", "sinceSeconds", "limitBytes")
QUERY_BOOLS = ("allowWatchBookmarks", "force", "follow", "previous", "timestamps", "sendInitialEvents", "orphanDependents")
COMMAND_FIELDS = {
    "type", "verb", "group", "version", "resource", "subresource", "namespace", "name", "body", "patch_type",
    "query", "token", "user", "as_table", "include_object", "agent",
}

MAX_BODY_BYTES = 3 * 1024 * 1024  # the real API server's limit on a request body
MAX_DEPTH = 100  # nesting of objects and lists in a body
INT64 = 2**63
_GROUP = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$")
_VERSION = re.compile(r"^v[0-9]+((alpha|beta)[0-9]+)?$")
_RESOURCE = re.compile(r"^[a-z][a-z0-9]*$")
_PATH_SEGMENT = re.compile(r"^[^/\x00-\x1f\x7f]+$")


# --- the command ---------------------------------------------------------------------
def validate_command(cmd: dict) -> dict:
    """Check a `kube` command and return its normalized form (JSON-safe plain data).
    Raises CommandError; an invalid command is neither recorded nor applied."""
    if cmd.get("verb") == "cancel":
        no_unknown_fields(cmd, {"type", "verb", "watch"})
        watch = cmd.get("watch")
        require(isinstance(watch, int) and not isinstance(watch, bool) and 0 < watch < INT64, "watch must be a request id", "watch")
        return {"type": "kube", "verb": "cancel", "watch": watch}
    no_unknown_fields(cmd, COMMAND_FIELDS)
    verb = cmd.get("verb")
    require(verb in VERBS, f"verb must be one of: {', '.join(VERBS)}, cancel", "verb")
    group = _string(cmd, "group", default="")
    require(_GROUP.match(group) is not None, "group must be a DNS subdomain or empty", "group")
    version = _string(cmd, "version")
    require(_VERSION.match(version) is not None, "version must look like v1, v2beta1", "version")
    resource = _string(cmd, "resource", max_length=63)
    require(_RESOURCE.match(resource) is not None, "resource must be a lower-case plural", "resource")
    subresource = _optional_segment(cmd, "subresource")
    if subresource is not None:
        require(_RESOURCE.match(subresource) is not None, "subresource must be a lower-case word", "subresource")
    namespace = _optional_segment(cmd, "namespace")
    name = _optional_segment(cmd, "name")
    patch_type = cmd.get("patch_type")
    if verb == "patch":
        require(patch_type in PATCH_TYPES, f"patch_type must be one of: {', '.join(PATCH_TYPES)}", "patch_type")
    else:
        require(patch_type is None, "patch_type is for patch only", "patch_type")
    body = cmd.get("body")
    if body is not None:
        require(isinstance(body, dict) or (isinstance(body, list) and patch_type == "json"), "body must be an object (a list for a JSON patch)", "body")
        check_json(body)
    token = cmd.get("token")
    require(token is None or (isinstance(token, str) and 0 < len(token) <= 4096 and token.isprintable()), "token must be a short printable string", "token")
    user = cmd.get("user")
    if user is not None:
        require(isinstance(user, dict) and set(user) <= {"name", "groups"}, "user must be {name, groups}", "user")
        name_ok = isinstance(user.get("name"), str) and 0 < len(user["name"]) <= 253 and user["name"].isprintable()
        groups = user.get("groups", [])
        groups_ok = isinstance(groups, list) and len(groups) <= 20 and all(isinstance(g, str) and 0 < len(g) <= 253 and g.isprintable() for g in groups)
        require(name_ok and groups_ok, "user needs a short printable name and at most 20 groups", "user")
        user = {"name": user["name"], "groups": list(groups)}
    as_table = cmd.get("as_table", False)
    require(isinstance(as_table, bool), "as_table must be true or false", "as_table")
    include_object = cmd.get("include_object")
    require(include_object is None or include_object in INCLUDE_OBJECT, f"include_object must be one of: {', '.join(INCLUDE_OBJECT)}", "include_object")
    agent = cmd.get("agent", "kubectl")
    require(agent in AGENTS, f"agent must be one of: {', '.join(AGENTS)}", "agent")
    return {
        "type": "kube", "verb": verb, "group": group, "version": version, "resource": resource, "subresource": subresource,
        "namespace": namespace, "name": name, "body": body, "patch_type": patch_type, "query": _query(cmd.get("query")),
        "token": token, "user": user, "as_table": as_table, "include_object": include_object, "agent": agent,
    }


def _string(cmd: dict, field: str, *, default=None, max_length: int = 253) -> str:
    value = cmd.get(field, default)
    require(isinstance(value, str), f"{field} must be a string", field)
    require(len(value) <= max_length, f"{field} is longer than {max_length} characters", field)
    return value


def _optional_segment(cmd: dict, field: str) -> str | None:
    value = cmd.get(field)
    if value is None:
        return None
    require(isinstance(value, str) and 0 < len(value) <= 253 and _PATH_SEGMENT.match(value) is not None, f"{field} must be a non-empty path segment", field)
    return value


def _query(query) -> dict:
    if query is None:
        return {}
    require(isinstance(query, dict), "query must be an object", "query")
    out = {}
    for key in sorted(query):
        value = query[key]
        if key in QUERY_STRINGS:
            require(isinstance(value, str) and len(value) <= 4096, f"query.{key} must be a string", "query")
        elif key in QUERY_INTS:
            require(isinstance(value, int) and not isinstance(value, bool) and -INT64 < value < INT64, f"query.{key} must be an integer", "query")
        elif key in QUERY_BOOLS:
            require(isinstance(value, bool), f"query.{key} must be true or false", "query")
        else:
            raise CommandError(f"unknown query parameter: {key}", "query")
        out[key] = value
    return out


def check_json(value, what: str = "body") -> None:
    """Require plain JSON data: objects with string keys, lists, strings, booleans, null,
    integers within int64 and finite floats, nested at most MAX_DEPTH deep and at most
    MAX_BODY_BYTES long. Iterative, so no input can exhaust the stack."""
    stack = [(value, 0)]
    size = 0
    while stack:
        item, depth = stack.pop()
        require(depth <= MAX_DEPTH, f"{what} nests deeper than {MAX_DEPTH} levels", what)
        kind = type(item)
        if kind is dict:
            size += 2
            for key, sub in item.items():
                require(type(key) is str, f"{what} has a non-string key", what)
                size += len(key) + 4
                stack.append((sub, depth + 1))
        elif kind is list:
            size += 2
            stack.extend((sub, depth + 1) for sub in item)
        elif kind is str:
            size += len(item) + 2
        elif kind is int:
            require(-INT64 <= item < INT64, f"{what} holds an integer outside the 64-bit range", what)
            size += 20
        elif kind is float:
            require(math.isfinite(item), f"{what} holds a number that is not finite", what)
            size += 24
        elif item is None or kind is bool:
            size += 5
        else:
            raise CommandError(f"{what} holds a value that is not JSON", what)
        require(size <= MAX_BODY_BYTES, f"{what} is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB", what, status=413)


def apply_command(sim, cmd: dict) -> dict:
    client = sim.components.get(ENDPOINT)
    if client is None:
        raise CommandError("this cluster has no kubectl endpoint", "type", status=503)
    if cmd["verb"] == "cancel":
        return {"ok": client.cancel(cmd["watch"])}
    request = {k: v for k, v in cmd.items() if k != "type"}
    return {"id": client.submit(request)}


def request_path(request: dict) -> str:
    """The URL path the request stands for, as kubectl would have sent it (for narration)."""
    root = f"/apis/{request['group']}/{request['version']}" if request["group"] else f"/api/{request['version']}"
    parts = [root]
    if request.get("namespace") and not (request["resource"] == "namespaces"):
        parts.append(f"namespaces/{request['namespace']}")
    parts.append(request["resource"])
    if request.get("name"):
        parts.append(request["name"])
    if request.get("subresource"):
        parts.append(request["subresource"])
    return "/".join(parts)


HTTP_METHOD = {"get": "GET", "list": "GET", "watch": "GET", "create": "POST", "update": "PUT", "patch": "PATCH", "delete": "DELETE", "deletecollection": "DELETE"}


# --- the component ---------------------------------------------------------------------
class KubeClient(Component):
    kind = "kubectl"
    # Read-and-cleared by the HTTP layer in wall time: not simulation state (module doc). The
    # answers are what the API server sent, kept until read; the hashed part of each request
    # is its state and HTTP code.
    _unhashed = ("streams", "answers")

    def __init__(self, sim, name: str = ENDPOINT, apiserver: str = APISERVER):
        super().__init__(sim, name)
        self.apiserver = apiserver
        self.next_id = 0
        self.requests: dict[int, dict] = {}  # id -> {"request", "state", "code", "sent", "received", "ended", "peer_epoch"}
        self.finished: list[int] = []  # ids in the order they finished
        self.streams: dict[int, dict] = {}  # id -> {"items": [...], "overflowed": bool}; unhashed
        self.answers: dict[int, dict] = {}  # id -> the answer (a body can be megabytes); unhashed, taken by the reader
        self.checking = False  # a connection check is scheduled

    # --- requests ---------------------------------------------------------------------
    def submit(self, request: dict) -> int:
        self.next_id += 1
        rid = self.next_id
        payload = dict(request, id=rid)
        payload.setdefault("user", None)  # anonymous, unless the user was named (kubectl --as)
        peer = self.sim.components.get(self.apiserver)
        self.requests[rid] = {"request": payload, "state": "pending", "code": None, "sent": self.now, "received": 0, "ended": None,
                              "peer_epoch": None if peer is None else peer.epoch}
        if request["verb"] == "watch" or (request.get("subresource") == "log" and request.get("query", {}).get("follow")):
            self.streams[rid] = {"items": [], "overflowed": False}
        if self.apiserver not in self.sim.components:  # no API server in this cluster (yet): fail now, not after EXPIRE_US
            self._answer(self.requests[rid], status_body(503, "ServiceUnavailable", f"this cluster has no {self.apiserver}"))
            self._finish(self.requests[rid], "failed")
            return rid
        self.set_timer(EXPIRE_US, "expire", rid)
        if not self.checking:
            self.checking = True
            self.set_timer(CONNECTION_CHECK_US, "connections")
        method, path = HTTP_METHOD[request["verb"]], request_path(request)
        shown = path + ("?watch=true" if request["verb"] == "watch" else "")
        agent = payload.get("agent") or "kubectl"
        self.send(self.apiserver, "api.request", payload, summary=f"{agent} → {self.apiserver}: {method} {shown}",
                  info={"rpc": "kube", "client": "kubectl", "agent": agent, "request": rid, "verb": request["verb"], "method": method, "path": path})
        return rid

    def cancel(self, rid: int) -> bool:
        """End a watch (or a log follow) the HTTP client has gone away from."""
        entry = self.requests.get(rid)
        if entry is None or entry["state"] not in ("pending", "watching"):
            return False
        self.send(self.apiserver, "api.watch_cancel", {"id": rid}, summary=f"kubectl → {self.apiserver}: stop watch {rid}",
                  info={"rpc": "kube", "client": "kubectl", "request": rid})
        if entry["state"] == "pending":
            self._answer(entry, status_body(499, "ClientClosedRequest", "the client went away"))
        self._finish(entry, "cancelled")
        return True

    def on_message(self, msg) -> None:
        payload = msg.payload if isinstance(msg.payload, dict) else {}
        entry = self.requests.get(payload.get("id"))
        if entry is None:
            return
        kind = msg.kind
        if kind == "api.response" and entry["state"] == "pending":
            self._answer(entry, payload)
            if payload.get("watch") and payload.get("code", 200) < 300:
                entry["state"] = "watching"
                if payload.get("text"):
                    self._buffer(entry, {"text": payload["text"]})
            else:
                self._finish(entry, "done")
        elif kind in ("api.watch_event", "api.log_chunk") and entry["state"] in ("pending", "watching"):
            if entry["state"] == "pending":  # cannot happen on a FIFO link; be lenient anyway
                entry["state"] = "watching"
                self._answer(entry, {"id": payload.get("id"), "code": 200, "watch": True})
            item = {"type": payload.get("type"), "object": payload.get("object")} if kind == "api.watch_event" else {"text": payload.get("text", "")}
            self._buffer(entry, item)
        elif kind == "api.watch_end" and entry["state"] in ("pending", "watching"):
            if entry["state"] == "pending":
                self._answer(entry, {"id": payload.get("id"), "code": 200, "watch": True})
            self._finish(entry, "ended")

    def _buffer(self, entry: dict, item: dict) -> None:
        entry["received"] += 1
        stream = self.streams.get(entry["request"]["id"])
        if stream is None:
            return
        if len(stream["items"]) >= MAX_BUFFERED:
            stream["overflowed"] = True
        elif not stream["overflowed"]:
            stream["items"].append(item)

    def on_timer(self, tag: str, data) -> None:
        if tag == "connections":
            self._check_connections()
            return
        entry = self.requests.get(data) if tag == "expire" else None
        if entry is not None and entry["state"] == "pending":
            self._answer(entry, status_body(504, "Timeout", f"the API server did not answer within {EXPIRE_US // SECOND} virtual seconds"))
            self._finish(entry, "failed")

    def _check_connections(self) -> None:
        self.checking = False
        peer = self.sim.components.get(self.apiserver)
        still_open = False
        for rid in sorted(self.requests):
            entry = self.requests[rid]
            if entry["state"] not in ("pending", "watching"):
                continue
            if peer is not None and peer.alive and peer.epoch == entry["peer_epoch"]:
                still_open = True
            elif entry["state"] == "pending":
                self._answer(entry, status_body(503, "ServiceUnavailable", f"the connection to {self.apiserver} was reset: it went down while the request "
                                                "was in progress (a write may or may not have taken effect)"))
                self._finish(entry, "failed")
            else:
                self._finish(entry, "ended")  # the stream breaks; the HTTP layer ends it
        if still_open:
            self.checking = True
            self.set_timer(CONNECTION_CHECK_US, "connections")

    def on_undeliverable(self, msg, reason: str) -> None:
        if msg.kind != "api.request":
            return
        entry = self.requests.get(msg.payload["id"])
        if entry is not None and entry["state"] == "pending":
            self._answer(entry, status_body(503, "ServiceUnavailable", f"the request did not reach {msg.target}: {reason}"))
            self._finish(entry, "failed")

    def on_crash(self) -> None:  # kubectl is the user's terminal: it is never crashed, but be correct
        for rid in sorted(self.requests):
            entry = self.requests[rid]
            if entry["state"] in ("pending", "watching"):
                if entry["code"] is None:
                    self._answer(entry, status_body(503, "ServiceUnavailable", "kubectl went down"))
                self._finish(entry, "failed")

    def _answer(self, entry: dict, response: dict) -> None:
        entry["code"] = response.get("code", 200)
        self.answers[entry["request"]["id"]] = response

    def _finish(self, entry: dict, state: str) -> None:
        entry["state"], entry["ended"] = state, self.now
        self.finished.append(entry["request"]["id"])
        while len(self.finished) > KEEP_FINISHED:
            gone = self.finished.pop(0)
            self.requests.pop(gone, None)
            self.streams.pop(gone, None)
            self.answers.pop(gone, None)

    # --- reading (never changes hashed state) ------------------------------------------
    def result(self, rid: int) -> dict | None:
        """The API server's answer {"code", "body" | "text" | "watch"}, or a Status for a
        request that failed on the way; None while pending. KeyError once forgotten or taken."""
        entry = self.requests[rid]
        if entry["code"] is None:
            return None
        return self.answers[rid]

    def take(self, rid: int) -> dict | None:
        """result(), and forget the answer's body: the HTTP layer reads each answer once, and
        a list can be megabytes. (The request's state and code stay, hashed.)"""
        answer = self.result(rid)
        if answer is not None:
            self.answers.pop(rid, None)
        return answer

    def state_of(self, rid: int) -> str | None:
        entry = self.requests.get(rid)
        return None if entry is None else entry["state"]

    def drain(self, rid: int) -> tuple[list[dict], bool, bool]:
        """(items received since the last drain, the stream is over, it overflowed).
        Clears the buffer: see the module doc for why that is outside the hashed state."""
        stream = self.streams.get(rid)
        entry = self.requests.get(rid)
        over = entry is None or entry["state"] not in ("pending", "watching")
        if stream is None:
            return [], over, False
        items, stream["items"] = stream["items"], []
        return items, over, stream["overflowed"]

    def view(self) -> dict:
        watching = sorted(rid for rid, e in self.requests.items() if e["state"] == "watching")
        pending = sum(1 for e in self.requests.values() if e["state"] == "pending")
        return {**super().view(), "pending": pending, "watches": watching}


def status_body(code: int, reason: str, message: str) -> dict:
    """An answer carrying a Status, for failures that happen before the API server answers."""
    return {"code": code, "body": {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}}
