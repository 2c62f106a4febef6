"""`TrafficGenerator`: a client sending HTTP requests to a Service (`traffic-N`).

Started by the `traffic` command (commands.py). A pod client runs on its pod's node (host:
the node, so it falls with it); an external client runs on the host "external".

    every 1/rate s, for `seconds`:
      pod client:      the source node's rules decide the connection (KubeProxy.connect: the
                       node's netfilter / IPVS, no message) ─▶ http.request to the pod's node
                       (containerd serves it: latency grows with its load) ─▶ http.response
      external client: a node drawn from the seeded stream ─▶ traffic.packet to that node's
                       NodePort ─▶ its rules decide and it forwards ─▶ … ─▶ traffic.reply
    refused (REJECT, ICMP port unreachable, a reset): an error at once;
    dropped or unanswered: an error after TIMEOUT_US ("connection timed out").

Counters: stats.py per generator; `traffic_view` in __init__.py adds them up per service.

Sampling knob (DETAIL_RATE): a generator sending at most DETAIL_RATE requests per virtual
second emits traffic.request and traffic.response for every request; a faster one for one
request in ceil(rate / DETAIL_RATE) (their data says `sampled`: k), so the browser animates
a bounded number of requests per second. Every request still counts, and traffic.tick carries
all the counters once per virtual second. The network's own net.* events (one per hop) are
not sampled: they are the network's contract, and a later performance issue may batch them.
"""

from ..kernel import SECOND, Component
from ..proxy import backend_of, proxies, proxy_of
from . import stats as st
from .events import request_event, response_event

DETAIL_RATE = 50  # requests per virtual second shown one by one (see the docstring)
TIMEOUT_US = 10 * SECOND  # a client gives up on a connection without an answer
TICK_US = 1 * SECOND
EXTERNAL_HOST = "external"
EXTERNAL_PREFIX = "203.0.113."  # TEST-NET-3: the external clients' addresses


ERROR_KINDS = ("connection refused", "connection timed out", "no route to host", "connection reset by peer", "client crashed")


def error_kind(error: str | None) -> str | None:
    """The counters' name for an error ("dial tcp 10.244.1.2:80: connect: connection refused" →
    "connection refused"); HTTP statuses stay as they are ("HTTP 503")."""
    if error is None:
        return None
    for kind in ERROR_KINDS:
        if kind in error:
            return kind
    return "connection reset by peer" if "reset" in error else error


