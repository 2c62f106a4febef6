"""ipvs mode: a virtual server per service port (the cluster IP, and the node's address for a
NodePort) with a real server per endpoint, chosen by the kernel's scheduler; the text
`ipvsadm -Ln` prints; graceful termination of removed real servers.

    TCP  10.96.14.2:80 rr                     virtual server (persistent 10800 with sessionAffinity ClientIP)
      -> 10.244.1.2:80  Masq 1 0 0            real servers: weight, ActiveConn, InActConn
      -> 10.244.2.3:80  Masq 1 1 0

The kernel state (plain data, kept by the node's kube-proxy, surviving its crashes like any
kernel state) is {vs key: virtual server}; a virtual server is

    {"key": "TCP:10.96.14.2:80", "proto": "TCP", "addr": "10.96.14.2", "port": 80, "sched": "rr",
     "persistent": 0 | seconds, "service": "default/web", "kind": "ClusterIP" | "NodePort", "masq": bool,
     "dests": [{"addr", "port", "weight", "active", "inactive": {expiry second: n}, "pod", "node"}, ...],
     "rr": "ip:port" of the last real server rr chose | None, "templates": {client ip: [dest, expires]}}

`dests` is in the kernel's list order, which the schedulers walk: a new real server is linked
at the head (list_add_rcu), so kube-proxy adding 1, 2, 3 in that order leaves [3, 2, 1].

Schedulers, as net/netfilter/ipvs does them:
  rr  the next real server after the last one chosen with weight > 0 (when the last one is
      removed, the pointer moves to the one before it, as ip_vs_rr_del_dest does).
  lc  the real server with the least overhead, ActiveConn · 256 + InActConn; the first such in
      list order wins ties.
  sh  256 buckets dealt to the real servers in list order (weight 1: one each, in turn); a
      client's bucket is hash_32(its IPv4 address, 8) (multiply by 0x61C88647, keep the top 8
      bits). A bucket whose server has weight 0 fails: no fallback without the sh-fallback flag.
A Service with sessionAffinity ClientIP is "persistent": a client's first connection leaves a
template (client → real server) kept for the timeout after its last use; kube-proxy sets
expire_quiescent_template, so a template to a weight-0 server is dropped and the client
scheduled again. No real server available: the kernel answers ICMP port unreachable
("connection refused").

Graceful termination (kube-proxy's gracefulTerminationManager): a real server whose endpoint
went away gets weight 0 (no new connections) and is deleted once it has no active and no
inactive connections; an inactive connection (closed, in FIN/TIME_WAIT) counts for
INACTIVE_US after it closed.
"""

from .iptables import CLUSTER_CIDR, _in_cidr, _ip_int
from .serviceports import categorize

SCHEDULERS = ("rr", "lc", "sh")
IPVS_VERSION = "1.2.1"
IPVS_TABLE_SIZE = 4096
SH_BUCKETS = 256
GOLDEN_RATIO_32 = 0x61C88647
INACTIVE_US = 60_000_000


def vs_key(proto: str, addr: str, port: int) -> str:
    return f"{proto}:{addr}:{port}"


def desired(entries: list, *, node_ip: str | None, scheduler: str, cluster_cidr: str = CLUSTER_CIDR) -> tuple[dict, dict]:
    """The virtual servers a node wants from [(service port, endpoints)], and the per-service
    summary for the view: ({vs key: {... "dests": [sorted endpoints]}}, {service port key: summary})."""
    wanted: dict = {}
    services: dict = {}
    for info, endpoints in entries:
        cluster, local, _reachable, _has_any = categorize(endpoints, info)
        internal = local if info["internal_local"] else cluster
        external = local if info["external_local"] else cluster
        proto = info["protocol"]
        key = vs_key(proto, info["cluster_ip"], info["port"])
        wanted[key] = {"key": key, "proto": proto, "addr": info["cluster_ip"], "port": info["port"], "sched": scheduler, "persistent": info["affinity_seconds"],
                       "service": info["key"], "kind": "ClusterIP", "masq": False, "dests": [_dest(e) for e in internal]}
        if info["node_port"] and node_ip:
            key = vs_key(proto, node_ip, info["node_port"])
            wanted[key] = {"key": key, "proto": proto, "addr": node_ip, "port": info["node_port"], "sched": scheduler, "persistent": info["affinity_seconds"],
                           "service": info["key"], "kind": "NodePort", "masq": not info["external_local"], "dests": [_dest(e) for e in external]}
        services[info["key"]] = {
            "service": info["service"], "cluster_ip": info["cluster_ip"], "port": info["port"], "node_port": info["node_port"], "protocol": proto,
            "chain": None, "affinity_seconds": info["affinity_seconds"], "virtual_server": f"{proto}  {info['cluster_ip']}:{info['port']} {scheduler}",
            "endpoints": [_brief(e) for e in internal], "external_endpoints": [_brief(e) for e in external] if info["node_port"] else [],
            "verdict": None if internal else "reject",
        }
    return wanted, services


