"""kube-proxy (issue 8): every node's Service rules, in iptables or ipvs mode.

    from cluster.proxy import build_proxy, proxy_view, rules_text
    build_proxy(sim, node_config("node-1", 1), mode="iptables", scheduler="rr", profile="teaching")
    rules_text(sim, "node-1")        # `iptables-save` (or `ipvsadm -Ln`) of node-1, now
    proxy_view(sim)                  # {"mode", "nodes": [per node: version, services → endpoints]}

Module map:
    kubeproxy.py     the `node-N/kube-proxy` component: informers (Services, EndpointSlices),
                     the rate-limited sync, the kernel state it programs, the packet path
                     (`connect`), NodePort forwarding, views
    serviceports.py  Services and EndpointSlices → service ports and endpoints; the
                     Cluster / Local endpoint categories (proxy.CategorizeEndpoints)
    iptables.py      chains and rules as kube-proxy writes them, iptables-save text, the walk
                     of a packet through them (statistic, recent, addrtype, mark, DNAT, REJECT)
    ipvs.py          virtual and real servers, rr / lc / sh schedulers, persistence,
                     graceful termination, ipvsadm -Ln text

The proxy mode is per cluster (ClusterConfig.proxy_mode, with ipvs_scheduler for ipvs).
"""

from .iptables import chain_name, endpoint_chain_name, probability_saved, probability_u32
from .ipvs import SCHEDULERS
from .kubeproxy import MODES, KubeProxy, backend_of


def build_proxy(sim, config: dict, *, mode: str = "iptables", scheduler: str = "rr", profile: str = "teaching", epoch: int = 0) -> KubeProxy:
    """Add `<node>/kube-proxy` on the node's host. `epoch` > 0 when a removed node's name comes
    back as a new machine (the old component's timers must not fire on the new)."""
    proxy = KubeProxy(sim, config, mode=mode, scheduler=scheduler, profile=profile)
    proxy.epoch = epoch
    return sim.add(proxy)


def proxies(sim) -> list[KubeProxy]:
    """Every node's kube-proxy (removed nodes left out), sorted by node name."""
    found = [c for c in sim.components.values() if isinstance(c, KubeProxy) and not c.removed]
    return sorted(found, key=lambda p: p.node)


def proxy_of(sim, node: str) -> KubeProxy | None:
    proxy = sim.components.get(f"{node}/kube-proxy")
    return proxy if isinstance(proxy, KubeProxy) and not proxy.removed else None


def rules_text(sim, node: str) -> str | None:
    """The node's rules as text, or None when the cluster has no such node."""
    proxy = proxy_of(sim, node)
    return None if proxy is None else proxy.rules_text()


def proxy_view(sim) -> dict:
    found = proxies(sim)
    return {"mode": found[0].mode if found else None, "nodes": [p.rules_view() for p in found]}


__all__ = ["MODES", "SCHEDULERS", "KubeProxy", "backend_of", "build_proxy", "chain_name", "endpoint_chain_name", "probability_saved",
           "probability_u32", "proxies", "proxy_of", "proxy_view", "rules_text"]
