"""A recorded fake API server: serves lists and watches from a dict, answers writes, and
records every request a controller makes, so tests can assert the exact API actions (as
client-go's fake clientset does).

    fake = FakeApi(sim)                                   # endpoint "kube-apiserver"
    fake.put(pod("a"))                                    # stored; watchers get ADDED / MODIFIED
    cm = manager(sim, ["replicaset"])                     # leads at once (the Lease is served too)
    run(sim, 1)
    fake.actions()                                        # [("create", "pods", "default", None, body), ...]
"""

from cluster.apiserver.meta import copy_json
from cluster.apiserver.resources import BY_KIND, api_version, lookup
from cluster.client import group_of, key_of, meta_of
from cluster.controllers import ControllerManager
from cluster.kernel import MILLISECOND, SECOND, Component, Simulation
from cluster.net import Network

IGNORED = ("leases",)  # leader election traffic is not what these tests are about


class FakeApi(Component):
    kind = "fake-apiserver"

    def __init__(self, sim):
        super().__init__(sim, "kube-apiserver")
        self.objects = {}  # (resource, key) -> object
        self.rv = 100
        self.uids = 0
        self.names = 0
        self.watchers = {}  # (client, id) -> (resource, namespace)
        self.requests = []  # every request payload, in arrival order
        self.fail = {}  # (verb, resource) -> code to answer instead

    # --- the test's side ------------------------------------------------------------------------
    def put(self, obj, resource=None):
        obj = copy_json(obj)
        resource = resource or _resource_of(obj)
        meta = obj.setdefault("metadata", {})
        if not meta.get("uid"):
            self.uids += 1
            meta["uid"] = f"uid-{meta.get('name')}-{self.uids}"
        meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        self.rv += 1
        meta["resourceVersion"] = str(self.rv)
        key = (resource, key_of(obj))
        kind = "MODIFIED" if key in self.objects else "ADDED"
        self.objects[key] = obj
        self._fan_out(resource, kind, obj)
        return obj

    def remove(self, resource, key):
        obj = self.objects.pop((resource, key))
        self.rv += 1
        obj = copy_json(obj)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self._fan_out(resource, "DELETED", obj)

    def get(self, resource, key):
        return self.objects.get((resource, key))

    def actions(self, verbs=("create", "update", "patch", "delete", "deletecollection")):
        """(verb, resource[/sub], namespace, name, body) of the writes, without leader election."""
        out = []
        for p in self.requests:
            if p["verb"] in verbs and p["resource"] not in IGNORED:
                what = p["resource"] + (f"/{p['subresource']}" if p.get("subresource") else "")
                out.append((p["verb"], what, p.get("namespace"), p.get("name"), p.get("body")))
        return out

    def clear(self):
        self.requests = []

    # --- the protocol -------------------------------------------------------------------------------
    def on_message(self, msg):
        if msg.kind == "api.watch_cancel":
            self.watchers.pop((msg.source, msg.payload["id"]), None)
            return
        if msg.kind != "api.request":
            return
        p = msg.payload
        self.requests.append(p)
        resource, verb, ns, name = p["resource"], p["verb"], p.get("namespace"), p.get("name")
        code = self.fail.get((verb, resource))
        if code is not None:
            return self._answer(msg.source, p, code, {"kind": "Status", "code": code, "reason": "Injected", "metadata": {}})
        key = f"{ns}/{name}" if ns else name
        if verb == "list":
            items = [copy_json(o) for (r, k), o in sorted(self.objects.items()) if r == resource and (ns is None or meta_of(o).get("namespace") == ns)]
            return self._answer(msg.source, p, 200, {"kind": "List", "metadata": {"resourceVersion": str(self.rv)}, "items": items})
        if verb == "watch":
            self.watchers[(msg.source, p["id"])] = (resource, ns)
            return self._answer(msg.source, p, 200, None, watch=True)
        if verb == "get":
            obj = self.objects.get((resource, key))
            return self._answer(msg.source, p, 200, copy_json(obj)) if obj else self._answer(msg.source, p, 404, _not_found(resource, name))
        if verb == "create" and p.get("subresource") is None:
            obj = copy_json(p["body"])
            meta = obj.setdefault("metadata", {})
            meta["namespace"] = ns if ns else meta.get("namespace")
            if not meta.get("name"):
                self.names += 1
                meta["name"] = f"{meta.get('generateName', '')}{self.names:05d}"
            if (resource, key_of(obj)) in self.objects:
                return self._answer(msg.source, p, 409, {"kind": "Status", "code": 409, "reason": "AlreadyExists", "metadata": {}})
            if resource in IGNORED:
                return self._answer(msg.source, p, 201, self.put(obj, resource))
            return self._answer(msg.source, p, 201, copy_json(obj) | {"metadata": dict(meta, resourceVersion=str(self.rv + 1))})
        if verb in ("update", "patch", "delete"):
            obj = self.objects.get((resource, key))
            if obj is None:
                return self._answer(msg.source, p, 404, _not_found(resource, name))
            if resource in IGNORED and verb == "update":
                return self._answer(msg.source, p, 200, self.put(p["body"], resource))
            return self._answer(msg.source, p, 200, copy_json(obj))
        return self._answer(msg.source, p, 200, {"kind": "Status", "code": 200, "metadata": {}})

    def _answer(self, client, p, code, body, **extra):
        payload = {"id": p["id"], "code": code, **extra}
        if body is not None:
            payload["body"] = body
        self.send(client, "api.response", payload)

    def _fan_out(self, resource, kind, obj):
        for (client, rid), (res, ns) in sorted(self.watchers.items()):
            if res == resource and (ns is None or meta_of(obj).get("namespace") == ns):
                self.send(client, "api.watch_event", {"id": rid, "type": kind, "object": copy_json(obj)})


def _resource_of(obj):
    version = obj.get("apiVersion") or "v1"
    group = version.split("/")[0] if "/" in version else ""
    return BY_KIND[(group, obj["kind"])]["plural"]


def _not_found(resource, name):
    return {"kind": "Status", "code": 404, "reason": "NotFound", "message": f'{resource} "{name}" not found', "metadata": {}}


def fake_cluster(loops, objects=(), seed=1, **options):
    """A simulation with the fake API server (holding `objects`) and a controller-manager
    running only `loops`, leading and synced."""
    sim = Simulation(seed=seed)
    sim.net = Network(sim, base_latency_us=1 * MILLISECOND, jitter_us=0)
    fake = sim.add(FakeApi(sim))
    for obj in objects:
        fake.put(obj)
    manager = sim.add(ControllerManager(sim, loops=loops, **options))
    run(sim, 0.1)
    assert manager.elector.leading
    return sim, fake, manager


def run(sim, seconds):
    sim.run_until(sim.now + int(seconds * SECOND))


def typed(resource, body):
    info = lookup(group_of(resource), resource)
    return dict(body, apiVersion=api_version(info), kind=info["kind"])
