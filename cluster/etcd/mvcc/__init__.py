"""etcd's MVCC key-value store and its watch registry (see store.py for a worked example).

    store = Store()
    result = store.apply({"op": "put", "key": "a", "value": "1"})   # revision 2
    hub = WatchHub()
    backlog = hub.add(7, "a", False, 2, store)                      # the put at revision 2
    for watch_id, events in hub.dispatch(store.apply({"op": "delete", "key": "a"})["events"]):
        ...
"""

from .store import DELETE, PUT, Compacted, Store, cas_request, event_revision, kv_dict
from .watch import WatchHub

__all__ = ["Compacted", "DELETE", "PUT", "Store", "WatchHub", "cas_request", "event_revision", "kv_dict"]
