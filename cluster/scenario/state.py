"""The state a condition reads: the cluster's snapshot, plus the API objects and what the
run remembered, built section by section only when a path asks for it (a wait checks its
condition every poll; building every section each time would cost more than simulating).

    time                      virtual seconds
    etcd                      the snapshot's etcd view: members[], leader, revision, quorum, alive...
    network                   partitions, faults
    nodes                     the snapshot's node views (kubelet: ready, pods, ...)
    proxy, traffic            kube-proxy's rules and the traffic counters
    components                every component's view, by name (components['node-1/kubelet'])
    objects.<plural>          the API server's objects (its watch cache): objects.pods, objects.deployments...
    requests.<name>           a request an action named with `as:`: {code, body} (kubectl) or etcd's answer
    remembered.<name>         what an action remembered: a resolved target, the names it deleted
"""

from ..apiserver.resources import RESOURCES, resource_prefix
from ..etcd import etcd_view
from ..kubelet import nodes_view
from ..proxy import proxy_view
from ..traffic import traffic_view


class Lazy:
    """A read-only mapping whose values are computed on first access."""

    def __init__(self, loaders: dict):
        self._loaders, self._values = loaders, {}

    def keys(self):
        return self._loaders.keys()

    def values(self):
        return [self.get(k) for k in self._loaders]

    def get(self, key, default=None):
        if key not in self._loaders:
            return default
        if key not in self._values:
            self._values[key] = self._loaders[key]()
        return self._values[key]


def cluster_state(cluster, *, requests: dict, remembered: dict) -> Lazy:
    sim = cluster.sim
    return Lazy({
        "time": lambda: cluster.time,
        "etcd": lambda: etcd_view(cluster.etcd_members),
        "network": lambda: sim.net.view(),
        "nodes": lambda: nodes_view(sim),
        "proxy": lambda: proxy_view(sim),
        "traffic": lambda: traffic_view(sim),
        "components": lambda: Lazy({name: (lambda c=component: c.view()) for name, component in sim.components.items()}),
        "objects": lambda: Lazy({r["plural"]: (lambda r=r: api_objects(cluster, r)) for r in RESOURCES}),
        "requests": lambda: Lazy({name: (lambda f=fetch: f()) for name, fetch in requests.items()}),
        "remembered": lambda: dict(remembered),
    })


def api_objects(cluster, info: dict, namespace: str | None = None) -> list[dict]:
    """The API server's cached objects of one resource (read only), sorted by key."""
    server = getattr(cluster, "apiserver", None)
    if server is None:
        return []
    prefix = resource_prefix(info) + (f"{namespace}/" if namespace and info["namespaced"] else "")
    return [obj for _key, obj in server.cache.items(info["plural"], prefix)]
