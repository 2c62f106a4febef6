"""ApiClient: one component's connection to kube-apiserver (PROTOCOL.md), as plain data.

It numbers requests, matches answers to them, retries what is safe to retry with back-off,
owns the component's informers and work queues, and routes the messages and timers that
belong to them. Callbacks are *names* resolved on the owning component (`resolve`), never
callables kept in state, so the owner pickles, hashes and replays like any other state.

A request's life:

    sent ──api.response──▶ answered: owner.<then>(response, context)
      ├─ not delivered (partition, server down) ─▶ sent again after back-off (any verb: it never arrived)
      ├─ no answer within request_timeout_us ───▶ reads: sent again (new id); writes: answered 504
      └─ out of attempts ───────────────────────▶ answered 503 / 504 (a Status, like the real thing)

`response` is the api.response payload: {"id", "code", "body", ...}; client-side failures
have the same shape, so callers only look at `code`.
"""

from ..apiserver.resources import RESOURCES
from ..kernel import MILLISECOND, SECOND
from .informer import Informer
from .queue import WorkQueue

SERVER = "kube-apiserver"
READS = ("get", "list", "watch")
_GROUP_OF = {row["plural"]: row["group"] for row in RESOURCES}


def group_of(resource: str) -> str:
    """The API group of a resource (plurals are unique in this API): "deployments" -> "apps"."""
    return _GROUP_OF.get(resource, "")


def _status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}


