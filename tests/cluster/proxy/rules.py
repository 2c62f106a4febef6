"""Helpers for rule tests: Services and EndpointSlices as the API server holds them, and the
ruleset a node builds from them."""

from cluster.kernel.rng import Stream
from cluster.proxy import iptables
from cluster.proxy.serviceports import endpoints_for, service_ports


def service(name="web", *, ip="10.96.14.2", port=80, port_name=None, kind="ClusterIP", node_port=None, affinity=False, external=None, internal=None,
            namespace="default", cluster_ip=None):
    spec = {"type": kind, "clusterIP": cluster_ip or ip, "ports": [{"port": port, "protocol": "TCP", "targetPort": port}], "sessionAffinity": "ClientIP" if affinity else "None"}
    if port_name:
        spec["ports"][0]["name"] = port_name
    if node_port:
        spec["ports"][0]["nodePort"] = node_port
    if external:
        spec["externalTrafficPolicy"] = external
    if internal:
        spec["internalTrafficPolicy"] = internal
    return {"metadata": {"namespace": namespace, "name": name}, "spec": spec}


def endpoint(ip, node, pod, *, ready=True, serving=None, terminating=False):
    conditions = {"ready": ready, "serving": ready if serving is None else serving, "terminating": terminating}
    return {"addresses": [ip], "conditions": conditions, "nodeName": node, "targetRef": {"kind": "Pod", "name": pod, "namespace": "default"}}


def endpoint_slice(endpoints, *, service_name="web", port=80, port_name=None):
    port_entry = {"port": port, "protocol": "TCP"}
    if port_name:
        port_entry["name"] = port_name
    return {"metadata": {"name": f"{service_name}-abcde", "namespace": "default", "labels": {"kubernetes.io/service-name": service_name}},
            "addressType": "IPv4", "ports": [port_entry], "endpoints": endpoints}


def ruleset(svc, slices, node="node-1"):
    entries = [(info, endpoints_for(info, slices, node)) for info in service_ports(svc)]
    return iptables.build(entries)


class Kernel:
    """A node's kernel for `iptables.evaluate`: local addresses, a seeded draw, xt_recent lists."""

    def __init__(self, seed=7, node_ip="172.18.0.2"):
        self.stream = Stream.from_seed(seed)
        self.recent = {}
        self.now = 0
        self.local_ips = {node_ip, "127.0.0.1"}

    def draw(self):
        return self.stream.next64() >> 33

    def connect(self, rs, src, dst, dport):
        return iptables.evaluate(rs, {"src": src, "dst": dst, "dport": dport, "proto": "TCP"},
                                 {"local_ips": self.local_ips, "draw": self.draw, "recent": self.recent, "now": self.now})


def chi_square(counts, expected_each):
    return sum((c - expected_each) ** 2 / expected_each for c in counts)


# Upper critical values of the chi-square distribution at p = 0.001 (degrees of freedom → value).
CHI2_999 = {1: 10.828, 2: 13.816, 3: 16.266, 6: 22.458}
