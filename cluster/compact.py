"""A large cluster's picture: the node-level views without their detail.

At hundreds of nodes the full snapshot (every pod of every kubelet, every container and image of
every containerd) grows to tens of megabytes, takes the server seconds to build and the browser
seconds to parse, once a second; and the browser draws such a cluster as a heat map of node
groups anyway (static/js/render/nodemap/). So from COMPACT_FROM nodes `Cluster.snapshot()`:

- gives each kubelet its `compact_view()` (condition, heartbeats, labels, requested against
  allocatable, usage, and its pods counted by the kubelet's step: `pod_steps`), and each
  containerd and kube-proxy its name, state and a count or two, marked `"compact": true`;
- keeps the full views of the nodes named in `detail` (the group a reader zoomed into: GET
  /state?detail=node-1,node-2), and the snapshot's `nodes` part for those nodes only;
- keeps the newest MAX_IN_FLIGHT messages in flight and the API server's newest
  MAX_API_REQUESTS requests in flight (the page keeps no more than that of either);
- says so in `scale`: {"compact", "nodes", "pods", "detail", "in_flight", "api_requests"} (totals).

A smaller cluster's snapshot is unchanged but for `scale` ({"compact": false, ...}).

The WebSocket's snapshot (`Cluster.snapshot()` without `detail`) must fit one WebSocket message
(daphne's limit: 1 MiB), and a large cluster's does not even compact (about 1.8 MB at 1,000
nodes). So it leaves out the node-level views, `nodes` and `proxy`, keeps at most
MAX_STREAM_LIST entries of any list in the other views and in flight, and says
`scale.stream = "partial"`: the page takes the rest from GET /state at once (no such limit).
"""

COMPACT_FROM = 61  # nodes; the page's heat map takes over from the same count (render/nodemap/lod.js)
MAX_DETAIL = 100  # nodes in full detail per request (a group of the heat map)
MAX_IN_FLIGHT = 2000
MAX_API_REQUESTS = 300
MAX_STREAM_LIST = 200
NODE_LEVEL = ("kubelet", "runtime", "kube-proxy")
APISERVER = "kube-apiserver"


def kubelets(sim) -> dict:
    """node -> its kubelet, for every node that has not been removed."""
    return {c.node: c for c in sim.components.values() if c.kind == "kubelet" and not getattr(c, "removed", False)}


def _small_view(component) -> dict:
    view = {"name": component.name, "kind": component.kind, "alive": component.alive, "node": component.node, "compact": True}
    if component.kind == "runtime":
        view["containers"] = len(component.containers)
    elif component.kind == "kube-proxy":
        view.update(mode=component.mode, version=component.version, rules=component.rule_count)
    return view


def scale_of(sim, detail=()) -> dict:
    nodes = kubelets(sim)
    return {
        "compact": len(nodes) >= COMPACT_FROM,
        "nodes": len(nodes),
        "pods": sum(len(k.workers) for k in nodes.values()),
        "detail": sorted(set(detail) & set(nodes)) if len(nodes) >= COMPACT_FROM else [],
    }


def component_views(sim, detail: set) -> list[dict]:
    """Every component's view: the node-level ones of nodes outside `detail` compact."""
    views = []
    for component in sim.components.values():
        node = getattr(component, "node", None)
        if node is None or node in detail or component.kind not in NODE_LEVEL:
            views.append(component.view())
        elif component.kind == "kubelet":
            views.append({**component.compact_view(), "compact": True})
        else:
            views.append(_small_view(component))
    return views


def trim(snapshot: dict, scale: dict) -> None:
    """Bound what a large cluster's snapshot carries of messages and API requests in flight."""
    in_flight = snapshot["network"].get("in_flight", [])
    scale["in_flight"] = len(in_flight)
    if len(in_flight) > MAX_IN_FLIGHT:
        snapshot["network"]["in_flight"] = sorted(in_flight, key=lambda m: m.get("sent", 0))[-MAX_IN_FLIGHT:]
    for view in snapshot["components"]:
        if view.get("name") == APISERVER and isinstance(view.get("requests"), list):
            scale["api_requests"] = len(view["requests"])
            view["requests"] = view["requests"][-MAX_API_REQUESTS:]


def for_stream(snapshot: dict) -> dict:
    """A large cluster's snapshot small enough for one WebSocket message (see above)."""
    def cut(view: dict) -> dict:
        return {k: v[-MAX_STREAM_LIST:] if isinstance(v, list) else v for k, v in view.items()}

    snapshot["components"] = [cut(v) for v in snapshot["components"] if v.get("kind") not in NODE_LEVEL]
    snapshot["network"]["in_flight"] = snapshot["network"].get("in_flight", [])[-MAX_STREAM_LIST:]
    snapshot["nodes"], snapshot["proxy"] = [], {**snapshot["proxy"], "nodes": []}
    snapshot["scale"]["stream"] = "partial"
    return snapshot
