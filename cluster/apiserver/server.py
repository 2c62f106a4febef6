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
Writes are etcd transactions guarded by the key's mod revision (GuaranteedUpdate).

The class is assembled from one module per concern:

    server.py   life cycle, kernel entries, parsing, authentication, authorization, responses,
                bootstrap objects, view
    reads.py    get, list, watch, freshness waits, fan-out, bookmarks, pod logs   (ReadsMixin)
    writes.py   the mutation engine and a transform per kind of write             (WritesMixin)
    feed.py     the etcd client (retry, failover) and the cache's etcd watch     (EtcdFeedMixin)

Request state is plain data: `ops` maps "client#id" to a dict that names the next step;
etcd requests in flight live in `etcd_pending` and name the method that takes the answer.
Failures of etcd (no leader, a crashed member, a lost message, a timeout) rotate to the
next member and retry; writes are safe to retry because every write is a guarded txn and
an unknown outcome is resolved by comparing the key's value with what was written.
"""

from ..kernel import MILLISECOND, SECOND, Component
from . import admission, rbac, records
from . import status as st
from .cache import WatchCache
from .feed import EtcdFeedMixin
from .meta import dig, is_json_safe
from .reads import ReadsMixin
from .resources import REGISTRY, etcd_key, group_resource, lookup, subresource
from .selectors import SelectorError, check_fields, parse_fields, parse_labels
from .status import ApiError
from .watchindex import WatchIndex
from .writes import WritesMixin

NAME = "kube-apiserver"
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
READ_VERBS = ("get", "list", "watch")
PATCH_TYPES = ("merge", "strategic", "json", "apply")
ANONYMOUS = {"name": "system:anonymous", "groups": ["system:unauthenticated"]}
LOOPBACK_USER = {"name": "system:apiserver", "groups": ["system:masters", "system:authenticated"]}
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
MAX_LIMIT = 10_000


class APIServer(ReadsMixin, WritesMixin, EtcdFeedMixin, Component):
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
        host: str | None = None,
    ):
        super().__init__(sim, name, host=host)
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
        self.watch_index = WatchIndex()  # which watchers an event may concern (watchindex.py)
        self.fresh_waiters: list[list] = []  # [revision, op key], sorted by revision
        self.next_loopback = 0
        self.next_seq = 0  # numbers every request, so that timers name the one they were set for
        self.bootstrap_left = 0
        self.reservations: dict[str, dict] = {}  # op key -> {"namespace", "usage", "revision"}: quota charged, not yet in the cache
        self.evicting: dict[str, list[str]] = {}  # pdb key -> pod keys being evicted, until the cache shows it
        self.compact_mark: int | None = None  # the revision to compact to at the next compaction tick
        self.compacted_to = 0  # the revision of the last compaction this server asked for
        self.log_streams: dict[str, dict] = {}
        # request key -> what the inspector shows of it, newest last (records.py): HTTP clients' apart
        self.records: dict[str, dict] = {}
        self.http_records: dict[str, dict] = {}

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
            elif kind == "kubelet.log":
                self._kubelet_unreachable(msg, reason)
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
                self._keep_record(op, 500, st.internal_error(text), {})
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
        op = {"key": key, "seq": self.next_seq, "client": source, "id": rid, "stage": "request", "started": self.now, "loopback": False,
              "agent": payload.get("agent") if isinstance(payload.get("agent"), str) else None, "sent_body": records.freeze(payload.get("body"))}
        self.ops[key] = op
        self.set_timer(self.request_timeout_us, "op_timeout", [key, op["seq"]])
        try:
            self._parse(op, payload)
        except ApiError as err:
            self._emit_stage(op, "request", False, f"malformed request: {err.status['message']}")
            self._reply_error(op, err.status, "request")
            return
        self._emit_stage(op, "request", True, f"{self.name} receives {self._describe(op)} from {source}", **self._request_facts(op))
        if self.phase != "ready":
            op["stage"] = "waiting"
            self.gated.append(key)
            self.emit("api.wait", f"{self.name} holds {self._describe(op)}: its watch cache is still {self.phase}", target=source, request=key)
            return
        self._admit_request(op)

    @staticmethod
    def _request_facts(op: dict) -> dict:
        """What the request inspector shows of a request (small: no bodies)."""
        info = op["info"]
        return {"verb": op["verb"], "group": info["group"], "resource": info["plural"], "subresource": op["sub"], "namespace": op["namespace"], "name": op["name"]}

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
            if isinstance(rv, bool) or not isinstance(rv, (str, int)) or not str(rv).isdigit() or int(rv) >= 2**63:
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
        op.setdefault("stages", []).append([stage, self.now, ok])
        self.emit(f"api.{stage}", summary, target=op["client"], request=op["key"], ok=ok, **data)

    def _reply(self, op: dict, code: int, body=None, **extra) -> None:
        key = op["key"]
        if self.ops.pop(key, None) is None:
            return
        self._drop_op_state(key)
        if op.get("loopback"):
            self._loopback_done(op, code, body)
            return
        self._keep_record(op, code, body, extra)
        facts = {}
        if code < 300 and op.get("etcd_key") and isinstance(body, dict):
            # A write: the etcd key it touched and the revision it produced (request inspector).
            facts = {"key": op["etcd_key"], "rv": dig(body, "metadata", "resourceVersion")}
        self._send_response(op["client"], op["id"], code, body, key=key, stage=op.get("stage"), facts=facts, **extra)

    def _keep_record(self, op: dict, code: int, body, extra: dict) -> None:
        """Keep what the inspector shows of an answered request (records.py): the object the
        answer carried (for a get answered as a Table, the object itself), a summary of a
        list, watch or log."""
        shown = op.pop("record_object", None)
        if shown is None:
            if "text" in extra:
                shown = {"kind": "log", "summary": True, "characters": len(extra["text"]) if isinstance(extra["text"], str) else 0, "follow": bool(extra.get("watch"))}
            elif extra.get("watch"):
                shown = {"kind": "watch", "summary": True, "resource": op.get("plural"), "initial_events": extra.get("initial_events"), "expired": extra.get("expired")}
            elif isinstance(body, dict) and (body.get("kind") == "Table" or isinstance(body.get("items"), list)):
                shown = records.summary_of(body)
            else:
                shown = body
        revision = None
        if code < 300 and isinstance(shown, dict):
            revision = shown.get("resourceVersion") if shown.get("summary") else dig(shown, "metadata", "resourceVersion")
        reason = body.get("reason") if code >= 400 and isinstance(body, dict) else None
        record = records.finished(op, code, records.freeze(shown), self.now, revision=revision, reason=reason)
        key = op["key"]
        kept, limit = (self.http_records, records.KEEP_HTTP_RECORDS) if op.get("agent") else (self.records, records.KEEP_RECORDS)
        kept.pop(key, None)
        kept[key] = record
        while len(kept) > limit:
            del kept[next(iter(kept))]

    def request_record(self, key: str) -> dict | None:
        """What the inspector shows of request `key` ("client#id"): its record once answered
        (bodies as JSON), what is known while it is in flight, None when it is not kept."""
        record = self.http_records.get(key) or self.records.get(key)
        if record is not None:
            return records.view(record)
        op = self.ops.get(key)
        if op is None or op.get("loopback"):
            return None
        out = records.base(op)
        out.update({"state": "in flight", "code": None, "request_body": records.thaw(op.get("sent_body")), "response": None})
        return out

    def _reply_error(self, op: dict, status: dict, stage: str) -> None:
        op["stage"] = stage
        op["rejected_by"] = stage
        self._reply(op, status["code"], status)

    def _send_response(self, client: str, rid, code: int, body, *, key: str, stage: str | None, facts: dict | None = None, **extra) -> None:
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
        if facts:
            data.update(facts)
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
        self._emit_stage(op, "request", True, f"{self.name} (loopback) sends itself {self._describe(op)}", **self._request_facts(op))
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

    # --- view -----------------------------------------------------------------------------------------------------
    def view(self) -> dict:
        watch_counts: dict[str, int] = {}
        for w in self.watchers.values():
            watch_counts[w["plural"]] = watch_counts.get(w["plural"], 0) + 1
        in_flight = []
        for key in sorted(self.ops, key=lambda k: (self.ops[k]["started"], k)):
            op = self.ops[key]
            in_flight.append({
                "request": key, "client": op["client"], "agent": op.get("agent"), "verb": op.get("verb"), "group": (op.get("info") or {}).get("group"),
                "resource": op.get("plural") or op.get("resource"), "subresource": op.get("sub"), "namespace": op.get("namespace"), "name": op.get("name"),
                "user": (op.get("user") or {}).get("name"), "stage": op.get("stage"), "since": op["started"] / SECOND,
                # the stages passed so far, so that a page opened now draws the request where it is
                "stages": [{"stage": stage, "time": t / SECOND, "ok": ok} for stage, t, ok in op.get("stages", ())],
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
                {"watcher": w["key"], "client": w["client"], "resource": w["plural"], "namespace": w["namespace"], "rv": self.watch_index.current_rv(w), "sent": w["sent"]}
                for _k, w in sorted(self.watchers.items())
            ],
            "counters": dict(self.counters),
        }

    def _first_service_ip(self) -> str:
        return admission.service_ip_at(self.service_cidr, 1)


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


__all__ = ["APIServer", "NAME", "build_apiserver"]
