"""Informer: a reflector that fills a local cache with indexes, and handlers named by strings.

The reflector (client-go tools/cache/reflector.go), as a state machine over plain data:

    idle ──start──▶ listing ──list ok──▶ watching ──watch_end (timeout)──▶ watching (again, from rv)
                      ▲   └─failed─▶ backoff ─┐     │
                      │                       │     ├─ ERROR 410 Expired ───────────┐
                      └───────────────────────┘     ├─ watch refused / lost ────────┤ re-list
                      ◀─────────────────────────────┴─ watch stalled (see below) ───┘ (watch.relist)

* list: a consistent list (no resourceVersion); its items replace the cache (the differences
  go to the handlers as add / update / delete), its resourceVersion is where the watch starts.
* watch from that resourceVersion with bookmarks; every event moves `rv` on.
* a watch that ends normally (timeoutSeconds) is simply started again from `rv`: no list.
* 410 Expired, a refused or lost watch request, or a watch found broken: re-list.
* A broken stream is found three ways, because in the simulation (as with a reset TCP
  connection) the client is not told when the API server drops its watch: (0) a request
  of the client finds the server down (all its watches died with it); (1) the watch
  asked for timeoutSeconds, so its end must arrive by then; (2) the API server sends every
  bookmark-watcher a BOOKMARK when the revision has moved (every 10 s), so a watch that stays
  behind a revision the client has seen elsewhere (any response carries one) for
  `stall_timeout_us` is dead. (client-go finds the same with HTTP/2 pings.)

Resync (distinct from re-list: no request at all) replays every cached object to the handlers
every `resync_us`, so a level-based controller gets to look again at everything it owns.

Handlers are names resolved on the owning component ("on_pod", or a dotted path such as
"replicaset.on_pod"), called as handler(event, obj, old) with event "add", "update",
"delete" or "resync"; `old` is the previous state for "update", else None.
Indexes are names of functions in INDEXERS (register more with `register_index`).
"""

from __future__ import annotations

from ..apiserver.meta import meta_of
from ..kernel import SECOND
from .objects import controller_of, key_of, rv_int


# --- indexes: name -> function(obj) -> list of index values -------------------------------------------
def _by_namespace(obj):
    ns = meta_of(obj).get("namespace")
    return [ns] if ns else []


def _by_node(obj):
    node = (obj.get("spec") or {}).get("nodeName") if isinstance(obj.get("spec"), dict) else None
    return [node] if isinstance(node, str) and node else []


def _by_owner(obj):
    return sorted({ref.get("uid") for ref in meta_of(obj).get("ownerReferences") or [] if isinstance(ref, dict) and isinstance(ref.get("uid"), str)})


def _by_controller(obj):
    ref = controller_of(obj)
    return [ref["uid"]] if ref and isinstance(ref.get("uid"), str) else []


def _by_uid(obj):
    uid = meta_of(obj).get("uid")
    return [uid] if isinstance(uid, str) else []


INDEXERS = {"namespace": _by_namespace, "node": _by_node, "owner": _by_owner, "controller": _by_controller, "uid": _by_uid}


def register_index(name: str, function) -> None:
    """Add an index function (at import time, module level: state keeps only the name)."""
    INDEXERS[name] = function


