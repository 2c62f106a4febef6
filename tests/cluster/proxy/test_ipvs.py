"""ipvs mode, as pure functions: virtual servers from Services, the kernel's rr / lc / sh
schedulers, persistence, graceful termination, and `ipvsadm -Ln` text."""

from cluster.proxy import ipvs
from cluster.proxy.serviceports import endpoints_for, service_ports

from .rules import endpoint, endpoint_slice, service

SECOND = 1_000_000


def table_for(svc, slices, *, scheduler="rr", node="node-1", node_ip="172.18.0.2", table=None, now=0):
    entries = [(info, endpoints_for(info, slices, node)) for info in service_ports(svc)]
    wanted, summary = ipvs.desired(entries, node_ip=node_ip, scheduler=scheduler)
    table = {} if table is None else table
    ipvs.apply(table, wanted, now)
    return table, summary


def eps(n):
    return [endpoint(f"10.244.{i % 3 + 1}.{10 + i}", f"node-{i % 3 + 1}", f"web-{i}") for i in range(n)]


def connect(table, src="10.244.1.50", dst="10.96.14.2", dport=80, now=0):
    return ipvs.evaluate(table, {"src": src, "dst": dst, "dport": dport, "proto": "TCP"}, now)


def test_virtual_servers_and_ipvsadm_text():
    table, summary = table_for(service(kind="NodePort", node_port=30080), [endpoint_slice(eps(3))])
    assert sorted(table) == ["TCP:10.96.14.2:80", "TCP:172.18.0.2:30080"]
    # The kernel links each new real server at the head: added in address order, listed last first.
    assert [f"{d['addr']}:{d['port']}" for d in table["TCP:10.96.14.2:80"]["dests"]] == ["10.244.3.12:80", "10.244.2.11:80", "10.244.1.10:80"]
    result = connect(table)
    assert result["verdict"] == "dnat" and result["vs"] == "TCP  10.96.14.2:80 rr" and result["chains"] == ["IPVS TCP  10.96.14.2:80 rr"]
    assert ipvs.render(table, 0) == (
        "IP Virtual Server version 1.2.1 (size=4096)\n"
        "Prot LocalAddress:Port Scheduler Flags\n"
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
        "TCP  10.96.14.2:80 rr\n"
        "  -> 10.244.1.10:80               Masq    1      0          0         \n"
        "  -> 10.244.2.11:80               Masq    1      0          0         \n"
        "  -> 10.244.3.12:80               Masq    1      1          0         \n"
        "TCP  172.18.0.2:30080 rr\n"
        "  -> 10.244.1.10:80               Masq    1      0          0         \n"
        "  -> 10.244.2.11:80               Masq    1      0          0         \n"
        "  -> 10.244.3.12:80               Masq    1      0          0         \n")
    ipvs.close(table, "TCP:10.96.14.2:80", result["to"], 0)
    assert "  -> 10.244.3.12:80               Masq    1      0          1         \n" in ipvs.render(table, 0)
    assert "  -> 10.244.3.12:80               Masq    1      0          0         \n" in ipvs.render(table, 61 * SECOND)  # closed connections age out
    assert summary["default/web"]["virtual_server"] == "TCP  10.96.14.2:80 rr" and len(summary["default/web"]["endpoints"]) == 3


def test_round_robin_is_exact_and_survives_updates():
    table, _ = table_for(service(), [endpoint_slice(eps(3))])
    picks = [connect(table)["to"] for _ in range(9)]
    assert picks == ["10.244.3.12:80", "10.244.2.11:80", "10.244.1.10:80"] * 3
    # A fourth endpoint joins at the head of the list; the turn goes on from where it was.
    table, _ = table_for(service(), [endpoint_slice(eps(4))], table=table)
    assert [connect(table)["to"] for _ in range(4)] == ["10.244.1.13:80", "10.244.3.12:80", "10.244.2.11:80", "10.244.1.10:80"]
    # The endpoint rr chose last goes away: graceful termination gives it weight 0, rr skips it.
    connect(table)  # 10.244.1.13
    table, _ = table_for(service(), [endpoint_slice(eps(4)[1:])], table=table)
    drained = [d for d in table["TCP:10.96.14.2:80"]["dests"] if d["addr"] == "10.244.1.10"]
    assert drained == [] or drained[0]["weight"] == 0
    assert [connect(table)["to"] for _ in range(6)] == ["10.244.3.12:80", "10.244.2.11:80", "10.244.1.13:80"] * 2


