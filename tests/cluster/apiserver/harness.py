"""A Simulation with 3 etcd members, the API server and a scripted API client.

    h = Harness()                                  # runs until the API server is ready
    r = h.create("pods", pod("web"), namespace="default")
    assert r["code"] == 201
    w = h.watch("pods", namespace="default", rv=r["body"]["metadata"]["resourceVersion"])
    h.run(1)
    h.client.events[w]                             # watch events received so far

Only the kernel, the etcd members and the API server are used: no Django.
"""

from cluster.apiserver import build_apiserver
from cluster.etcd import build_members, find_leader
from cluster.kernel import MILLISECOND, SECOND, Component, Simulation
from cluster.net import Network
from cluster.profiles import Profile

FAST = Profile(
    name="fast",
    net_latency_us=5 * MILLISECOND,
    net_jitter_us=5 * MILLISECOND,
    raft_heartbeat_us=50 * MILLISECOND,
    raft_election_min_us=300 * MILLISECOND,
    raft_election_max_us=600 * MILLISECOND,
)


class ApiClient(Component):
    """Sends api.request messages and records every answer and watch event."""

    kind = "test-client"

    def __init__(self, sim, name="client"):
        super().__init__(sim, name)
        self.next_id = 0
        self.responses = {}  # id -> api.response payload
        self.events = {}  # id -> [api.watch_event payload, ...]
        self.ended = set()  # ids of watches the server ended
        self.chunks = {}

    def request(self, verb, resource, *, group="", version="v1", namespace=None, name=None, body=None, subresource=None, patch_type=None,
                query=None, user=None, token=None, as_table=False, include_object="Metadata", raw=None):
        self.next_id += 1
        payload = raw if raw is not None else {
            "id": self.next_id, "verb": verb, "group": group, "version": version, "resource": resource, "subresource": subresource,
            "namespace": namespace, "name": name, "body": body, "patch_type": patch_type, "query": query or {}, "user": user, "token": token,
            "as_table": as_table, "include_object": include_object,
        }
        if raw is not None and isinstance(raw, dict):
            payload = dict(raw, id=self.next_id)
        self.send("kube-apiserver", "api.request", payload)
        return self.next_id

    def cancel(self, rid):
        self.send("kube-apiserver", "api.watch_cancel", {"id": rid})

    def on_message(self, msg):
        p = msg.payload
        if msg.kind == "api.response":
            self.responses[p["id"]] = p
        elif msg.kind == "api.watch_event":
            self.events.setdefault(p["id"], []).append(p)
        elif msg.kind == "api.watch_end":
            self.ended.add(p["id"])
        elif msg.kind == "api.log_chunk":
            self.chunks.setdefault(p["id"], []).append(p["text"])


class Harness:
    def __init__(self, seed=1, members=3, ready=True, **options):
        self.sim = Simulation(seed=seed)
        self.sim.net = Network(self.sim, base_latency_us=FAST.net_latency_us, jitter_us=FAST.net_jitter_us)
        self.members = build_members(self.sim, members, FAST)
        self.server = build_apiserver(self.sim, self.members, profile=FAST, **options)
        self.client = self.sim.add(ApiClient(self.sim))
        if ready:
            self.run_until(lambda: self.server.phase == "ready", 30)

    # --- time ------------------------------------------------------------------------------------
    @property
    def now(self):
        return self.sim.now

    def run(self, seconds):
        self.sim.run_until(self.sim.now + int(seconds * SECOND))

    def run_until(self, condition, seconds=30, step_ms=5):
        deadline = self.sim.now + int(seconds * SECOND)
        while not condition():
            if self.sim.now >= deadline:
                raise AssertionError(f"condition not met within {seconds} virtual seconds")
            self.sim.run_until(min(deadline, self.sim.now + step_ms * MILLISECOND))
        return True

    def wait(self, rid, seconds=30):
        self.run_until(lambda: rid in self.client.responses, seconds)
        return self.client.responses[rid]

    def call(self, verb, resource, **kw):
        return self.wait(self.client.request(verb, resource, **kw))

    # --- verbs -------------------------------------------------------------------------------------
    def create(self, resource, body, namespace=None, **kw):
        return self.call("create", resource, namespace=namespace, body=body, **kw)

    def get(self, resource, name, namespace=None, **kw):
        return self.call("get", resource, namespace=namespace, name=name, **kw)

    def list(self, resource, namespace=None, **kw):
        return self.call("list", resource, namespace=namespace, **kw)

    def update(self, resource, body, namespace=None, **kw):
        return self.call("update", resource, namespace=namespace, name=body["metadata"]["name"], body=body, **kw)

    def patch(self, resource, name, patch_body, patch_type="merge", namespace=None, **kw):
        return self.call("patch", resource, namespace=namespace, name=name, body=patch_body, patch_type=patch_type, **kw)

    def delete(self, resource, name, namespace=None, **kw):
        return self.call("delete", resource, namespace=namespace, name=name, **kw)

    def watch(self, resource, namespace=None, rv=None, **kw):
        query = dict(kw.pop("query", {}) or {})
        if rv is not None:
            query["resourceVersion"] = str(rv)
        rid = self.client.request("watch", resource, namespace=namespace, query=query, **kw)
        self.wait(rid)
        return rid

    def leader(self):
        member = find_leader(self.members)
        return member.name if member else None

    def etcd_value(self, key):
        """The key as the leader's store has it (for checks against etcd itself)."""
        member = find_leader(self.members)
        return member.store.get(key)

    def api_events(self, kind_prefix="api."):
        return [e for e in self.sim.log.events if e["kind"].startswith(kind_prefix)]


def pod(name, image="nginx", labels=None, **spec):
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": image}], **spec}}
    if labels:
        body["metadata"]["labels"] = labels
    return body


def deployment(name, replicas=1, labels=None, image="nginx"):
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                 "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [{"name": "nginx", "image": image}]}}},
    }