class Informer:
    def __init__(self, client, name: str, resource: str, group: str, *, namespace: str | None, label_selector: str | None,
                 field_selector: str | None, indexes, resync_us: int):
        self.client = client
        self.name = name
        self.resource = resource
        self.group = group
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.indexes: list[str] = sorted(set(indexes or ()))
        self.resync_us = resync_us
        self.handlers: list[str] = []
        self.relists = 0
        self.resyncs = 0
        self.last_relist: dict | None = None  # {"time", "reason", "added", "updated", "deleted"}
        self.last_resync: float | None = None  # virtual seconds
        self._clear()

    def _clear(self) -> None:
        self.cache: dict[str, dict] = {}
        self.index: dict[str, dict[str, set]] = {name: {} for name in self.indexes}
        self.rv = 0
        self.synced = False
        self.state = "idle"  # idle | listing | watching | backoff
        self.gen = getattr(self, "gen", 0) + 1  # numbers each (re)list: stale answers and timers are ignored
        self.list_id = None
        self.watch_id = None
        self.watch_open = False
        self.behind: list | None = None  # [revision the watch must reach, since when]
        self.backoff_us = 0
        self.list_reason = "start"
        self.list_reason_after_backoff = "retry"
        self.resync_token = getattr(self, "resync_token", 0) + 1

    # --- reading the cache ---------------------------------------------------------------------------
    def get(self, key: str) -> dict | None:
        return self.cache.get(key)

    def get_by(self, namespace: str | None, name: str) -> dict | None:
        return self.cache.get(f"{namespace}/{name}" if namespace else name)

    def keys(self) -> list[str]:
        return sorted(self.cache)

    def list(self, namespace: str | None = None) -> list[dict]:
        if namespace is None:
            return [self.cache[k] for k in sorted(self.cache)]
        return self.by_index("namespace", namespace) if "namespace" in self.index else [o for o in self.list() if meta_of(o).get("namespace") == namespace]

    def by_index(self, index: str, value: str) -> list[dict]:
        keys = self.index[index].get(value) or ()
        return [self.cache[k] for k in sorted(keys)]

    def add_index(self, name: str) -> None:
        if name in self.index:
            return
        if name not in INDEXERS:
            raise KeyError(f"no index function named {name!r}")
        self.indexes = sorted({*self.indexes, name})
        self.index[name] = {}
        for key, obj in self.cache.items():
            self._index_add(name, key, obj)

    def add_handler(self, handler: str) -> None:
        if handler not in self.handlers:
            self.handlers.append(handler)

    @property
    def label(self) -> str:
        text = self.resource
        if self.namespace:
            text += f" in {self.namespace}"
        if self.field_selector:
            text += f" ({self.field_selector})"
        if self.label_selector:
            text += f" [{self.label_selector}]"
        return text

    # --- the store -----------------------------------------------------------------------------------
    def _index_add(self, name: str, key: str, obj: dict) -> None:
        for value in INDEXERS[name](obj):
            self.index[name].setdefault(value, set()).add(key)

    def _index_remove(self, name: str, key: str, obj: dict) -> None:
        table = self.index[name]
        for value in INDEXERS[name](obj):
            keys = table.get(value)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del table[value]

    def _store(self, key: str, obj: dict | None) -> dict | None:
        old = self.cache.get(key)
        if old is not None:
            for name in self.indexes:
                self._index_remove(name, key, old)
        if obj is None:
            self.cache.pop(key, None)
        else:
            self.cache[key] = obj
            for name in self.indexes:
                self._index_add(name, key, obj)
        return old

    def _notify(self, event: str, obj: dict, old: dict | None) -> None:
        for handler in list(self.handlers):
            self.client.resolve(handler)(event, obj, old)

    # --- the reflector ------------------------------------------------------------------------------
    def start(self) -> None:
        if self.state == "idle":
            self._list("start")

    def stop(self) -> None:
        if self.watch_id is not None:
            self.client._end_watch(self.watch_id, cancel=True)
        self._clear()

    def _query(self) -> dict:
        query = {}
        if self.label_selector:
            query["labelSelector"] = self.label_selector
        if self.field_selector:
            query["fieldSelector"] = self.field_selector
        return query

    def _list(self, reason: str) -> None:
        if self.watch_id is not None:
            self.client._end_watch(self.watch_id, cancel=True)
            self.watch_id = None
        self.watch_open = False
        self.behind = None
        self.gen += 1
        self.state = "listing"
        self.list_reason = reason
        self.list_id = self.client._send_internal(
            "list", self.resource, self.group, self.namespace, self._query(), {"informer": self.name, "what": "list", "gen": self.gen})

    def relist(self, reason: str) -> None:
        self.client.owner.emit("watch.relist", f"{self.client.owner.name} re-lists {self.label}: {reason}",
                               target=self.client.server, resource=self.resource, reason=reason, rv=self.rv)
        self._list(reason)

    def _backoff(self, why: str) -> None:
        self.state = "backoff"
        self.backoff_us = min(30 * SECOND, max(SECOND, self.backoff_us * 2))
        self.client.owner.emit("watch.backoff", f"{self.client.owner.name} will list {self.label} again in {self.backoff_us // SECOND} s: {why}",
                               target=self.client.server, resource=self.resource, reason=why, delay=self.backoff_us / SECOND)
        self.client.owner.set_timer(self.backoff_us, "client.relist", [self.name, self.gen])

    def on_relist_timer(self, gen: int) -> None:
        if gen == self.gen and self.state == "backoff":
            self.relist(self.list_reason_after_backoff)

    def on_list_done(self, context: dict, response: dict) -> None:
        if context.get("gen") != self.gen or self.state != "listing":
            return
        self.list_id = None
        body = response.get("body") if isinstance(response.get("body"), dict) else {}
        if response.get("code") != 200 or not isinstance(body.get("items"), list):
            self.list_reason_after_backoff = f"the last list failed ({response.get('code')})"
            self._backoff(f"list failed: {response.get('code')} {body.get('reason') or body.get('message') or ''}".strip())
            return
        self.backoff_us = 0
        counts = self._replace(body["items"])
        self.rv = rv_int(body)
        self.client.saw_rv(self.rv)
        first = not self.synced
        self.synced = True
        if first and self.list_reason == "start":
            self.client.owner.emit("watch.list", f"{self.client.owner.name} listed {len(self.cache)} {self.label} at resourceVersion {self.rv}",
                                   target=self.client.server, resource=self.resource, rv=self.rv, count=len(self.cache))
        else:
            self.relists += 1
            self.last_relist = {"time": self.client.owner.now / SECOND, "reason": self.list_reason, **counts}
            self.client.owner.emit("watch.relisted",
                                   f"{self.client.owner.name} re-listed {self.label} at resourceVersion {self.rv}: {counts['added']} new, {counts['updated']} changed, {counts['deleted']} gone",
                                   target=self.client.server, resource=self.resource, rv=self.rv, reason=self.list_reason, **counts)
        self._watch()
        self.client.informer_advanced(self.resource)
        if first:
            self.client.on_informer_synced()
        if first and self.resync_us:
            self.client.owner.set_timer(self.resync_us, "client.resync", [self.name, self.resync_token])

    def _replace(self, items: list) -> dict:
        """The list's items become the cache; what differs goes to the handlers (deletes last)."""
        seen = {}
        for obj in items:
            if isinstance(obj, dict):
                seen[key_of(obj)] = obj
        counts = {"added": 0, "updated": 0, "deleted": 0}
        for key in sorted(seen):
            obj = seen[key]
            old = self._store(key, obj)
            if old is None:
                counts["added"] += 1
                self._notify("add", obj, None)
            elif rv_int(old) != rv_int(obj):
                counts["updated"] += 1
                self._notify("update", obj, old)
        for key in sorted(k for k in self.cache if k not in seen):
            old = self._store(key, None)
            counts["deleted"] += 1
            self._notify("delete", old, None)
        return counts

    def _watch(self) -> None:
        self.state = "watching"
        self.watch_open = False
        self.behind = None
        timeout_s = self.client.watch_timeout_s()
        query = dict(self._query(), resourceVersion=str(self.rv), allowWatchBookmarks=True, timeoutSeconds=timeout_s)
        self.watch_id = self.client._send_internal("watch", self.resource, self.group, self.namespace, query,
                                                   {"informer": self.name, "what": "watch", "gen": self.gen})
        self.client.watches[self.watch_id] = self.name
        # The end of the watch must arrive by then; otherwise its stream broke unnoticed.
        self.client.owner.set_timer((timeout_s + self.client.watch_grace_s) * SECOND, "client.watch_deadline", [self.name, self.watch_id])

    def on_watch_response(self, context: dict, response: dict) -> None:
        if context.get("gen") != self.gen or self.state != "watching":
            return
        if response.get("code") == 200 and response.get("watch"):
            self.watch_open = True
            return
        body = response.get("body") if isinstance(response.get("body"), dict) else {}
        # Refused, or no answer: if the server did open it after all, it should not linger.
        self.client._end_watch(self.watch_id, cancel=response.get("code") in (503, 504))
        self.watch_id = None
        if response.get("code") == 410:
            self.relist("the watch's resourceVersion is too old (410 Gone)")
        else:
            self.list_reason_after_backoff = f"the watch request failed ({response.get('code')})"
            self._backoff(f"watch failed: {response.get('code')} {body.get('reason') or ''}".strip())

    def on_watch_event(self, payload: dict) -> None:
        kind = payload.get("type")
        obj = payload.get("object") if isinstance(payload.get("object"), dict) else {}
        if kind == "ERROR":
            code = obj.get("code")
            self.client.watches.pop(self.watch_id, None)
            self.watch_id = None
            self.relist("the watch expired (410 Gone)" if code == 410 else f"the watch reported an error ({code})")
            return
        rv = rv_int(obj)
        if rv:
            self.rv = max(self.rv, rv)
            self.client.saw_rv(rv)
        if kind == "BOOKMARK":
            self.client.informer_advanced(self.resource)
            return
        key = key_of(obj)
        if kind == "DELETED":
            old = self._store(key, None)
            if old is not None:  # one we never saw (it came and went unseen) needs no handler call
                self._notify("delete", old, None)
        elif kind in ("ADDED", "MODIFIED"):
            old = self._store(key, obj)
            self._notify("add" if old is None else "update", obj, old)
        self.client.informer_advanced(self.resource)

    def on_watch_end(self) -> None:
        """The server ended the watch (timeoutSeconds): watch again from where we are, no list."""
        self.watch_id = None
        self.client.owner.emit("watch.restart", f"{self.client.owner.name}'s watch of {self.label} ended; it watches again from resourceVersion {self.rv}",
                               target=self.client.server, resource=self.resource, rv=self.rv)
        self._watch()

    def on_watch_deadline(self, watch_id) -> None:
        if self.state == "watching" and self.watch_id == watch_id:
            self.relist("the watch should have ended after its timeout but never did: its stream broke")

    def check_stalled(self, high_rv: int, now: int, stall_us: int) -> None:
        """Called every few seconds: is this watch keeping up with the revisions seen elsewhere?"""
        if self.state != "watching" or not self.watch_open:
            self.behind = None
            return
        if self.behind is not None and self.rv >= self.behind[0]:
            self.behind = None
        if self.behind is None:
            if self.rv < high_rv:
                self.behind = [high_rv, now]
            return
        if now - self.behind[1] >= stall_us:
            target = self.behind[0]
            self.relist(f"the watch is stuck at resourceVersion {self.rv} while the server is past {target}: its stream must have broken")

    def resync(self) -> None:
        if not self.synced or not self.handlers:
            return
        self.resyncs += 1
        self.last_resync = self.client.owner.now / SECOND
        self.client.owner.emit("controller.resync", f"{self.client.owner.name} resyncs {self.label}: replays {len(self.cache)} cached object(s) to its handlers (no API request)",
                               resource=self.resource, count=len(self.cache))
        for key in sorted(self.cache):
            obj = self.cache.get(key)
            if obj is not None:
                self._notify("resync", obj, obj)

    def on_resync_timer(self, token: int) -> None:
        # The resync period runs across re-lists; only a stop (a new start) resets it.
        if token != self.resync_token or self.state == "idle":
            return
        self.resync()
        self.client.owner.set_timer(self.resync_us, "client.resync", [self.name, token])

    # --- view ------------------------------------------------------------------------------------
    def view(self) -> dict:
        return {
            "name": self.name, "resource": self.resource, "namespace": self.namespace, "labelSelector": self.label_selector,
            "fieldSelector": self.field_selector, "state": self.state, "synced": self.synced, "rv": self.rv, "objects": len(self.cache),
            "watching": self.watch_open, "relists": self.relists, "resyncs": self.resyncs, "last_relist": self.last_relist,
            "last_resync": self.last_resync,
        }
