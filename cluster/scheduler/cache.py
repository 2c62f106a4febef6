"""The scheduler's cache: every node with the pods on it, kept current from watch events,
plus the pods the scheduler has *assumed* onto a node before the binding is confirmed.

    cache.set_node(node_dict)          -> cluster events ("NodeAdd", "NodeLabel", ...)
    cache.add_pod(PodInfo)             an assigned pod (spec.nodeName set) seen in the watch
    cache.assume(PodInfo, "node-2")    the cycle chose node-2: count the pod there right away,
                                       so the next cycle does not hand out the same room
    cache.forget("default/web-1")      binding failed: take the assumed pod back
    cache.node_list()                  known nodes in kube-scheduler's NodeTree order

The cache is the snapshot the framework reads (cycles run one at a time, so no copy is
needed). Its NodeInfos are updated incrementally (add or remove one pod's requests); the
straightforward alternative, `NodeInfo.recount()`, is what `check()` compares against.

Node order follows kube-scheduler's NodeTree: nodes grouped by zone (region + zone
labels), zones in the order they appeared, the list taking one node from each zone in
turn, so the percentageOfNodesToScore window spreads across zones.

Nominated pods (the nominator): pods with status.nominatedNodeName, by node. Filters count
those of equal or higher priority as if they were already on the node.
"""

from .framework import labels as lb
from .framework.types import REGION, ZONE, NodeInfo, PodInfo


def _window(items: list, start: int, count: int) -> list:
    """`count` items from `start` on, wrapping around (count <= len(items))."""
    end = start + count
    if end <= len(items):
        return items[start:end]
    return items[start:] + items[:end - len(items)]


def _room_floor(nodes: list) -> tuple:
    """The least room left on any of these nodes: (pods, cpu, memory), each on its own."""
    if not nodes:
        return (0, 0, 0)
    return (min(n.alloc_pods - len(n.pods) for n in nodes), min(n.alloc_cpu - n.cpu for n in nodes), min(n.alloc_memory - n.memory for n in nodes))


def _zone_of(node: NodeInfo) -> str:
    return node.labels.get(REGION, "") + ":\x00:" + node.labels.get(ZONE, "")


class _Scratch(dict):
    """Score columns: derived data, rebuilt on demand; pickled empty (checkpoints stay small)."""

    def __reduce__(self):
        return (_Scratch, ())