def test_graceful_termination_deletes_a_drained_real_server_only_when_its_connections_are_gone():
    table, _ = table_for(service(), [endpoint_slice(eps(2))])
    first = connect(table)  # an open connection to 10.244.2.11
    table, _ = table_for(service(), [endpoint_slice(eps(1))], table=table)
    vs = table["TCP:10.96.14.2:80"]
    gone = next(d for d in vs["dests"] if f"{d['addr']}:{d['port']}" == first["to"])
    assert gone["weight"] == 0 and gone["active"] == 1
    assert {connect(table)["to"] for _ in range(5)} == {"10.244.1.10:80"}
    ipvs.close(table, "TCP:10.96.14.2:80", first["to"], 1 * SECOND)
    ipvs.reap(vs, 2 * SECOND)
    assert first["to"] in [f"{d['addr']}:{d['port']}" for d in vs["dests"]]  # closed, still counted as inactive
    ipvs.reap(vs, 70 * SECOND)
    assert [f"{d['addr']}:{d['port']}" for d in vs["dests"]] == [d for d in ["10.244.1.10:80"]]


def test_least_connection_picks_the_least_loaded_real_server():
    table, _ = table_for(service(), [endpoint_slice(eps(3))], scheduler="lc")
    open_ = [connect(table, now=0) for _ in range(3)]
    assert sorted(r["to"] for r in open_) == ["10.244.1.10:80", "10.244.2.11:80", "10.244.3.12:80"]
    ipvs.close(table, "TCP:10.96.14.2:80", "10.244.2.11:80", 0)  # one finished: the least loaded now
    assert connect(table)["to"] == "10.244.2.11:80"
    assert connect(table)["why"].startswith("lc: least connections")


def test_source_hashing_keeps_each_client_on_one_server():
    table, _ = table_for(service(), [endpoint_slice(eps(3))], scheduler="sh")
    by_client = {}
    for i in range(60):
        client = f"10.244.{i % 3 + 1}.{i % 20 + 30}"
        by_client.setdefault(client, set()).add(connect(table, src=client)["to"])
    assert all(len(v) == 1 for v in by_client.values()) and len(set().union(*by_client.values())) == 3
    # hash_32(ip, 8): 10.244.1.30 → bucket (0x0AF4011E · 0x61C88647 mod 2^32) >> 24; bucket b → dests[b mod 3].
    bucket = ((0x0AF4011E * 0x61C88647) & 0xFFFFFFFF) >> 24
    assert connect(table, src="10.244.1.30")["why"] == f"sh: 10.244.1.30 hashes to bucket {bucket}"


def test_persistence_keeps_a_client_until_its_server_is_quiesced():
    table, _ = table_for(service(affinity=True), [endpoint_slice(eps(3))])
    assert table["TCP:10.96.14.2:80"]["persistent"] == 10800
    assert "TCP  10.96.14.2:80 rr persistent 10800\n" in ipvs.render(table, 0)
    first = connect(table, src="10.244.1.77")["to"]
    assert {connect(table, src="10.244.1.77", now=i * SECOND)["to"] for i in range(10)} == {first}
    others = {connect(table, src=f"10.244.2.{i}")["to"] for i in range(1, 7)}
    assert len(others) == 3  # new clients still take turns
    # Its server is removed (weight 0): the template is dropped and the client placed again.
    remaining = [e for e in eps(3) if f"{e['addresses'][0]}:80" != first]
    table, _ = table_for(service(affinity=True), [endpoint_slice(remaining)], table=table, now=20 * SECOND)
    moved = connect(table, src="10.244.1.77", now=21 * SECOND)
    assert moved["to"] != first and moved["verdict"] == "dnat"


def test_no_real_server_means_connection_refused_and_unknown_addresses_pass():
    table, summary = table_for(service(), [endpoint_slice([])])
    assert connect(table)["verdict"] == "reject" and summary["default/web"]["verdict"] == "reject"
    assert connect(table, dst="10.96.99.99")["verdict"] == "none"
