"""A synthetic cluster stream for browser tests of the drawing.

The real demo cluster has no components until the etcd and node issues land, so these tests
replace the page's WebSocket (Playwright's `page.route_web_socket`) with frames shaped exactly
like dashboard/consumers.py sends them: a snapshot with components (etcd members as DESIGN.md
section 4 describes them), messages in flight, then event batches and clock frames.
"""

import json

T0 = 42.0


def component(name, kind, **fields):
    return {"name": name, "kind": kind, "alive": True, **fields}


def etcd_member(name, role, term, commit, *, alive=True, vote=None):
    log = [{"index": i, "term": 1 if i < 10 else 2 if i < 30 else term} for i in range(1, commit + 3)]
    return component(name, "etcd-member", id=name, role=role, term=term, vote=vote, commit=commit, applied=commit, alive=alive, log=log)


def message(msg_id, source, target, kind, sent, arrives):
    return {"id": msg_id, "source": source, "target": target, "kind": kind, "sent": sent, "arrives": arrives}


def snapshot(*, faults: bool = False, paused: bool = False, speed: float = 1.0, time: float = T0, seq: int = 500) -> dict:
    components = [
        component("kubectl", "kubectl"),
        component("apiserver", "apiserver"),
        component("controller-manager", "controller-manager"),
        component("scheduler", "scheduler"),
        etcd_member("etcd-0", "leader", 3, 41, vote="etcd-0"),
        etcd_member("etcd-1", "follower", 3, 41, vote="etcd-0"),
        etcd_member("etcd-2", "follower", 3, 40, vote="etcd-0", alive=not faults),
    ]
    for node in ("node-1", "node-2", "node-3"):
        components += [
            component(f"{node}/kubelet", "kubelet", node=node),
            component(f"{node}/runtime", "container-runtime", node=node),
            component(f"{node}/kube-proxy", "kube-proxy", node=node),
        ]
    in_flight = [
        message(101, "etcd-0", "etcd-1", "AppendEntries", time - 0.20, time + 0.15),
        message(102, "etcd-1", "etcd-0", "AppendEntriesResponse", time - 0.05, time + 0.30),
        message(103, "apiserver", "etcd-0", "Txn", time - 0.10, time + 0.25),
        message(104, "node-1/kubelet", "apiserver", "UpdateNodeStatus", time - 0.30, time + 0.05),
        message(105, "scheduler", "apiserver", "CreateBinding", time - 0.15, time + 0.20),
        message(106, "kubectl", "apiserver", "CreateDeployment", time - 0.02, time + 0.33),
        message(107, "apiserver", "controller-manager", "WatchEvent", time - 0.12, time + 0.23),
    ]
    if not faults:
        in_flight.append(message(108, "etcd-0", "etcd-2", "AppendEntries", time - 0.20, time + 0.15))
    partitions = [["etcd-0", "etcd-1", "apiserver"], ["etcd-2"]] if faults else []
    return {
        "type": "snapshot",
        "seq": seq,
        "state": {
            "name": "demo",
            "time": time,
            "seq": seq,
            "profile": {"name": "teaching"},
            "network": {"partitions": partitions, "faults": {"endpoints": {}, "links": {}}, "in_flight": in_flight},
            "components": components,
            "clock": {"time": time, "paused": paused, "speed": speed, "lagging": False},
        },
    }


def event(seq, time, event_kind, source, summary, target=None, **data):
    return {"seq": seq, "time": time, "kind": event_kind, "source": source, "target": target, "summary": summary, "data": data}


def story(seq: int = 500, time: float = T0) -> list[dict]:
    """A batch that reads like a lesson: a heartbeat, a write, a crash, a drop."""
    s, t = seq, time
    return [
        event(s + 1, t + 0.01, "raft.heartbeat", "etcd-0", "etcd-0 (leader, term 3) sends heartbeats to etcd-1 and etcd-2"),
        event(s + 2, t + 0.01, "net.send", "etcd-0", "etcd-0 → etcd-1: AppendEntries", target="etcd-1", msg=201, kind="AppendEntries", arrives=t + 0.36),
        event(s + 3, t + 0.02, "api.request", "kubectl", "kubectl asks the API server to create deployment web (3 replicas)", target="apiserver"),
        event(s + 4, t + 0.03, "etcd.txn", "etcd-0", "etcd-0 proposes a transaction: create /registry/deployments/default/web"),
        event(s + 5, t + 0.04, "net.crash", "etcd-2", "etcd-2 crashed"),
        event(s + 6, t + 0.05, "net.send", "etcd-0", "etcd-0 → etcd-2: AppendEntries", target="etcd-2", msg=202, kind="AppendEntries", arrives=t + 0.40),
        event(
            s + 7,
            t + 0.05,
            "net.drop",
            "etcd-0",
            "etcd-0 → etcd-2: AppendEntries lost",
            target="etcd-2",
            msg=202,
            kind="AppendEntries",
            reason="etcd-2 is down",
        ),
        event(s + 8, t + 0.06, "controller.sync", "controller-manager", "deployment controller sees web wants 3 pods and has 0: creates a ReplicaSet"),
        event(s + 9, t + 0.07, "scheduler.bind", "scheduler", "scheduler binds web-7f9c-abcde to node-2 (score 87)"),
        event(s + 10, t + 0.08, "watch.event", "apiserver", "API server streams ADDED pod web-7f9c-abcde to the kubelet on node-2"),
    ]


def frame(kind: str, **fields) -> str:
    return json.dumps({"type": kind, **fields})


class FakeStream:
    """Routes the page's cluster WebSocket to a scripted server. Call `install` before goto."""

    def __init__(self, page, first_frame: dict):
        self.page = page
        self.first_frame = first_frame
        self.routes = []
        self.received = []

    def install(self):
        def handler(route):
            self.routes.append(route)
            route.on_message(lambda text: self.received.append(json.loads(text)))
            route.send(json.dumps(self.first_frame))

        self.page.route_web_socket("**/ws/clusters/**", handler)
        # REST reads of the cluster's history and state answer from the script too, not from
        # the real server's demo cluster (whose events would mix with the scripted ones)
        state = self.first_frame.get("state", {})
        self.page.route("**/api/clusters/*/events?*", lambda route: route.fulfill(json={"events": [], "last_seq": state.get("seq", 0), "first_seq": 0}))
        self.page.route("**/api/clusters/*/state", lambda route: route.fulfill(json=state))
        return self

    def send(self, payload: dict):
        for route in self.routes:
            route.send(json.dumps(payload))

    def run_clock(self, *, start: float, speed: float, seconds: float, every_ms: int = 100):
        """Send clock frames as a running server would, for `seconds` of wall time."""
        steps = max(1, int(seconds * 1000 / every_ms))
        for i in range(1, steps + 1):
            self.page.wait_for_timeout(every_ms)
            self.send({"type": "clock", "clock": {"time": round(start + i * every_ms / 1000 * speed, 6), "paused": False, "speed": speed, "lagging": False}})
