"""Services as issue 8 item 1 asks, end to end: cluster IPs drawn from the service CIDR, and
targetPort by name (resolved on each pod: two pods may serve one Service port on different
container ports) or by number (containerPort is informational: a pod not listening there
refuses), all the way to the rules and the answers."""

import ipaddress

from ..apiserver.harness import Harness
from .harness import ServiceCluster

CIDR = ipaddress.ip_network("10.96.0.0/12")  # the API server's --service-cluster-ip-range


def test_cluster_ips_are_drawn_from_the_service_cidr_and_a_foreign_one_is_refused():
    h = Harness()
    ips = []
    for i in range(20):
        body = h.create("services", {"metadata": {"name": f"s{i}"}, "spec": {"ports": [{"port": 80}], "selector": {"app": "a"}}}, namespace="default")["body"]
        ips.append(ipaddress.ip_address(body["spec"]["clusterIP"]))
    assert all(ip in CIDR and ip not in (CIDR.network_address, CIDR.broadcast_address) for ip in ips)
    assert len(set(ips)) == len(ips)
    outside = h.create("services", {"metadata": {"name": "far"}, "spec": {"clusterIP": "192.168.7.7", "ports": [{"port": 80}]}}, namespace="default")
    assert outside["code"] == 422
    assert outside["body"]["details"]["causes"][0]["message"] == (
        'Invalid value: []string{"192.168.7.7"}: failed to allocate IP 192.168.7.7: the provided IP (192.168.7.7) is not in the valid range. '
        "The range of valid IPs is 10.96.0.0/12")


def deployment(name, image, port, *, args=None):
    container = {"name": "c", "image": image, "ports": [{"name": "http", "containerPort": port}], "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}}}
    if args:
        container["args"] = args
    labels = {"app": "mixed", "flavour": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}}


def test_target_port_by_name_resolves_on_each_pod_and_by_number_reaches_only_who_listens():
    h = ServiceCluster()
    # two Deployments behind one selector: nginx serves "http" on 80, http-echo on 8080
    h.kube("create", "deployments", group="apps", body=deployment("nginx", "nginx:1.27", 80))
    h.kube("create", "deployments", group="apps", body=deployment("echo", "hashicorp/http-echo:1.0", 8080, args=["-listen=:8080", "-text=hi"]))
    for name, target in (("by-name", "http"), ("by-number", 8080)):
        h.kube("create", "services", body={"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                                           "spec": {"selector": {"app": "mixed"}, "ports": [{"port": 80, "targetPort": target, "protocol": "TCP"}]}})
    h.client("client", node="node-1")
    h.wait_rules("default/by-name", 2)
    h.wait_rules("default/by-number", 2)
    ips = {p["metadata"]["labels"]["flavour"]: p["status"]["podIP"] for p in h.pods("mixed")}
    proxy = h.proxy("node-1")
    by_name = sorted(e["endpoint"] for e in proxy.summary["default/by-name"]["endpoints"])
    by_number = sorted(e["endpoint"] for e in proxy.summary["default/by-number"]["endpoints"])
    assert by_name == sorted([f"{ips['nginx']}:80", f"{ips['echo']}:8080"])
    assert by_number == sorted([f"{ips['nginx']}:8080", f"{ips['echo']}:8080"])
    # the rules DNAT each endpoint to its own port
    rules = proxy.rules_text()
    assert f"--to-destination {ips['nginx']}:80\n" in rules and f"--to-destination {ips['echo']}:8080\n" in rules

    h.traffic("by-name", rate=20, seconds=3, source="client")
    h.traffic("by-number", rate=20, seconds=3, source="client")
    h.run_until(lambda: h.done("traffic-1") and h.done("traffic-2"), 30)
    named, numbered = h.stats("by-name"), h.stats("by-number")
    assert named["requests"] == 60 and named["errors"] == 0 and len(named["pods"]) == 2
    # nginx does not listen on 8080: its share is refused, the echo pod's is answered
    nginx_pod = next(p["metadata"]["name"] for p in h.pods("mixed") if p["metadata"]["labels"]["flavour"] == "nginx")
    assert numbered["requests"] == 60 and numbered["errors"] == numbered["pods"][nginx_pod] > 0
    assert numbered["errors_by"] == {"connection refused": numbered["errors"]}
