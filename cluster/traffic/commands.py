"""The `traffic` command (REST POST /api/clusters/<name>/traffic): start a generator; with
"action": "stop" (REST DELETE /api/clusters/<name>/traffic/<generator>), stop one.

    {"type": "traffic", "namespace": "default", "service": "web", "rate": 20, "seconds": 30,
     "source": "client-pod" | "ns/pod" | "external", "port": "http" | 80 (optional: the first port),
     "path": "/" (optional)}

    {"type": "traffic", "action": "stop", "generator": "traffic-1"}   # nothing more is sent;
                                                                      # what is in flight finishes

The command stands for a user running a load tool: inside a pod (`kubectl exec client --
hey -q 20 -z 30s http://web`), whose DNS lookup gives the Service's cluster IP, or outside the
cluster against a NodePort. Validation reads the API server's watch cache the way that lookup
would: an unknown Service or pod is 404, a pod without an IP (not running) 409, a headless
Service or a Service without a NodePort for an external client 400. The recorded command is the
user's input; applying it (now or in a replay, at the same position) resolves it again.
"""

from ..apiserver.server import NAME as APISERVER
from ..commands import no_unknown_fields, number, require, string
from ..proxy.serviceports import service_ports
from .generator import EXTERNAL_PREFIX, TrafficGenerator

FIELDS = {"type", "action", "namespace", "service", "rate", "seconds", "source", "port", "path"}
STOP_FIELDS = {"type", "action", "generator"}
MAX_RATE = 1000.0  # requests per virtual second
MAX_SECONDS = 3600.0
MAX_REQUESTS = 200_000


def validate(sim, cmd: dict) -> dict:
    action = string(cmd, "action", default="start", choices=["start", "stop"])
    if action == "stop":
        return validate_stop(sim, cmd)
    no_unknown_fields(cmd, FIELDS)
    out = {"type": "traffic", "namespace": string(cmd, "namespace", default="default", max_length=63), "service": string(cmd, "service", max_length=63)}
    out["rate"] = number(cmd, "rate", low=0.01, high=MAX_RATE)
    out["seconds"] = number(cmd, "seconds", low=0.001, high=MAX_SECONDS)
    require(out["rate"] * out["seconds"] <= MAX_REQUESTS, f"rate × seconds must be at most {MAX_REQUESTS:,} requests", "seconds")
    require(round(out["rate"] * out["seconds"]) >= 1, "rate × seconds must make at least one request", "seconds")
    out["source"] = string(cmd, "source", max_length=253)
    port = cmd.get("port")
    if port is not None:
        require((isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535) or (isinstance(port, str) and 0 < len(port) <= 63),
                "port must be a port number or a port name", "port")
        out["port"] = port
    path = string(cmd, "path", default="/", max_length=2048)
    require(path.startswith("/"), "path must start with /", "path")
    out["path"] = path
    resolve(sim, out)
    return out


def resolve(sim, cmd: dict) -> dict:
    """What the client's lookups find now: the service port and the client's address and node."""
    server = sim.components.get(APISERVER)
    require(server is not None, "this cluster has no API server", "service", status=409)
    namespace, name = cmd["namespace"], cmd["service"]
    service = server.cache.get("services", f"/registry/services/specs/{namespace}/{name}")
    require(service is not None, f'services "{name}" not found in namespace {namespace}', "service", status=404)
    ports = service_ports(service)
    require(bool(ports), f"service {namespace}/{name} has no cluster IP (headless or ExternalName): kube-proxy writes no rules for it", "service")
    wanted = cmd.get("port")
    if wanted is None:
        info = ports[0]
    else:
        info = next((p for p in ports if p["port_name"] == wanted or p["port"] == wanted), None)
        require(info is not None, f"service {namespace}/{name} has no port {wanted!r}", "port", status=404)
    target = {"service_key": info["key"], "cluster_ip": info["cluster_ip"], "port": info["port"], "node_port": info["node_port"], "protocol": info["protocol"]}
    require(info["protocol"] == "TCP", f"port {info['port']} is {info['protocol']}: the traffic generator speaks HTTP over TCP", "port")
    source = cmd["source"]
    if source == "external":
        require(bool(info["node_port"]), f"service {namespace}/{name} has no NodePort: an external client needs type NodePort (or LoadBalancer)", "source")
        index = 1 + sum(1 for c in sim.components.values() if isinstance(c, TrafficGenerator) and c.target["source_node"] is None)
        target.update(src_ip=f"{EXTERNAL_PREFIX}{(index - 1) % 254 + 1}", source_node=None)
        return target
    pod_ns, _, pod_name = source.rpartition("/")
    pod_ns = pod_ns or namespace
    pod = server.cache.get("pods", f"/registry/pods/{pod_ns}/{pod_name}")
    require(pod is not None, f'pods "{pod_name}" not found in namespace {pod_ns}', "source", status=404)
    status, spec = pod.get("status") or {}, pod.get("spec") or {}
    running = status.get("phase") == "Running" and status.get("podIP") and spec.get("nodeName") and not pod["metadata"].get("deletionTimestamp")
    require(bool(running), f"pod {pod_ns}/{pod_name} is not running (phase {status.get('phase') or 'Pending'}): it has no address to send from", "source", status=409)
    target.update(src_ip=status["podIP"], source_node=spec["nodeName"])
    return target


def validate_stop(sim, cmd: dict) -> dict:
    """{"type": "traffic", "action": "stop", "generator": "traffic-1"}: an unknown generator is 404."""
    no_unknown_fields(cmd, STOP_FIELDS)
    name = string(cmd, "generator", max_length=63)
    require(isinstance(sim.components.get(name), TrafficGenerator), f'no traffic generator "{name}"', "generator", status=404)
    return {"type": "traffic", "action": "stop", "generator": name}


def apply(sim, cmd: dict) -> dict:
    if cmd.get("action") == "stop":
        generator = sim.components[cmd["generator"]]
        stopped = generator.stop()
        return {"ok": True, "generator": generator.name, "stopped": stopped, "state": generator.state, "sent": generator.sent}
    target = resolve(sim, cmd)
    index = 1 + sum(1 for c in sim.components.values() if isinstance(c, TrafficGenerator))
    name = f"traffic-{index}"
    spec = {k: cmd[k] for k in ("namespace", "service", "rate", "seconds", "source", "path")}
    generator = sim.add(TrafficGenerator(sim, name, spec, target))
    return {"ok": True, "generator": generator.name, "requests": generator.total, "service": generator.service, "source": spec["source"],
            "source_node": target["source_node"], "src_ip": target["src_ip"], "cluster_ip": target["cluster_ip"], "port": target["port"],
            "node_port": target["node_port"] or None}
