"""`KubeProxy`: kube-proxy on one node (`node-1/kube-proxy`, host node-1).

It talks to the API server only: two informers (Services without the
service.kubernetes.io/service-proxy-name label; EndpointSlices without it and without
service.kubernetes.io/headless, as kube-proxy's server.go filters them). Every change puts
one key in a work queue, whose sync rebuilds the node's whole ruleset from the caches,
like syncProxyRules:

    Service / EndpointSlice event ──▶ queue "rules" ──▶ sync: at most once per min_sync
        (BoundedFrequencyRunner) ──▶ rules differ? ──▶ iptables-restore (or the IPVS
        updates) takes restore time ──▶ in place: version + 1, event proxy.sync
    and every sync_period: the same sync, whether anything changed or not (no event if not)

The rules are kernel state: they stay in place while kube-proxy is down (connections keep
being balanced by the last rules it wrote, and stop following changes), and a restarted
kube-proxy lists again and rewrites them. The packet path does not go through kube-proxy:
`connect(packet)` is the node's netfilter / IPVS deciding a new connection, called by
whatever opens a connection on this node (a pod's client: cluster/traffic). Packets that
arrive from elsewhere (an external client on a NodePort) are messages to this endpoint,
which stands for the node's network stack: it forwards them to the chosen pod's node and
the answer back (SNAT: the answer returns through the node that translated it).

Events: proxy.start, proxy.program (a sync found changes and starts writing them: version,
duration), proxy.sync ("rules vN in place", with the services whose endpoints changed:
{"service", "state", "endpoints", "pods", "added", "removed"}), traffic.request for connections arriving from outside (the NodePort's node
decides them). Limitation: a crashed kube-proxy endpoint also stops receiving NodePort
packets for its node (in Kubernetes they would still be forwarded by the kernel).
"""

from ..client import ApiClient, register_index
from ..kernel import MILLISECOND, SECOND, Component
from . import iptables, ipvs
from .serviceports import endpoints_for, service_label, service_ports

USER = {"name": "system:kube-proxy", "groups": ["system:node-proxier"]}
MODES = ("iptables", "ipvs")
SERVICES_SELECTOR = "!service.kubernetes.io/service-proxy-name"
SLICES_SELECTOR = "!service.kubernetes.io/headless,!service.kubernetes.io/service-proxy-name"
FORWARD_TIMEOUT_US = 60 * SECOND  # a NodePort connection's translation is forgotten after this

TIMING = {
    # minSyncPeriod 1 s and syncPeriod 30 s are kube-proxy's defaults. Writing the rules
    # (iptables-restore, or the IPVS updates) takes a base time, more with more rules, and a
    # node-dependent extra (CPU, the xtables lock) drawn per sync: under `teaching` up to a
    # second, so an update is seen to reach the nodes one after another.
    "teaching": {"min_sync_us": 1 * SECOND, "sync_period_us": 30 * SECOND, "restore_base_us": 300 * MILLISECOND, "restore_per_rule_us": 2 * MILLISECOND,
                 "restore_jitter_us": 1 * SECOND, "request_timeout_us": 20 * SECOND, "watch_timeout_range_s": (120, 240)},
    "realistic": {"min_sync_us": 1 * SECOND, "sync_period_us": 30 * SECOND, "restore_base_us": 10 * MILLISECOND, "restore_per_rule_us": 20,
                  "restore_jitter_us": 20 * MILLISECOND, "request_timeout_us": 10 * SECOND, "watch_timeout_range_s": (300, 600)},
}


def _by_service(obj) -> list:
    key = service_label(obj)
    return [key] if key else []


register_index("proxy-service", _by_service)


