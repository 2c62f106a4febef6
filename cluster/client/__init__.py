"""Client machinery for components that talk to kube-apiserver: client-go's pattern in plain data.

Used by the controller-manager, the scheduler, kubelets and kube-proxies. Four pieces:

    ApiClient   requests with ids, answers matched to them, retries with back-off (api.py)
    Informer    reflector (list, then watch from the list's resourceVersion; re-list when the
                watch expires or breaks) + local cache + indexes + handlers + resync (informer.py)
    WorkQueue   stingy rate-limited queue: one key never processed twice at once, repeated adds
                merge, per-key exponential back-off on failure (queue.py)
    objects     key_of, split_key, controller_of, owner_ref, selector_matches, is_pod_ready... (objects.py)

Everything is plain data and every callback is a *name* resolved on the owning component
("on_pod", or a dotted path "loops.replicaset.on_pod"), so the component pickles, hashes and
replays. The owner routes three kernel entries and calls start/stop:

    from cluster.client import ApiClient, key_of
    from cluster.kernel import SECOND, Component

    class PodLabeler(Component):
        '''Labels every pod of a node with seen=yes: a complete, tiny controller.'''
        kind = "example"

        def __init__(self, sim, name):
            super().__init__(sim, name)
            self.api = ApiClient(self, user={"name": "system:example"}, event_prefix="controller")
            # One shared informer per resource and selectors; handlers and indexes by name.
            self.pods = self.api.informer("pods", handler="on_pod", indexes=("node",), resync_us=60 * SECOND)
            # The queue calls self.sync(key) for one key at a time (at most `workers` keys at once).
            self.queue = self.api.queue("labeler", "sync", workers=2)

        # kernel entries: give the client what is its own
        def on_start(self):
            self.api.start()                              # every informer lists, then watches
        def on_message(self, msg):
            self.api.handle_message(msg)                  # api.response / api.watch_event / api.watch_end
        def on_timer(self, tag, data):
            self.api.handle_timer(tag, data)              # tags "client.*"
        def on_undeliverable(self, msg, reason):
            self.api.handle_undeliverable(msg, reason)    # a request that never arrived is sent again
        def on_crash(self):
            self.api.stop()                               # caches, watches, queues are volatile
        def on_restart(self):
            self.api.start()                              # list again from scratch

        # handlers only enqueue keys (event is "add", "update", "delete" or "resync")
        def on_pod(self, event, obj, old):
            self.queue.add(key_of(obj))

        # sync is level-based: read the cache, compare, write through the API server
        def sync(self, key):
            pod = self.pods.get(key)                      # the cache's own object: do not change it
            if pod is None or pod["metadata"].get("labels", {}).get("seen") == "yes":
                return True                               # nothing to do: the round ends now
            namespace, name = key.split("/")
            self.api.request("patch", "pods", namespace=namespace, name=name, patch_type="merge",
                             body={"metadata": {"labels": {"seen": "yes"}}}, then="patched", context=key)
            # The key stays "processing" until the patch is answered; a code >= 400 (not in
            # ok=(...)) fails the round and the key comes back after its back-off.

        def patched(self, response, context):
            if response["code"] == 200:
                self.emit("controller.reconcile", f"labeled {context}", controller="labeler", key=context, action="label")

Reading the cache: `informer.get(key)`, `get_by(ns, name)`, `list(namespace=None)` (sorted by key),
`by_index("node", "node-1")`, `keys()`, `synced`; `api.synced()` is true once every informer has
listed. Queues hold their keys until then (client-go's WaitForCacheSync), so a sync never acts
on a cache that is still empty. `api.stop(keep_requests=True)` stops informers and queues but
lets plain requests finish (a controller-manager stepping down still hears its lease answer). Built-in indexes: namespace, node
(spec.nodeName), owner (every ownerReference uid), controller (the controller's uid), uid;
`register_index(name, function)` adds one (at import time).

Requests: `api.request(verb, resource, namespace=, name=, body=, subresource=, patch_type=,
query=, then=, context=, ok=(404,))` returns the request id; `then(response, context)` gets the
api.response payload {"id", "code", "body"}. A request that never reached the API server is sent
again with back-off (any verb); a request that finds the server down also fails every request
in flight at once (they died with the server) and makes every informer list again; a read
without an answer in `request_timeout_us` is sent again;
a write without an answer is answered 504 (its outcome is unknown: level-based callers look
again at the next sync). Inside a queue's sync, and inside `then` handlers of the requests it
sent, requests count towards that key's round.

Visible events (source: the owner): watch.list (first list), watch.relist (why a re-list starts),
watch.relisted (what it changed: added / updated / deleted), watch.restart (a watch ended
normally and starts again from its resourceVersion, no list), watch.backoff, watch.probe (a
health check after 30 s without a word from the server, like client-go's HTTP/2 ping), controller.resync
(a resync replays the cache; no request), <prefix>.retry (a key failed and comes back after its
back-off), <prefix>.error (a sync raised), <prefix>.request_retry (a request is sent again).
`api.view()` gives informers (state, rv, objects, relists, resyncs, last_relist) and queues
(depth, processing, waiting, retries, processed, last_key) for the dashboard.
"""

from .api import ApiClient, describe, group_of
from .informer import INDEXERS, Informer, register_index
from .objects import (
    controller_of,
    copy_json,
    dig,
    is_pod_active,
    is_pod_ready,
    is_terminating,
    key_of,
    meta_of,
    owned_by,
    owner_ref,
    parse_time,
    rfc3339,
    rv_int,
    selector_matches,
    selector_string,
    split_key,
)
from .queue import WorkQueue

__all__ = [
    "INDEXERS", "ApiClient", "Informer", "WorkQueue", "controller_of", "copy_json", "describe", "dig", "group_of", "is_pod_active",
    "is_pod_ready", "is_terminating", "key_of", "meta_of", "owned_by", "owner_ref", "parse_time", "register_index", "rfc3339",
    "rv_int", "selector_matches", "selector_string", "split_key",
]
