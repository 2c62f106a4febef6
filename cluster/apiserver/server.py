"""`APIServer`: kube-apiserver inside the simulation, the only client of etcd.

Clients (kubectl through the HTTP layer, controllers, the scheduler, kubelets) send it
`api.request` messages (PROTOCOL.md). Every request walks a visible pipeline, one
`api.*` event per stage, and either stops at the stage that rejects it or ends in etcd:

    api.request ─▶ authn ─▶ authz ─▶ (decode) ─▶ admission ─▶ validation ─▶ etcd ─▶ api.response
                    401      403       400          403/404       422         409

Reads are served from the watch cache (cache.py), which follows etcd with one prefix
watch on /registry/; a `get` without resourceVersion and a `list` without one are
consistent: the first is an etcd read, the second asks etcd for its current revision
and waits until the cache has caught up with it (as kube-apiserver 1.31+ does).

Writes are etcd transactions guarded by the key's mod revision (GuaranteedUpdate):

    current (from the cache) ──transform──▶ new object ──txn "mod == rv ? put : get"──▶ ok ─▶ respond
                ▲                                                                    │
                └──────────── the current value the failed txn returned ◀────────────┘ compare failed

A request that needs a value the cache may not have yet (a precondition that does not
match, an object or namespace the cache does not know) reads it from etcd first.

Request state is plain data: `ops` maps "client#id" to a dict that names the next step;
etcd requests in flight live in `etcd_pending` and name the method that takes the answer.
Failures of etcd (no leader, a crashed member, a lost message, a timeout) rotate to the
next member and retry; writes are safe to retry because every write is a guarded txn and
an unknown outcome is resolved by comparing the key's value with what was written.
"""

import base64
import json

from ..kernel import MILLISECOND, SECOND, Component
from . import admission, patch, rbac, tables
from . import status as st
from .cache import ADDED, DELETED, MODIFIED, Expired, WatchCache
from .defaults import apply_defaults, job_selector, qos_class
from .meta import copy_json, decode, dig, encode, is_json_safe, meta_of, new_uid, random_suffix, rfc3339, rv_of
from .resources import REGISTRY, api_version, etcd_key, group_resource, lookup, parse_key, qualified_kind, resource_prefix, subresource
from .schema import unknown_fields
from .selectors import SelectorError, check_fields, fields_match, labels_match, parse_fields, parse_labels
from .status import ApiError
from .validation import validate, validate_status_update

NAME = "kube-apiserver"
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
READ_VERBS = ("get", "list", "watch")
PATCH_TYPES = ("merge", "strategic", "json", "apply")
ANONYMOUS = {"name": "system:anonymous", "groups": ["system:unauthenticated"]}
LOOPBACK_USER = {"name": "system:apiserver", "groups": ["system:masters", "system:authenticated"]}
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")
MAX_CONFLICT_RETRIES = 10
MAX_LIMIT = 10_000


