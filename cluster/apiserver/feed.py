"""The API server as an etcd client: requests with retry and failover across members, and
the watch cache's feed (list /registry/, then one prefix watch from the next revision,
kept alive with progress requests and resumed on another member when it breaks), and
the periodic compaction kube-apiserver does. A mixin of APIServer (server.py).
"""


from .meta import meta_of
from .resources import REGISTRY


class EtcdFeedMixin:
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
        self.etcd_watch = {"id": self.next_watch_id, "member": member, "start": start, "state": "creating", "progress_deadline": None, "seq": 0}
        self.emit("api.etcd_watch", f"{self.name} watches {REGISTRY} on {member} from revision {start}", target=member, watch_id=self.next_watch_id, start_revision=start)
        self.send(member, "etcd.watch", {"watch_id": self.next_watch_id, "key": REGISTRY, "prefix": True, "start_revision": start},
                  summary=f"{self.name} → {member}: watch {REGISTRY} from revision {start}")

    def _on_etcd_watch_event(self, source: str, payload) -> None:
        watch = self.etcd_watch
        if not isinstance(payload, dict) or watch is None or payload.get("watch_id") != watch["id"] or source != watch["member"]:
            return
        watch["progress_deadline"] = None
        # The member numbers a stream's messages: a gap means the network lost one, and the
        # events in it would be silently missing from the cache. Resume from what we have.
        seq = payload.get("seq")
        if isinstance(seq, int) and not isinstance(seq, bool):
            if seq != watch["seq"] + 1:
                self._etcd_watch_broken(f"message {watch['seq'] + 1} of the watch stream was lost")
                return
            watch["seq"] = seq
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
        if payload.get("progress") and self.fresh_waiters:
            # The member is behind what a waiting read needs: ask again (once per round trip).
            self._request_progress()

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
        # Against the last compaction, not the cache's floor: a busy cluster's window moves past
        # the mark within the 5 minutes, and etcd's history would then never be compacted.
        if mark is not None and mark > self.compacted_to:
            self.compacted_to = mark
            self.compact(mark)

    def compact(self, revision: int) -> None:
        """Compact etcd history up to `revision` (the watch cache then promises nothing older)."""
        self.emit("api.compact", f"{self.name} compacts etcd up to revision {revision}", revision=revision)
        self._etcd_send({"op": "compact", "revision": revision}, "compact_done", revision=revision)

    def _compact_done(self, entry: dict, payload: dict) -> None:
        revision = entry["revision"]
        if payload.get("ok") or "compact_revision" in payload:
            self.cache.compacted(min(revision, self.cache.revision))