def _dest(ep: dict) -> dict:
    return {"addr": ep["ip"], "port": ep["port"], "pod": ep["pod"], "node": ep["node"]}


def _brief(ep: dict) -> dict:
    return {"endpoint": ep["endpoint"], "pod": ep["pod"], "node": ep["node"]}


def _dkey(dest: dict) -> str:
    return f"{dest['addr']}:{dest['port']}"


def apply(table: dict, wanted: dict, now: int) -> None:
    """Bring the kernel's virtual servers to `wanted` as kube-proxy's syncService does:
    new real servers linked at the head, gone ones drained with weight 0 first."""
    for key in sorted(set(table) - set(wanted)):
        del table[key]
    for key in sorted(wanted):
        want = wanted[key]
        vs = table.get(key)
        if vs is None:
            vs = table[key] = {k: want[k] for k in ("key", "proto", "addr", "port", "service", "kind")}
            vs.update(dests=[], rr=None, templates={})
        vs.update(sched=want["sched"], persistent=want["persistent"], masq=want["masq"], service=want["service"])
        present = {_dkey(d): d for d in vs["dests"]}
        for dest in want["dests"]:  # sorted; each new one goes to the head
            known = present.get(_dkey(dest))
            if known is None:
                vs["dests"].insert(0, {**dest, "weight": 1, "active": 0, "inactive": {}})
            else:
                known.update(weight=1, pod=dest["pod"], node=dest["node"])
        keep = {_dkey(d) for d in want["dests"]}
        for dest in list(vs["dests"]):
            if _dkey(dest) not in keep:
                dest["weight"] = 0
        reap(vs, now)


def reap(vs: dict, now: int) -> None:
    """Forget expired inactive connections; delete drained real servers (weight 0, no connections left)."""
    second = now // 1_000_000
    for dest in list(vs["dests"]):
        for expiry in [e for e in dest["inactive"] if e <= second]:
            del dest["inactive"][expiry]
        if dest["weight"] == 0 and dest["active"] == 0 and not dest["inactive"]:
            _unlink(vs, dest)


def _unlink(vs: dict, dest: dict) -> None:
    index = vs["dests"].index(dest)
    if vs["rr"] == _dkey(dest):
        vs["rr"] = _dkey(vs["dests"][index - 1]) if index > 0 else None
    del vs["dests"][index]
    for client in [c for c, (d, _e) in vs["templates"].items() if d == _dkey(dest)]:
        del vs["templates"][client]


def inactive(dest: dict, now: int) -> int:
    """InActConn now (a pure read: expired entries are forgotten by `reap`)."""
    second = now // 1_000_000
    return sum(n for expiry, n in dest["inactive"].items() if expiry > second)


def _available(dest: dict) -> bool:
    return dest["weight"] > 0


def _sh_bucket(client_ip: str) -> int:
    return ((_ip_int(client_ip) * GOLDEN_RATIO_32) & 0xFFFFFFFF) >> (32 - 8)


