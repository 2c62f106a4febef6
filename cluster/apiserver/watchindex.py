"""Which watchers a watch-cache event can concern, without looking at every watcher.

At 5,000 nodes the API server holds over 15,000 watches (each kubelet watches its own pods,
each kube-proxy Services and EndpointSlices); going through all of them for every event made
fan-out the largest cost of a big cluster (bench/RESULTS.md, "scale"). Watchers are grouped by
resource and key prefix (all namespaces, or one), and within a group the pod watchers with a
`spec.nodeName=<node>` field selector (kubelets) are filed under their node, so an event
reaches only the watchers that might see it: the group's others and the watchers of the pod's
node before and after the change.

A watcher's resourceVersion still moves with every event of its group that it does not see,
as before, but lazily: the group keeps the newest revision and a count of its events, and
`current_rv` adds what the watcher missed since it last looked. The deliveries, their order
(by watcher key) and every resourceVersion read are the same as walking all watchers.
"""

from bisect import insort

from .selectors import object_fields

NODE_FIELD = "spec.nodeName"


class WatchIndex:
    def __init__(self) -> None:
        # plural -> prefix -> {"rev": newest event revision, "n": events so far, "others": [watcher keys, sorted], "nodes": {node: [keys, sorted]}}
        self.groups: dict[str, dict[str, dict]] = {}

    @staticmethod
    def _node_of(w: dict) -> str | None:
        if w["plural"] != "pods":
            return None
        return next((value for field, op, value in w["fields"] or () if field == NODE_FIELD and op == "="), None)

    def _group(self, w: dict) -> dict:
        return self.groups.setdefault(w["plural"], {}).setdefault(w["prefix"], {"rev": 0, "n": 0, "others": [], "nodes": {}})

    def add(self, w: dict) -> None:
        group = self._group(w)
        w["seen"] = group["n"]
        node = self._node_of(w)
        insort(group["others"] if node is None else group["nodes"].setdefault(node, []), w["key"])

    def remove(self, w: dict) -> None:
        group = self._group(w)
        node = self._node_of(w)
        keys = group["others"] if node is None else group["nodes"].get(node, [])
        if w["key"] in keys:
            keys.remove(w["key"])
        if node is not None and not keys:
            group["nodes"].pop(node, None)

    def current_rv(self, w: dict) -> int:
        """The watcher's resourceVersion, counting the events of its group it did not see."""
        group = self.groups[w["plural"]][w["prefix"]]
        return max(w["rv"], group["rev"]) if group["n"] != w["seen"] else w["rv"]

    def settle(self, w: dict) -> int:
        """Store current_rv in the watcher (before it changes) and return it."""
        rv = w["rv"] = self.current_rv(w)
        w["seen"] = self.groups[w["plural"]][w["prefix"]]["n"]
        return rv

    def candidates(self, event: tuple) -> tuple[list[dict], list[str]]:
        """The groups an event belongs to and the keys, sorted, of the watchers that may see it."""
        _rev, plural, _kind, key, obj, prev = event
        groups = [g for prefix, g in self.groups.get(plural, {}).items() if key.startswith(prefix)]
        keys: list[str] = []
        for group in groups:
            keys += group["others"]
            if group["nodes"]:
                nodes = {object_fields(plural, o).get(NODE_FIELD, "") for o in (obj, prev) if o is not None}
                for node in nodes:
                    keys += group["nodes"].get(node, ())
        keys.sort()
        return groups, keys

    @staticmethod
    def passed(groups: list[dict], rev: int) -> None:
        """The event went past every watcher of these groups."""
        for group in groups:
            group["rev"] = max(group["rev"], rev)
            group["n"] += 1
