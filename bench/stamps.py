"""The server the fan-out benchmark and the soak test run: dashboard.asgi's application as it
is, plus three doors under /__bench/ that the real server does not have.

    daphne bench.stamps:application

- GET /__bench/stamps?cluster=<name>&after=<seq>: [[seq, t], ...], t being the wall-clock
  instant (time.time()) the event entered its cluster's log, for the newest STAMPS events.
  Delivery latency is measured from that instant to the moment a viewer has received the frame
  holding the event: the runner's tick, the consumer's encoding and the socket all count.
- GET /__bench/viewers?cluster=<name>: {"viewers": WebSocket consumers subscribed to the cluster}.
- POST /__bench/raise?cluster=<name>&component=<component>: the component raises at its next
  message, once (a fault the soak test needs and no input should be able to cause).

With BENCH_UNSHARED=1 in the environment, viewers do not share encoded frames (the consumer as
it was before dashboard/consumers.py's `shared`), for the benchmark's comparison.
"""

import json
import os
import sys
import time
from collections import deque
from urllib.parse import parse_qs

from cluster.kernel import events as kernel_events

STAMPS = 400_000
_stamps: dict[int, deque] = {}  # id(the cluster's EventLog) -> (seq, wall time), newest last
_append = kernel_events.EventLog.append


def _stamped_append(log, *args, **kwargs):
    event = _append(log, *args, **kwargs)
    stamps = _stamps.get(id(log))
    if stamps is None:
        stamps = _stamps[id(log)] = deque(maxlen=STAMPS)
    stamps.append((event["seq"], time.time()))
    return event


kernel_events.EventLog.append = _stamped_append  # before any cluster exists

from dashboard.asgi import application as clusterscope  # noqa: E402  (after the patch: every log is stamped)
from dashboard.consumers import ClusterStreamConsumer  # noqa: E402
from dashboard.runner import registry  # noqa: E402

if os.environ.get("BENCH_UNSHARED"):  # the benchmark's "before": every viewer encodes its own frames again
    sys.modules[ClusterStreamConsumer.__module__].shared = lambda cluster, key, make: make()


class InjectedFault(RuntimeError):
    pass


def _raise_once(component) -> None:
    """Arm the component: its next message raises. A flag on the instance (a bool: the history
    pickles the cluster for its checkpoints) and, once per class, a handler that looks at it."""
    cls = type(component)
    if "_bench_on_message" not in cls.__dict__:
        original = cls.on_message

        def on_message(self, msg):
            if self.__dict__.pop("_bench_fail", False):
                raise InjectedFault(f"{self.name} made to fail by the soak test")
            return original(self, msg)

        cls._bench_on_message = cls.on_message = on_message
    component._bench_fail = True


def _answer(path: str, method: str, query: dict) -> tuple[int, object]:
    handle = registry.get((query.get("cluster") or [""])[0])
    if handle is None:
        return 404, {"error": "no such cluster"}
    if path == "/__bench/stamps" and method == "GET":
        after = int((query.get("after") or ["0"])[0])
        stamps = _stamps.get(id(handle.cluster.sim.log), ())
        return 200, [[seq, t] for seq, t in stamps if seq > after]
    if path == "/__bench/viewers" and method == "GET":
        return 200, {"viewers": sum(1 for s in handle.subscribers if isinstance(s, ClusterStreamConsumer))}  # not the kube views' wakers
    if path == "/__bench/raise" and method == "POST":
        component = handle.cluster.sim.components.get((query.get("component") or [""])[0])
        if component is None:
            return 404, {"error": "no such component"}
        _raise_once(component)
        return 200, {"armed": component.name, "time": handle.cluster.time}
    if path == "/__bench/raise" and method == "GET":  # still armed?
        component = handle.cluster.sim.components.get((query.get("component") or [""])[0])
        return 200, {"armed": bool(component is not None and component.__dict__.get("_bench_fail")), "time": handle.cluster.time}
    return 404, {"error": "unknown bench door"}


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"].startswith("/__bench/"):
        status, body = _answer(scope["path"], scope["method"], parse_qs(scope.get("query_string", b"").decode()))
        data = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": data})
        return
    await clusterscope(scope, receive, send)