class ApiClient:
    def __init__(self, owner, *, user: dict | None = None, server: str = SERVER, request_timeout_us: int = 30 * SECOND,
                 retry_base_us: int = 200 * MILLISECOND, retry_cap_us: int = 10 * SECOND, max_attempts: int = 5,
                 stall_timeout_us: int = 15 * SECOND, health_interval_us: int = 5 * SECOND, watch_timeout_range_s=(300, 600),
                 watch_grace_s: int = 5, event_prefix: str = "controller", idle_probe_us: int = 30 * SECOND):
        self.owner = owner
        self.event_prefix = event_prefix
        self.user = user
        self.server = server
        self.request_timeout_us = request_timeout_us
        self.retry_base_us = retry_base_us
        self.retry_cap_us = retry_cap_us
        self.max_attempts = max_attempts
        self.stall_timeout_us = stall_timeout_us
        self.health_interval_us = health_interval_us
        self.watch_timeout_range_s = tuple(watch_timeout_range_s)
        self.watch_grace_s = watch_grace_s
        self.idle_probe_us = idle_probe_us
        self.last_heard = 0  # when a message from the server last arrived
        self.probing = False
        self.next_id = 0  # never reset: ids of an earlier life must not collide on the server
        self.informers: dict[str, Informer] = {}
        self.queues: dict[str, WorkQueue] = {}
        self.pending: dict[int, dict] = {}
        self.watches: dict[int, str] = {}  # watch request id -> informer name
        self.high_rv = 0  # the newest resourceVersion seen in any answer
        self.running = False
        self.run = 0
        self.current = None  # (queue, key, run) while a queue's sync or a request's handler runs
        self.counters = {"requests": 0, "retries": 0, "failures": 0}

    # --- set-up ---------------------------------------------------------------------------------
    def informer(self, resource: str, *, handler: str | None = None, namespace: str | None = None, label_selector: str | None = None,
                 field_selector: str | None = None, indexes=(), resync_us: int = 0) -> Informer:
        """The shared informer for this resource and these selectors (created on first use)."""
        name = "|".join(str(x or "") for x in (resource, namespace, label_selector, field_selector)).rstrip("|")
        informer = self.informers.get(name)
        if informer is None:
            informer = self.informers[name] = Informer(self, name, resource, group_of(resource), namespace=namespace, label_selector=label_selector,
                                                       field_selector=field_selector, indexes=indexes, resync_us=resync_us)
            if self.running:
                informer.start()
        else:
            for index in indexes:
                informer.add_index(index)
            if resync_us and (not informer.resync_us or resync_us < informer.resync_us):
                informer.resync_us = resync_us
        if handler:
            informer.add_handler(handler)
        return informer

    def queue(self, name: str, sync: str, **options) -> WorkQueue:
        queue = self.queues.get(name)
        if queue is None:
            queue = self.queues[name] = WorkQueue(self, name, sync, **options)
            if self.running:
                queue.start()
        return queue

    def start(self) -> None:
        """Start every informer (list, then watch) and queue. Call from on_start / on_restart."""
        if self.running:
            return
        self.running = True
        self.run += 1
        self.last_heard = self.owner.now
        for name in sorted(self.informers):
            self.informers[name].start()
        for name in sorted(self.queues):
            self.queues[name].start()
        self.owner.set_timer(self.health_interval_us, "client.health", self.run)

    def stop(self, keep_requests: bool = False) -> None:
        """Forget caches, watches, queues and requests in flight (a crash, or giving up leadership).
        Informer and queue definitions stay, so start() brings everything back. With
        keep_requests, plain requests (not an informer's, not a queue round's) stay pending:
        a leader that steps down still hears how its lease update went."""
        self.running = False
        self.run += 1
        for name in sorted(self.informers):
            self.informers[name].stop()
        for name in sorted(self.queues):
            self.queues[name].stop()
        if keep_requests:
            self.pending = {rid: r for rid, r in self.pending.items() if r["then"] != "@informer" and not r.get("owner_of")}
        else:
            self.pending = {}
        self.watches = {}
        self.current = None
        self.probing = False

    def on_informer_synced(self) -> None:
        """An informer finished its first list: once all have, the queues may run."""
        if self.synced():
            for name in sorted(self.queues):
                self.queues[name]._kick()

    def synced(self) -> bool:
        """Every informer has listed once (client-go's WaitForCacheSync)."""
        return all(informer.synced for informer in self.informers.values())

    def resolve(self, name: str):
        """A callable from a name on the owner: "sync" or a dotted path "loops.replicaset.sync"
        (attributes, or keys of dicts on the way)."""
        target = self.owner
        parts = name.split(".")
        for part in parts[:-1]:
            target = target[part] if isinstance(target, dict) else getattr(target, part)
        return getattr(target, parts[-1])

    def watch_timeout_s(self) -> int:
        low, high = self.watch_timeout_range_s
        return low if high <= low else self.owner.stream("watch-timeout").randint(low, high)

    def caught_up(self, resource: str, rv: int) -> bool:
        """Every informer of `resource` has seen resourceVersion rv (true when there is none)."""
        return all(inf.rv >= rv for inf in self.informers.values() if inf.resource == resource and inf.state != "idle")

    def informer_advanced(self, resource: str) -> None:
        for name in sorted(self.queues):
            queue = self.queues[name]
            if queue.settling:
                queue.settle(resource)

    def saw_rv(self, rv: int) -> None:
        if rv > self.high_rv:
            self.high_rv = rv

    # --- requests -------------------------------------------------------------------------------
    def request(self, verb: str, resource: str, *, namespace: str | None = None, name: str | None = None, body=None, subresource: str | None = None,
                patch_type: str | None = None, query: dict | None = None, group: str | None = None, then: str | None = None, context=None,
                ok=(), summary: str | None = None) -> int:
        """Send one API request; `then` (a name on the owner) gets (response, context).

        Inside a queue's sync (or inside the `then` of one of its requests) the request counts
        towards that key's round: the key stays processing until it is answered, and an
        answer with code >= 400 not in `ok` fails the round (the key is retried with back-off)."""
        payload = {"verb": verb, "group": group_of(resource) if group is None else group, "version": "v1", "resource": resource,
                   "subresource": subresource, "namespace": namespace, "name": name, "body": body, "patch_type": patch_type, "query": query or {}}
        if self.user is not None:
            payload["user"] = self.user
        record = {"payload": payload, "then": then, "context": context, "ok": list(ok), "attempt": 0, "summary": summary, "owner_of": None}
        if self.current is not None:
            queue_name, key, run = self.current
            queue = self.queues.get(queue_name)
            if queue is not None:
                queue.request_started(key, run)
                record["owner_of"] = [queue_name, key, run]
        return self._send(record)

    def _send_internal(self, verb: str, resource: str, group: str, namespace, query: dict, context: dict) -> int:
        payload = {"verb": verb, "group": group, "version": "v1", "resource": resource, "subresource": None, "namespace": namespace,
                   "name": None, "body": None, "patch_type": None, "query": query}
        if self.user is not None:
            payload["user"] = self.user
        record = {"payload": payload, "then": "@informer", "context": context, "ok": [], "attempt": 0, "summary": None, "owner_of": None}
        return self._send(record)

    def _send(self, record: dict) -> int:
        self.next_id += 1
        rid = self.next_id
        record["id"] = rid
        record["payload"]["id"] = rid
        self.pending[rid] = record
        self.counters["requests"] += 1
        payload = record["payload"]
        what = describe(payload)
        summary = record.get("summary") or f"{self.owner.name} → {self.server}: {what}"
        self.owner.send(self.server, "api.request", payload, summary=summary,
                        info={"request": f"{self.owner.name}#{rid}", "verb": payload["verb"], "resource": payload["resource"], "name": payload.get("name")})
        self.owner.set_timer(self.request_timeout_us, "client.timeout", [rid, self.run])
        return rid

    def _retry_or_fail(self, rid: int, code: int, reason: str, message: str, resend: bool) -> None:
        record = self.pending.pop(rid, None)
        if record is None:
            return
        if record["then"] in ("@informer", "@probe"):
            # The reflector has its own answer to failure: back off, then list again.
            resend = False
        record["attempt"] += 1
        if resend and record["attempt"] < self.max_attempts:
            delay = min(self.retry_cap_us, self.retry_base_us * (2 ** (record["attempt"] - 1)))
            self.counters["retries"] += 1
            self.owner.emit(f"{self.event_prefix}.request_retry", f"{self.owner.name}: {describe(record['payload'])} {message}; sending it again in {delay / SECOND:g} s",
                            target=self.server, request=rid, attempt=record["attempt"], delay=delay / SECOND)
            token = f"r{rid}"
            self.pending[token] = record
            self.owner.set_timer(delay, "client.retry", [token, self.run])
            return
        self.counters["failures"] += 1
        self._answer(record, {"id": rid, "code": code, "body": _status(code, reason, message)})

    # --- answers --------------------------------------------------------------------------------
    def _answer(self, record: dict, response: dict) -> None:
        body = response.get("body")
        if isinstance(body, dict):
            meta = body.get("metadata")
            if isinstance(meta, dict):
                try:
                    self.saw_rv(int(meta.get("resourceVersion") or 0))
                except (TypeError, ValueError):
                    pass
        then, context = record["then"], record["context"]
        if then == "@probe":
            self.probing = False
            return
        if then == "@informer":
            informer = self.informers.get(context["informer"])
            if informer is not None:
                if context["what"] == "list":
                    informer.on_list_done(context, response)
                else:
                    informer.on_watch_response(context, response)
            return
        owner_of = record.get("owner_of")
        saved = self.current
        self.current = tuple(owner_of) if owner_of else None
        try:
            if then:
                self.resolve(then)(response, context)
        finally:
            self.current = saved
            if owner_of:
                queue = self.queues.get(owner_of[0])
                if queue is not None:
                    code = response.get("code", 0)
                    # stale rounds (before a stop) are ignored by the queue's run check
                    write = None
                    payload = record["payload"]
                    if code < 300 and payload["verb"] in ("create", "update", "patch") and isinstance(body, dict):
                        rv = (body.get("metadata") or {}).get("resourceVersion") if isinstance(body.get("metadata"), dict) else None
                        if isinstance(rv, str) and rv.isdigit() and body.get("kind") not in ("Status", "Scale"):
                            write = [payload["resource"], int(rv)]
                    queue.request_done(owner_of[1], owner_of[2], failed=code >= 400 and code not in record["ok"], write=write)

    # --- kernel entries, routed by the owner ----------------------------------------------------------
    def handle_message(self, msg) -> bool:
        """Route an api.* message. True when it was one of ours."""
        kind, payload = msg.kind, msg.payload
        if not kind.startswith("api.") or not isinstance(payload, dict):
            return False
        rid = payload.get("id")
        self.last_heard = self.owner.now
        if kind == "api.response":
            record = self.pending.pop(rid, None)
            if record is not None:
                self._answer(record, payload)
        elif kind == "api.watch_event":
            name = self.watches.get(rid)
            informer = self.informers.get(name) if name else None
            if informer is not None and informer.watch_id == rid:
                informer.on_watch_event(payload)
        elif kind == "api.watch_end":
            name = self.watches.pop(rid, None)
            informer = self.informers.get(name) if name else None
            if informer is not None and informer.watch_id == rid and informer.state == "watching":
                informer.on_watch_end()
        return True

    def handle_undeliverable(self, msg, reason: str) -> bool:
        if msg.kind == "api.request" and isinstance(msg.payload, dict):
            rid = msg.payload.get("id")
            if rid in self.pending:
                self._retry_or_fail(rid, 503, "ServiceUnavailable", f"did not reach {self.server} ({reason})", resend=True)
            if reason == f"{self.server} is down":
                # The server process is gone, and with it every request it was serving and
                # every watch (a refused connection tells a real client as much): fail the
                # requests in flight now rather than at their timeout, and list again.
                for other in sorted(k for k in self.pending if isinstance(k, int) and k != rid):
                    record = self.pending.get(other)
                    if record is not None and record["payload"]["verb"] != "watch":
                        self._retry_or_fail(other, 503, "ServiceUnavailable", f"lost: {self.server} went down", resend=record["payload"]["verb"] in READS)
            if reason == f"{self.server} is down" and self.running:
                for name in sorted(self.informers):
                    informer = self.informers[name]
                    if informer.state == "watching":
                        informer.list_reason_after_backoff = f"{self.server} was down: its watches are gone"
                        self._end_watch(informer.watch_id, cancel=False)
                        informer.watch_id = None
                        informer._backoff(f"{self.server} is down")
            return True
        return msg.kind.startswith("api.")

    def handle_timer(self, tag: str, data) -> bool:
        """Route a client.* timer. True when it was one of ours."""
        if not tag.startswith("client."):
            return False
        if tag == "client.timeout":
            rid, run = data
            record = self.pending.get(rid)
            if run == self.run and record is not None:
                is_read = record["payload"]["verb"] in READS
                self._retry_or_fail(rid, 504, "Timeout", f"got no answer within {self.request_timeout_us // SECOND} s", resend=is_read)
        elif tag == "client.retry":
            token, run = data
            record = self.pending.pop(token, None)
            if run == self.run and record is not None:
                self._send(record)
        elif tag == "client.health":
            if data == self.run and self.running:
                for name in sorted(self.informers):
                    self.informers[name].check_stalled(self.high_rv, self.owner.now, self.stall_timeout_us)
                self._probe_if_idle()
                self.owner.set_timer(self.health_interval_us, "client.health", self.run)
        elif tag == "client.relist":
            informer = self.informers.get(data[0])
            if informer is not None:
                informer.on_relist_timer(data[1])
        elif tag == "client.resync":
            informer = self.informers.get(data[0])
            if informer is not None:
                informer.on_resync_timer(data[1])
        elif tag == "client.watch_deadline":
            informer = self.informers.get(data[0])
            if informer is not None:
                informer.on_watch_deadline(data[1])
        elif tag == "client.queue":
            queue = self.queues.get(data[0])
            if queue is not None:
                queue.on_kick(data[1])
        elif tag == "client.queue_settle":
            queue = self.queues.get(data[0])
            if queue is not None:
                queue.on_settle_timeout(data[1], data[2])
        elif tag == "client.queue_wait":
            queue = self.queues.get(data[0])
            if queue is not None:
                queue.on_wait(data[1], data[2], data[3])
        return True

    def _probe_if_idle(self) -> None:
        """Like client-go's HTTP/2 health check (a PING after 30 s without a frame): when nothing
        has come from the server for idle_probe_us although watches are open, ask it something
        small. Its answer carries the current resourceVersion, which shows a dead watch as
        stalled; a server that is down is noticed at once."""
        if self.probing or not self.idle_probe_us or self.owner.now - self.last_heard < self.idle_probe_us:
            return
        if not any(inf.state == "watching" for inf in self.informers.values()):
            return
        self.probing = True
        payload = {"verb": "list", "group": "", "version": "v1", "resource": "namespaces", "subresource": None, "namespace": None, "name": None,
                   "body": None, "patch_type": None, "query": {"limit": 1}}
        if self.user is not None:
            payload["user"] = self.user
        self.owner.emit("watch.probe", f"{self.owner.name} has heard nothing from {self.server} for {(self.owner.now - self.last_heard) // SECOND} s: "
                                       f"checks the connection", target=self.server)
        self._send({"payload": payload, "then": "@probe", "context": None, "ok": [], "attempt": 0, "owner_of": None,
                    "summary": f"{self.owner.name} → {self.server}: health check (list namespaces, limit 1)"})

    def _end_watch(self, rid: int, cancel: bool) -> None:
        self.watches.pop(rid, None)
        self.pending.pop(rid, None)
        if cancel and self.owner.alive:
            self.owner.send(self.server, "api.watch_cancel", {"id": rid}, summary=f"{self.owner.name} → {self.server}: cancel watch {rid}")

    # --- view -------------------------------------------------------------------------------------
    def view(self) -> dict:
        return {
            "informers": [self.informers[n].view() for n in sorted(self.informers)],
            "queues": [self.queues[n].view() for n in sorted(self.queues)],
            "pending": len(self.pending),
            "counters": dict(self.counters),
        }


def describe(payload: dict) -> str:
    what = payload.get("resource") or "?"
    if payload.get("subresource"):
        what += f"/{payload['subresource']}"
    if payload.get("name"):
        what += f" {payload['name']}"
    if payload.get("namespace"):
        what += f" in {payload['namespace']}"
    return f"{payload.get('verb')} {what}"
