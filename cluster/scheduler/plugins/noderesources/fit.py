"""NodeResourcesFit.

Filter: the pod's requests (containers summed, init containers' maximum, overhead) must fit
what the node has left, allocatable − requested by the pods already there (assumed pods
included), and the node must have room for one more pod:
    "Too many pods", "Insufficient cpu", "Insufficient memory"      (all that apply)
Unschedulable, or UnschedulableAndUnresolvable when the request exceeds the node's whole
allocatable (no eviction can make room).

Score: one of the strategies of strategies.py (args `scoringStrategy.type`: LeastAllocated,
the default; MostAllocated; RequestedToCapacityRatio), over the node's *non-zero* requests
(a container without a request counts as 100m cpu and 200Mi memory) plus the pod's.
"""

from ...framework import status as st
from ...framework.interface import Plugin, window_scores
from ...framework.status import Status
from . import strategies as sg

DEFAULT_RESOURCES = [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}]
STRATEGIES = ("LeastAllocated", "MostAllocated", "RequestedToCapacityRatio")


def node_values(node, names: list, pod_amounts: dict, non_zero: bool) -> tuple[list, list]:
    """(requested incl. the pod, allocatable) for each scored resource name."""
    requested, allocatable = [], []
    for name in names:
        if name == "cpu":
            allocatable.append(node.alloc_cpu)
            requested.append((node.nz_cpu if non_zero else node.cpu) + pod_amounts["cpu"])
        elif name == "memory":
            allocatable.append(node.alloc_memory)
            requested.append((node.nz_memory if non_zero else node.memory) + pod_amounts["memory"])
        else:  # extended resources are not simulated: left out like a zero allocatable
            allocatable.append(0)
            requested.append(0)
    return requested, allocatable


class Fit(Plugin):
    NAME = "NodeResourcesFit"
    EVENTS = ("AssignedPodDelete", "NodeAdd", "NodeAllocatable", "PodUpdate")

    def __init__(self, handle, args=None):
        super().__init__(handle, args)
        strategy = self.args.get("scoringStrategy") if isinstance(self.args.get("scoringStrategy"), dict) else {}
        self.strategy = strategy.get("type") or "LeastAllocated"
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown scoring strategy {self.strategy}; one of {', '.join(STRATEGIES)}")
        self.resources, self.weights = sg.parse_resources(strategy.get("resources"), DEFAULT_RESOURCES)
        self.shape = sg.parse_shape(strategy.get("requestedToCapacityRatio")) if self.strategy == "RequestedToCapacityRatio" else None
        self._statuses: dict = {}

    # --- Filter ----------------------------------------------------------------------------------
    def _status(self, reasons: tuple, unresolvable: bool) -> Status:
        key = (reasons, unresolvable)
        found = self._statuses.get(key)
        if found is None:
            found = self._statuses[key] = Status(st.UNRESOLVABLE if unresolvable else st.UNSCHEDULABLE, reasons, self.NAME)
        return found

    def filter(self, state, pod, node):
        reasons = []
        unresolvable = False
        if len(node.pods) + 1 > node.alloc_pods:
            reasons.append("Too many pods")
        if pod.cpu or pod.memory:
            if pod.cpu > 0 and pod.cpu > node.alloc_cpu - node.cpu:
                reasons.append("Insufficient cpu")
                unresolvable = unresolvable or pod.cpu > node.alloc_cpu
            if pod.memory > 0 and pod.memory > node.alloc_memory - node.memory:
                reasons.append("Insufficient memory")
                unresolvable = unresolvable or pod.memory > node.alloc_memory
        if reasons:
            return self._status(tuple(reasons), unresolvable)
        return None

    def filter_nodes(self, state, pod, nodes):
        cpu, memory = pod.cpu, pod.memory
        # The framework hands this the snapshot's own nodes: when the pod fits in the least
        # room any node has left (the cache keeps a lower bound of it), none is rejected.
        floor = getattr(self.handle.snapshot, "room_floor", None)
        if floor is not None and floor[0] >= 1 and (not cpu or floor[1] >= cpu) and (not memory or floor[2] >= memory):
            return None
        found = None
        for i, node in enumerate(nodes):
            if len(node.pods) >= node.alloc_pods or (cpu and node.alloc_cpu - node.cpu < cpu) or (memory and node.alloc_memory - node.memory < memory):
                if found is None:
                    found = {}
                found[i] = self.filter(state, pod, node)
        return found

    # --- Score -----------------------------------------------------------------------------------
    def pre_score(self, state, pod, nodes) -> Status:
        state[self.NAME] = {"cpu": pod.nz_cpu, "memory": pod.nz_memory}
        return Status.success()

    def score(self, state, pod, node) -> int:
        requested, allocatable = node_values(node, self.resources, state[self.NAME], non_zero=True)
        if self.strategy == "LeastAllocated":
            return sg.weighted(sg.least_requested, requested, allocatable, self.weights)
        if self.strategy == "MostAllocated":
            return sg.weighted(sg.most_requested, requested, allocatable, self.weights)
        return sg.requested_to_capacity(self.shape, requested, allocatable, self.weights)

    def score_nodes(self, state, pod, nodes) -> list:
        """The fast path: the common case (LeastAllocated over cpu and memory) inlined, and an
        equivalence memo per node: the score depends on the node (any change empties
        node.memo) and on the pod's non-zero cpu and memory requests only."""
        if self.strategy != "LeastAllocated" or self.resources != ["cpu", "memory"]:
            return super().score_nodes(state, pod, nodes)
        pc, pm = pod.nz_cpu, pod.nz_memory
        wc, wm = self.weights
        key = f"fit-least/{pc}/{pm}/{wc}/{wm}"  # a string: its hash is computed once, not per node

        def compute(node) -> int:
            ac, am = node.alloc_cpu, node.alloc_memory
            score = weight = 0
            if ac:
                rc = node.nz_cpu + pc
                score += ((ac - rc) * 100 // ac if rc <= ac else 0) * wc
                weight += wc
            if am:
                rm = node.nz_memory + pm
                score += ((am - rm) * 100 // am if rm <= am else 0) * wm
                weight += wm
            return score // weight if weight else 0

        return window_scores(self.handle.snapshot, key, nodes, compute)
