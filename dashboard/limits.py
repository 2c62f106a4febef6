"""What one server accepts, so a curious classroom or the internet cannot exhaust it.

Every number is settings.CLUSTERSCOPE_LIMITS[<name>] (defaults below, overridden by the
CLUSTERSCOPE_LIMITS environment variable as JSON, e.g. '{"nodes_per_cluster": 20}'); the table
with what each one guards is in docs/security.md. Rates are token buckets on the wall clock
(time.monotonic: rates are about people and machines, not the simulation), keyed by client
address or cluster, answered with 429 and Retry-After.
"""

import math
import time
from dataclasses import replace

from django.conf import settings

DEFAULTS = {
    "clusters_per_server": 50,
    "clusters_per_client": 10,  # clusters one client address may create per hour
    "nodes_per_cluster": 50,
    "pods_per_cluster": 1000,  # every pod the API server holds, whoever creates it (ReplicaSets too)
    "objects_per_cluster": 5000,  # every object of every kind (pods, events, leases, namespaces, ...)
    "request_body_bytes": 2_621_440,  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    "import_bytes": 16 * 1024 * 1024,
    "scenario_file_bytes": 256 * 1024,
    "traffic_rate": 1000.0,  # requests per virtual second, per generator
    "destructive_per_minute": 120,  # faults, deletions of clusters and nodes, per cluster (bursts of as many)
    "viewers_per_classroom": 500,  # joins per classroom (dashboard/classroom)
    "ws_message_bytes": 4096,
    # Daphne's own caps (autobahn's), checked before the consumer sees anything: a frame from a
    # browser over the first, or a message (however fragmented) over the second, closes the
    # connection (1009). autobahn applies the message cap to what the server sends as well, so
    # it must hold the largest snapshot; the frame cap applies to incoming frames only.
    "ws_server_frame_bytes": 65536,
    "ws_server_message_bytes": 64 * 1024 * 1024,
    "ws_messages_per_second": 50,
}


def get(name: str):
    return getattr(settings, "CLUSTERSCOPE_LIMITS", {}).get(name, DEFAULTS[name])


CAPS = {"max_pods": "pods_per_cluster", "max_objects": "objects_per_cluster"}  # ClusterConfig field -> limit


def caps_over(config) -> list[str]:
    """The caps (of a ClusterConfig, or an API server) this server's limits would lower: unset
    (no cap) or higher."""
    return [field for field, name in CAPS.items() if getattr(config, field) is None or getattr(config, field) > get(name)]


def capped(config):
    """The ClusterConfig with this server's caps on pods and objects where it has none or higher
    ones: recorded in the config, so a replay (and a picture built apart, then imported) meets them."""
    return replace(config, **{field: get(CAPS[field]) for field in caps_over(config)})


class RateLimited(Exception):
    def __init__(self, retry_after: float, message: str):
        super().__init__(message)
        self.retry_after, self.message = retry_after, message

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


class Bucket:
    """`rate` tokens per `per` seconds, bursts of up to `rate`, per key."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.state: dict[object, tuple[float, float]] = {}  # key -> (tokens, when)

    def take(self, key, rate: float, per: float, what: str) -> None:
        now = self.clock()
        tokens, when = self.state.get(key, (rate, now))
        tokens = min(rate, tokens + (now - when) * rate / per)
        if tokens < 1:
            wait = (1 - tokens) * per / rate
            raise RateLimited(wait, f"too many {what}: at most {rate:g} per {per:g} s; retry in {math.ceil(wait)} s")
        self.state[key] = (tokens - 1, now)
        if len(self.state) > 10_000:  # forget the oldest keys rather than grow without bound
            for old in sorted(self.state, key=lambda k: self.state[k][1])[:5_000]:
                del self.state[old]

    def clear(self) -> None:
        self.state.clear()


destructive = Bucket()
creations = Bucket()


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def client_of(request) -> str:
    """The client's address (behind a proxy, set the proxy to pass the real one as REMOTE_ADDR)."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def destructive_action(cluster: str) -> None:
    destructive.take(cluster, get("destructive_per_minute"), 60.0, f"destructive actions on cluster {cluster}")


def cluster_creation(client: str) -> None:
    if client in LOOPBACK:  # the presenter's own machine (and `make run`, and the tests) is not rationed
        return
    creations.take(client, get("clusters_per_client"), 3600.0, "clusters created from this address")