def schedule(vs: dict, client_ip: str, now: int) -> tuple[dict | None, str]:
    """The real server for a new connection from client_ip, and why (for the trace)."""
    dests = vs["dests"]
    if vs["persistent"]:
        template = vs["templates"].get(client_ip)
        if template is not None:
            dest = next((d for d in dests if _dkey(d) == template[0]), None)
            if dest is not None and template[1] > now and _available(dest):
                template[1] = now + vs["persistent"] * 1_000_000
                return dest, f"persistent: template {client_ip} → {_dkey(dest)}"
            del vs["templates"][client_ip]
    sched = vs["sched"]
    dest, why = None, sched
    if sched == "rr":
        start = next((i for i, d in enumerate(dests) if _dkey(d) == vs["rr"]), -1)
        for step in range(1, len(dests) + 1):
            candidate = dests[(start + step) % len(dests)]
            if _available(candidate):
                dest = candidate
                vs["rr"] = _dkey(dest)
                break
        why = "rr: the next real server in turn"
    elif sched == "lc":
        least = None
        for candidate in dests:
            if not _available(candidate):
                continue
            overhead = candidate["active"] * 256 + inactive(candidate, now)
            if least is None or overhead < least:
                dest, least = candidate, overhead
        why = f"lc: least connections (overhead {least})"
    elif sched == "sh":
        if dests:
            bucket = _sh_bucket(client_ip)
            candidate = dests[bucket % len(dests)]
            dest = candidate if _available(candidate) else None
            why = f"sh: {client_ip} hashes to bucket {bucket}"
    if dest is not None and vs["persistent"]:
        vs["templates"][client_ip] = [_dkey(dest), now + vs["persistent"] * 1_000_000]
    return dest, why


def evaluate(table: dict, packet: dict, now: int, cluster_cidr: str = CLUSTER_CIDR) -> dict:
    """A new connection's first packet through IPVS: {"verdict": "dnat" | "reject" | "none",
    "to", "vs", "masq", "why", "trace": [], "chains": ["IPVS <virtual server>"]}; a chosen real
    server's ActiveConn counts it until `close`."""
    key = vs_key(packet["proto"].upper(), packet["dst"], packet["dport"])
    vs = table.get(key)
    if vs is None:
        return {"verdict": "none", "to": None, "vs": None, "masq": False, "why": "no virtual server", "trace": [], "chains": []}
    label = f"{vs['proto']}  {vs['addr']}:{vs['port']} {vs['sched']}"
    dest, why = schedule(vs, packet["src"], now)
    out = {"verdict": "reject", "to": None, "vs": label, "vs_key": key, "masq": False, "why": why if dest is not None else "no real server available",
           "trace": [], "chains": [f"IPVS {label}"]}
    if dest is None:
        return out
    dest["active"] += 1
    # kube-proxy's iptables rules mark for masquerade what comes from outside the cluster.
    masq = vs["masq"] or not _in_cidr(packet["src"], cluster_cidr)
    out.update(verdict="dnat", to=_dkey(dest), masq=masq, vs_key=key, pod=dest["pod"], node=dest["node"])
    return out


def close(table: dict, key: str, endpoint: str, now: int) -> None:
    """A connection the scheduler counted has ended: active → inactive for INACTIVE_US."""
    vs = table.get(key)
    if vs is None:
        return
    for dest in vs["dests"]:
        if _dkey(dest) == endpoint:
            dest["active"] = max(0, dest["active"] - 1)
            expiry = (now + INACTIVE_US) // 1_000_000 + 1
            dest["inactive"][expiry] = dest["inactive"].get(expiry, 0) + 1
            return


def render(table: dict, now: int) -> str:
    """`ipvsadm -Ln`: services and their real servers, each sorted by address as ipvsadm sorts them."""
    lines = [f"IP Virtual Server version {IPVS_VERSION} (size={IPVS_TABLE_SIZE})", "Prot LocalAddress:Port Scheduler Flags",
             "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn"]
    for vs in sorted(table.values(), key=lambda v: (v["proto"], _ip_int(v["addr"]), v["port"])):
        line = f"{vs['proto']}  {vs['addr']}:{vs['port']} {vs['sched']}"
        if vs["persistent"]:
            line += f" persistent {vs['persistent']}"
        lines.append(line)
        for dest in sorted(vs["dests"], key=lambda d: (_ip_int(d["addr"]), d["port"])):
            lines.append(f"  -> {_dkey(dest):<28} {'Masq':<7} {dest['weight']:<6} {dest['active']:<10} {inactive(dest, now):<10}")
    return "\n".join(lines) + "\n"
