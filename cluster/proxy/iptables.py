"""iptables mode: the rules kube-proxy v1.32 writes (pkg/proxy/iptables/proxier.go), the text
`iptables-save` prints for them, and the packet path through them.

A worked example: Service default/web (cluster IP 10.96.14.2, port 80, NodePort 30080) with
three ready endpoints. A pod's connection to 10.96.14.2:80 walks the nat table:

    PREROUTING      -j KUBE-SERVICES                                   ("kubernetes service portals")
    KUBE-SERVICES   -d 10.96.14.2/32 -p tcp ... --dport 80 -j KUBE-SVC-2CMXP7HKUVJN7L6M
    KUBE-SVC-…      ! -s 10.244.0.0/16 -d 10.96.14.2/32 ... -j KUBE-MARK-MASQ   (off-cluster sources only)
                    -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-A   1/3
                    -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-B   1/2 of the rest
                    -j KUBE-SEP-C                                                         the remainder
    KUBE-SEP-B      -s 10.244.2.3/32 -j KUBE-MARK-MASQ                  (a pod reaching itself: hairpin)
                    -p tcp ... -j DNAT --to-destination 10.244.2.3:80

so each endpoint gets 1/3: 1/3; 2/3 · 1/2; 2/3 · 1/2 · 1. An external client on a node's
NodePort takes KUBE-SERVICES' last rule (-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS) to
KUBE-EXT-… (KUBE-MARK-MASQ under externalTrafficPolicy Cluster: the answer must come back
through this node) and on to the same KUBE-SVC-… chain. A Service without endpoints has no
nat rule at all; the filter table REJECTs its cluster IP (icmp-port-unreachable: "connection
refused"), and DROPs a Local-policy port that has no local endpoint (the client times out).

Chain names: KUBE-SVC- (cluster policy), KUBE-SVL- (local policy), KUBE-EXT- (external
destinations) + the first 16 characters of base32(sha256(servicePortName + "tcp")); KUBE-SEP-
the same over servicePortName + "tcp" + "ip:port". Probabilities: kube-proxy writes
"%0.10f" of 1/n; the kernel keeps lround(p · 2^31) and iptables-save prints that back with
"%.11f", hence 0.33333333349 for 1/3. A packet matches when a 31-bit random draw is below the
stored integer, exactly as xt_statistic decides.

A rule is plain data: {"s", "not_s", "d", "p", "m": [[match, ...], ...], "j", "to", "extra"}.
Matches: ["comment", text], ["tcp", dport|None], ["addrtype", "src"|"dst", "LOCAL"],
["statistic", u32], ["recent", "rcheck", name, seconds] / ["recent", "set", name],
["mark", negated, "0x4000/0x4000"], ["conntrack", "NEW"|"INVALID"|"RELATED,ESTABLISHED"].
`render` prints them in iptables-save's canonical order; `evaluate` walks them.

What is left out: the mangle table and the kubelet's own chains (KUBE-FIREWALL,
KUBE-KUBELET-CANARY), LoadBalancer and externalIPs rules, topology hints.
"""

import base64
import hashlib

from ..workloads.catalogue import clock
from .serviceports import categorize

CLUSTER_CIDR = "10.244.0.0/16"
MASQ_MARK = "0x4000/0x4000"
IPTABLES_VERSION = "v1.8.9 (legacy)"
BUILTINS = {"filter": ["INPUT", "FORWARD", "OUTPUT"], "nat": ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]}
TABLES = ("filter", "nat")
MAX_DEPTH = 16


# --- names and numbers ---------------------------------------------------------------------------------
def _hash16(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:16]


def chain_name(prefix: str, service_port: str, protocol: str = "tcp") -> str:
    """servicePortChainName: "KUBE-SVC-" + base32(sha256("default/web" + "tcp"))[:16] (also SVL, EXT, FW)."""
    return prefix + _hash16(service_port + protocol.lower())


def endpoint_chain_name(service_port: str, protocol: str, endpoint: str) -> str:
    """servicePortEndpointChainName: "KUBE-SEP-" + base32(sha256("default/web" + "tcp" + "10.244.1.5:80"))[:16]."""
    return "KUBE-SEP-" + _hash16(service_port + protocol.lower() + endpoint)


