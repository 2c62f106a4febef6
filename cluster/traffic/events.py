"""The traffic.* events the browser animates (their data is part of the view contract).

traffic.request   a new connection was decided by a node's rules (source: the generator for
                  a pod client, or `<node>/kube-proxy` for an external client's NodePort
                  packet; target: the chosen pod's `<node>/containerd`, or none)
    {"id", "generator", "service", "from" (pod or "external"), "src", "dst", "dport",
     "node" (whose rules decided), "mode", "version" (that node's rules version),
     "verdict" ("dnat" | "reject" | "drop" | "none"), "to" ("ip:port"), "pod", "pod_node",
     "masq", "chains" (iptables: the chains entered, in order, the filter table's as
     "filter/<chain>"; ipvs: ["IPVS <virtual server>"]), "trace" ([[table, chain, rule
     number], ...]: each rule that fired, numbered as `iptables -L --line-numbers`; ipvs: []), "why" (ipvs: the
     scheduler's reason), "sampled" (1: every request has its events; k: one in k)}
traffic.response  the client got its answer or gave up (source: the generator)
    {"id", "generator", "service", "pod", "pod_node", "code" (HTTP status, null on error),
     "latency_ms", "error", "via" (the NodePort node the answer came back through)}
"""


def _short(chain: str) -> str:
    return chain[:14] + "…" if chain.startswith("KUBE-") and len(chain) > 18 else chain


_HOW: dict = {}  # (node, chains) -> the words for that path: a few paths come back for every request
_HOW_MAX = 4096


def _rules_how(node: str, chains: list) -> str:
    key = (node, tuple(chains))
    how = _HOW.get(key)
    if how is None:
        picks = [c for c in chains if c.startswith(("KUBE-SVC-", "KUBE-SVL-", "KUBE-SEP-"))]
        how = f"{node}'s rules ({' → '.join(_short(c) for c in picks)})" if picks else f"{node}'s rules"
        if len(_HOW) >= _HOW_MAX:
            _HOW.clear()
        _HOW[key] = how
    return how


def request_event(component, p: dict, result: dict) -> None:
    """Emit traffic.request for packet payload `p` ({"id", "generator", "service", "from",
    "src", "dst", "dport", "sampled"}) decided as `result` (KubeProxy.connect)."""
    verdict = result["verdict"]
    who = p.get("from") or "client"
    service = p.get("service")
    node = result["node"]
    if verdict == "dnat":
        if result["mode"] == "iptables":
            how = _rules_how(node, result["chains"])
        else:
            how = f"{node}'s IPVS ({result.get('why')})"
        summary = f"{who} → {service}: {how} send it to {result.get('pod') or result['to']}" + (f" on {result['pod_node']}" if result.get("pod_node") else "")
    elif verdict == "reject":
        summary = f"{who} → {service}: connection refused on {node} (no endpoint to send it to)"
    elif verdict == "drop":
        summary = f"{who} → {service}: {node} drops it (no local endpoint): the client will time out"
    else:
        summary = f"{who} → {service}: no rule on {node} matches {p.get('dst')}:{p.get('dport')}; the packet goes nowhere"
    target = f"{result['pod_node']}/containerd" if verdict == "dnat" and result.get("pod_node") else None
    component.emit("traffic.request", summary, target=target, id=p.get("id"), generator=p.get("generator"), service=service, **{"from": who},
                   src=p.get("src"), dst=p.get("dst"), dport=p.get("dport"), node=node, mode=result["mode"], version=result["version"], verdict=verdict,
                   to=result.get("to"), pod=result.get("pod"), pod_node=result.get("pod_node"), masq=result.get("masq", False), chains=result.get("chains", []),
                   trace=result.get("trace", []), why=result.get("why"), sampled=p.get("sampled", 1))


def response_event(component, *, rid: str, service: str, pod, pod_node, code, latency_us, error, via) -> None:
    if error:
        summary = f"{rid}: {error}" + (f" ({pod})" if pod else "")
    else:
        summary = f"{rid}: HTTP {code} from {pod or 'a pod'} in {latency_us / 1000:.1f} ms"
    component.emit("traffic.response", summary, target=None, id=rid, generator=component.name, service=service, pod=pod, pod_node=pod_node, code=code,
                   latency_ms=None if latency_us is None else round(latency_us / 1000, 3), error=error, via=via)
