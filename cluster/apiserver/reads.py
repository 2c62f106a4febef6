"""Reads: get, list and watch served from the watch cache (or, for a consistent get, from
etcd), the freshness waits behind them, watch fan-out and bookmarks, and pod logs.

A mixin of APIServer (server.py): the methods use its state (`cache`, `ops`, `watchers`,
`fresh_waiters`, `log_streams`) and its helpers (`_reply`, `_emit_stage`, `_etcd_send`).
"""

import base64
import json

from ..kernel import SECOND
from . import status as st
from . import tables
from .cache import ADDED, DELETED, MODIFIED, Expired
from .meta import copy_json, decode, dig, meta_of
from .resources import REGISTRY, api_version, etcd_key, group_resource, lookup, resource_prefix
from .selectors import fields_match, labels_match


class ReadsMixin:
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
        self._reply_object(op, obj)

    def _reply_object(self, op: dict, obj: dict) -> None:
        """Answer with `obj` (the cache's own or a fresh decode: never changed here)."""
        if op["sub"] == "scale":
            self._reply(op, 200, self._scale_of(op["info"], copy_json(obj)))
        elif op["as_table"]:
            op["record_object"] = obj  # the inspector shows the object, not its row
            self._reply(op, 200, tables.table(op["info"], [obj], self.now, op["include_object"], resource_version=meta_of(obj).get("resourceVersion")))
        else:
            self._reply(op, 200, copy_json(obj))

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
        # a continued list reads the snapshot of its first page: the cache undoes the window's later changes
        as_of = snapshot_rv if snapshot_rv is not None and snapshot_rv < self.cache.revision else None
        try:
            pairs = self.cache.walk(plural, prefix, start_after + "\x00" if start_after else "", as_of)
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
        except Expired as err:
            if op["continue"]:
                message = ("The provided continue parameter is too old to display a consistent list result. You can start a new list without "
                           "the continue parameter, or use the continue value from the response to get a consistent snapshot.")
                self._reply_error(op, st.expired(message), "cache")
            else:
                self._reply_error(op, st.expired(str(err)), "cache")
            return
        list_rv = as_of if as_of is not None else self.cache.revision if snapshot_rv is None else max(snapshot_rv, self.cache.revision)
        token = _encode_continue(list_rv, last_key) if more else None
        self._emit_stage(op, "cache", True, f"{self.name} lists {len(items)} {group_resource(info)} from its watch cache (revision {list_rv})", revision=list_rv, count=len(items))
        if op["as_table"]:
            # the cache's own objects: a Table only reads them (tables.partial_metadata)
            body = tables.table(info, items, self.now, op["include_object"], resource_version=str(list_rv), continue_token=token)
        else:
            items = [copy_json(obj) for obj in items]  # the client keeps them (an informer's store)
            meta = {"resourceVersion": str(list_rv)}
            if token:
                meta["continue"] = token
                if not op["labels"] and not op["fields"]:
                    meta["remainingItemCount"] = self.cache.count_after(plural, prefix, last_key, as_of)
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
                self._keep_record(op, 200, None, {"watch": True, "expired": str(err)})
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
        self.watch_index.add(watcher)
        if op["timeout_s"]:
            self.set_timer(op["timeout_s"] * SECOND, "watch_timeout", [key, op.get("seq")])
        self.emit("watch.start", f"{op['client']} watches {group_resource(info)}" + (f" in {op['namespace']}" if op["namespace"] else "")
                  + (f" from resourceVersion {op['rv']}" if not op["initial"] else " (current state first)"),
                  target=op["client"], watcher=key, resource=plural, rv=start_rv, labels=self.ops_selector_text(op), initial=op["initial"])
        self._keep_record(op, 200, None, {"watch": True, "initial_events": len(backlog)})
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
        # Only the watchers the event may concern, in key order (watchindex.py); the others'
        # resourceVersions move with the event's group.
        rev = event[0]
        groups, keys = self.watch_index.candidates(event)
        for wkey in keys:
            w = self.watchers.get(wkey)
            if w is None or rev <= self.watch_index.settle(w):
                continue
            seen = self._watch_view(w, event)
            if seen is not None:
                self._deliver(w, seen[0], seen[1], rev)
            else:
                w["rv"] = rev
        self.watch_index.passed(groups, rev)

    def _deliver(self, w: dict, kind: str, obj: dict, rev: int) -> None:
        w["rv"] = max(w["rv"], rev)
        w["sent"] += 1
        self.counters["watch_events"] += 1
        info = lookup(w["group"], w["plural"])
        if w["table"]:
            body = tables.table(info, [obj], self.now, w["include_object"], resource_version=str(rev), with_columns=not w["columns_sent"])
            w["columns_sent"] = True
        else:
            body = copy_json(obj)
        name = meta_of(obj).get("name")
        self.emit("watch.event", f"{self.name} → {w['client']}: {kind} {w['plural']}/{name} (rv {rev})", target=w["client"], watcher=w["key"], resource=w["plural"], type=kind, rv=rev, name=name)
        self.send(w["client"], "api.watch_event", {"id": w["id"], "type": kind, "object": body}, summary=f"{self.name} → {w['client']}: {kind} {w['plural']}/{name}",
                  info={"watcher": w["key"], "type": kind, "rv": rev})

    def _send_bookmarks(self, reason: str = "periodic") -> None:
        revision = self.cache.revision
        for wkey in sorted(self.watchers):
            w = self.watchers[wkey]
            if not w["bookmarks"] or self.watch_index.settle(w) >= revision:
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
        self.watch_index.settle(w)
        self.watch_index.remove(w)
        self.emit("watch.end", f"{w['client']}'s watch of {w['plural']} ends: {why}", target=w["client"], watcher=key, resource=w["plural"], rv=w["rv"], reason=why)
        if notify:
            self.send(w["client"], "api.watch_end", {"id": w["id"]}, summary=f"{self.name} → {w['client']}: watch over ({why})")

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
        # The kubelet decides what a waiting container has to show: a crash-looping one serves
        # its last run's log, and --previous the run before (kubelet's validateContainerLogStatus).
        q = op["query"]
        op["log_endpoint"] = endpoint
        op["log_url"] = f"https://{self._node_address(node)}:10250/containerLogs/{op['namespace']}/{op['name']}/{container}"
        request = {"id": op["key"], "namespace": op["namespace"], "pod": op["name"], "container": container, "uid": meta_of(pod).get("uid")}
        for field in ("tailLines", "follow", "previous", "sinceSeconds", "timestamps", "limitBytes"):
            if field in q:
                request[field] = q[field]
        op["stage"] = "kubelet"
        self.emit("api.kubelet", f"{self.name} asks {endpoint} for the log of {op['name']}/{container}", target=endpoint, request=op["key"])
        self.send(endpoint, "kubelet.log", request, summary=f"{self.name} → {endpoint}: log of {op['name']}/{container}")

    def _node_address(self, node: str) -> str:
        """The node's InternalIP as its status reports it (the kubelet's address), else its name."""
        obj = self.cache.get("nodes", etcd_key(lookup("", "nodes"), None, node))
        for address in dig(obj, "status", "addresses", default=[]) or []:
            if isinstance(address, dict) and address.get("type") == "InternalIP" and address.get("address"):
                return str(address["address"])
        return node

    def _kubelet_unreachable(self, msg, reason: str) -> None:
        """A log request could not reach the kubelet (its node is down or cut off): answer at
        once, as kube-apiserver does when its dial to the kubelet fails, instead of letting
        the client wait out the request timeout. Real Kubernetes answers such proxy failures
        with 500 InternalError; here 503 ServiceUnavailable (kube-apiserver's own answer for an
        unreachable service behind its proxy), because the API server itself is working and
        a 500 would say it failed."""
        key = msg.payload.get("id") if isinstance(msg.payload, dict) else None
        op = self.ops.get(key)
        if op is None or op.get("log_endpoint") != msg.target:
            return
        why = "connect: connection refused" if "down" in reason else "i/o timeout"
        address = op["log_url"].split("/")[2]
        message = f'Get "{op["log_url"]}": dial tcp {address}: {why}'
        self.emit("api.kubelet", f"{self.name} cannot reach {msg.target} for the log of {op['name']}: {reason}", target=msg.target, request=key, ok=False, reason=reason)
        self._reply(op, 503, st.unavailable(message))

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
                self._keep_record(op, 200, None, {"text": text, "watch": True})
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