class TrafficGenerator(Component):
    kind = "traffic"

    def __init__(self, sim, name: str, spec: dict, target: dict):
        host = target["source_node"] or EXTERNAL_HOST
        super().__init__(sim, name, host=host)
        self.spec = dict(spec)  # namespace, service, rate, seconds, source, path
        self.target = dict(target)  # service_key, cluster_ip, port, node_port, protocol, src_ip, source_node
        self.service = f"{spec['namespace']}/{spec['service']}"
        self.rate_milli = max(1, round(spec["rate"] * 1000))
        self.total = max(1, round(spec["rate"] * spec["seconds"]))
        self.sample_every = max(1, -(-self.rate_milli // (DETAIL_RATE * 1000)))
        self.started: int | None = None
        self.state = "starting"  # starting → running → draining (all sent, or stopped by the user) → done; stopped if its host crashed
        self.sent = 0
        self.in_flight: dict = {}  # request id -> {"at", "node", "pod", "pod_node", "detail"}
        self.stats = st.new_stats()

    # --- life cycle -------------------------------------------------------------------------------------
    def on_start(self) -> None:
        self.started = self.now
        if self.state != "starting":  # stopped before it started
            self._maybe_done()
            return
        self.state = "running"
        t = self.target
        where = f"from pod {self.spec['source']} on {t['source_node']} ({t['src_ip']})" if t["source_node"] else f"from outside ({t['src_ip']}) through NodePort {t['node_port']}"
        self.emit("traffic.start", f"{self.name}: {self.total} requests to {self.service} ({t['cluster_ip']}:{t['port']}) at {self.spec['rate']:g}/s for {self.spec['seconds']:g} s, "
                  + where, generator=self.name, service=self.service, source=self.spec["source"], source_node=t["source_node"], rate=self.spec["rate"],
                  seconds=self.spec["seconds"], requests=self.total, cluster_ip=t["cluster_ip"], port=t["port"], node_port=t["node_port"], sample_every=self.sample_every)
        self.set_timer(0, "send", 0)
        self.set_timer(TICK_US, "tick", 1)

    def on_crash(self) -> None:
        for rid in sorted(self.in_flight):
            self._finish(rid, code=None, error="client crashed", emit=False)
        self.state = "stopped"

    def on_restart(self) -> None:
        self.state = "stopped"  # a restarted pod does not resume a load test

    def stop(self) -> bool:
        """The user stops the load tool (Ctrl-C): nothing more is sent; the requests in flight
        are answered or time out, then traffic.done. False if it had already stopped sending."""
        if self.state not in ("starting", "running"):
            return False
        self.state = "draining"
        self.total = self.sent
        self.emit("traffic.stop", f"{self.name} stopped by the user after {self.sent} requests ({len(self.in_flight)} in flight)",
                  generator=self.name, service=self.service, sent=self.sent, in_flight=len(self.in_flight))
        self._maybe_done()
        return True

    # --- kernel entries ------------------------------------------------------------------------------------
    def on_timer(self, tag: str, data) -> None:
        if tag == "send" and self.state == "running":
            self._send(data)
        elif tag == "timeout" and data in self.in_flight:
            self._finish(data, code=None, error="connection timed out")
        elif tag == "tick" and self.state in ("running", "draining"):
            self._tick(data)
            self.set_timer(TICK_US, "tick", data + 1)

    def on_message(self, msg) -> None:
        p = msg.payload if isinstance(msg.payload, dict) else {}
        rid = p.get("id")
        if rid not in self.in_flight or msg.kind not in ("http.response", "traffic.reply"):
            return
        entry = self.in_flight[rid]
        if p.get("pod") and not entry.get("pod"):
            entry["pod"], entry["pod_node"] = p.get("pod"), p.get("node")
        self._finish(rid, code=p.get("code"), error=None if p.get("code") is not None else (p.get("error") or "connection refused"), via=p.get("via"))

    def on_undeliverable(self, msg, reason: str) -> None:
        p = msg.payload if isinstance(msg.payload, dict) else {}
        rid = p.get("id")
        if rid in self.in_flight:
            error = "connection timed out" if reason in ("partition", "loss") else "no route to host"
            self._finish(rid, code=None, error=error)

    # --- requests ---------------------------------------------------------------------------------------------
    def _send(self, k: int) -> None:
        rid = f"{self.name}#{k + 1}"
        detail = k % self.sample_every == 0
        self.sent += 1
        t = self.target
        payload = {"id": rid, "generator": self.name, "service": self.service, "from": self.spec["source"], "src": t["src_ip"], "proto": t["protocol"],
                   "path": self.spec["path"], "detail": detail, "sampled": self.sample_every}
        if t["source_node"]:
            self._send_from_pod(rid, payload, detail)
        else:
            self._send_external(rid, payload)
        if k + 1 < self.total:
            self.set_timer(self.started + (k + 1) * 1_000_000_000 // self.rate_milli - self.now, "send", k + 1)
        else:
            self.state = "draining"
            self._maybe_done()

    def _send_from_pod(self, rid: str, payload: dict, detail: bool) -> None:
        t = self.target
        node = t["source_node"]
        payload.update(dst=t["cluster_ip"], dport=t["port"])
        proxy = proxy_of(self.sim, node)
        packet = {"src": t["src_ip"], "dst": t["cluster_ip"], "dport": t["port"], "proto": t["protocol"]}
        if proxy is not None:
            result = proxy.connect(packet, rid)
        else:  # a node without kube-proxy: nothing translates the service address
            result = {"verdict": "none", "node": node, "mode": None, "version": 0, "chains": [], "trace": []}
        if detail:
            request_event(self, payload, result)
        entry = {"at": self.now, "node": node, "pod": result.get("pod"), "pod_node": result.get("pod_node"), "detail": detail, "proxy": node if proxy else None}
        self.in_flight[rid] = entry
        if result["verdict"] == "dnat":
            ip, _, port = result["to"].rpartition(":")
            backend = backend_of(self.sim, ip)
            if backend is None:
                self._finish(rid, code=None, error="no route to host")
                return
            self.send(backend, "http.request", {"id": rid, "ip": ip, "port": int(port), "path": self.spec["path"], "source": t["src_ip"]},
                      summary=f"{self.spec['source']} → {result['to']} ({result.get('pod') or 'pod'}): GET {self.spec['path']}", info={"request": rid, "service": self.service})
            self.set_timer(TIMEOUT_US, "timeout", rid)
        elif result["verdict"] == "reject":
            self._finish(rid, code=None, error="connection refused")
        else:
            self.set_timer(TIMEOUT_US, "timeout", rid)

    def _send_external(self, rid: str, payload: dict) -> None:
        t = self.target
        nodes = proxies(self.sim)
        if not nodes:
            self.in_flight[rid] = {"at": self.now, "node": None, "pod": None, "pod_node": None, "detail": payload["detail"], "proxy": None}
            self._finish(rid, code=None, error="no route to host")
            return
        proxy = self.stream("node").choice(nodes)
        payload.update(dst=proxy.node_ip, dport=t["node_port"])
        self.in_flight[rid] = {"at": self.now, "node": proxy.node, "pod": None, "pod_node": None, "detail": payload["detail"], "proxy": None}
        self.send(proxy.name, "traffic.packet", payload, summary=f"external client {t['src_ip']} → {proxy.node} ({proxy.node_ip}:{t['node_port']}): GET {self.spec['path']}",
                  info={"request": rid, "service": self.service})
        self.set_timer(TIMEOUT_US, "timeout", rid)

    def _finish(self, rid: str, *, code, error, via=None, emit: bool = True) -> None:
        entry = self.in_flight.pop(rid, None)
        if entry is None:
            return
        if entry.get("proxy"):
            proxy = proxy_of(self.sim, entry["proxy"])
            if proxy is not None:
                proxy.closed(rid)
        latency = self.now - entry["at"] if code is not None else None
        failure = error or (f"HTTP {code}" if code is not None and code >= 500 else None)
        st.record(self.stats, pod=entry.get("pod"), node=entry.get("pod_node"), via=entry.get("node"), latency_us=latency, error=error_kind(failure))
        if emit and entry["detail"]:
            response_event(self, rid=rid, service=self.service, pod=entry.get("pod"), pod_node=entry.get("pod_node"), code=code, latency_us=latency, error=failure, via=via)
        self._maybe_done()

    def _maybe_done(self) -> None:
        if self.state == "draining" and not self.in_flight:
            self.state = "done"
            s = st.summary(self.stats)
            lat = s["latency_ms"]
            self.emit("traffic.done", f"{self.name} done: {s['requests']} requests to {self.service}, {s['errors']} errors"
                      + (f", p50 {lat['p50']} ms, p99 {lat['p99']} ms" if lat["p50"] is not None else ""),
                      generator=self.name, service=self.service, requests=s["requests"], errors=s["errors"], pods=s["pods"], latency_ms=lat)

    def _tick(self, second: int) -> None:
        s = self.stats
        self.emit("traffic.tick", f"{self.name}: {s['requests']} answered or failed of {self.sent} sent, {s['errors']} errors",
                  generator=self.name, service=self.service, second=second, sent=self.sent, done=s["requests"], errors=s["errors"],
                  in_flight=len(self.in_flight), pods={pod: e["requests"] for pod, e in sorted(s["pods"].items())}, expected=self.expected_share())

    # --- reading -------------------------------------------------------------------------------------------------
    def expected_share(self) -> dict:
        """The share of new connections each pod should get from the rules now: 1/n over the
        endpoints in the deciding node's chain for this service port (averaged over the nodes
        for an external client, who arrives at any of them). A client with session affinity,
        or hashed by ipvs sh, stays on one of them."""
        key = self.target["service_key"]
        if self.target["source_node"]:
            proxy = proxy_of(self.sim, self.target["source_node"])
            views = [(proxy, "endpoints")] if proxy else []
        else:
            views = [(p, "external_endpoints") for p in proxies(self.sim)]
        share: dict = {}
        for proxy, field in views:
            summary = proxy.summary.get(key)
            pods = [e["pod"] or e["endpoint"] for e in (summary or {}).get(field, [])]
            for pod in pods:
                share[pod] = share.get(pod, 0) + 1 / len(pods) / len(views)
        return {pod: round(v, 6) for pod, v in sorted(share.items())}

    def view(self) -> dict:
        t = self.target
        return {"name": self.name, "kind": self.kind, "alive": self.alive, "service": self.service, "port": t["port"], "source": self.spec["source"],
                "source_node": t["source_node"], "src_ip": t["src_ip"], "rate": self.spec["rate"], "seconds": self.spec["seconds"], "state": self.state,
                "requests": self.total, "sent": self.sent, "done": self.stats["requests"], "errors": self.stats["errors"], "in_flight": len(self.in_flight),
                "sample_every": self.sample_every, "expected": self.expected_share(),
                "started": None if self.started is None else self.started / SECOND}


__all__ = ["DETAIL_RATE", "EXTERNAL_HOST", "TIMEOUT_US", "TrafficGenerator"]