class _Fetch(Exception):
    """The transform needs the current value of `key` from etcd before it can decide."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


class APIServer(Component):
    kind = "apiserver"

    def __init__(
        self,
        sim,
        members: list[str],
        name: str = NAME,
        *,
        rbac_enabled: bool = False,
        tokens: dict | None = None,
        cache_capacity: int = 5000,
        etcd_timeout_us: int = 40 * SECOND,
        retry_backoff_us: int = 500 * MILLISECOND,
        progress_interval_us: int = 5 * SECOND,
        progress_timeout_us: int = 3 * SECOND,
        bookmark_interval_us: int = 10 * SECOND,
        request_timeout_us: int = 60 * SECOND,
        fresh_timeout_us: int = 5 * SECOND,
        compaction_interval_us: int = 300 * SECOND,
        service_cidr: str = "10.96.0.0/12",
        kubelet_endpoint: str | None = None,
    ):
        super().__init__(sim, name)
        if not members:
            raise ValueError("the API server needs at least one etcd member")
        self.members = list(members)
        self.rbac_enabled = bool(rbac_enabled)
        self.tokens = {str(k): {"name": str(v.get("name")), "groups": [str(g) for g in v.get("groups", [])]} for k, v in (tokens or {}).items()}
        self.cache_capacity = cache_capacity
        self.etcd_timeout_us = etcd_timeout_us
        self.retry_backoff_us = retry_backoff_us
        self.progress_interval_us = progress_interval_us
        self.progress_timeout_us = progress_timeout_us
        self.bookmark_interval_us = bookmark_interval_us
        self.request_timeout_us = request_timeout_us
        self.fresh_timeout_us = fresh_timeout_us
        self.compaction_interval_us = compaction_interval_us
        self.service_cidr = service_cidr
        # How to reach the kubelet of a node for pod logs ("kubelet-{node}"), once kubelets exist.
        self.kubelet_endpoint = kubelet_endpoint
        self.counters = {"requests": 0, "responses": 0, "errors": 0, "etcd_requests": 0, "watch_events": 0}
        self._boot()

    # --- life cycle -----------------------------------------------------------------------------
    def _boot(self) -> None:
        self.phase = "starting"  # starting -> listing -> bootstrapping -> ready
        self.cache = WatchCache(self.cache_capacity)
        self.member_index = 0
        self.ops: dict[str, dict] = {}
        self.gated: list[str] = []  # requests waiting for the cache to be ready
        self.next_etcd = 0
        self.etcd_pending: dict[int, dict] = {}
        self.op_etcd: dict[str, list[int]] = {}  # request key -> its etcd requests in flight
        self.etcd_watch: dict | None = None  # {"id", "member", "start", "state", "progress_deadline"}
        self.next_watch_id = 0
        self.watchers: dict[str, dict] = {}
        self.fresh_waiters: list[list] = []  # [revision, op key], sorted by revision
        self.next_loopback = 0
        self.next_seq = 0  # numbers every request, so that timers name the one they were set for
        self.bootstrap_left = 0
        self.reservations: dict[str, dict] = {}  # op key -> {"namespace", "usage", "revision"}: quota charged, not yet in the cache
        self.evicting: dict[str, list[str]] = {}  # pdb key -> pod keys being evicted, until the cache shows it
        self.compact_mark: int | None = None  # the revision to compact to at the next compaction tick
        self.log_streams: dict[str, dict] = {}

    def on_start(self) -> None:
        self.emit("api.start", f"{self.name} starts: lists /registry/ from etcd to fill its watch cache", members=self.members)
        self._list_registry()
        self.set_timer(self.progress_interval_us, "progress")
        self.set_timer(self.bookmark_interval_us, "bookmark")
        if self.compaction_interval_us:
            self.set_timer(self.compaction_interval_us, "compact")

    def on_crash(self) -> None:
        self._boot()

    def on_restart(self) -> None:
        self.on_start()

    @property
    def member(self) -> str:
        return self.members[self.member_index % len(self.members)]

    def _rotate_member(self, failed: str, why: str) -> None:
        if self.member != failed:
            return
        self.member_index = (self.member_index + 1) % len(self.members)
        self.emit("api.etcd_failover", f"{self.name} switches from {failed} to {self.member}: {why}", target=self.member, failed=failed, reason=why)

    # --- kernel entries ---------------------------------------------------------------------------
    def on_message(self, msg) -> None:
        try:
            kind = msg.kind
            payload = msg.payload
            if kind == "api.request":
                self._on_request(msg.source, payload)
            elif kind == "api.watch_cancel":
                self._on_watch_cancel(msg.source, payload)
            elif kind == "etcd.response":
                self._on_etcd_response(msg.source, payload)
            elif kind == "etcd.watch_event":
                self._on_etcd_watch_event(msg.source, payload)
            elif kind.startswith("kubelet."):
                self._on_kubelet_message(msg.source, kind, payload)
        except Exception as exc:  # noqa: BLE001 - no input may take the server down
            self._internal_error(exc, msg.source, msg.payload if msg.kind == "api.request" else None)

    def on_timer(self, tag: str, data) -> None:
        try:
            handler = {
                "etcd_timeout": self._on_etcd_timeout,
                "etcd_retry": self._on_etcd_retry,
                "op_timeout": self._on_op_timeout,
                "fresh_timeout": self._on_fresh_timeout,
                "watch_timeout": self._on_watch_timeout,
                "relist": lambda _data: self._list_registry(),
            }.get(tag)
            if handler is not None:
                handler(data)
            elif tag == "progress":
                self._progress_tick()
                self.set_timer(self.progress_interval_us, "progress")
            elif tag == "bookmark":
                self._send_bookmarks()
                self.set_timer(self.bookmark_interval_us, "bookmark")
            elif tag == "compact":
                self._compact_tick()
                self.set_timer(self.compaction_interval_us, "compact")
        except Exception as exc:  # noqa: BLE001
            self._internal_error(exc, None, None)

    def on_undeliverable(self, msg, reason: str) -> None:
        try:
            kind = msg.kind
            if kind == "etcd.request":
                entry = self.etcd_pending.get(msg.payload.get("id"))
                if entry is not None and entry["state"] == "sent":
                    self._etcd_failed(msg.payload["id"], entry, f"request not delivered to {msg.target}: {reason}", unknown=False)
            elif kind in ("etcd.watch", "etcd.watch_progress"):
                watch = self.etcd_watch
                if watch is not None and msg.payload.get("watch_id") == watch["id"]:
                    self._etcd_watch_broken(f"{msg.target} unreachable ({reason})")
            elif kind == "api.watch_event":
                key = f"{msg.target}#{msg.payload.get('id')}"
                if key in self.watchers:
                    self._end_watcher(key, f"the stream to {msg.target} broke ({reason})", notify=False)
            elif kind == "api.log_chunk":
                key = f"{msg.target}#{msg.payload.get('id')}"
                if key in self.log_streams:
                    self._end_log_stream(key, notify=False)
        except Exception as exc:  # noqa: BLE001
            self._internal_error(exc, None, None)

    def _internal_error(self, exc: Exception, source: str | None, payload) -> None:
        text = f"{type(exc).__name__}: {exc}"
        self.counters["errors"] += 1
        self.emit("api.error", f"{self.name}: unexpected {text}", target=source, error=text)
        if source is not None and isinstance(payload, dict) and "id" in payload:
            key = f"{source}#{payload.get('id')}"
            op = self.ops.pop(key, None)
            if op is not None:
                self._drop_op_state(key)
            self._send_response(source, payload.get("id"), 500, st.internal_error(text), key=key, stage="internal")

    # --- requests: parse, authenticate, authorize --------------------------------------------------
    def _on_request(self, source: str, payload) -> None:
        if not isinstance(payload, dict) or not isinstance(payload.get("id"), (int, str)) or isinstance(payload.get("id"), bool):
            self.emit("api.reject", f"{self.name} drops a request from {source} without a usable id", target=source)
            return
        rid = payload["id"]
        key = f"{source}#{rid}"
        if key in self.ops or key in self.watchers or key in self.log_streams:
            self.emit("api.reject", f"{self.name} drops a second request {rid} from {source}: that id is in use", target=source, request=key)
            return
        self.counters["requests"] += 1
        self.next_seq += 1
        op = {"key": key, "seq": self.next_seq, "client": source, "id": rid, "stage": "request", "started": self.now, "loopback": False}
        self.ops[key] = op
        self.set_timer(self.request_timeout_us, "op_timeout", [key, op["seq"]])
        try:
            self._parse(op, payload)
        except ApiError as err:
            self._emit_stage(op, "request", False, f"malformed request: {err.status['message']}")
            self._reply_error(op, err.status, "request")
            return
        self._emit_stage(op, "request", True, f"{self.name} receives {self._describe(op)} from {source}")
        if self.phase != "ready":
            op["stage"] = "waiting"
            self.gated.append(key)
            self.emit("api.wait", f"{self.name} holds {self._describe(op)}: its watch cache is still {self.phase}", target=source, request=key)
            return
        self._admit_request(op)

    def _describe(self, op: dict) -> str:
        info = op.get("info")
        what = group_resource(info) if info else str(op.get("resource"))
        if op.get("sub"):
            what += f"/{op['sub']}"
        where = f" {op['name']}" if op.get("name") else ""
        ns = f" in {op['namespace']}" if op.get("namespace") else ""
        return f"{op.get('verb', '?')} {what}{where}{ns}"

    def _parse(self, op: dict, p: dict) -> None:
        verb = p.get("verb")
        op["verb"] = verb if isinstance(verb, str) else None
        op["resource"] = p.get("resource")
        if verb not in VERBS:
            raise ApiError(st.method_not_allowed(f"the server does not allow this method on the requested resource (verb {verb!r})"))
        group, version, resource = p.get("group", ""), p.get("version", "v1"), p.get("resource")
        if group is None:
            group = ""
        if not isinstance(group, str) or not isinstance(version, str) or not isinstance(resource, str):
            raise ApiError(st.bad_request("group, version and resource must be strings"))
        info = lookup(group, resource)
        if info is None or info["version"] != version:
            raise ApiError(st.resource_not_found(f"{verb} {resource}"))
        op["info"] = info
        op["plural"] = info["plural"]
        sub = p.get("subresource")
        if sub is not None and not isinstance(sub, str):
            raise ApiError(st.bad_request("subresource must be a string"))
        if sub:
            sub_info = subresource(info, sub)
            if sub_info is None:
                raise ApiError(st.resource_not_found(f"{verb} {resource}/{sub}"))
            if verb not in sub_info["verbs"]:
                raise ApiError(st.method_not_allowed(f"the server does not allow this method on the requested resource ({verb} {resource}/{sub})"))
        elif verb not in info["verbs"]:
            raise ApiError(st.method_not_allowed(f"the server does not allow this method on the requested resource ({verb} {resource})"))
        op["sub"] = sub or None
        namespace, name = p.get("namespace"), p.get("name")
        if namespace == "":
            namespace = None
        if name == "":
            name = None
        if namespace is not None and not isinstance(namespace, str):
            raise ApiError(st.bad_request("namespace must be a string"))
        if name is not None and not isinstance(name, str):
            raise ApiError(st.bad_request("name must be a string"))
        if not info["namespaced"] and namespace is not None:
            raise ApiError(st.resource_not_found(f"{verb} {resource} in namespace {namespace}"))
        if info["namespaced"] and namespace is None and verb not in ("list", "watch"):
            raise ApiError(st.bad_request("a namespace is required for this request"))
        if name is None and (verb in ("get", "update", "patch", "delete") or sub):
            raise ApiError(st.bad_request(f"a resource name is required to {verb} {resource}"))
        if name is not None and verb in ("list", "watch", "deletecollection"):
            raise ApiError(st.bad_request(f"a resource name may not be given to {verb} {resource}"))
        if name is not None and verb == "create" and not sub:
            raise ApiError(st.method_not_allowed("the server does not allow this method on the requested resource (create with a name in the path)"))
        op["namespace"], op["name"] = namespace, name
        query = p.get("query")
        if query is None:
            query = {}
        if not isinstance(query, dict) or not is_json_safe(query):
            raise ApiError(st.bad_request("query must be an object"))
        op["query"] = query
        body = p.get("body")
        if body is not None and not is_json_safe(body):
            raise ApiError(st.bad_request("the request body is not JSON data"))
        patch_type = p.get("patch_type")
        if verb == "patch":
            if patch_type not in PATCH_TYPES:
                raise ApiError(st.unsupported_media_type(str(patch_type)))
            if patch_type == "json":
                if not isinstance(body, list):
                    raise ApiError(st.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch"))
            elif not isinstance(body, dict):
                raise ApiError(st.bad_request("the body of the request was not a JSON object"))
        elif verb in ("create", "update") and not isinstance(body, dict):
            raise ApiError(st.bad_request("the body of the request must be a JSON object"))
        elif verb in ("delete", "deletecollection") and body is not None and not isinstance(body, dict):
            raise ApiError(st.bad_request("the body of a delete must be a DeleteOptions object"))
        op["body"] = body
        op["patch_type"] = patch_type
        user = p.get("user")
        if user is not None:
            if not isinstance(user, dict) or not isinstance(user.get("name"), str) or not user.get("name"):
                raise ApiError(st.bad_request("user must be an object with a name"))
            groups = user.get("groups") or []
            if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
                raise ApiError(st.bad_request("user.groups must be a list of strings"))
            user = {"name": user["name"], "groups": list(groups)}
        op["claimed_user"] = user
        token = p.get("token")
        if token is not None and not isinstance(token, str):
            raise ApiError(st.bad_request("token must be a string"))
        op["token"] = token
        op["as_table"] = bool(p.get("as_table")) and verb in READ_VERBS
        include = p.get("include_object", "Metadata")
        if include not in (None, "None", "Metadata", "Object"):
            raise ApiError(st.bad_request(f"includeObject must be one of None, Metadata or Object, not {include!r}"))
        op["include_object"] = include or "Metadata"
        self._parse_query(op)

    def _parse_query(self, op: dict) -> None:
        q = op["query"]
        rv = q.get("resourceVersion")
        if rv is not None and rv != "":
            if isinstance(rv, bool) or not isinstance(rv, (str, int)) or not str(rv).isdigit():
                raise ApiError(st.bad_request(f'invalid resource version "{rv}"'))
            rv = int(rv)
        else:
            rv = None
        op["rv"] = rv
        match = q.get("resourceVersionMatch")
        if match not in (None, "", "NotOlderThan", "Exact"):
            raise ApiError(st.bad_request(f'"resourceVersionMatch" must be one of NotOlderThan, Exact; got "{match}"'))
        if match and rv is None:
            raise ApiError(st.bad_request('resourceVersionMatch is forbidden unless resourceVersion is provided'))
        if match == "Exact" and rv == 0:
            raise ApiError(st.bad_request('resourceVersionMatch "exact" is forbidden for resourceVersion "0"'))
        op["rv_match"] = match or None
        limit = q.get("limit")
        if limit in (None, ""):
            limit = 0
        try:
            limit = int(limit)
        except (TypeError, ValueError):
            raise ApiError(st.bad_request(f'invalid limit "{limit}"')) from None
        op["limit"] = max(0, min(limit, MAX_LIMIT))
        token = q.get("continue")
        op["continue"] = token if isinstance(token, str) and token else None
        if op["continue"] and rv is not None and op["verb"] == "list":
            raise ApiError(st.bad_request("specifying resource version is not allowed when using continue"))
        try:
            op["labels"] = parse_labels(q.get("labelSelector"))
            op["fields"] = parse_fields(q.get("fieldSelector"))
            check_fields(op["fields"], op["plural"])
        except SelectorError as err:
            raise ApiError(st.bad_request(str(err))) from None
        timeout = q.get("timeoutSeconds")
        if timeout not in (None, ""):
            try:
                timeout = int(timeout)
            except (TypeError, ValueError):
                raise ApiError(st.bad_request(f'invalid timeoutSeconds "{timeout}"')) from None
            op["timeout_s"] = max(0, timeout)
        else:
            op["timeout_s"] = None
        op["bookmarks"] = q.get("allowWatchBookmarks") in (True, "true", "True", "1", 1)
        validation = q.get("fieldValidation") or "Warn"
        if validation not in ("Ignore", "Warn", "Strict"):
            raise ApiError(st.bad_request(f"fieldValidation must be one of Ignore, Warn or Strict, got {validation!r}"))
        op["field_validation"] = validation
        dry_run = q.get("dryRun")
        if dry_run not in (None, "", "All", ["All"]):
            raise ApiError(st.bad_request(f"Invalid dryRun value: {dry_run!r}: supported values: \"All\""))
        op["dry_run"] = bool(dry_run)
        manager = q.get("fieldManager")
        if manager is not None and (not isinstance(manager, str) or len(manager) > 128):
            raise ApiError(st.bad_request("fieldManager must be a string of at most 128 characters"))
        op["field_manager"] = manager or None
        if op["verb"] == "patch" and op["patch_type"] == "apply" and not manager:
            raise ApiError(st.bad_request("PATCH, application/apply-patch+yaml requires fieldManager to be set"))
        op["force"] = q.get("force") in (True, "true", "True", "1", 1)

    def _admit_request(self, op: dict) -> None:
        user = self._authenticate(op)
        if user is None:
            return
        if not self._authorize(op, user):
            return
        self._dispatch(op)

    def _authenticate(self, op: dict) -> dict | None:
        if op["loopback"]:
            user, how = LOOPBACK_USER, "loopback"
        elif op.get("token") is not None:
            user = self.tokens.get(op["token"])
            if user is None:
                self._emit_stage(op, "authn", False, "an unknown bearer token: 401 Unauthorized")
                self._reply_error(op, st.unauthorized(), "authn")
                return None
            how = "bearer token"
        elif op.get("claimed_user") is not None:
            user, how = op["claimed_user"], "client certificate"
        else:
            user, how = ANONYMOUS, "no credentials"
        if user is not ANONYMOUS and "system:authenticated" not in user["groups"]:
            user = {"name": user["name"], "groups": [*user["groups"], "system:authenticated"]}
        op["user"] = user
        self._emit_stage(op, "authn", True, f"{self.name} authenticates the request as {user['name']} ({how})", user=user["name"])
        return user

    def _authorize(self, op: dict, user: dict) -> bool:
        attrs = self._attrs(op)
        if not self.rbac_enabled:
            self._emit_stage(op, "authz", True, f"{user['name']} may {attrs['verb']} {attrs['resource']}: authorization is off (AlwaysAllow)", mode="AlwaysAllow")
            return True
        allowed, why = rbac.authorize(self.cache, user, attrs)
        if allowed:
            self._emit_stage(op, "authz", True, f"RBAC: {user['name']} may {attrs['verb']} {attrs['resource']} ({why})", mode="RBAC")
            return True
        message = rbac.forbidden_message(user, attrs, group_resource(op["info"]))
        self._emit_stage(op, "authz", False, f"RBAC: {message}", mode="RBAC")
        self._reply_error(op, st.forbidden_message(message, op["info"], attrs.get("name")), "authz")
        return False

    def _attrs(self, op: dict) -> dict:
        name = op["name"]
        if name is None and op["verb"] == "create" and isinstance(op.get("body"), dict):
            name = None
        return {"verb": op["verb"], "group": op["info"]["group"], "resource": op["plural"], "subresource": op["sub"], "namespace": op["namespace"], "name": name}

    def _dispatch(self, op: dict) -> None:
        verb, sub = op["verb"], op["sub"]
        if verb == "get":
            if sub == "log":
                self._get_log(op)
            else:
                self._get(op)
        elif verb == "list":
            self._list(op)
        elif verb == "watch":
            self._watch(op)
        elif verb == "deletecollection":
            self._delete_collection(op)
        else:
            self._start_write(op)

    # --- responses and events ------------------------------------------------------------------------
    def _emit_stage(self, op: dict, stage: str, ok: bool, summary: str, **data) -> None:
        op["stage"] = stage
        self.emit(f"api.{stage}", summary, target=op["client"], request=op["key"], ok=ok, **data)

    def _reply(self, op: dict, code: int, body=None, **extra) -> None:
        key = op["key"]
        if self.ops.pop(key, None) is None:
            return
        self._drop_op_state(key)
        if op.get("loopback"):
            self._loopback_done(op, code, body)
            return
        self._send_response(op["client"], op["id"], code, body, key=key, stage=op.get("stage"), **extra)

    def _reply_error(self, op: dict, status: dict, stage: str) -> None:
        op["stage"] = stage
        op["rejected_by"] = stage
        self._reply(op, status["code"], status)

    def _send_response(self, client: str, rid, code: int, body, *, key: str, stage: str | None, **extra) -> None:
        self.counters["responses"] += 1
        payload = {"id": rid, "code": code}
        if body is not None:
            payload["body"] = body
        payload.update(extra)
        failed = code >= 400
        reason = body.get("reason") if failed and isinstance(body, dict) else None
        summary = f"{self.name} → {client}: {code}" + (f" {reason}" if reason else "")
        data = {"request": key, "code": code}
        if failed:
            data["reason"] = reason
            data["rejected_by"] = stage
        self.emit("api.response", summary, target=client, **data)
        self.send(client, "api.response", payload, summary=summary, info={"request": key, "code": code})

    def _drop_op_state(self, key: str) -> None:
        reservation = self.reservations.get(key)
        if reservation is not None and reservation["revision"] is None:
            del self.reservations[key]
        if key in self.gated:
            self.gated.remove(key)
        self.fresh_waiters = [w for w in self.fresh_waiters if w[1] != key]
        for rid in self.op_etcd.pop(key, ()):
            self.etcd_pending.pop(rid, None)

    def _on_op_timeout(self, data) -> None:
        key, seq = data
        op = self.ops.get(key)
        if op is None or op.get("seq") != seq:
            return
        if op.get("loopback"):
            # Internal work (bootstrap) never gives up: try again from the start.
            return
        self._reply(op, 504, st.timeout("Timeout: request did not complete within requested timeout - context deadline exceeded"))

    # --- loopback: the API server's own requests (bootstrap objects), through the same pipeline ----------
    def _loopback(self, verb: str, plural: str, group: str, namespace: str | None, body: dict | None, purpose: str, name: str | None = None) -> None:
        self.next_loopback += 1
        rid = self.next_loopback
        key = f"{self.name}#{rid}"
        payload = {"id": rid, "verb": verb, "group": group, "version": "v1", "resource": plural, "namespace": namespace, "name": name, "body": body}
        op = {"key": key, "client": self.name, "id": rid, "stage": "request", "started": self.now, "loopback": True, "purpose": purpose}
        self.ops[key] = op
        self._parse(op, payload)
        self._emit_stage(op, "request", True, f"{self.name} (loopback) sends itself {self._describe(op)}")
        self._admit_request(op)

    def _loopback_done(self, op: dict, code: int, body) -> None:
        ok = code < 300 or code == 409
        self.emit("api.loopback", f"{self.name}: {op['purpose']}: {code}", request=op["key"], code=code, ok=ok)
        if op["purpose"] == "collection":
            self._collection_child_done(op, code, body)
            return
        if op["purpose"] == "bootstrap":
            if not ok:
                # Try again (etcd may have lost its leader).
                self._loopback(op["verb"], op["plural"], op["info"]["group"], op["namespace"], op["body"], "bootstrap")
                return
            self.bootstrap_left -= 1
            if self.bootstrap_left <= 0 and self.phase == "bootstrapping":
                self._become_ready()

    def _bootstrap(self) -> None:
        self.phase = "bootstrapping"
        todo = []
        for ns in DEFAULT_NAMESPACES:
            if self.cache.get("namespaces", f"{REGISTRY}namespaces/{ns}") is None:
                todo.append(("namespaces", "", None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
        if self.cache.get("services", f"{REGISTRY}services/specs/default/kubernetes") is None:
            todo.append(("services", "", "default", {
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"clusterIP": self._first_service_ip(), "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}], "sessionAffinity": "None", "type": "ClusterIP"},
            }))
        for plural, obj in rbac.bootstrap_policy():
            if self.cache.get(plural, etcd_key(lookup("rbac.authorization.k8s.io", plural), None, obj["metadata"]["name"])) is None:
                todo.append((plural, "rbac.authorization.k8s.io", None, obj))
        if not todo:
            self._become_ready()
            return
        self.bootstrap_left = len(todo)
        self.emit("api.bootstrap", f"{self.name} creates {len(todo)} default object(s): namespaces, the kubernetes service, RBAC roles", count=len(todo))
        for plural, group, namespace, body in todo:
            self._loopback("create", plural, group, namespace, body, "bootstrap")

    def _become_ready(self) -> None:
        self.phase = "ready"
        self.emit("api.ready", f"{self.name} is ready: watch cache at revision {self.cache.revision}", revision=self.cache.revision)
        gated, self.gated = self.gated, []
        for key in gated:
            op = self.ops.get(key)
            if op is not None:
                self._admit_request(op)

    # --- reads -----------------------------------------------------------------------------------------
    def _key_of(self, op: dict, name: str | None = None) -> str:
        return etcd_key(op["info"], op["namespace"], name or op["name"])

    def _get(self, op: dict) -> None:
        rv = op["rv"]
        if rv is None:
            # A consistent get: read the key from etcd (quorum read).
            self._emit_stage(op, "etcd", True, f"{self.name} reads {self._key_of(op)} from etcd", key=self._key_of(op))
            self._etcd_send({"op": "get", "key": self._key_of(op)}, "get_done", op=op["key"])
        else:
            self._when_fresh(op, rv, "get_from_cache")

    def _get_done(self, entry: dict, payload: dict) -> None:
        op = self.ops.get(entry["op"])
        if op is None:
            return
        if not payload.get("ok"):
            self._reply(op, 500, st.internal_error(payload.get("error", "etcd error")))
            return
        if payload.get("value") is None:
            self._reply(op, 404, st.not_found(op["info"], op["name"]))
            return
        try:
            obj = decode(payload["value"], payload["mod_revision"])
        except ValueError:
            self._reply(op, 500, st.internal_error("the stored object is not JSON"))
            return
        self._reply_object(op, obj)

    def _get_from_cache(self, op: dict) -> None:
        obj = self.cache.get(op["plural"], self._key_of(op))
        self._emit_stage(op, "cache", True, f"{self.name} serves {self._describe(op)} from its watch cache (revision {self.cache.revision})", revision=self.cache.revision)
        if obj is None:
            self._reply(op, 404, st.not_found(op["info"], op["name"]))
            return
        self._reply_object(op, copy_json(obj))

    def _reply_object(self, op: dict, obj: dict) -> None:
        if op["sub"] == "scale":
            self._reply(op, 200, self._scale_of(op["info"], obj))
        elif op["as_table"]:
            self._reply(op, 200, tables.table(op["info"], [obj], self.now, op["include_object"], resource_version=meta_of(obj).get("resourceVersion")))
        else:
            self._reply(op, 200, obj)

    def _list(self, op: dict) -> None:
        if op["continue"]:
            try:
                token = _decode_continue(op["continue"])
            except ValueError as err:
                self._reply_error(op, st.bad_request(f"continue key is not valid: {err}"), "request")
                return
            op["snapshot_rv"], op["start_after"] = token
            self._when_fresh(op, op["snapshot_rv"], "list_from_cache")
        elif op["rv"] is None:
            # Consistent list from cache: learn etcd's current revision, wait for the cache to reach it.
            prefix = resource_prefix(op["info"])
            self._emit_stage(op, "etcd", True, f"{self.name} asks etcd for its current revision (consistent list of {group_resource(op['info'])})", key=prefix)
            self._etcd_send({"op": "range", "key": prefix, "prefix": True, "limit": 1}, "list_revision_done", op=op["key"])
        elif op["rv"] == 0:
            op["snapshot_rv"] = None
            self._list_from_cache(op)
        else:
            if op["rv_match"] == "Exact" or op["limit"]:
                op["snapshot_rv"] = op["rv"]
            else:
                op["snapshot_rv"] = None
            self._when_fresh(op, op["rv"], "list_from_cache")

    def _list_revision_done(self, entry: dict, payload: dict) -> None:
        op = self.ops.get(entry["op"])
        if op is None:
            return
        if not payload.get("ok"):
            self._reply(op, 500, st.internal_error(payload.get("error", "etcd error")))
            return
        op["snapshot_rv"] = None
        self._when_fresh(op, payload["revision"], "list_from_cache")

    def _list_from_cache(self, op: dict) -> None:
        info, plural = op["info"], op["plural"]
        prefix = resource_prefix(info) + (f"{op['namespace']}/" if op["namespace"] else "")
        snapshot_rv = op.get("snapshot_rv")
        start_after = op.get("start_after") or ""
        if snapshot_rv is not None and snapshot_rv < self.cache.revision:
            try:
                state = self.cache.snapshot(plural, snapshot_rv)
            except Expired as err:
                if op["continue"]:
                    message = ("The provided continue parameter is too old to display a consistent list result. You can start a new list without "
                               "the continue parameter, or use the continue value from the response to get a consistent snapshot.")
                    self._reply_error(op, st.expired(message), "cache")
                else:
                    self._reply_error(op, st.expired(str(err)), "cache")
                return
            keys = sorted(k for k in state if k.startswith(prefix) and k > start_after)
            pairs = [(k, state[k]) for k in keys]
            list_rv = snapshot_rv
        else:
            pairs = self.cache.items(plural, prefix, start_after + "\x00" if start_after else "")
            list_rv = self.cache.revision if snapshot_rv is None else max(snapshot_rv, self.cache.revision)
        items, last_key, more = [], None, False
        limit = op["limit"]
        for key, obj in pairs:
            if not self._matches(op, obj):
                continue
            if limit and len(items) >= limit:
                more = True
                break
            items.append(obj)
            last_key = key
        token = _encode_continue(list_rv, last_key) if more else None
        self._emit_stage(op, "cache", True, f"{self.name} lists {len(items)} {group_resource(info)} from its watch cache (revision {list_rv})", revision=list_rv, count=len(items))
        items = [copy_json(obj) for obj in items]
        if op["as_table"]:
            body = tables.table(info, items, self.now, op["include_object"], resource_version=str(list_rv), continue_token=token)
        else:
            meta = {"resourceVersion": str(list_rv)}
            if token:
                meta["continue"] = token
                if not op["labels"] and not op["fields"]:
                    meta["remainingItemCount"] = sum(1 for k, _o in pairs if k > last_key)
            body = {"kind": f"{info['kind']}List", "apiVersion": api_version(info), "metadata": meta, "items": items}
        self._reply(op, 200, body)

    def _matches(self, op: dict, obj: dict) -> bool:
        return labels_match(op["labels"], meta_of(obj).get("labels")) and fields_match(op["fields"], op["plural"], obj)

    # --- freshness: wait until the cache has seen a revision ------------------------------------------------
    def _when_fresh(self, op: dict, revision: int, then: str) -> None:
        op["then"] = then
        if self.cache.revision >= revision:
            getattr(self, "_" + then)(op)
            return
        op["stage"] = "cache"
        op["wait_revision"] = revision
        self.fresh_waiters.append([revision, op["key"]])
        self.fresh_waiters.sort()
        self.emit("api.cache_wait", f"{self.name} waits for its watch cache to reach revision {revision} (at {self.cache.revision})", target=op["client"], request=op["key"], revision=revision, cache=self.cache.revision)
        self.set_timer(self.fresh_timeout_us, "fresh_timeout", [op["key"], op.get("seq")])
        self._request_progress()

    def _wake_waiters(self) -> None:
        while self.fresh_waiters and self.fresh_waiters[0][0] <= self.cache.revision:
            _rev, key = self.fresh_waiters.pop(0)
            op = self.ops.get(key)
            if op is not None:
                getattr(self, "_" + op["then"])(op)

    def _on_fresh_timeout(self, data) -> None:
        key, seq = data
        waiting = [w for w in self.fresh_waiters if w[1] == key]
        op = self.ops.get(key)
        if not waiting or op is None or op.get("seq") != seq:
            return
        self.fresh_waiters = [w for w in self.fresh_waiters if w[1] != key]
        revision = waiting[0][0]
        message = f"Timeout: Too large resource version: {revision}, current: {self.cache.revision}"
        self._reply_error(op, st.timeout(message, [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]), "cache")

    # --- watches --------------------------------------------------------------------------------------------
    def _watch(self, op: dict) -> None:
        if op["rv"] is None or op["rv"] == 0:
            op["initial"] = True
            self._start_watch(op)
        else:
            op["initial"] = False
            self._when_fresh(op, op["rv"], "start_watch")

    def _start_watch(self, op: dict) -> None:
        key = op["key"]
        info, plural = op["info"], op["plural"]
        prefix = resource_prefix(info) + (f"{op['namespace']}/" if op["namespace"] else "")
        if op["initial"]:
            backlog = [(self.cache.revision, ADDED, obj) for _k, obj in self.cache.items(plural, prefix)]
            start_rv = self.cache.revision
        else:
            try:
                events = self.cache.events_since(op["rv"], plural)
            except Expired as err:
                self.ops.pop(key, None)
                self._drop_op_state(key)
                self.emit("watch.expired", f"{self.name}: {op['client']}'s watch of {group_resource(info)} from {op['rv']} is too old: {err}",
                          target=op["client"], request=key, resource=plural, rv=op["rv"], floor=err.floor)
                self._send_response(op["client"], op["id"], 200, None, key=key, stage="cache", watch=True)
                self.send(op["client"], "api.watch_event", {"id": op["id"], "type": "ERROR", "object": st.expired(str(err))}, summary=f"{self.name} → {op['client']}: watch ERROR 410 {err}")
                self.send(op["client"], "api.watch_end", {"id": op["id"]}, summary=f"{self.name} → {op['client']}: watch over")
                return
            backlog = []
            for event in events:
                if event[3].startswith(prefix):
                    seen = self._watch_view(op, event)
                    if seen is not None:
                        backlog.append((event[0], seen[0], seen[1]))
            start_rv = op["rv"]
        self.ops.pop(key, None)
        self._drop_op_state(key)
        watcher = {
            "key": key, "seq": op.get("seq"), "client": op["client"], "id": op["id"], "plural": plural, "group": info["group"], "namespace": op["namespace"], "prefix": prefix,
            "labels": op["labels"], "fields": op["fields"], "table": op["as_table"], "include_object": op["include_object"],
            "bookmarks": op["bookmarks"], "rv": start_rv, "started": self.now, "user": op["user"]["name"], "sent": 0, "columns_sent": False,
        }
        self.watchers[key] = watcher
        if op["timeout_s"]:
            self.set_timer(op["timeout_s"] * SECOND, "watch_timeout", [key, op.get("seq")])
        self.emit("watch.start", f"{op['client']} watches {group_resource(info)}" + (f" in {op['namespace']}" if op["namespace"] else "")
                  + (f" from resourceVersion {op['rv']}" if not op["initial"] else " (current state first)"),
                  target=op["client"], watcher=key, resource=plural, rv=start_rv, labels=self.ops_selector_text(op), initial=op["initial"])
        self._send_response(op["client"], op["id"], 200, None, key=key, stage="cache", watch=True)
        for rev, kind, obj in backlog:
            if kind == ADDED and op["initial"] and not self._matches(op, obj):
                continue
            self._deliver(watcher, kind, obj, rev)

    @staticmethod
    def ops_selector_text(op: dict) -> str:
        return op["query"].get("labelSelector") or ""

    def _watch_view(self, w: dict, event: tuple) -> tuple[str, dict] | None:
        """What a watcher with selectors sees of a cache event (cacher's convertToWatchEvent):
        an object that starts matching is ADDED, one that stops matching is DELETED (its
        previous state, with the event's resourceVersion)."""
        rev, _plural, kind, _key, obj, prev = event
        if kind == DELETED:
            return (DELETED, obj) if self._matches(w, prev) else None
        now_matches = self._matches(w, obj)
        before = prev is not None and self._matches(w, prev)
        if now_matches:
            return (MODIFIED if before else ADDED), obj
        if before:
            gone = dict(prev)
            gone["metadata"] = dict(prev.get("metadata") or {}, resourceVersion=str(rev))
            return DELETED, gone
        return None

    def _fan_out(self, event: tuple) -> None:
        rev, plural, _kind, key, _obj, _prev = event
        for wkey in sorted(self.watchers):
            w = self.watchers.get(wkey)
            if w is None or w["plural"] != plural or not key.startswith(w["prefix"]) or rev <= w["rv"]:
                continue
            seen = self._watch_view(w, event)
            if seen is not None:
                self._deliver(w, seen[0], seen[1], rev)
            else:
                w["rv"] = rev

    def _deliver(self, w: dict, kind: str, obj: dict, rev: int) -> None:
        w["rv"] = max(w["rv"], rev)
        w["sent"] += 1
        self.counters["watch_events"] += 1
        info = lookup(w["group"], w["plural"])
        body = copy_json(obj)
        if w["table"]:
            body = tables.table(info, [body], self.now, w["include_object"], resource_version=str(rev), with_columns=not w["columns_sent"])
            w["columns_sent"] = True
        name = meta_of(obj).get("name")
        self.emit("watch.event", f"{self.name} → {w['client']}: {kind} {w['plural']}/{name} (rv {rev})", target=w["client"], watcher=w["key"], resource=w["plural"], type=kind, rv=rev, name=name)
        self.send(w["client"], "api.watch_event", {"id": w["id"], "type": kind, "object": body}, summary=f"{self.name} → {w['client']}: {kind} {w['plural']}/{name}",
                  info={"watcher": w["key"], "type": kind, "rv": rev})

    def _send_bookmarks(self, reason: str = "periodic") -> None:
        revision = self.cache.revision
        for wkey in sorted(self.watchers):
            w = self.watchers[wkey]
            if not w["bookmarks"] or w["rv"] >= revision:
                continue
            w["rv"] = revision
            info = lookup(w["group"], w["plural"])
            obj = {"kind": info["kind"], "apiVersion": api_version(info), "metadata": {"resourceVersion": str(revision)}}
            self.emit("watch.bookmark", f"{self.name} → {w['client']}: BOOKMARK {w['plural']} at {revision} ({reason})", target=w["client"], watcher=wkey, resource=w["plural"], type="BOOKMARK", rv=revision)
            self.send(w["client"], "api.watch_event", {"id": w["id"], "type": "BOOKMARK", "object": obj}, summary=f"{self.name} → {w['client']}: BOOKMARK at {revision}")

    def _on_watch_cancel(self, source: str, payload) -> None:
        if not isinstance(payload, dict):
            return
        key = f"{source}#{payload.get('id')}"
        if key in self.watchers:
            self._end_watcher(key, f"{source} cancelled it", notify=False)
        elif key in self.log_streams:
            self._end_log_stream(key, notify=False)
        elif key in self.ops and self.ops[key].get("verb") == "watch":
            op = self.ops.pop(key)
            self._drop_op_state(key)
            self.emit("watch.end", f"{source} cancels its watch before it started", target=source, watcher=key, resource=op.get("plural"))

    def _on_watch_timeout(self, data) -> None:
        key, seq = data
        if key in self.watchers and self.watchers[key]["seq"] == seq:
            self._end_watcher(key, "timeoutSeconds passed", notify=True)

    def _end_watcher(self, key: str, why: str, notify: bool) -> None:
        w = self.watchers.pop(key)
        self.emit("watch.end", f"{w['client']}'s watch of {w['plural']} ends: {why}", target=w["client"], watcher=key, resource=w["plural"], rv=w["rv"], reason=why)
        if notify:
            self.send(w["client"], "api.watch_end", {"id": w["id"]}, summary=f"{self.name} → {w['client']}: watch over ({why})")

    # --- writes: the mutation engine ------------------------------------------------------------------------
    def _start_write(self, op: dict) -> None:
        verb, sub = op["verb"], op["sub"]
        if verb == "create":
            mutation = {"binding": "binding", "eviction": "eviction"}.get(sub, "create")
        elif verb == "delete":
            mutation = "delete"
        elif verb == "update":
            mutation = {"status": "status", "scale": "scale", "finalize": "finalize"}.get(sub, "update")
        else:
            mutation = "apply" if op["patch_type"] == "apply" and not sub else "patch"
        op["mutation"] = mutation
        op["lookups"] = {}
        op["attempts"] = 0
        op["unknown"] = False
        op["warnings"] = []
        if mutation == "create":
            name = dig(op["body"], "metadata", "name")
            op["etcd_key"] = None if not isinstance(name, str) or not name else self._key_of(op, name)
        else:
            op["etcd_key"] = self._key_of(op)
        if mutation in ("create",):
            self._attempt(op, None, fresh=False)
            return
        current = self.cache.get(op["plural"], op["etcd_key"])
        self._attempt(op, copy_json(current) if current is not None else None, fresh=False)

    def _attempt(self, op: dict, current: dict | None, fresh: bool) -> None:
        op["current"] = current
        op["current_fresh"] = fresh
        try:
            action, new = getattr(self, "_transform_" + op["mutation"])(op, current, fresh)
        except _Fetch as need:
            self._emit_stage(op, "etcd", True, f"{self.name} reads {need.key} from etcd (the cache may be behind)", key=need.key)
            self._etcd_send({"op": "get", "key": need.key}, "fetch_done", op=op["key"], fetch=need.key)
            return
        except ApiError as err:
            self._reply_error(op, err.status, op.get("stage") or "validation")
            return
        if action == "noop":
            self._finish_write(op, current, None)
            return
        if op["dry_run"]:
            self._emit_stage(op, "etcd", True, f"{self.name}: dry run, nothing is written")
            self._finish_write(op, new if action == "put" else current, None)
            return
        key = op["etcd_key"]
        if action == "put":
            value = encode(new)
            compare = {"key": key, "target": "create", "result": "=", "value": 0} if current is None else {"key": key, "target": "mod", "result": "=", "value": rv_of(current)}
            request = {"op": "txn", "compare": [compare], "success": [{"op": "put", "key": key, "value": value}], "failure": [{"op": "get", "key": key}]}
            op["written"] = value
            what = f"create {key}" if current is None else f"update {key} if its mod revision is still {rv_of(current)}"
        else:
            request = {"op": "txn", "compare": [{"key": key, "target": "mod", "result": "=", "value": rv_of(current)}], "success": [{"op": "delete", "key": key}], "failure": [{"op": "get", "key": key}]}
            op["written"] = None
            what = f"delete {key} if its mod revision is still {rv_of(current)}"
        op["action"], op["new"] = action, new
        self._emit_stage(op, "etcd", True, f"{self.name} → etcd: txn {what}", key=key, action=action)
        self._etcd_send(request, "txn_done", op=op["key"])

    def _fetch_done(self, entry: dict, payload: dict) -> None:
        op = self.ops.get(entry["op"])
        if op is None:
            return
        if not payload.get("ok"):
            self._reply(op, 500, st.internal_error(payload.get("error", "etcd error")))
            return
        key = entry["fetch"]
        obj = None
        if payload.get("value") is not None:
            try:
                obj = decode(payload["value"], payload["mod_revision"])
            except ValueError:
                obj = None
        op["lookups"][key] = obj
        if key == op["etcd_key"]:
            self._attempt(op, obj, fresh=True)
        else:
            self._attempt(op, op["current"], op["current_fresh"])

    def _txn_done(self, entry: dict, payload: dict) -> None:
        op = self.ops.get(entry["op"])
        if op is None:
            return
        if not payload.get("ok"):
            self._reply(op, 500, st.internal_error(payload.get("error", "etcd error")))
            return
        if payload.get("succeeded"):
            self._finish_write(op, op["new"] if op["action"] == "put" else op["current"], payload["revision"])
            return
        kv = None
        responses = payload.get("responses") or []
        if responses and isinstance(responses[0], dict):
            kv = responses[0].get("kv")
        if op["unknown"]:
            # An earlier attempt timed out: maybe it was applied after all.
            if op["action"] == "put" and kv is not None and kv.get("value") == op["written"]:
                self._finish_write(op, op["new"], kv["mod_revision"])
                return
            if op["action"] == "delete" and kv is None:
                self._finish_write(op, op["current"], payload["revision"])
                return
        fresh = None
        if kv is not None:
            try:
                fresh = decode(kv["value"], kv["mod_revision"])
            except ValueError:
                fresh = None
        op["attempts"] += 1
        self.emit("api.conflict", f"{self.name}: {op['etcd_key']} changed under {self._describe(op)} (attempt {op['attempts']}): trying again with the current value",
                  target=op["client"], request=op["key"], key=op["etcd_key"], attempt=op["attempts"])
        if op["attempts"] > MAX_CONFLICT_RETRIES:
            self._reply_error(op, st.conflict(op["info"], op["name"] or "", "too many conflicts"), "etcd")
            return
        op["lookups"].pop(op["etcd_key"], None)
        self._attempt(op, fresh, fresh=True)

    def _finish_write(self, op: dict, obj: dict | None, revision: int | None) -> None:
        mutation = op["mutation"]
        if obj is not None:
            # The new object and the current one are this request's own copies: no copy needed.
            if revision is not None and op.get("action") == "put":
                obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
        reservation = self.reservations.get(op["key"])
        if reservation is not None:
            if revision is None or op.get("action") != "put" or self.cache.revision >= revision:
                del self.reservations[op["key"]]
            else:
                reservation["revision"] = revision
        extra = {"warnings": op["warnings"]} if op.get("warnings") else {}
        if mutation in ("binding", "eviction"):
            self._reply(op, 201, st.success(201), **extra)
        elif op["sub"] == "scale":
            self._reply(op, 200, self._scale_of(op["info"], obj), **extra)
        elif mutation == "create" or (mutation == "apply" and op.get("created")):
            self._reply(op, 201, obj, **extra)
        else:
            self._reply(op, 200, obj, **extra)

    # --- transforms: current object -> ("put" | "delete" | "noop", new object) ---------------------------------
    def _decode_body(self, op: dict, body: dict, kind: str | None = None) -> dict:
        """Check apiVersion/kind of a body, and report unknown fields per fieldValidation."""
        info = op["info"]
        expected_kind = kind or info["kind"]
        expected_version = api_version(info) if kind is None else {"Scale": "autoscaling/v1", "Binding": "v1", "Eviction": "policy/v1"}.get(kind, "v1")
        body_kind, body_version = body.get("kind"), body.get("apiVersion")
        if body_version and body_version != expected_version:
            if not (kind == "Eviction" and body_version == "policy/v1beta1"):
                raise ApiError(st.bad_request(f"the API version in the data ({body_version}) does not match the expected API version ({expected_version})"))
        if body_kind and body_kind != expected_kind:
            raise ApiError(st.bad_request(f"{body_kind} in version \"{info['version']}\" cannot be handled as a {expected_kind}: the kind in the data does not match the expected kind"))
        if not isinstance(body.get("metadata", {}), dict):
            raise ApiError(st.bad_request(f"{expected_kind} in version \"{info['version']}\" cannot be handled as a {expected_kind}: metadata must be an object"))
        if kind is None:
            unknown = unknown_fields(info["plural"], body)
            if unknown:
                text = ", ".join(f'unknown field "{u}"' for u in unknown)
                if op["field_validation"] == "Strict":
                    self._emit_stage(op, "validation", False, f"strict decoding: {text}", check="fieldValidation")
                    raise ApiError(st.bad_request(f"{expected_kind} in version \"{info['version']}\" cannot be handled as a {expected_kind}: strict decoding error: {text}"))
                if op["field_validation"] == "Warn":
                    op["warnings"] = [f'unknown field "{u}"' for u in unknown]
        return body

    def _check_namespace(self, op: dict, creating: bool = True) -> None:
        """NamespaceLifecycle admission for a create."""
        namespace = op["namespace"]
        info = op["info"]
        if not info["namespaced"] or not namespace:
            return
        key = etcd_key(lookup("", "namespaces"), None, namespace)
        if key in op["lookups"]:
            ns = op["lookups"][key]
        else:
            ns = self.cache.get("namespaces", key)
            if ns is None:
                raise _Fetch(key)
        if ns is None:
            self._emit_stage(op, "admission", False, f"NamespaceLifecycle: namespace {namespace} does not exist", plugin="NamespaceLifecycle")
            raise ApiError(st.namespace_not_found(namespace))
        if creating and (meta_of(ns).get("deletionTimestamp") or dig(ns, "status", "phase") == "Terminating"):
            message = f"unable to create new content in namespace {namespace} because it is being terminated"
            self._emit_stage(op, "admission", False, f"NamespaceLifecycle: {message}", plugin="NamespaceLifecycle")
            status = st.forbidden_message(f'{group_resource(info)} "{op.get("object_name") or ""}" is forbidden: {message}', info, op.get("object_name"))
            status["details"]["causes"] = [{"reason": "NamespaceTerminating", "message": f'namespace {namespace} is being terminated', "field": "metadata.namespace"}]
            raise ApiError(status)

    def _transform_create(self, op: dict, current, fresh: bool):
        info = op["info"]
        if fresh and current is not None:
            self._emit_stage(op, "etcd", False, f"{op['etcd_key']} exists already")
            raise ApiError(st.already_exists(info, meta_of(current).get("name")))
        obj = self._decode_body(op, copy_json(op["body"]))
        obj.setdefault("apiVersion", api_version(info))
        obj.setdefault("kind", info["kind"])
        meta = obj.setdefault("metadata", {})
        if meta.get("resourceVersion"):
            raise ApiError(st.bad_request("resourceVersion should not be set on objects to be created"))
        if info["namespaced"]:
            body_ns = meta.get("namespace")
            if body_ns and body_ns != op["namespace"]:
                raise ApiError(st.bad_request("the namespace of the provided object does not match the namespace sent on the request"))
            meta["namespace"] = op["namespace"]
        op["object_name"] = meta.get("name") or ""
        self._check_namespace(op)
        return "put", self._prepare_new(op, obj, manager_operation="Update")

    def _prepare_new(self, op: dict, obj: dict, manager_operation: str) -> dict:
        """Everything a create does after decoding: admission (defaulting, quota), metadata, validation."""
        info = op["info"]
        meta = obj["metadata"]
        # Server-owned metadata: never taken from the client.
        for field in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(field, None)
        if not meta.get("name") and isinstance(meta.get("generateName"), str) and meta.get("generateName"):
            if "generated_name" not in op:
                op["generated_name"] = meta["generateName"] + random_suffix(self.stream("names"))
            meta["name"] = op["generated_name"]
            op["etcd_key"] = self._key_of(op, meta["name"])
        if "uid" not in op:
            op["uid"] = new_uid(self.stream("uid"))
        meta["uid"] = op["uid"]
        meta["creationTimestamp"] = rfc3339(op["started"])
        if info["generation"]:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if info["status"] and info["plural"] not in ("services", "namespaces", "nodes"):
            obj.pop("status", None)
        apply_defaults(info["plural"], obj)
        self._admission_defaults(op, obj)
        self._emit_stage(op, "admission", True, f"admission: NamespaceLifecycle ok, defaults applied to {info['kind']} {meta.get('name')}", plugins=["NamespaceLifecycle", "ServiceAccount", "DefaultTolerationSeconds", "defaulting"])
        errors = validate(info, obj)
        if errors:
            status = st.invalid_status(info, meta.get("name") or "", errors)
            self._emit_stage(op, "validation", False, status["message"], causes=len(errors))
            raise ApiError(status)
        if not op["etcd_key"]:
            raise ApiError(st.invalid_status(info, "", [st.required("metadata.name", "name or generateName is required")]))
        self._emit_stage(op, "validation", True, f"validation: {qualified_kind(info)} {meta.get('name')} is valid")
        self._quota_admission(op, obj, None)
        patch.record_managed_fields(obj, None, op.get("field_manager") or _default_manager(op), manager_operation, api_version(info), rfc3339(self.now),
                                    fields=op.get("applied_paths") if manager_operation == "Apply" else None)
        return obj

    def _admission_defaults(self, op: dict, obj: dict) -> None:
        """Admission that fills in values on create: pod status, Job selectors, service IPs."""
        plural = op["plural"]
        if plural == "pods":
            obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec"))}
        elif plural == "jobs":
            job_selector(obj)
        elif plural == "services":
            admission.allocate_service_addresses(self, op, obj, None)
        elif plural == "namespaces":
            obj["status"] = {"phase": "Active"}
        elif plural == "secrets" and isinstance(obj.get("stringData"), dict):
            data = obj.setdefault("data", {})
            if isinstance(data, dict):
                for key, value in obj.pop("stringData").items():
                    if isinstance(value, str):
                        data[key] = base64.b64encode(value.encode()).decode()

    def _quota_admission(self, op: dict, obj: dict, old: dict | None) -> None:
        ok, message, usage = admission.check_quota(self, op, obj, old)
        if not ok:
            self._emit_stage(op, "admission", False, f"ResourceQuota: {message}", plugin="ResourceQuota")
            name = meta_of(obj).get("name") or ""
            raise ApiError(st.forbidden_message(f'{group_resource(op["info"])} "{name}" is forbidden: {message}', op["info"], name))
        op["usage"] = usage
        if usage and not op["dry_run"]:
            self.reservations[op["key"]] = {"namespace": op["namespace"], "usage": usage, "revision": None}
        if usage:
            self._emit_stage(op, "admission", True, "ResourceQuota: within the namespace's quota", plugin="ResourceQuota")

    def _require_current(self, op: dict, current, fresh: bool) -> dict:
        if current is None:
            if not fresh:
                raise _Fetch(op["etcd_key"])
            self._emit_stage(op, "etcd", False, f"{op['etcd_key']} does not exist")
            raise ApiError(st.not_found(op["info"], op["name"]))
        return current

    def _precondition_rv(self, op: dict, wanted, current: dict, fresh: bool) -> None:
        if wanted in (None, ""):
            return
        if str(wanted) != meta_of(current).get("resourceVersion"):
            if not fresh:
                raise _Fetch(op["etcd_key"])
            self._emit_stage(op, "etcd", False, f"stale resourceVersion {wanted}: the object is at {meta_of(current).get('resourceVersion')}")
            raise ApiError(st.conflict(op["info"], op["name"]))

    def _transform_update(self, op: dict, current, fresh: bool, body: dict | None = None):
        info = op["info"]
        current = self._require_current(op, current, fresh)
        obj = self._decode_body(op, copy_json(body if body is not None else op["body"]))
        meta = obj.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != op["name"]:
            raise ApiError(st.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL ({op['name']})"))
        if info["namespaced"] and meta.get("namespace") and meta["namespace"] != op["namespace"]:
            raise ApiError(st.bad_request("the namespace of the provided object does not match the namespace sent on the request"))
        self._precondition_rv(op, meta.get("resourceVersion"), current, fresh)
        new = self._prepare_update(op, obj, current, operation="Update")
        return self._write_or_delete(op, new, current)

    def _prepare_update(self, op: dict, obj: dict, current: dict, operation: str) -> dict:
        info = op["info"]
        obj.setdefault("apiVersion", api_version(info))
        obj.setdefault("kind", info["kind"])
        meta = obj["metadata"]
        old_meta = meta_of(current)
        meta["name"] = old_meta.get("name")
        if info["namespaced"]:
            meta["namespace"] = old_meta.get("namespace")
        for field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
            if field in old_meta:
                meta[field] = old_meta[field]
            else:
                meta.pop(field, None)
        meta["resourceVersion"] = old_meta.get("resourceVersion")
        if info["status"] and info["plural"] not in ("namespaces",):
            if "status" in current:
                obj["status"] = copy_json(current["status"])
            else:
                obj.pop("status", None)
        elif info["plural"] == "namespaces":
            obj["status"] = copy_json(current.get("status") or {})
        apply_defaults(info["plural"], obj)
        if info["plural"] == "services":
            admission.allocate_service_addresses(self, op, obj, current)
        if info["generation"] and _spec_of(obj) != _spec_of(current):
            meta["generation"] = int(old_meta.get("generation") or 0) + 1
        self._emit_stage(op, "admission", True, f"admission: defaults applied to {info['kind']} {meta.get('name')}")
        errors = validate(info, obj, current)
        if errors:
            status = st.invalid_status(info, meta.get("name") or "", errors)
            self._emit_stage(op, "validation", False, status["message"], causes=len(errors))
            raise ApiError(status)
        self._emit_stage(op, "validation", True, f"validation: {qualified_kind(info)} {meta.get('name')} is valid")
        self._quota_admission(op, obj, current)
        patch.record_managed_fields(obj, current, op.get("field_manager") or _default_manager(op), operation, api_version(info), rfc3339(self.now))
        return obj

    def _write_or_delete(self, op: dict, new: dict, current: dict):
        if _same(new, current):
            self._emit_stage(op, "etcd", True, "nothing changed: no write")
            return "noop", current
        meta = new["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and (op["plural"] != "pods" or not meta.get("deletionGracePeriodSeconds")):
            if op["plural"] == "namespaces" and dig(new, "spec", "finalizers"):
                return "put", new
            op["deleted_by_update"] = True
            return "delete", current
        return "put", new

    def _transform_patch(self, op: dict, current, fresh: bool):
        current = self._require_current(op, current, fresh)
        sub = op["sub"]
        if sub == "scale":
            base = self._scale_of(op["info"], current)
        else:
            base = copy_json(current)
        try:
            patched = patch.apply_patch(op["patch_type"], base, op["body"], op["plural"])
        except patch.PatchError as err:
            self._emit_stage(op, "validation", False, f"the patch does not apply: {err}")
            raise ApiError(err.status) from None
        if not isinstance(patched, dict):
            raise ApiError(st.bad_request("the patched object is not an object"))
        if sub == "scale":
            return self._transform_scale(op, current, fresh, body=patched)
        if sub == "status":
            return self._transform_status(op, current, fresh, body=patched)
        if patched.get("metadata", {}).get("resourceVersion") != meta_of(current).get("resourceVersion"):
            self._precondition_rv(op, dig(patched, "metadata", "resourceVersion"), current, fresh)
        return self._transform_update(op, current, fresh, body=patched)

    def _transform_apply(self, op: dict, current, fresh: bool):
        info = op["info"]
        applied = self._decode_body(op, copy_json(op["body"]))
        meta = applied.get("metadata") or {}
        if meta.get("name") and meta["name"] != op["name"]:
            raise ApiError(st.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL ({op['name']})"))
        if not applied.get("apiVersion") or not applied.get("kind"):
            raise ApiError(st.bad_request("apply patches must set apiVersion and kind"))
        if current is None:
            if not fresh:
                # The cache says it does not exist: try to create it (the txn checks).
                pass
            op["created"] = True
            obj = copy_json(applied)
            obj.setdefault("metadata", {})["name"] = op["name"]
            if info["namespaced"]:
                obj["metadata"]["namespace"] = op["namespace"]
            op["object_name"] = op["name"]
            op["applied_paths"] = patch.paths(applied, op["plural"])
            self._check_namespace(op)
            op["etcd_key"] = self._key_of(op)
            return "put", self._prepare_new(op, obj, manager_operation="Apply")
        op["created"] = False
        try:
            merged = patch.server_side_apply(current, applied, op["field_manager"], op["force"], api_version(info), op["plural"], rfc3339(self.now))
        except patch.PatchError as err:
            self._emit_stage(op, "validation", False, f"apply: {err}")
            raise ApiError(err.status) from None
        self._precondition_rv(op, meta.get("resourceVersion"), current, fresh)
        merged.setdefault("metadata", {})
        new = self._prepare_update(op, merged, current, operation="Apply")
        return self._write_or_delete(op, new, current)

    def _transform_status(self, op: dict, current, fresh: bool, body: dict | None = None):
        info = op["info"]
        current = self._require_current(op, current, fresh)
        obj = self._decode_body(op, copy_json(body if body is not None else op["body"]))
        meta = obj.get("metadata") or {}
        if meta.get("name") and meta["name"] != op["name"]:
            raise ApiError(st.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL ({op['name']})"))
        if body is None:
            self._precondition_rv(op, meta.get("resourceVersion"), current, fresh)
        new = copy_json(current)
        if "status" in obj:
            new["status"] = obj["status"]
        else:
            new.pop("status", None)
        # Status writers may also change labels and annotations (as the real status strategies allow).
        for field in ("labels", "annotations"):
            if field in meta:
                new["metadata"][field] = meta[field]
        self._emit_stage(op, "admission", True, f"admission: status update of {info['kind']} {op['name']}")
        errors = validate_status_update(info, new, current)
        if errors:
            status = st.invalid_status(info, op["name"], errors)
            self._emit_stage(op, "validation", False, status["message"], causes=len(errors))
            raise ApiError(status)
        self._emit_stage(op, "validation", True, f"validation: status of {op['name']} is valid")
        patch.record_managed_fields(new, current, op.get("field_manager") or _default_manager(op), "Update", api_version(info), rfc3339(self.now), subresource="status")
        return self._write_or_delete(op, new, current)

    def _scale_of(self, info: dict, obj: dict) -> dict:
        meta = meta_of(obj)
        selector = dig(obj, "spec", "selector")
        from .selectors import selector_string

        status = {"replicas": int(dig(obj, "status", "replicas", default=0) or 0)}
        text = selector_string(selector) if isinstance(selector, dict) else ""
        if text:
            status["selector"] = text
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta},
            "spec": {"replicas": int(dig(obj, "spec", "replicas", default=0) or 0)},
            "status": status,
        }

    def _transform_scale(self, op: dict, current, fresh: bool, body: dict | None = None):
        info = op["info"]
        current = self._require_current(op, current, fresh)
        scale = self._decode_body(op, copy_json(body if body is not None else op["body"]), kind="Scale")
        replicas = dig(scale, "spec", "replicas")
        if replicas is None:
            replicas = 0
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            errors = [st.invalid("spec.replicas", replicas, "must be greater than or equal to 0")]
            status = st.invalid_status({"kind": "Scale", "group": "autoscaling", "plural": "scale"}, op["name"], errors)
            self._emit_stage(op, "validation", False, status["message"])
            raise ApiError(status)
        self._precondition_rv(op, dig(scale, "metadata", "resourceVersion"), current, fresh)
        new = copy_json(current)
        new.setdefault("spec", {})["replicas"] = replicas
        if info["generation"] and _spec_of(new) != _spec_of(current):
            new["metadata"]["generation"] = int(meta_of(current).get("generation") or 0) + 1
        self._emit_stage(op, "admission", True, f"admission: scale {info['kind']} {op['name']} to {replicas}")
        self._emit_stage(op, "validation", True, f"validation: {replicas} replicas is valid")
        patch.record_managed_fields(new, current, op.get("field_manager") or _default_manager(op), "Update", api_version(info), rfc3339(self.now), subresource="scale")
        return self._write_or_delete(op, new, current)

    def _transform_finalize(self, op: dict, current, fresh: bool):
        current = self._require_current(op, current, fresh)
        body = self._decode_body(op, copy_json(op["body"]))
        finalizers = dig(body, "spec", "finalizers", default=[]) or []
        if not isinstance(finalizers, list):
            raise ApiError(st.bad_request("spec.finalizers must be a list"))
        new = copy_json(current)
        new.setdefault("spec", {})["finalizers"] = finalizers
        self._emit_stage(op, "admission", True, f"namespace {op['name']}: finalizers now {finalizers}")
        self._emit_stage(op, "validation", True, "finalizers are valid")
        if meta_of(new).get("deletionTimestamp") and not finalizers and not meta_of(new).get("finalizers"):
            if _same(new, current):
                return "noop", current
            op["deleted_by_update"] = True
            return "delete", current
        return self._write_or_delete(op, new, current)

    def _transform_binding(self, op: dict, current, fresh: bool):
        current = self._require_current(op, current, fresh)
        binding = self._decode_body(op, copy_json(op["body"]), kind="Binding")
        target = binding.get("target")
        node = target.get("name") if isinstance(target, dict) else None
        if not isinstance(node, str) or not node:
            errors = [st.required("target.name")]
            raise ApiError(st.invalid_status({"kind": "Binding", "group": "", "plural": "bindings"}, op["name"], errors))
        if isinstance(target, dict) and target.get("kind") not in (None, "", "Node"):
            raise ApiError(st.invalid_status({"kind": "Binding", "group": "", "plural": "bindings"}, op["name"], [st.not_supported("target.kind", target.get("kind"), ["Node"])]))
        meta = meta_of(current)
        if meta.get("deletionTimestamp"):
            self._emit_stage(op, "admission", False, f"pod {op['name']} is being deleted")
            raise ApiError(st.conflict(op["info"], op["name"], f"pod {op['name']} is being deleted, cannot be assigned to a host", resource="pods/binding"))
        bound = dig(current, "spec", "nodeName")
        if bound:
            self._emit_stage(op, "admission", False, f"pod {op['name']} is already assigned to node {bound}")
            raise ApiError(st.conflict(op["info"], op["name"], f'pod {op["name"]} is already assigned to node "{bound}"', resource="pods/binding"))
        new = copy_json(current)
        new.setdefault("spec", {})["nodeName"] = node
        status = new.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict) and c.get("type") != "PodScheduled"]
        conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": rfc3339(self.now)})
        status["conditions"] = conditions
        self._emit_stage(op, "admission", True, f"binding: pod {op['name']} → node {node}")
        self._emit_stage(op, "validation", True, f"binding of {op['name']} to {node} is valid")
        patch.record_managed_fields(new, current, op.get("field_manager") or _default_manager(op), "Update", "v1", rfc3339(self.now))
        return "put", new

    def _delete_options(self, op: dict, body: dict | None) -> dict:
        options = {}
        if isinstance(body, dict):
            options.update(body)
        q = op["query"]
        for field in ("propagationPolicy", "gracePeriodSeconds", "orphanDependents"):
            if q.get(field) not in (None, ""):
                options[field] = q[field]
        grace = options.get("gracePeriodSeconds")
        if grace is not None:
            try:
                grace = int(grace)
            except (TypeError, ValueError):
                raise ApiError(st.bad_request(f"invalid gracePeriodSeconds {grace!r}")) from None
            options["gracePeriodSeconds"] = max(0, grace)
        policy = options.get("propagationPolicy")
        if policy not in (None, "Orphan", "Background", "Foreground"):
            raise ApiError(st.invalid_status({"kind": "DeleteOptions", "group": "", "plural": "deleteoptions"}, "", [st.not_supported("propagationPolicy", policy, ["Foreground", "Background", "Orphan", "nil"])]))
        if policy is None and options.get("orphanDependents") is not None:
            policy = "Orphan" if options["orphanDependents"] in (True, "true") else "Background"
        options["propagationPolicy"] = policy
        return options

    def _transform_delete(self, op: dict, current, fresh: bool, options: dict | None = None):
        info = op["info"]
        current = self._require_current(op, current, fresh)
        if options is None:
            options = self._delete_options(op, op["body"])
        meta = meta_of(current)
        pre = options.get("preconditions") if isinstance(options.get("preconditions"), dict) else {}
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            if not fresh:
                raise _Fetch(op["etcd_key"])
            raise ApiError(st.conflict(info, op["name"], f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {meta.get('uid')}"))
        if pre.get("resourceVersion") and str(pre["resourceVersion"]) != meta.get("resourceVersion"):
            if not fresh:
                raise _Fetch(op["etcd_key"])
            raise ApiError(st.conflict(info, op["name"], f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, ResourceVersion in object meta: {meta.get('resourceVersion')}"))
        if info["plural"] == "namespaces" and op["name"] in IMMORTAL_NAMESPACES:
            self._emit_stage(op, "admission", False, f"NamespaceLifecycle: namespace {op['name']} may not be deleted", plugin="NamespaceLifecycle")
            raise ApiError(st.forbidden_message(f'namespaces "{op["name"]}" is forbidden: this namespace may not be deleted', info, op["name"]))
        policy = options.get("propagationPolicy")
        finalizers = [f for f in meta.get("finalizers") or [] if isinstance(f, str)]
        if policy == "Orphan":
            finalizers = [f for f in finalizers if f != "foregroundDeletion"] + ([] if "orphan" in finalizers else ["orphan"])
        elif policy == "Foreground":
            finalizers = [f for f in finalizers if f != "orphan"] + ([] if "foregroundDeletion" in finalizers else ["foregroundDeletion"])
        elif policy == "Background":
            finalizers = [f for f in finalizers if f not in ("orphan", "foregroundDeletion")]
        grace = self._grace_period(info, current, options)
        self._emit_stage(op, "admission", True, f"admission: delete {info['kind']} {op['name']}" + (f" ({policy})" if policy else ""), propagation=policy, grace=grace)
        self._emit_stage(op, "validation", True, "delete options are valid")
        spec_finalizers = dig(current, "spec", "finalizers") if info["plural"] == "namespaces" else None
        if not finalizers and not grace and not spec_finalizers:
            return "delete", current
        new = copy_json(current)
        new_meta = new["metadata"]
        if finalizers:
            new_meta["finalizers"] = finalizers
        else:
            new_meta.pop("finalizers", None)
        if new_meta.get("deletionTimestamp"):
            old_grace = new_meta.get("deletionGracePeriodSeconds")
            if grace is not None and old_grace is not None and grace < old_grace:
                new_meta["deletionTimestamp"] = rfc3339(self.now + grace * SECOND)
                new_meta["deletionGracePeriodSeconds"] = grace
        else:
            new_meta["deletionTimestamp"] = rfc3339(self.now + (grace or 0) * SECOND)
            new_meta["deletionGracePeriodSeconds"] = grace or 0
            if info["generation"]:
                new_meta["generation"] = int(new_meta.get("generation") or 0) + 1
        if info["plural"] == "namespaces":
            new.setdefault("status", {})["phase"] = "Terminating"
        if not finalizers and not new_meta.get("deletionGracePeriodSeconds") and not spec_finalizers:
            return "delete", current
        if _same(new, current):
            return "noop", current
        return "put", new

    def _grace_period(self, info: dict, obj: dict, options: dict) -> int:
        """Pods bound to a node wait for their kubelet (grace period); everything else goes at once.
        The kubelet confirms a pod's end with a delete of grace period 0."""
        if info["plural"] != "pods":
            return 0
        if not dig(obj, "spec", "nodeName") or dig(obj, "status", "phase") in ("Succeeded", "Failed"):
            return 0
        grace = options.get("gracePeriodSeconds")
        if grace is None:
            grace = dig(obj, "spec", "terminationGracePeriodSeconds", default=30)
            if not isinstance(grace, int) or isinstance(grace, bool) or grace < 0:
                grace = 30
        return grace

    def _transform_eviction(self, op: dict, current, fresh: bool):
        current = self._require_current(op, current, fresh)
        eviction = self._decode_body(op, copy_json(op["body"]), kind="Eviction")
        name = dig(eviction, "metadata", "name")
        if name and name != op["name"]:
            raise ApiError(st.bad_request(f"name in URL does not match name in Eviction object ({name} != {op['name']})"))
        options = eviction.get("deleteOptions") if isinstance(eviction.get("deleteOptions"), dict) else {}
        options = self._delete_options(op, options)
        if dig(current, "metadata", "deletionTimestamp"):
            # Already terminating: evicting it again changes nothing.
            return self._transform_delete(op, current, fresh, options)
        allowed, message, causes = admission.check_disruption(self, op, current)
        if not allowed:
            self._emit_stage(op, "admission", False, f"PodDisruptionBudget: {causes[0]['message'] if causes else message}", plugin="PodDisruptionBudget")
            raise ApiError(st.too_many_requests(message, causes))
        return self._transform_delete(op, current, fresh, options)

    # --- deletecollection ------------------------------------------------------------------------------
    def _delete_collection(self, op: dict) -> None:
        info = op["info"]
        prefix = resource_prefix(info) + (f"{op['namespace']}/" if op["namespace"] else "")
        targets = [(k, o) for k, o in self.cache.items(op["plural"], prefix) if self._matches(op, o)]
        self._emit_stage(op, "cache", True, f"{self.name} deletes {len(targets)} {group_resource(info)} matching the selectors", count=len(targets))
        op["children"] = len(targets)
        op["deleted"] = []
        if not targets:
            self._reply(op, 200, {"kind": f"{info['kind']}List", "apiVersion": api_version(info), "metadata": {"resourceVersion": str(self.cache.revision)}, "items": []})
            return
        for _key, obj in targets:
            self.next_loopback += 1
            rid = self.next_loopback
            child_key = f"{self.name}#{rid}"
            meta = meta_of(obj)
            child = {
                "key": child_key, "client": self.name, "id": rid, "stage": "request", "started": self.now, "loopback": True, "purpose": "collection", "parent": op["key"],
                "verb": "delete", "info": info, "plural": info["plural"], "sub": None, "namespace": meta.get("namespace"), "name": meta.get("name"),
                "query": op["query"], "body": op["body"], "patch_type": None, "user": op["user"], "dry_run": op["dry_run"], "field_manager": None,
                "field_validation": "Ignore", "as_table": False, "include_object": "Metadata", "labels": [], "fields": [], "force": False,
            }
            self.ops[child_key] = child
            self._start_write(child)

    def _collection_child_done(self, child: dict, code: int, body) -> None:
        parent = self.ops.get(child.get("parent"))
        if parent is None:
            return
        parent["children"] -= 1
        if code < 300 and isinstance(body, dict):
            parent["deleted"].append(body)
        if parent["children"] <= 0:
            info = parent["info"]
            items = sorted(parent["deleted"], key=lambda o: (meta_of(o).get("namespace") or "", meta_of(o).get("name") or ""))
            self._reply(parent, 200, {"kind": f"{info['kind']}List", "apiVersion": api_version(info), "metadata": {"resourceVersion": str(self.cache.revision)}, "items": items})

    # --- pod logs -------------------------------------------------------------------------------------------
    def _get_log(self, op: dict) -> None:
        pod = self.cache.get("pods", self._key_of(op))
        self._emit_stage(op, "cache", True, f"{self.name} looks up pod {op['name']} for its log")
        if pod is None:
            self._reply(op, 404, st.not_found(op["info"], op["name"]))
            return
        containers = [c.get("name") for c in dig(pod, "spec", "containers", default=[]) or [] if isinstance(c, dict)]
        init = [c.get("name") for c in dig(pod, "spec", "initContainers", default=[]) or [] if isinstance(c, dict)]
        container = op["query"].get("container")
        if not container:
            if len(containers) != 1:
                self._reply_error(op, st.bad_request(f"a container name must be specified for pod {op['name']}, choose one of: [{' '.join(containers)}]"
                                                     + (f" or one of the init containers: [{' '.join(init)}]" if init else "")), "cache")
                return
            container = containers[0]
        if container not in containers and container not in init:
            self._reply_error(op, st.bad_request(f"container {container} is not valid for pod {op['name']}"), "cache")
            return
        node = dig(pod, "spec", "nodeName")
        if not node:
            self._reply_error(op, st.bad_request(f"pod {op['name']} does not have a host assigned"), "cache")
            return
        statuses = (dig(pod, "status", "containerStatuses", default=[]) or []) + (dig(pod, "status", "initContainerStatuses", default=[]) or [])
        state = next((s.get("state") for s in statuses if isinstance(s, dict) and s.get("name") == container), None)
        endpoint = self.kubelet_endpoint.format(node=node) if self.kubelet_endpoint else None
        if endpoint is None or endpoint not in self.sim.components:
            waiting = dig(state, "waiting", "reason") if isinstance(state, dict) else None
            reason = waiting or "ContainerCreating"
            self._reply_error(op, st.bad_request(f'container "{container}" in pod "{op["name"]}" is waiting to start: {reason}'), "cache")
            return
        if isinstance(state, dict) and isinstance(state.get("waiting"), dict):
            self._reply_error(op, st.bad_request(f'container "{container}" in pod "{op["name"]}" is waiting to start: {state["waiting"].get("reason") or "ContainerCreating"}'), "cache")
            return
        q = op["query"]
        op["log_endpoint"] = endpoint
        request = {"id": op["key"], "namespace": op["namespace"], "pod": op["name"], "container": container, "uid": meta_of(pod).get("uid")}
        for field in ("tailLines", "follow", "previous", "sinceSeconds", "timestamps", "limitBytes"):
            if field in q:
                request[field] = q[field]
        op["stage"] = "kubelet"
        self.emit("api.kubelet", f"{self.name} asks {endpoint} for the log of {op['name']}/{container}", target=endpoint, request=op["key"])
        self.send(endpoint, "kubelet.log", request, summary=f"{self.name} → {endpoint}: log of {op['name']}/{container}")

    def _on_kubelet_message(self, source: str, kind: str, payload) -> None:
        if not isinstance(payload, dict):
            return
        key = payload.get("id")
        if kind == "kubelet.log_response":
            op = self.ops.get(key)
            if op is None or op.get("log_endpoint") != source:
                return
            code = payload.get("code", 200)
            if not isinstance(code, int) or code >= 400:
                body = payload.get("body") if isinstance(payload.get("body"), dict) else st.bad_request(str(payload.get("text") or "log unavailable"))
                self._reply(op, body.get("code", 400), body)
                return
            text = payload.get("text") if isinstance(payload.get("text"), str) else ""
            if op["query"].get("follow") in (True, "true") and payload.get("stream"):
                self.ops.pop(key, None)
                self._drop_op_state(key)
                self.log_streams[key] = {"client": op["client"], "id": op["id"], "endpoint": source}
                self._send_response(op["client"], op["id"], 200, None, key=key, stage="kubelet", text=text, watch=True)
            else:
                self._reply(op, 200, None, text=text)
        elif kind == "kubelet.log_chunk":
            stream = self.log_streams.get(key)
            if stream is not None and isinstance(payload.get("text"), str):
                self.send(stream["client"], "api.log_chunk", {"id": stream["id"], "text": payload["text"]}, summary=f"{self.name} → {stream['client']}: log lines")
        elif kind == "kubelet.log_end":
            if key in self.log_streams:
                self._end_log_stream(key, notify=True)

    def _end_log_stream(self, key: str, notify: bool) -> None:
        stream = self.log_streams.pop(key)
        self.send(stream["endpoint"], "kubelet.log_cancel", {"id": key}, summary=f"{self.name} → {stream['endpoint']}: stop the log stream")
        if notify:
            self.send(stream["client"], "api.watch_end", {"id": stream["id"]}, summary=f"{self.name} → {stream['client']}: log stream over")

    # --- the etcd client ---------------------------------------------------------------------------------------
    def _etcd_send(self, request: dict, then: str, op: str | None = None, **extra) -> int:
        self.next_etcd += 1
        rid = self.next_etcd
        entry = {"request": request, "then": then, "op": op, "member": None, "tries": 0, "state": "new", **extra}
        self.etcd_pending[rid] = entry
        if op is not None:
            self.op_etcd.setdefault(op, []).append(rid)
        self._etcd_transmit(rid, entry)
        return rid

    def _etcd_transmit(self, rid: int, entry: dict) -> None:
        member = self.member
        entry["member"] = member
        entry["tries"] += 1
        entry["state"] = "sent"
        self.counters["etcd_requests"] += 1
        request = entry["request"]
        payload = dict(request, id=rid)
        what = request["op"] + (f" {request['key']}" if request.get("key") else f" {request['compare'][0]['key']}" if request.get("compare") else "")
        self.send(member, "etcd.request", payload, summary=f"{self.name} → {member}: {what}", info={"rpc": "Client", "op": request["op"], "request": rid, "api_request": entry.get("op")})
        self.set_timer(self.etcd_timeout_us, "etcd_timeout", [rid, entry["tries"]])

    def _on_etcd_response(self, source: str, payload) -> None:
        if not isinstance(payload, dict):
            return
        rid = payload.get("id")
        entry = self.etcd_pending.get(rid)
        if entry is None or entry["state"] != "sent" or entry["member"] != source:
            return
        if not payload.get("ok") and "compact_revision" not in payload:
            self._etcd_failed(rid, entry, payload.get("error", "error"), unknown=payload.get("outcome") == "unknown")
            return
        del self.etcd_pending[rid]
        self._forget_etcd(rid, entry)
        getattr(self, "_" + entry["then"])(entry, payload)

    def _forget_etcd(self, rid: int, entry: dict) -> None:
        ids = self.op_etcd.get(entry.get("op"))
        if ids is not None:
            if rid in ids:
                ids.remove(rid)
            if not ids:
                del self.op_etcd[entry["op"]]

    def _etcd_failed(self, rid: int, entry: dict, why: str, unknown: bool) -> None:
        member = entry["member"]
        entry["state"] = "backoff"
        if unknown and entry.get("op") in self.ops:
            self.ops[entry["op"]]["unknown"] = True
        self.emit("api.etcd_retry", f"{self.name}: {entry['request']['op']} via {member} failed ({why}); retrying", target=member, request=entry.get("op"), etcd_request=rid, reason=why)
        self._rotate_member(member, why)
        self.set_timer(self.retry_backoff_us, "etcd_retry", rid)

    def _on_etcd_retry(self, rid: int) -> None:
        entry = self.etcd_pending.get(rid)
        if entry is None or entry["state"] != "backoff":
            return
        if entry.get("op") is not None and entry["op"] not in self.ops:
            del self.etcd_pending[rid]
            self._forget_etcd(rid, entry)
            return
        self._etcd_transmit(rid, entry)

    def _on_etcd_timeout(self, data) -> None:
        rid, tries = data
        entry = self.etcd_pending.get(rid)
        if entry is None or entry["state"] != "sent" or entry["tries"] != tries:
            return
        self._etcd_failed(rid, entry, f"no answer from {entry['member']}", unknown=True)

    # --- the cache's etcd feed: list, then watch /registry/ --------------------------------------------------
    def _list_registry(self) -> None:
        self.phase = "listing" if self.phase != "ready" else self.phase
        self.emit("api.list", f"{self.name} lists every key under {REGISTRY} from etcd", key=REGISTRY)
        self._etcd_send({"op": "range", "key": REGISTRY, "prefix": True}, "registry_listed")

    def _registry_listed(self, entry: dict, payload: dict) -> None:
        if not payload.get("ok"):
            self.set_timer(self.retry_backoff_us, "relist")
            return
        was_ready = self.cache.ready
        self.cache.replace(payload.get("kvs") or [], payload["revision"])
        self.emit("api.cache_fill", f"{self.name}'s watch cache holds {sum(len(v) for v in self.cache.objects.values())} objects at revision {payload['revision']}",
                  revision=payload["revision"], objects=sum(len(v) for v in self.cache.objects.values()))
        if was_ready:
            # A relist replaces the cache: every watch must start over (they get 410 when they resume too far back).
            for key in sorted(self.watchers):
                self._end_watcher(key, "the watch cache was re-listed", notify=True)
        self._watch_registry(payload["revision"] + 1)
        self._wake_waiters()
        if self.phase == "listing":
            self._bootstrap()

    def _watch_registry(self, start: int) -> None:
        self.next_watch_id += 1
        member = self.member
        self.etcd_watch = {"id": self.next_watch_id, "member": member, "start": start, "state": "creating", "progress_deadline": None}
        self.emit("api.etcd_watch", f"{self.name} watches {REGISTRY} on {member} from revision {start}", target=member, watch_id=self.next_watch_id, start_revision=start)
        self.send(member, "etcd.watch", {"watch_id": self.next_watch_id, "key": REGISTRY, "prefix": True, "start_revision": start},
                  summary=f"{self.name} → {member}: watch {REGISTRY} from revision {start}")

    def _on_etcd_watch_event(self, source: str, payload) -> None:
        watch = self.etcd_watch
        if not isinstance(payload, dict) or watch is None or payload.get("watch_id") != watch["id"] or source != watch["member"]:
            return
        watch["progress_deadline"] = None
        if payload.get("canceled"):
            error = payload.get("error")
            if error == "compacted":
                self.emit("api.etcd_watch_compacted", f"{self.name}: etcd compacted past revision {watch['start']}: the cache must re-list", compact_revision=payload.get("compact_revision"))
                self.etcd_watch = None
                self._list_registry()
            else:
                self._etcd_watch_broken(f"{source} cancelled it ({error or 'no reason'})")
            return
        if payload.get("created"):
            watch["state"] = "active"
            return
        events = payload.get("events") or []
        for event in events:
            cache_event = self.cache.apply(event)
            if cache_event is not None:
                self._on_cache_event(cache_event)
        if events:
            watch["start"] = self.cache.revision + 1
        elif payload.get("progress") and isinstance(payload.get("revision"), int):
            before = self.cache.revision
            self.cache.advance(payload["revision"])
            if self.cache.revision > before:
                self._send_bookmarks("progress")
        if isinstance(payload.get("revision"), int) and events:
            self.cache.advance(payload["revision"])
        self._wake_waiters()

    def _on_cache_event(self, event: tuple) -> None:
        rev, plural, kind, key, obj, _prev = event
        name = meta_of(obj).get("name")
        self.emit("api.cache_update", f"{self.name}'s cache: {kind} {plural}/{name} (revision {rev})", resource=plural, type=kind, key=key, rv=rev)
        for rkey in [k for k, r in self.reservations.items() if r["revision"] is not None and r["revision"] <= rev]:
            del self.reservations[rkey]
        if plural == "pods":
            for pdb_key in list(self.evicting):
                if key in self.evicting[pdb_key]:
                    self.evicting[pdb_key].remove(key)
                if not self.evicting[pdb_key]:
                    del self.evicting[pdb_key]
        self._fan_out(event)

    def _etcd_watch_broken(self, why: str) -> None:
        watch = self.etcd_watch
        if watch is None:
            return
        failed = watch["member"]
        self.send(failed, "etcd.watch_cancel", {"watch_id": watch["id"]}, summary=f"{self.name} → {failed}: cancel watch {watch['id']}")
        self._rotate_member(failed, why)
        start = self.cache.revision + 1
        self.emit("api.etcd_watch_broken", f"{self.name}'s watch on {failed} broke ({why}): resuming from revision {start} on {self.member}",
                  target=self.member, failed=failed, start_revision=start, reason=why)
        self._watch_registry(start)

    def _request_progress(self) -> None:
        watch = self.etcd_watch
        if watch is None or watch["state"] != "active" or watch["progress_deadline"] is not None:
            return
        watch["progress_deadline"] = self.now + self.progress_timeout_us
        self.send(watch["member"], "etcd.watch_progress", {"watch_id": watch["id"]}, summary=f"{self.name} → {watch['member']}: how far is watch {watch['id']}?")

    def _progress_tick(self) -> None:
        watch = self.etcd_watch
        if watch is None:
            return
        deadline = watch["progress_deadline"]
        if deadline is not None and self.now >= deadline:
            self._etcd_watch_broken(f"no answer from {watch['member']} to a progress request")
            return
        if watch["state"] == "creating" and deadline is None:
            watch["progress_deadline"] = self.now + self.progress_timeout_us
            return
        self._request_progress()

    # --- compaction (kube-apiserver compacts etcd every 5 minutes) ------------------------------------------------
    def _compact_tick(self) -> None:
        if self.phase != "ready":
            return
        mark = self.compact_mark
        self.compact_mark = self.cache.revision
        if mark is not None and mark > self.cache.floor:
            self.compact(mark)

    def compact(self, revision: int) -> None:
        """Compact etcd history up to `revision` (the watch cache then promises nothing older)."""
        self.emit("api.compact", f"{self.name} compacts etcd up to revision {revision}", revision=revision)
        self._etcd_send({"op": "compact", "revision": revision}, "compact_done", revision=revision)

    def _compact_done(self, entry: dict, payload: dict) -> None:
        revision = entry["revision"]
        if payload.get("ok") or "compact_revision" in payload:
            self.cache.compacted(min(revision, self.cache.revision))

    # --- view -----------------------------------------------------------------------------------------------------
    def view(self) -> dict:
        watch_counts: dict[str, int] = {}
        for w in self.watchers.values():
            watch_counts[w["plural"]] = watch_counts.get(w["plural"], 0) + 1
        in_flight = []
        for key in sorted(self.ops, key=lambda k: (self.ops[k]["started"], k)):
            op = self.ops[key]
            in_flight.append({
                "request": key, "client": op["client"], "verb": op.get("verb"), "resource": op.get("plural") or op.get("resource"),
                "namespace": op.get("namespace"), "name": op.get("name"), "stage": op.get("stage"), "since": op["started"] / SECOND,
            })
        watch = self.etcd_watch
        return {
            "name": self.name,
            "kind": self.kind,
            "alive": self.alive,
            "phase": self.phase,
            "rbac": self.rbac_enabled,
            "etcd_member": self.member,
            "etcd_watch": None if watch is None else {"member": watch["member"], "state": watch["state"], "start_revision": watch["start"]},
            "cache": self.cache.view(),
            "requests": in_flight,
            "watches": dict(sorted(watch_counts.items())),
            "watchers": [
                {"watcher": w["key"], "client": w["client"], "resource": w["plural"], "namespace": w["namespace"], "rv": w["rv"], "sent": w["sent"]}
                for _k, w in sorted(self.watchers.items())
            ],
            "counters": dict(self.counters),
        }

    def _first_service_ip(self) -> str:
        return admission.service_ip_at(self.service_cidr, 1)


# --- helpers --------------------------------------------------------------------------------------------------------
def _spec_of(obj: dict):
    """What a change of counts as a spec change for metadata.generation (everything but metadata and status)."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _same(a: dict, b: dict) -> bool:
    def strip(obj):
        out = dict(obj)
        meta = dict(out.get("metadata") or {})
        meta.pop("resourceVersion", None)
        meta.pop("managedFields", None)
        out["metadata"] = meta
        return out

    return strip(a) == strip(b)


def _default_manager(op: dict) -> str:
    """The field manager kube-apiserver records when the client names none (it uses the
    user agent; here the client's name)."""
    return op["client"]


def _encode_continue(revision: int, last_key: str | None) -> str:
    token = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": (last_key or "") + "\x00"}, separators=(",", ":"))
    return base64.b64encode(token.encode()).decode()


def _decode_continue(token: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.b64decode(token.encode(), validate=True).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(data, dict) or data.get("v") != "meta.k8s.io/v1":
        raise ValueError("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    rv, start = data.get("rv"), data.get("start")
    if isinstance(rv, bool) or not isinstance(rv, int) or rv < 1 or not isinstance(start, str) or not start.startswith(REGISTRY):
        raise ValueError("continue key is not valid")
    return rv, start.rstrip("\x00")


def build_apiserver(sim, members, *, rbac_enabled: bool = False, tokens: dict | None = None, profile=None, name: str = NAME, **options) -> APIServer:
    """Create the API server for `members` (names or EtcdMember objects), add it to `sim`, return it.

    With a timing profile, etcd timeouts follow the members' own (a member answers "request
    timed out" after 2 election timeouts + 5 heartbeats; the API server waits a little longer)."""
    names = [m if isinstance(m, str) else m.name for m in members]
    if profile is not None:
        member_timeout = 2 * profile.raft_election_max_us + 5 * profile.raft_heartbeat_us
        round_trip = 2 * (profile.net_latency_us + profile.net_jitter_us)
        options.setdefault("etcd_timeout_us", member_timeout + 4 * round_trip)
        options.setdefault("progress_timeout_us", max(4 * round_trip, 200 * MILLISECOND))
        options.setdefault("retry_backoff_us", max(round_trip, 50 * MILLISECOND))
    server = APIServer(sim, names, name, rbac_enabled=rbac_enabled, tokens=tokens, **options)
    sim.add(server)
    return server


__all__ = ["APIServer", "NAME", "build_apiserver", "parse_key"]