class KubeProxy(Component):
    kind = "kube-proxy"
    # The iptables walk with each chain pre-filtered per packet (iptables.Walker): a cache of the
    # ruleset in place, rebuilt on demand, not state.
    _unhashed = ("_walker",)
    _walker = None

    def __init__(self, sim, config: dict, *, mode: str = "iptables", scheduler: str = "rr", profile: str = "teaching"):
        node = config["name"]
        super().__init__(sim, f"{node}/kube-proxy", host=node)
        if mode not in MODES:
            raise ValueError(f"proxy mode must be one of {MODES}")
        self.node = node
        self.node_ip = config["ip"]
        self.mode = mode
        self.scheduler = scheduler
        self.cluster_cidr = iptables.CLUSTER_CIDR
        self.timing = dict(TIMING.get(profile, TIMING["teaching"]))
        self.starts = 0
        self.api = ApiClient(self, user=USER, event_prefix="proxy", request_timeout_us=self.timing["request_timeout_us"],
                             watch_timeout_range_s=self.timing["watch_timeout_range_s"])
        self.services = self.api.informer("services", handler="on_change", label_selector=SERVICES_SELECTOR)
        self.slices = self.api.informer("endpointslices", handler="on_change", label_selector=SLICES_SELECTOR, indexes=("proxy-service",))
        self.queue = self.api.queue("rules", "sync_rules", workers=1, event_prefix="proxy")
        # Kernel state (the node's, not the process's: survives a crash of kube-proxy).
        self.version = 0
        self.programmed_at: int | None = None
        self.ruleset = iptables.build([]) if mode == "iptables" else None  # iptables mode: tables + summary
        self.ipvs: dict = {}  # ipvs mode: virtual servers (ipvs.py)
        self.ipvs_wanted: dict = {}  # what the last IPVS update asked for
        self.summary: dict = {}  # service port key -> what the rules do with it (the view)
        self.rule_count = self.ruleset["rules"] if self.ruleset else 0
        self.recent: dict = {}  # xt_recent lists: name -> {client ip: last seen}
        self.conns: dict = {}  # ipvs: connection id -> [virtual server key, endpoint] while open
        self.forwarded: dict = {}  # NodePort connections this node translated: id -> {"client", "conn", "at", ...}
        self.connections = 0  # new connections decided here
        self._volatile()

    def _volatile(self) -> None:
        self.last_sync: int | None = None  # when the last sync computed rules
        self.programming: dict | None = None  # rules being written (iptables-restore running)

    # --- life cycle -------------------------------------------------------------------------------------
    def on_start(self) -> None:
        if self.removed:
            return
        self.starts += 1
        self.emit("proxy.start", f"kube-proxy on {self.node} starts in {self.mode} mode" + (f" (scheduler {self.scheduler})" if self.mode == "ipvs" else "")
                  + ": lists Services and EndpointSlices, then watches them", node=self.node, mode=self.mode)
        self.api.start()
        self.queue.add("rules")  # the first sync waits until both informers have listed
        self.set_timer(self.timing["sync_period_us"], "resync", self.starts)

    def on_crash(self) -> None:
        self.api.stop()
        self._volatile()

    def on_restart(self) -> None:
        self.on_start()

    # --- kernel entries ------------------------------------------------------------------------------------
    def on_message(self, msg) -> None:
        if self.removed or self.api.handle_message(msg):
            return
        payload = msg.payload if isinstance(msg.payload, dict) else {}
        if msg.kind == "traffic.packet":
            self._on_packet(msg.source, payload)
        elif msg.kind == "http.response":
            self._on_backend_answer(payload)

    def on_timer(self, tag: str, data) -> None:
        if self.removed or self.api.handle_timer(tag, data):
            return
        if tag == "resync" and data == self.starts:
            self.queue.add("rules")
            self.set_timer(self.timing["sync_period_us"], "resync", self.starts)
        elif tag == "programmed":
            self._programmed()

    def on_undeliverable(self, msg, reason: str) -> None:
        if self.api.handle_undeliverable(msg, reason):
            return
        if msg.kind == "http.request":
            payload = msg.payload if isinstance(msg.payload, dict) else {}
            entry = self.forwarded.pop(payload.get("id"), None)
            if entry is not None:
                self._close(entry.get("conn"))
                self._reply(entry["client"], {"id": payload.get("id"), "code": None, "error": f"dial tcp {payload.get('ip')}:{payload.get('port')}: {_network_error(reason)}",
                                              "pod": entry.get("pod"), "node": entry.get("pod_node")})

    # --- informers and the sync ------------------------------------------------------------------------------
    def on_change(self, event, obj, old) -> None:
        self.queue.add("rules")

    def sync_rules(self, key: str) -> bool:
        """syncProxyRules: the node's whole ruleset from the caches; written if it changed."""
        if self.programming is not None:
            self.queue.add_after(key, max(1, self.programming["done"] - self.now))
            return True
        if self.last_sync is not None and self.now < self.last_sync + self.timing["min_sync_us"]:
            self.queue.add_after(key, self.last_sync + self.timing["min_sync_us"] - self.now)
            return True
        self.last_sync = self.now
        self._prune()
        entries = self._entries()
        if self.mode == "iptables":
            ruleset = iptables.build(entries, cluster_cidr=self.cluster_cidr)
            same = ruleset["filter"] == self.ruleset["filter"] and ruleset["nat"] == self.ruleset["nat"]
            summary, count, pending = ruleset["services"], ruleset["rules"], {"ruleset": ruleset}
        else:
            wanted, summary = ipvs.desired(entries, node_ip=self.node_ip, scheduler=self.scheduler, cluster_cidr=self.cluster_cidr)
            for vs in self.ipvs.values():
                ipvs.reap(vs, self.now)  # graceful termination: drained real servers go
            same = wanted == self.ipvs_wanted
            count = len(wanted) + sum(len(v["dests"]) for v in wanted.values())
            pending = {"wanted": wanted}
        if same and summary == self.summary:
            return True
        duration = self.timing["restore_base_us"] + self.timing["restore_per_rule_us"] * count + self.stream("restore").randint(0, self.timing["restore_jitter_us"])
        self.programming = {**pending, "summary": summary, "rules": count, "started": self.now, "done": self.now + duration}
        self.set_timer(duration, "programmed", None)
        tool = "iptables-restore" if self.mode == "iptables" else "IPVS updates"
        self.emit("proxy.program", f"kube-proxy on {self.node} writes rules v{self.version + 1} ({tool}, {count} {'rules' if self.mode == 'iptables' else 'entries'})",
                  node=self.node, mode=self.mode, version=self.version + 1, rules=count, duration_ms=duration / 1000)
        return True

    def _entries(self) -> list:
        out = []
        for service in self.services.list():
            for info in service_ports(service):
                out.append((info, endpoints_for(info, self.slices.by_index("proxy-service", info["service"]), self.node)))
        out.sort(key=lambda entry: entry[0]["key"])
        return out

    def _programmed(self) -> None:
        p = self.programming
        if p is None:
            return
        self.programming = None
        old = self.summary
        if self.mode == "iptables":
            self.ruleset = p["ruleset"]
            for name in [n for n in self.recent if n not in self.ruleset["endpoints"]]:
                del self.recent[name]  # a list nothing refers to any more goes with its chain
        else:
            ipvs.apply(self.ipvs, p["wanted"], self.now)
            self.ipvs_wanted = p["wanted"]
        self.summary = p["summary"]
        self.rule_count = p["rules"]
        self.version += 1
        self.programmed_at = self.now
        changes = _changes(old, self.summary)
        what = "iptables rules" if self.mode == "iptables" else "IPVS virtual servers"
        detail = "; ".join(_describe(c) for c in changes[:4]) + (f"; {len(changes) - 4} more" if len(changes) > 4 else "")
        self.emit("proxy.sync", f"kube-proxy on {self.node}: {what} v{self.version} in place ({p['rules']} {'rules' if self.mode == 'iptables' else 'entries'})"
                  + (f": {detail}" if detail else ""),
                  node=self.node, mode=self.mode, version=self.version, rules=p["rules"], duration_ms=(self.now - p["started"]) / 1000, changes=changes[:20])

    def _prune(self) -> None:
        for cid in [c for c, e in self.forwarded.items() if self.now - e["at"] > FORWARD_TIMEOUT_US]:
            entry = self.forwarded.pop(cid)
            self._close(entry.get("conn"))

    # --- the packet path (the node's kernel, not the kube-proxy process) -----------------------------------
    def connect(self, packet: dict, conn_id: str | None = None) -> dict:
        """Decide a new connection's first packet {"src", "dst", "dport", "proto"} by this node's
        rules. Returns the verdict ("dnat", "reject", "drop" or "none") with "to" ("ip:port"),
        "pod", "pod_node", "service", "masq", "trace"/"chains" (the rules that fired), the
        rules' "version", "node" and "mode". In ipvs mode a chosen real server counts the
        connection (ActiveConn) until `closed(conn_id)`."""
        self.connections += 1
        if self.mode == "iptables":
            walker = self._walker
            if walker is None or walker.ruleset is not self.ruleset:
                walker = self._walker = iptables.Walker(self.ruleset, (self.node_ip, "127.0.0.1"))
            kernel = {"local_ips": walker.local_ips, "draw": self._drawer(), "recent": self.recent, "now": self.now}
            result = walker.evaluate(packet, kernel)
            sep = self.ruleset["endpoints"].get(result["sep"]) if result["sep"] else None
            result.update(pod=sep["pod"] if sep else None, pod_node=sep["node"] if sep else None, service=sep["service"] if sep else None)
        else:
            result = ipvs.evaluate(self.ipvs, packet, self.now, self.cluster_cidr)
            vs = self.ipvs.get(result.get("vs_key") or "")
            result.update(service=vs["service"] if vs else None, pod_node=result.pop("node", None))
            result.setdefault("pod", None)
            if result["verdict"] == "dnat" and conn_id is not None:
                self.conns[conn_id] = [result["vs_key"], result["to"]]
        if result["verdict"] == "none" and packet["dst"] in (self.node_ip, "127.0.0.1"):
            result["verdict"] = "reject"  # a local port nothing listens on answers with a reset
        result.update(version=self.version, node=self.node, mode=self.mode)
        return result

    def closed(self, conn_id: str) -> None:
        """A connection `connect` counted has ended (ipvs: ActiveConn → InActConn)."""
        self._close(conn_id)

    def _close(self, conn_id) -> None:
        entry = self.conns.pop(conn_id, None) if conn_id is not None else None
        if entry is not None:
            ipvs.close(self.ipvs, entry[0], entry[1], self.now)

    def _draw(self) -> int:
        """xt_statistic's draw: 31 random bits from this node's seeded stream."""
        return self.stream("statistic").next64() >> 33

    def _drawer(self):
        """_draw for one connection: the stream is looked up at the first draw (a connection that
        draws nothing must not create it) and kept for the others (a 30-endpoint chain draws ~15)."""
        stream = None

        def draw() -> int:
            nonlocal stream
            if stream is None:
                stream = self.stream("statistic")
            return stream.next64() >> 33
        return draw

    # NodePort: a packet from outside arrives here, is decided, forwarded, and its answer relayed.
    def _on_packet(self, client: str, p: dict) -> None:
        cid = p.get("id")
        packet = {"src": str(p.get("src")), "dst": str(p.get("dst")), "dport": p.get("dport"), "proto": str(p.get("proto") or "TCP")}
        result = self.connect(packet, cid)
        if p.get("detail", True):
            _traffic_events().request_event(self, p, result)
        if result["verdict"] == "dnat":
            ip, _, port = result["to"].rpartition(":")
            backend = backend_of(self.sim, ip)
            entry = {"client": client, "conn": cid if self.mode == "ipvs" else None, "at": self.now, "pod": result["pod"], "pod_node": result["pod_node"]}
            if backend is None:
                self._close(entry["conn"])
                self._reply(client, {"id": cid, "code": None, "error": f"dial tcp {ip}:{port}: connect: no route to host", "pod": result["pod"], "node": result["pod_node"]})
                return
            self.forwarded[cid] = entry
            source = self.node_ip if result["masq"] else packet["src"]
            self.send(backend, "http.request", {"id": cid, "ip": ip, "port": int(port), "path": p.get("path") or "/", "source": source},
                      summary=f"{self.node} forwards {packet['src']} → {packet['dst']}:{packet['dport']} to {result['to']} ({result['pod'] or 'pod'})",
                      info={"request": cid, "service": result.get("service")})
        elif result["verdict"] == "reject":
            self._reply(client, {"id": cid, "code": None, "error": f"dial tcp {packet['dst']}:{packet['dport']}: connect: connection refused"})
        # drop / none: nothing answers; the client times out

    def _on_backend_answer(self, payload: dict) -> None:
        entry = self.forwarded.pop(payload.get("id"), None)
        if entry is None:
            return
        self._close(entry.get("conn"))
        self._reply(entry["client"], {**payload, "pod": payload.get("pod") or entry["pod"], "node": payload.get("node") or entry["pod_node"]})

    def _reply(self, client: str, payload: dict) -> None:
        self.send(client, "traffic.reply", {**payload, "via": self.node},
                  summary=f"{self.node} → {client}: " + (f"HTTP {payload['code']}" if payload.get("code") else payload.get("error") or "no answer"),
                  info={"request": payload.get("id")})

    # --- reading ----------------------------------------------------------------------------------------------
    def rules_text(self) -> str:
        """`iptables-save` (iptables mode) or `ipvsadm -Ln` (ipvs mode) on this node, now."""
        if self.mode == "iptables":
            return iptables.render(self.ruleset, self.now)
        return ipvs.render(self.ipvs, self.now)

    def rules_view(self) -> dict:
        """What the browser draws for this node's rules: the version (watch it move node by
        node), and per service port the endpoints its rules send connections to."""
        return {
            "node": self.node, "mode": self.mode, "version": self.version, "alive": self.alive,
            "programmed_at": None if self.programmed_at is None else self.programmed_at / SECOND,
            "programming": self.programming is not None, "rules": self.rule_count,
            "services": {key: {"cluster_ip": s["cluster_ip"], "port": s["port"], "node_port": s["node_port"], "chain": s["chain"],
                               "endpoints": [e["endpoint"] for e in s["endpoints"]], "pods": [e["pod"] for e in s["endpoints"]],
                               "external_pods": [e["pod"] for e in s["external_endpoints"]], "verdict": s["verdict"]}
                         for key, s in sorted(self.summary.items())},
        }

    def view(self) -> dict:
        return {"name": self.name, "kind": self.kind, "alive": self.alive, "node": self.node, "mode": self.mode, "version": self.version,
                "programmed_at": None if self.programmed_at is None else self.programmed_at / SECOND, "programming": self.programming is not None,
                "rules": self.rule_count, "services": len(self.summary), "connections": self.connections, "client": self.api.view()}


