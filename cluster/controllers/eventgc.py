"""Event garbage collector: Events expire after a TTL (kube-apiserver's --event-ttl, 1 h).

The real API server stores each Event with an etcd lease of that TTL; here a loop does the
same work visibly, every minute: Events whose last occurrence (lastTimestamp, eventTime or
creationTimestamp) is older than the TTL are deleted.
"""

from ..apiserver.meta import meta_of, parse_time
from ..kernel import SECOND
from .base import Controller, plural


def last_seen(event: dict) -> int:
    for value in (event.get("lastTimestamp"), (event.get("series") or {}).get("lastObservedTime") if isinstance(event.get("series"), dict) else None,
                  event.get("eventTime"), meta_of(event).get("creationTimestamp")):
        moment = parse_time(value)
        if moment is not None:
            return moment
    return 0


class EventGCController(Controller):
    name = "eventgc"
    label = "EventGC"
    workers = 1

    def setup(self) -> None:
        self.tick_us = int(self.manager.option("event_gc_period_s", 60) * SECOND)
        self.ttl_us = int(self.manager.option("event_ttl_s", 3600) * SECOND)
        self.events = self.informer("events", None, indexes=("namespace",))

    def tick(self) -> None:
        self.queue.add("pass")

    def sync(self, key: str):
        expired = [e for e in self.events.list() if last_seen(e) + self.ttl_us <= self.now]
        if not expired:
            self.reconcile("pass", "none", f"EventGC: {len(self.events.keys())} events, none older than {self.ttl_us // SECOND} s")
            return True
        self.reconcile("pass", "delete", f"EventGC: deleting {plural(len(expired), 'event')} older than {self.ttl_us // SECOND} s", count=len(expired))
        for event in expired[:500]:
            meta = meta_of(event)
            self.request("delete", "events", namespace=meta.get("namespace"), name=meta.get("name"), ok=(404,))
        return True
