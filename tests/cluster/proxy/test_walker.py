"""iptables.Walker (the walk with each chain pre-filtered per packet, kube-proxy's fast path) against
iptables.evaluate (the straightforward walk): the same verdicts, traces, random draws and xt_recent
lists, over random packets and rule changes."""

import copy
import random

from cluster.kernel.rng import Stream
from cluster.proxy import iptables

from .rules import endpoint, endpoint_slice, service
from .rules import ruleset as build_ruleset

NODE_IP = "172.18.0.2"
LOCAL_IPS = (NODE_IP, "127.0.0.1")


class Kernel:
    """One node's kernel state as kube-proxy hands it to the walk: a seeded draw (counted) and the
    recent lists."""

    def __init__(self, seed: int):
        self.stream = Stream.from_seed(seed)
        self.recent: dict = {}
        self.draws = 0

    def draw(self) -> int:
        self.draws += 1
        return self.stream.next64() >> 33

    def kernel(self, now: int) -> dict:
        return {"local_ips": set(LOCAL_IPS), "draw": self.draw, "recent": self.recent, "now": now}


def random_rules(rng: random.Random) -> dict:
    """A node's rules for a few Services of every kind, with random endpoints."""
    entries = []
    kinds = [dict(), dict(kind="NodePort", node_port=30080), dict(kind="NodePort", node_port=30081, external="Local"),
             dict(affinity=True), dict(internal="Local"), dict(kind="NodePort", node_port=30082, affinity=True)]
    for i, extra in enumerate(kinds):
        name = f"svc{i}"
        n = rng.choice([0, 1, 2, 5, 9])
        eps = [endpoint(f"10.244.{rng.randint(1, 3)}.{10 + j}", f"node-{rng.randint(1, 3)}", f"{name}-{j}", ready=rng.random() > 0.15) for j in range(n)]
        rs = build_ruleset(service(name, ip=f"10.96.0.{10 + i}", **extra), [endpoint_slice(eps, service_name=name)], node="node-1")
        entries.append(rs)
    # One node's ruleset holds every service: build them together from the same entries.
    merged = iptables.build([])
    for rs in entries:
        for table in ("filter", "nat"):
            for chain in rs[table]["chains"]:
                if chain not in merged[table]["rules"]:
                    merged[table]["chains"].append(chain)
                    merged[table]["rules"][chain] = []
                own = merged[table]["rules"][chain]
                own.extend(r for r in rs[table]["rules"][chain] if r not in own)
        merged["endpoints"].update(rs["endpoints"])
    return merged


def random_packet(rng: random.Random) -> dict:
    src = rng.choice(["10.244.1.10", "10.244.2.11", "10.244.3.12", "10.244.1.77", "203.0.113.9", "198.51.100.4", NODE_IP, "127.0.0.1"])
    dst, dport = rng.choice([(f"10.96.0.{10 + rng.randint(0, 6)}", 80), (f"10.96.0.{10 + rng.randint(0, 6)}", 81), (NODE_IP, 30080 + rng.randint(0, 3)),
                             ("127.0.0.1", 30081), ("172.18.0.3", 30080), ("10.244.2.11", 80)])
    return {"src": src, "dst": dst, "dport": dport, "proto": rng.choice(["TCP", "TCP", "TCP", "UDP"])}


def test_the_walker_decides_every_packet_as_the_straightforward_walk_does():
    rng = random.Random(12)
    plain, fast = Kernel(seed=99), Kernel(seed=99)
    seen = {"dnat": 0, "reject": 0, "drop": 0, "none": 0}
    now = 0
    for _change in range(12):  # rule changes: a new ruleset, a new walker (as kube-proxy makes one)
        rs = random_rules(rng)
        walker = iptables.Walker(rs, LOCAL_IPS)
        visits = 0
        for _ in range(400):
            now += rng.choice([1_000, 50_000, 3_600_000_000])  # affinity windows pass now and then
            packet = random_packet(rng)
            expected = iptables.evaluate(rs, packet, plain.kernel(now))
            got = walker.evaluate(dict(packet), fast.kernel(now))
            assert got == expected, packet
            assert fast.draws == plain.draws and fast.recent == plain.recent
            seen[expected["verdict"]] += 1
            visits += len(expected["chains"])
    # The comparison covered every verdict, the dice and the affinity lists, from cached chains.
    assert all(count > 50 for count in seen.values()), seen
    assert plain.draws > 1000 and any(plain.recent.values())
    assert 0 < len(walker.chains) < visits / 2  # most chain visits were answered from the cache


def test_a_dynamic_match_before_a_failing_fixed_one_still_draws():
    """iptables tests a rule's matches in order: a statistic before a port that does not match still
    consumes its random number, though the rule never fires. The walker keeps that draw."""
    rs = build_ruleset(service(kind="NodePort", node_port=30080), [endpoint_slice([endpoint("10.244.1.10", "node-1", "web-0"), endpoint("10.244.2.10", "node-2", "web-1")])])
    rs = copy.deepcopy(rs)
    rs["nat"]["rules"]["PREROUTING"].insert(0, iptables.rule(m=[["statistic", iptables.probability_u32(2)], ["tcp", 9999]], j="KUBE-MARK-MASQ"))
    rs["nat"]["rules"]["KUBE-SERVICES"].insert(0, iptables.rule(m=[["statistic", 1 << 31], ["recent", "set", "X"]], j="RETURN"))
    plain, fast = Kernel(seed=5), Kernel(seed=5)
    walker = iptables.Walker(rs, LOCAL_IPS)
    for i in range(200):
        packet = {"src": f"10.244.3.{i % 7 + 1}", "dst": "10.96.14.2", "dport": 80, "proto": "TCP"}
        expected = iptables.evaluate(rs, packet, plain.kernel(i))
        assert walker.evaluate(packet, fast.kernel(i)) == expected
        assert fast.draws == plain.draws and fast.recent == plain.recent
    # Each packet: the never-firing first rule's draw, then the RETURN rule's (always true: it sets
    # its recent list and leaves KUBE-SERVICES before the Service's rules).
    assert plain.draws == 2 * 200 and len(plain.recent["X"]) == 7
    assert expected["verdict"] == "none" and ["nat", "PREROUTING", 1] not in expected["trace"]