def probability_text(n: int) -> str:
    """What kube-proxy passes to iptables for the i-th of n rules: 1/(n-i) as "%0.10f"."""
    return "%0.10f" % (1.0 / n)


def probability_u32(n: int) -> int:
    """What the kernel keeps: lround(0x80000000 · p) of the parsed text (libxt_statistic)."""
    value = float(probability_text(n)) * 0x80000000
    return int(value + 0.5)


def probability_saved(u32: int) -> str:
    """What iptables-save prints back: "%.11f" of the kernel's integer / 2^31."""
    return "%.11f" % (u32 / 0x80000000)


# --- building -----------------------------------------------------------------------------------------
def rule(*, s=None, not_s=False, d=None, p=None, m=(), j: str, to=None, extra="") -> dict:
    return {"s": s, "not_s": not_s, "d": d, "p": p, "m": [list(x) for x in m], "j": j, "to": to, "extra": extra}


def _comment(text: str) -> list:
    return ["comment", text]


def _table(name: str) -> dict:
    return {"chains": list(BUILTINS[name]), "rules": {c: [] for c in BUILTINS[name]}}


def _declare(table: dict, chain: str) -> None:
    if chain not in table["rules"]:
        table["chains"].append(chain)
        table["rules"][chain] = []


def _add(table: dict, chain: str, r: dict) -> None:
    _declare(table, chain)
    table["rules"][chain].append(r)


def _host(ip: str) -> str:
    return ip if "/" in ip else f"{ip}/32"