def _traffic_events():
    """cluster/traffic/events.py (the traffic module owns the event's shape), imported on first use:
    cluster.traffic imports this package, so the import cannot be at the top."""
    global _TRAFFIC_EVENTS
    if _TRAFFIC_EVENTS is None:
        from ..traffic import events

        _TRAFFIC_EVENTS = events
    return _TRAFFIC_EVENTS


_TRAFFIC_EVENTS = None


def backend_of(sim, ip: str) -> str | None:
    """The containerd endpoint of the node whose pod CIDR holds `ip` (the CNI's routes)."""
    parts = ip.split(".")
    if len(parts) != 4:
        return None
    prefix = ".".join(parts[:3]) + ".0/24"
    # The first in name order of those that match (asked for every request: no sort of every name).
    found = [name for name, runtime in sim.components.items()
             if name.endswith("/containerd") and getattr(runtime, "pod_cidr", None) == prefix and not getattr(runtime, "removed", False)]
    return min(found) if found else None


def _network_error(reason: str) -> str:
    if reason == "partition" or reason == "loss":
        return "connect: connection timed out"
    return "connect: no route to host"


def _changes(old: dict, new: dict) -> list[dict]:
    out = []
    for key in sorted(set(old) | set(new)):
        before = [e["endpoint"] for e in (old.get(key) or {}).get("endpoints", [])]
        after_entries = (new.get(key) or {}).get("endpoints", [])
        after = [e["endpoint"] for e in after_entries]
        ext_before = [e["endpoint"] for e in (old.get(key) or {}).get("external_endpoints", [])]
        ext_after = [e["endpoint"] for e in (new.get(key) or {}).get("external_endpoints", [])]
        if key in old and key in new and before == after and ext_before == ext_after:
            continue
        pods = {e["endpoint"]: e["pod"] for s in (old.get(key), new.get(key)) if s for e in s["endpoints"] + s["external_endpoints"]}
        out.append({"service": key, "state": "added" if key not in old else ("removed" if key not in new else "changed"),
                    "endpoints": after, "pods": [e["pod"] for e in after_entries],
                    "added": [{"endpoint": e, "pod": pods.get(e)} for e in after if e not in before],
                    "removed": [{"endpoint": e, "pod": pods.get(e)} for e in before if e not in after]})
    return out


def _describe(change: dict) -> str:
    if change["state"] == "removed":
        return f"{change['service']} gone"
    text = f"{change['service']} → {len(change['endpoints'])} endpoint{'s' if len(change['endpoints']) != 1 else ''}"
    parts = [f"+{a['pod'] or a['endpoint']}" for a in change["added"]] + [f"−{r['pod'] or r['endpoint']}" for r in change["removed"]]
    return text + (f" ({', '.join(parts[:6])})" if parts else "")