class SchedulerCache:
    # Derived from the nodes, and depending on when someone looked (the node order is built
    # lazily): not state, so the canonical hash skips them.
    _unhashed = ("room_floor", "_columns", "_position")

    def __init__(self):
        self.nodes: dict[str, NodeInfo] = {}  # name -> NodeInfo (known=False: only pods refer to it)
        self.pod_node: dict[str, str] = {}  # pod key -> node name, for assigned and assumed pods
        self.assumed: dict[str, dict] = {}  # pod key -> {"node", "since"}
        self.image_nodes: dict[str, int] = {}  # image -> how many known nodes hold it
        self.namespaces: dict[str, dict] = {}  # namespace -> labels
        self.services: dict[str, dict] = {}  # "ns/name" -> spec.selector (a label map)
        self.owners: dict[str, tuple] = {}  # "Kind/ns/name" (ReplicaSet, StatefulSet, ReplicationController) -> selector
        self.pdbs: dict[str, dict] = {}  # "ns/name" -> {"namespace", "selector", "allowed", "disrupted"}
        self.nominated: dict[str, dict] = {}  # node -> {pod key: PodInfo}
        self.nominated_of: dict[str, str] = {}  # pod key -> node
        self.zones: dict[str, list] = {}  # zone -> node names, in the order they came
        self.node_zone: dict[str, str] = {}
        self.tainted_nodes = 0  # known nodes with a NoSchedule or NoExecute taint (filters skip the rest)
        self.prefer_tainted_nodes = 0  # known nodes with a PreferNoSchedule taint (TaintToleration's score)
        self.cordoned_nodes = 0  # known nodes with spec.unschedulable
        # A lower bound of the room left on every known node: pods, cpu, memory. It only moves
        # down when a node fills up or shrinks (a node emptying leaves it low, still a bound),
        # and is taken exactly again whenever the node order is rebuilt. A pod asking for no
        # more than it fits on every node: NodeResourcesFit has no node to reject.
        self.room_floor = (0, 0, 0)
        # Score columns (window_scores): key -> [score or None per node, in node_list order],
        # an entry emptied when its node changes, every column dropped when the order changes.
        self._columns = _Scratch()
        self._position: dict = {}  # node name -> its place in node_list
        self.affinity_total = 0  # pods (anywhere) with any pod (anti-)affinity
        self.anti_total = 0  # pods with required anti-affinity
        self._order: list | None = None

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "_columns" not in state:  # a checkpoint from before the score columns and the room floor
            self.prefer_tainted_nodes = sum(1 for i in self.nodes.values() if i.known and i.prefer_taints)
            self.room_floor = (0, 0, 0)
            self._columns = _Scratch()
            self._position = {}
            self._order = None  # rebuilt on first use, with the exact floor and positions

    # --- nodes ------------------------------------------------------------------------------------
    def set_node(self, node: dict) -> list[str]:
        """Add or update a node; returns the cluster events this change is (for the queue)."""
        name = (node.get("metadata") or {}).get("name")
        if not isinstance(name, str) or not name:
            return []
        info = self.nodes.get(name)
        if info is None or not info.known:
            if info is None:
                info = self.nodes[name] = NodeInfo(name)
            info.set_node(node)
            self._images(info, 1)
            self._flags(info, 1)
            self._zone_add(info)
            self._lower_floor(info)
            return ["NodeAdd"]
        before = (dict(info.labels), info.taints, info.unschedulable, info.alloc_cpu, info.alloc_memory, info.alloc_pods, dict(info.images))
        self._images(info, -1)
        self._flags(info, -1)
        info.set_node(node)
        self._images(info, 1)
        self._flags(info, 1)
        self._lower_floor(info)
        self._touched(info)
        events = []
        if before[0] != info.labels:
            events.append("NodeLabel")
            if _zone_of(info) != self.node_zone.get(name):
                self._zone_remove(name)
                self._zone_add(info)
        if before[1] != info.taints or before[2] != info.unschedulable:
            events.append("NodeTaint")
        if before[3:6] != (info.alloc_cpu, info.alloc_memory, info.alloc_pods):
            events.append("NodeAllocatable")
        if before[6] != info.images:
            events.append("NodeImages")
        return events

    def remove_node(self, name: str) -> list[str]:
        info = self.nodes.get(name)
        if info is None or not info.known:
            return []
        self._images(info, -1)
        self._flags(info, -1)
        self._zone_remove(name)
        if info.pods:
            info.known = False  # a ghost until its pods are gone, as kube-scheduler's cache keeps it
        else:
            del self.nodes[name]
        return ["NodeDelete"]

    def _images(self, info: NodeInfo, sign: int) -> None:
        for image in info.images:
            left = self.image_nodes.get(image, 0) + sign
            if left > 0:
                self.image_nodes[image] = left
            else:
                self.image_nodes.pop(image, None)

    def _flags(self, info: NodeInfo, sign: int) -> None:
        if info.hard_taints:
            self.tainted_nodes += sign
        if info.prefer_taints:
            self.prefer_tainted_nodes += sign
        if info.unschedulable:
            self.cordoned_nodes += sign

    def _zone_add(self, info: NodeInfo) -> None:
        zone = _zone_of(info)
        self.zones.setdefault(zone, []).append(info.name)
        self.node_zone[info.name] = zone
        self._order = None

    def _zone_remove(self, name: str) -> None:
        zone = self.node_zone.pop(name, None)
        if zone is None:
            return
        members = self.zones[zone]
        members.remove(name)
        if not members:
            del self.zones[zone]
        self._order = None

    def node_list(self) -> list[NodeInfo]:
        """Known nodes, one from each zone in turn (NodeTree.list). The list is kept until a
        node comes or goes (NodeInfos change in place); callers must not modify it."""
        if self._order is None:
            lists = list(self.zones.values())
            order = []
            depth = max((len(m) for m in lists), default=0)
            for i in range(depth):
                for members in lists:
                    if i < len(members):
                        order.append(self.nodes[members[i]])
            self._order = order
            self.room_floor = _room_floor(order)
            self._position = {info.name: i for i, info in enumerate(order)}
            self._columns = _Scratch()
        return self._order

    COLUMNS = 64  # distinct (plugin, pod shape) keys kept at once (all dropped beyond: 5,000 nodes x 64 is 2.5 MB)

    def window_scores(self, key: str, nodes: list, compute) -> list | None:
        """Scores of `nodes` for one plugin and pod shape (`key`; `compute(node)` must depend
        on nothing else), read from a column kept in node order, when `nodes` is a run of
        node_list (round-robin: it may wrap), as the Filter window is when no node was
        rejected; None otherwise. The usual cycle reads a slice of the column: no node
        touched. A node's entries are emptied whenever it changes (`_touched`)."""
        if not nodes:
            return None
        order = self.node_list()
        total, count = len(order), len(nodes)
        start = self._position.get(nodes[0].name)
        if start is None or count > total:
            return None
        if _window(order, start, count) != nodes:  # identity first: a pass in C
            return None
        column = self._columns.get(key)
        if column is None:
            if len(self._columns) >= self.COLUMNS:
                self._columns.clear()
            column = self._columns[key] = [None] * total
        scores = _window(column, start, count)
        i = -1
        try:
            while True:
                i = scores.index(None, i + 1)
                scores[i] = column[(start + i) % total] = compute(nodes[i])
        except ValueError:  # no node left without its score
            return scores

    def _touched(self, info: NodeInfo) -> None:
        """A node's pods or its Node object changed: its scores in every column are stale."""
        position = self._position.get(info.name)
        if position is not None and self._order is not None:
            for column in self._columns.values():
                column[position] = None

    def _lower_floor(self, info: NodeInfo) -> None:
        pods, cpu, memory = self.room_floor
        room_pods, room_cpu, room_memory = info.alloc_pods - len(info.pods), info.alloc_cpu - info.cpu, info.alloc_memory - info.memory
        if room_pods < pods or room_cpu < cpu or room_memory < memory:
            self.room_floor = (min(pods, room_pods), min(cpu, room_cpu), min(memory, room_memory))

    def node_count(self) -> int:
        return len(self.node_zone)

    def get(self, name: str) -> NodeInfo | None:
        info = self.nodes.get(name)
        return info if info is not None and info.known else None

    # --- pods ---------------------------------------------------------------------------------------
    def add_pod(self, pod: PodInfo) -> list[str]:
        """An assigned pod from the watch (new, changed, or the confirmation of an assumed one)."""
        key = pod.key
        old_node = self.pod_node.get(key)
        events = []
        if old_node is not None:
            old = self.nodes[old_node].pods.get(key)
            self._remove(key)
            if key in self.assumed:
                # The watch confirms a pod the scheduler bound: for everyone else, a pod was added.
                del self.assumed[key]
                events.append("AssignedPodAdd")
            elif old is not None and old.labels != pod.labels:
                events.append("AssignedPodLabel")
        else:
            events.append("AssignedPodAdd")
        self._add(pod, pod.node_name)
        return events

    def remove_pod(self, key: str) -> list[str]:
        self.assumed.pop(key, None)
        if key not in self.pod_node:
            return []
        self._remove(key)
        return ["AssignedPodDelete"]

    def assume(self, pod: PodInfo, node: str, now: int) -> None:
        pod = _with_node(pod, node)
        self._add(pod, node)
        self.assumed[pod.key] = {"node": node, "since": now}

    def forget(self, key: str) -> bool:
        if key not in self.assumed:
            return False
        del self.assumed[key]
        self._remove(key)
        return True

    def is_assumed(self, key: str) -> bool:
        return key in self.assumed

    def has_pod(self, key: str) -> bool:
        return key in self.pod_node

    def _add(self, pod: PodInfo, node: str) -> None:
        info = self.nodes.get(node)
        if info is None:
            info = self.nodes[node] = NodeInfo(node)  # a pod on a node not (yet) known
        info.add_pod(pod)
        if info.known:
            self._lower_floor(info)
            self._touched(info)
        self.pod_node[pod.key] = node
        if pod.has_affinity:
            self.affinity_total += 1
        if pod.required_anti:
            self.anti_total += 1

    def _remove(self, key: str) -> None:
        node = self.pod_node.pop(key)
        info = self.nodes[node]
        pod = info.remove_pod(key)
        self._touched(info)
        if pod is not None:
            if pod.has_affinity:
                self.affinity_total -= 1
            if pod.required_anti:
                self.anti_total -= 1
        if not info.known and not info.pods:
            del self.nodes[node]

    # --- the nominator --------------------------------------------------------------------------------
    def set_nominated(self, pod: PodInfo, node: str | None) -> None:
        self.clear_nominated(pod.key)
        if node:
            self.nominated.setdefault(node, {})[pod.key] = pod
            self.nominated_of[pod.key] = node

    def clear_nominated(self, key: str) -> None:
        node = self.nominated_of.pop(key, None)
        if node is not None:
            pods = self.nominated[node]
            pods.pop(key, None)
            if not pods:
                del self.nominated[node]

    def nominated_for(self, node: str) -> list[PodInfo]:
        pods = self.nominated.get(node)
        return list(pods.values()) if pods else []

    # --- what default topology spreading needs --------------------------------------------------------
    def namespace_labels(self, namespace: str) -> dict:
        labels = self.namespaces.get(namespace)
        return labels if labels is not None else {"kubernetes.io/metadata.name": namespace}

    def set_namespace(self, name: str, labels: dict | None) -> None:
        if labels is None:
            self.namespaces.pop(name, None)
        else:
            self.namespaces[name] = dict(labels)

    def set_service(self, key: str, selector) -> None:
        if isinstance(selector, dict) and selector:
            self.services[key] = {str(k): str(v) for k, v in selector.items()}
        else:
            self.services.pop(key, None)

    def set_owner(self, kind: str, key: str, selector) -> None:
        """A ReplicaSet, StatefulSet or ReplicationController and its selector (None: gone)."""
        name = f"{kind}/{key}"
        if selector is None:
            self.owners.pop(name, None)
            return
        try:
            if kind == "ReplicationController":
                parsed = tuple((k, "in", frozenset((str(v),))) for k, v in sorted(selector.items())) if isinstance(selector, dict) else None
            else:
                parsed = lb.label_selector(selector)
        except lb.SelectorError:
            parsed = None
        if parsed is None:
            self.owners.pop(name, None)
        else:
            self.owners[name] = parsed

    def default_selector(self, pod: PodInfo):
        """helper.DefaultSelector: the labels of every Service selecting the pod, plus the
        selector of its controlling ReplicaSet, StatefulSet or ReplicationController.
        An empty result (nothing selects the pod) means: no default spreading."""
        labels: dict = {}
        prefix = pod.namespace + "/"
        for key in sorted(self.services):
            if key.startswith(prefix):
                selector = self.services[key]
                if all(pod.labels.get(k) == v for k, v in selector.items()):
                    labels.update(selector)
        reqs = [(k, "in", frozenset((v,))) for k, v in sorted(labels.items())]
        if pod.owner is not None:
            _version, kind, name = pod.owner
            if kind in ("ReplicaSet", "StatefulSet", "ReplicationController"):
                owner = self.owners.get(f"{kind}/{pod.namespace}/{name}")
                if owner:
                    reqs.extend(owner)
        return tuple(reqs)

    def set_pdb(self, key: str, pdb: dict | None) -> None:
        """A PodDisruptionBudget (None: deleted), as preemption reads it."""
        if pdb is None:
            self.pdbs.pop(key, None)
            return
        spec = pdb.get("spec") if isinstance(pdb.get("spec"), dict) else {}
        status = pdb.get("status") if isinstance(pdb.get("status"), dict) else {}
        try:
            selector = lb.label_selector(spec.get("selector"))
        except lb.SelectorError:
            selector = None
        allowed = status.get("disruptionsAllowed")
        self.pdbs[key] = {
            "namespace": key.split("/", 1)[0], "selector": selector,
            "allowed": allowed if isinstance(allowed, int) and not isinstance(allowed, bool) else 0,
            "disrupted": frozenset((status.get("disruptedPods") or {}) if isinstance(status.get("disruptedPods"), dict) else ()),
        }

    def pdb_list(self) -> list[dict]:
        return [self.pdbs[k] for k in sorted(self.pdbs)]

    # --- checks --------------------------------------------------------------------------------------
    def check(self) -> list[str]:
        """Problems where the incremental sums differ from a recount (empty when all is well)."""
        problems = []
        for name, info in sorted(self.nodes.items()):
            fast = info.sums()
            info.recount()
            if info.sums() != fast:
                problems.append(f"{name}: incremental {fast} != recounted {info.sums()}")
        affinity = sum(1 for i in self.nodes.values() for p in i.pods.values() if p.has_affinity)
        anti = sum(1 for i in self.nodes.values() for p in i.pods.values() if p.required_anti)
        if (affinity, anti) != (self.affinity_total, self.anti_total):
            problems.append(f"affinity totals {self.affinity_total}, {self.anti_total} != {affinity}, {anti}")
        images: dict = {}
        for info in self.nodes.values():
            if info.known:
                for image in info.images:
                    images[image] = images.get(image, 0) + 1
        if images != self.image_nodes:
            problems.append("image counts differ")
        known = [i for i in self.nodes.values() if i.known]
        if (sum(1 for i in known if i.hard_taints), sum(1 for i in known if i.prefer_taints), sum(1 for i in known if i.unschedulable)) != (self.tainted_nodes, self.prefer_tainted_nodes, self.cordoned_nodes):
            problems.append("taint or cordon counts differ")
        exact = _room_floor(known)
        if known and any(bound > least for bound, least in zip(self.room_floor, exact, strict=True)):
            problems.append(f"room floor {self.room_floor} above the least room {exact}")
        return problems

    def view(self) -> dict:
        return {"nodes": self.node_count(), "pods": len(self.pod_node), "assumed": len(self.assumed), "nominated": len(self.nominated_of)}


def _with_node(pod: PodInfo, node: str) -> PodInfo:
    if pod.node_name == node:
        return pod
    copy = PodInfo.__new__(PodInfo)
    copy.__setstate__(pod.__getstate__())
    copy.node_name = node
    return copy