def build(entries: list, *, cluster_cidr: str = CLUSTER_CIDR) -> dict:
    """The node's whole ruleset from [(service port, its endpoints on this node)], sorted by key.

    Returns {"filter": table, "nat": table, "services": {key: summary}, "endpoints": {sep: endpoint},
    "rules": count}; a table is {"chains": [names], "rules": {chain: [rule, ...]}}.
    """
    flt, nat = _table("filter"), _table("nat")
    for chain in ("KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD", "KUBE-NODEPORTS", "KUBE-PROXY-CANARY", "KUBE-PROXY-FIREWALL", "KUBE-SERVICES"):
        _declare(flt, chain)
    for chain in ("KUBE-MARK-MASQ", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-PROXY-CANARY", "KUBE-SERVICES"):
        _declare(nat, chain)
    # The jumps from the built-in chains (iptablesJumpChains, each prepended: last ensured first).
    new = ["conntrack", "NEW"]
    _add(flt, "INPUT", rule(m=[new, _comment("kubernetes load balancer firewall")], j="KUBE-PROXY-FIREWALL"))
    _add(flt, "INPUT", rule(m=[_comment("kubernetes health check service ports")], j="KUBE-NODEPORTS"))
    _add(flt, "INPUT", rule(m=[new, _comment("kubernetes externally-visible service portals")], j="KUBE-EXTERNAL-SERVICES"))
    _add(flt, "FORWARD", rule(m=[new, _comment("kubernetes load balancer firewall")], j="KUBE-PROXY-FIREWALL"))
    _add(flt, "FORWARD", rule(m=[_comment("kubernetes forwarding rules")], j="KUBE-FORWARD"))
    _add(flt, "FORWARD", rule(m=[new, _comment("kubernetes service portals")], j="KUBE-SERVICES"))
    _add(flt, "FORWARD", rule(m=[new, _comment("kubernetes externally-visible service portals")], j="KUBE-EXTERNAL-SERVICES"))
    _add(flt, "OUTPUT", rule(m=[new, _comment("kubernetes load balancer firewall")], j="KUBE-PROXY-FIREWALL"))
    _add(flt, "OUTPUT", rule(m=[new, _comment("kubernetes service portals")], j="KUBE-SERVICES"))
    _add(flt, "KUBE-FORWARD", rule(m=[["conntrack", "INVALID"]], j="DROP"))
    _add(flt, "KUBE-FORWARD", rule(m=[_comment("kubernetes forwarding rules"), ["mark", False, MASQ_MARK]], j="ACCEPT"))
    _add(flt, "KUBE-FORWARD", rule(m=[_comment("kubernetes forwarding conntrack rule"), ["conntrack", "RELATED,ESTABLISHED"]], j="ACCEPT"))
    _add(nat, "PREROUTING", rule(m=[_comment("kubernetes service portals")], j="KUBE-SERVICES"))
    _add(nat, "OUTPUT", rule(m=[_comment("kubernetes service portals")], j="KUBE-SERVICES"))
    _add(nat, "POSTROUTING", rule(m=[_comment("kubernetes postrouting rules")], j="KUBE-POSTROUTING"))
    _add(nat, "KUBE-MARK-MASQ", rule(j="MARK", extra="--set-xmark 0x4000/0x4000"))
    _add(nat, "KUBE-POSTROUTING", rule(m=[["mark", True, MASQ_MARK]], j="RETURN"))
    _add(nat, "KUBE-POSTROUTING", rule(j="MARK", extra="--set-xmark 0x4000/0x0"))
    _add(nat, "KUBE-POSTROUTING", rule(m=[_comment("kubernetes service traffic requiring SNAT")], j="MASQUERADE", extra="--random-fully"))
    services: dict = {}
    seps: dict = {}
    for info, endpoints in entries:
        _service(flt, nat, info, endpoints, cluster_cidr, services, seps)
    _add(nat, "KUBE-SERVICES", rule(m=[_comment("kubernetes service nodeports; NOTE: this must be the last rule in this chain"), ["addrtype", "dst", "LOCAL"]],
                                    j="KUBE-NODEPORTS"))
    count = sum(len(rules) for table in (flt, nat) for rules in table["rules"].values())
    return {"filter": flt, "nat": nat, "services": services, "endpoints": seps, "rules": count}


def _service(flt: dict, nat: dict, info: dict, endpoints: list, cluster_cidr: str, services: dict, seps: dict) -> None:
    key, proto = info["key"], info["protocol"].lower()
    cip = _host(info["cluster_ip"])
    svc, svl, ext = (chain_name(prefix, key, proto) for prefix in ("KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-"))
    cluster, local, reachable, has_any = categorize(endpoints, info)
    internal_chain, has_internal = svc, has_any
    if info["internal_local"]:
        internal_chain, has_internal = svl, bool(local)
    external_chain, has_external = svc, has_any
    if info["external_local"]:
        external_chain, has_external = svl, bool(local)
    uses_ext = has_any and info["externally_accessible"]
    internal_target, internal_comment = "REJECT", f"{key} has no endpoints"
    external_target, external_comment = "REJECT", internal_comment
    if has_any:
        if not has_internal:
            internal_target, internal_comment = "DROP", f"{key} has no local endpoints"
        if not has_external:
            external_target, external_comment = "DROP", f"{key} has no local endpoints"
    reject = "--reject-with icmp-port-unreachable"
    # Capture the cluster IP.
    if has_internal:
        _add(nat, "KUBE-SERVICES", rule(d=cip, p=proto, m=[_comment(f"{key} cluster IP"), [proto, info["port"]]], j=internal_chain))
    else:
        _add(flt, "KUBE-SERVICES", rule(d=cip, p=proto, m=[_comment(internal_comment), [proto, info["port"]]], j=internal_target,
                                        extra=reject if internal_target == "REJECT" else ""))
    # Capture the node port.
    if info["node_port"]:
        if has_any:
            _add(nat, "KUBE-NODEPORTS", rule(p=proto, m=[_comment(key), [proto, info["node_port"]]], j=ext))
        if not has_external:
            _add(flt, "KUBE-EXTERNAL-SERVICES", rule(p=proto, m=[_comment(external_comment), ["addrtype", "dst", "LOCAL"], [proto, info["node_port"]]],
                                                     j=external_target, extra=reject if external_target == "REJECT" else ""))
    # Masquerade off-cluster traffic to the cluster IP (it may have been routed here from anywhere).
    if has_internal:
        _add(nat, internal_chain, rule(s=cluster_cidr, not_s=True, d=cip, p=proto, m=[_comment(f"{key} cluster IP"), [proto, info["port"]]], j="KUBE-MARK-MASQ"))
    if uses_ext:
        _declare(nat, ext)
        if not info["external_local"]:
            _add(nat, ext, rule(m=[_comment(f"masquerade traffic for {key} external destinations")], j="KUBE-MARK-MASQ"))
        else:
            _add(nat, ext, rule(s=cluster_cidr, m=[_comment(f"pod traffic for {key} external destinations")], j=svc))
            _add(nat, ext, rule(m=[_comment(f"masquerade LOCAL traffic for {key} external destinations"), ["addrtype", "src", "LOCAL"]], j="KUBE-MARK-MASQ"))
            _add(nat, ext, rule(m=[_comment(f"route LOCAL traffic for {key} external destinations"), ["addrtype", "src", "LOCAL"]], j=svc))
        if has_external:
            _add(nat, ext, rule(j=external_chain))
    if cluster:
        _declare(nat, svc)
        _to_endpoints(nat, svc, key, proto, cluster, info["affinity_seconds"])
    if local:
        _declare(nat, svl)
        _to_endpoints(nat, svl, key, proto, local, info["affinity_seconds"])
    for ep in reachable:
        sep = endpoint_chain_name(key, proto, ep["endpoint"])
        _add(nat, sep, rule(s=_host(ep["ip"]), m=[_comment(key)], j="KUBE-MARK-MASQ"))
        matches = [_comment(key)] + ([["recent", "set", sep]] if info["affinity_seconds"] else []) + [[proto, None]]
        _add(nat, sep, rule(p=proto, m=matches, j="DNAT", to=ep["endpoint"]))
        seps[sep] = {"service": key, "endpoint": ep["endpoint"], "ip": ep["ip"], "port": ep["port"], "pod": ep["pod"], "node": ep["node"]}
    internal_eps = (local if info["internal_local"] else cluster) if has_internal else []
    external_eps = (local if info["external_local"] else cluster) if has_external else []
    services[key] = {
        "service": info["service"], "cluster_ip": info["cluster_ip"], "port": info["port"], "node_port": info["node_port"], "protocol": info["protocol"],
        "chain": internal_chain if has_internal else None, "affinity_seconds": info["affinity_seconds"],
        "endpoints": [_brief(e) for e in internal_eps], "external_endpoints": [_brief(e) for e in external_eps] if info["node_port"] else [],
        "verdict": None if has_internal else internal_target.lower(),
    }


def _brief(ep: dict) -> dict:
    return {"endpoint": ep["endpoint"], "pod": ep["pod"], "node": ep["node"]}


def _to_endpoints(nat: dict, chain: str, key: str, proto: str, endpoints: list, affinity_seconds: int) -> None:
    """writeServiceToEndpointRules: affinity checks first, then one probabilistic rule per endpoint."""
    chains = [endpoint_chain_name(key, proto, ep["endpoint"]) for ep in endpoints]
    if affinity_seconds:
        for ep, sep in zip(endpoints, chains, strict=True):
            _add(nat, chain, rule(m=[_comment(f"{key} -> {ep['endpoint']}"), ["recent", "rcheck", sep, affinity_seconds]], j=sep))
    n = len(endpoints)
    for i, (ep, sep) in enumerate(zip(endpoints, chains, strict=True)):
        matches = [_comment(f"{key} -> {ep['endpoint']}")]
        if i < n - 1:
            matches.append(["statistic", probability_u32(n - i)])
        _add(nat, chain, rule(m=matches, j=sep))


# --- iptables-save ------------------------------------------------------------------------------------
def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_rule(chain: str, r: dict) -> str:
    out = [f"-A {chain}"]
    if r["s"]:
        out.append(("! -s " if r["not_s"] else "-s ") + r["s"])
    if r["d"]:
        out.append(f"-d {r['d']}")
    if r["p"]:
        out.append(f"-p {r['p']}")
    for m in r["m"]:
        kind = m[0]
        if kind == "comment":
            out.append(f"-m comment --comment {_quote(m[1])}")
        elif kind in ("tcp", "udp", "sctp"):
            out.append(f"-m {kind}" + (f" --dport {m[1]}" if m[1] is not None else ""))
        elif kind == "addrtype":
            out.append(f"-m addrtype --{m[1]}-type {m[2]}")
        elif kind == "statistic":
            out.append(f"-m statistic --mode random --probability {probability_saved(m[1])}")
        elif kind == "recent" and m[1] == "rcheck":
            out.append(f"-m recent --rcheck --seconds {m[3]} --reap --name {m[2]} --mask 255.255.255.255 --rsource")
        elif kind == "recent":
            out.append(f"-m recent --set --name {m[2]} --mask 255.255.255.255 --rsource")
        elif kind == "mark":
            out.append("-m mark " + ("! " if m[1] else "") + f"--mark {m[2]}")
        elif kind == "conntrack":
            out.append(f"-m conntrack --ctstate {m[1]}")
    out.append(f"-j {r['j']}")
    if r["to"]:
        out.append(f"--to-destination {r['to']}")
    if r["extra"]:
        out.append(r["extra"])
    return " ".join(out)


def _ctime(now_us: int) -> str:
    t = clock(now_us)
    return f"{t:%a %b} {t.day:2d} {t:%H:%M:%S %Y}"


def render(ruleset: dict, now_us: int = 0) -> str:
    """The ruleset as `iptables-save` prints it (legacy: built-in chains first, then the
    others in name order; rules grouped by chain)."""
    lines = []
    stamp = _ctime(now_us)
    for name in TABLES:
        table = ruleset[name]
        builtins = BUILTINS[name]
        user = sorted(c for c in table["chains"] if c not in builtins)
        lines.append(f"# Generated by iptables-save {IPTABLES_VERSION} on {stamp}")
        lines.append(f"*{name}")
        lines.extend(f":{c} ACCEPT [0:0]" for c in builtins)
        lines.extend(f":{c} - [0:0]" for c in user)
        for chain in builtins + user:
            lines.extend(render_rule(chain, r) for r in table["rules"][chain])
        lines.append("COMMIT")
        lines.append(f"# Completed on {stamp}")
    return "\n".join(lines) + "\n"


def chain_text(ruleset: dict, chain: str, table: str = "nat") -> list[str]:
    """The `-A` lines of one chain (what `iptables-save | grep -- "-A CHAIN "` shows)."""
    return [render_rule(chain, r) for r in ruleset[table]["rules"].get(chain, [])]


# --- the packet path ----------------------------------------------------------------------------------
def _ip_int(ip: str) -> int:
    a, b, c, d = (int(x) for x in ip.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def _in_cidr(ip: str, cidr: str) -> bool:
    base, _, bits = cidr.partition("/")
    bits = int(bits or 32)
    mask = ((1 << bits) - 1) << (32 - bits) if bits else 0
    return (_ip_int(ip) & mask) == (_ip_int(base) & mask)


def evaluate(ruleset: dict, packet: dict, kernel: dict) -> dict:
    """Walk a new connection's first packet through the node's rules.

    packet: {"src", "dst", "dport", "proto"}. kernel: {"local_ips": set, "draw": a function
    giving a 31-bit random integer, "recent": the xt_recent lists {name: {ip: last seen}},
    "now": virtual time}. Returns {"verdict": "dnat" | "reject" | "drop" | "none", "to",
    "sep", "masq", "trace": [[table, chain, rule number], ...] (every rule that fired, as
    `iptables -t <table> -L --line-numbers` numbers them), "chains": [the chains entered, in
    order; the filter table's as "filter/<chain>"]}.
    "none": nothing of kube-proxy's matched (the packet is routed as it is).
    """
    state = {"mark": 0, "trace": [], "chains": []}
    verdict = _walk(ruleset["nat"], "nat", "PREROUTING", packet, kernel, state, 0)
    if verdict is None or verdict[0] != "DNAT":
        chain = "INPUT" if packet["dst"] in kernel["local_ips"] else "FORWARD"
        verdict = _walk(ruleset["filter"], "filter", chain, packet, kernel, state, 0)
    return _result(verdict, state)


def _result(verdict, state: dict) -> dict:
    out = {"verdict": "none", "to": None, "sep": None, "masq": bool(state["mark"] & 0x4000), "trace": state["trace"], "chains": state["chains"]}
    if verdict is not None:
        target, r, chain = verdict
        if target == "DNAT":
            out.update(verdict="dnat", to=r["to"], sep=chain)
        elif target in ("REJECT", "DROP"):
            out["verdict"] = target.lower()
    return out


def _walk(table: dict, table_name: str, chain: str, packet: dict, kernel: dict, state: dict, depth: int):
    """None when the chain ends (or RETURNs) without a verdict, else (target, rule, chain)."""
    if depth > MAX_DEPTH:
        return None
    state["chains"].append(chain if table_name == "nat" else f"{table_name}/{chain}")
    rules = table["rules"]
    for number, r in enumerate(rules.get(chain, ()), 1):
        if not _matches(r, packet, kernel, state):
            continue
        target = r["j"]
        state["trace"].append([table_name, chain, number])
        if target in rules:
            verdict = _walk(table, table_name, target, packet, kernel, state, depth + 1)
            if verdict is not None:
                return verdict
        elif target == "RETURN":
            return None
        elif target == "MARK":
            value, _, mask = r["extra"].split()[-1].partition("/")
            state["mark"] = (state["mark"] & ~int(mask, 16)) ^ int(value, 16)
        elif target in ("DNAT", "REJECT", "DROP", "ACCEPT"):
            return target, r, chain
    return None


def _matches(r: dict, packet: dict, kernel: dict, state: dict) -> bool:
    if r["s"] and _in_cidr(packet["src"], r["s"]) == r["not_s"]:
        return False
    if r["d"] and not _in_cidr(packet["dst"], r["d"]):
        return False
    if r["p"] and r["p"] != packet["proto"].lower():
        return False
    for m in r["m"]:
        kind = m[0]
        if kind in ("tcp", "udp", "sctp"):
            if kind != packet["proto"].lower() or (m[1] is not None and m[1] != packet["dport"]):
                return False
        elif kind == "addrtype":
            address = packet["src"] if m[1] == "src" else packet["dst"]
            if address not in kernel["local_ips"]:
                return False
        elif kind == "statistic":
            if kernel["draw"]() >= m[1]:
                return False
        elif kind == "recent":
            if not _recent(m, packet["src"], kernel):
                return False
        elif kind == "mark":
            value, _, mask = m[2].partition("/")
            if ((state["mark"] & int(mask, 16)) == int(value, 16)) == m[1]:
                return False
        elif kind == "conntrack":
            if m[1] != "NEW":  # every connection the simulation opens is new
                return False
    return True


# --- the same walk, for one ruleset, with the packet's fixed matches decided once ------------------------
# evaluate() is a pure function of the ruleset and the packet except for three matches: statistic
# (a random draw), recent (the xt_recent lists, which it also reaps or sets) and mark (set by the walk
# itself). Every other test of a rule (addresses, protocol, port, addrtype, conntrack) depends only on
# the packet's (src, dst, dport, proto) and the node's local addresses. A Walker decides those once
# per chain and packet and keeps, per chain, only the rules that can still match, each with its
# dynamic matches in the order the rule lists them: the walk then draws the same random numbers,
# touches the recent lists the same way and returns the same result as evaluate(), with far fewer
# tests (kube-proxy asks for every new connection; a Service of 30 endpoints is 30 rules).
_STATISTIC, _RECENT, _MARK = 0, 1, 2
_GOTO, _RETURN, _SET_MARK, _FINAL, _NOTHING = 0, 1, 2, 3, 4
WALKER_MAX_ENTRIES = 4096  # (chain, packet) pairs remembered per ruleset; then it starts over


class Walker:
    """evaluate() for one ruleset and one node's local addresses (a cache, not state: a kube-proxy
    keeps one per ruleset and drops it when the rules change; tests/cluster/proxy compares both)."""

    def __init__(self, ruleset: dict, local_ips):
        self.ruleset = ruleset
        self.local_ips = frozenset(local_ips)
        self.chains: dict = {}

    def evaluate(self, packet: dict, kernel: dict) -> dict:
        """evaluate(self.ruleset, packet, kernel): kernel["local_ips"] must be self.local_ips."""
        key = (packet["src"], packet["dst"], packet["dport"], packet["proto"].lower())
        state = {"mark": 0, "trace": [], "chains": []}
        verdict = self._walk("nat", "PREROUTING", key, kernel, state, 0)
        if verdict is None or verdict[0] != "DNAT":
            chain = "INPUT" if key[1] in self.local_ips else "FORWARD"
            verdict = self._walk("filter", chain, key, kernel, state, 0)
        return _result(verdict, state)

    def _walk(self, table_name: str, chain: str, key: tuple, kernel: dict, state: dict, depth: int):
        if depth > MAX_DEPTH:
            return None
        state["chains"].append(chain if table_name == "nat" else f"{table_name}/{chain}")
        entries = self.chains.get((table_name, chain, key))
        if entries is None:
            entries = self._compile(table_name, chain, key)
        trace = state["trace"]
        draw = kernel["draw"]
        for number, r, action, bits, statistic, dynamic, fails in entries:
            if statistic is not None:  # the common dynamic match, alone: one draw
                if draw() >= statistic:
                    continue
            elif dynamic and (not _dynamic_pass(dynamic, key[0], kernel, state) or fails):
                continue
            trace.append([table_name, chain, number])
            if action == _GOTO:
                verdict = self._walk(table_name, r["j"], key, kernel, state, depth + 1)
                if verdict is not None:
                    return verdict
            elif action == _FINAL:
                return r["j"], r, chain
            elif action == _RETURN:
                return None
            elif action == _SET_MARK:
                value, mask = bits
                state["mark"] = (state["mark"] & ~mask) ^ value
        return None

    def _compile(self, table_name: str, chain: str, key: tuple) -> list:
        """The chain's rules that this packet can match: (number, rule, action, a MARK target's
        (value, mask), the threshold when the only dynamic match is one statistic, the dynamic matches to test in order, fails). `fails`: a fixed match after some dynamic ones fails, so the rule
        never fires but its dynamic matches before that one still run (a draw is still drawn)."""
        if len(self.chains) >= WALKER_MAX_ENTRIES:
            self.chains = {}
        rules = self.ruleset[table_name]["rules"]
        src, dst, dport, proto = key
        packet = {"src": src, "dst": dst, "dport": dport, "proto": proto}
        entries = []
        for number, r in enumerate(rules.get(chain, ()), 1):
            if r["s"] and _in_cidr(src, r["s"]) == r["not_s"]:
                continue
            if r["d"] and not _in_cidr(dst, r["d"]):
                continue
            if r["p"] and r["p"] != proto:
                continue
            dynamic, fails = [], False
            for m in r["m"]:
                kind = m[0]
                if kind == "statistic":
                    dynamic.append((_STATISTIC, m[1]))
                elif kind == "recent":
                    dynamic.append((_RECENT, m))
                elif kind == "mark":
                    value, mask = _mark_bits(m[2])
                    dynamic.append((_MARK, (value, mask, m[1])))
                elif not _matches({"s": None, "d": None, "p": None, "m": [m]}, packet, {"local_ips": self.local_ips}, {}):
                    fails = True
                    break
            if fails and not dynamic:
                continue
            target, bits = r["j"], None
            if target in rules:
                action = _GOTO
            elif target == "RETURN":
                action = _RETURN
            elif target == "MARK":
                action = _SET_MARK
                bits = _mark_bits(r["extra"].split()[-1])
            elif target in ("DNAT", "REJECT", "DROP", "ACCEPT"):
                action = _FINAL
            else:
                action = _NOTHING
            statistic = dynamic[0][1] if len(dynamic) == 1 and dynamic[0][0] == _STATISTIC and not fails else None
            entries.append((number, r, action, bits, statistic, tuple(dynamic), fails))
        self.chains[(table_name, chain, key)] = entries
        return entries


def _mark_bits(text: str) -> tuple[int, int]:
    value, _, mask = text.partition("/")
    return int(value, 16), int(mask, 16)


def _dynamic_pass(dynamic: tuple, src: str, kernel: dict, state: dict) -> bool:
    for kind, arg in dynamic:
        if kind == _STATISTIC:
            if kernel["draw"]() >= arg:
                return False
        elif kind == _RECENT:
            if not _recent(arg, src, kernel):
                return False
        else:
            value, mask, negated = arg
            if ((state["mark"] & mask) == value) == negated:
                return False
    return True


RECENT_MAX_ENTRIES = 100  # xt_recent's ip_list_tot


def _recent(m: list, src: str, kernel: dict) -> bool:
    lists = kernel["recent"]
    now = kernel["now"]
    if m[1] == "set":
        entries = lists.setdefault(m[2], {})
        entries[src] = now
        if len(entries) > RECENT_MAX_ENTRIES:
            del entries[min(entries, key=lambda ip: (entries[ip], ip))]
        return True
    entries = lists.get(m[2])
    if not entries:
        return False
    window = m[3] * 1_000_000
    for ip in [ip for ip, seen in entries.items() if now - seen > window]:  # --reap
        del entries[ip]
    return src in entries
