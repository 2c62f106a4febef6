"""Reads of cluster state for views and consumers."""

from cluster.apiserver.records import KEEP_HTTP_RECORDS, KEEP_RECORDS
from cluster.commands import CommandError
from cluster.compact import MAX_DETAIL
from cluster.proxy import rules_text
from cluster.traffic import traffic_view

from .runner import registry
from .services import get_handle

MAX_EVENTS_PAGE = 5000


def list_summaries() -> list[dict]:
    registry.ensure_demo()
    return [registry.handles[name].summary() for name in sorted(registry.handles)]


def summary(*, name: str) -> dict:
    return get_handle(name).summary()


def snapshot(*, name: str, detail: str = "") -> dict:
    """The cluster's picture; a large one's nodes in `detail` (comma-separated) in full (cluster/compact.py)."""
    nodes = [n for n in detail.split(",") if n]
    if len(nodes) > MAX_DETAIL:
        raise CommandError(f"at most {MAX_DETAIL} nodes in detail", "detail")
    handle = get_handle(name)
    state = handle.cluster.snapshot(detail=nodes)
    state["clock"] = handle.clock()
    return state


def events(*, name: str, after: int, limit: int) -> dict:
    handle = get_handle(name)
    if after < 0:
        raise CommandError("after must be 0 or more", "after")
    if not 1 <= limit <= MAX_EVENTS_PAGE:
        raise CommandError(f"limit must be between 1 and {MAX_EVENTS_PAGE}", "limit")
    found = handle.cluster.events_since(after, limit)
    log = handle.cluster.sim.log
    if found is None:
        raise CommandError(f"events after {after} are no longer kept; the oldest is {log.first_seq}", "after", status=410)
    return {"events": found, "last_seq": log.last_seq, "first_seq": log.first_seq}


def traffic(*, name: str) -> dict:
    """Per-service traffic counters (shared/DESIGN.md's shape, with per-pod and per-node
    detail) and every traffic generator of the cluster."""
    return traffic_view(get_handle(name).cluster.sim)


def proxy_rules(*, name: str, node: str) -> str:
    """A node's kube-proxy rules as text: `iptables-save` or `ipvsadm -Ln`."""
    text = rules_text(get_handle(name).cluster.sim, node)
    if text is None:
        raise CommandError(f"node {node} not found (or it has no kube-proxy)", "node", status=404)
    return text


SCHEDULER = "kube-scheduler"


def api_request(*, name: str, request: str) -> dict:
    """What the cluster's API server keeps of one request ("<client>#<id>", e.g. "kubectl#7"):
    cluster/apiserver/records.py."""
    handle = get_handle(name)
    apiserver = handle.cluster.sim.components.get("kube-apiserver")
    if apiserver is None:
        raise CommandError(f"cluster {name} has no API server", "name", status=404)
    found = apiserver.request_record(request) if "#" in request else None
    if found is None:
        raise CommandError(f"the API server keeps no request {request!r}: it keeps the newest {KEEP_HTTP_RECORDS} answered requests from "
                           f"HTTP clients, {KEEP_RECORDS} from in-cluster ones and those in flight, and forgets them when it restarts", "request", status=404)
    return found


def scheduler_decisions(*, name: str, namespace: str, pod: str) -> dict:
    """Every scheduling attempt the cluster's kube-scheduler recorded for a pod, oldest first."""
    handle = get_handle(name)
    scheduler = handle.cluster.sim.components.get(SCHEDULER)
    if scheduler is None:
        raise CommandError(f"cluster {name} has no scheduler", "name", status=404)
    found = scheduler.pod_decisions(namespace, pod)
    if found is not None:
        return found
    if scheduler.pods.get(f"{namespace}/{pod}") is not None:
        return {"pod": f"{namespace}/{pod}", "uid": None, "attempts": []}  # known, not attempted yet
    raise CommandError(f"no scheduling decisions for pod {namespace}/{pod}: the scheduler does not know it", "pod", status=404)
