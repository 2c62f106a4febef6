"""NodeResourcesBalancedAllocation (Score): prefer nodes whose cpu and memory would be
used in equal shares after placing the pod (strategies.balanced), counting actual requests
(not the non-zero defaults): score = int((1 − |cpu share − memory share| / 2) × 100)."""

from ...framework.interface import Plugin, window_scores
from ...framework.status import Status
from . import strategies as sg
from .fit import DEFAULT_RESOURCES, node_values


class BalancedAllocation(Plugin):
    NAME = "NodeResourcesBalancedAllocation"

    def __init__(self, handle, args=None):
        super().__init__(handle, args)
        self.resources, self.weights = sg.parse_resources(self.args.get("resources"), DEFAULT_RESOURCES)

    def pre_score(self, state, pod, nodes) -> Status:
        state[self.NAME] = {"cpu": pod.cpu, "memory": pod.memory}
        return Status.success()

    def score(self, state, pod, node) -> int:
        requested, allocatable = node_values(node, self.resources, state[self.NAME], non_zero=False)
        return sg.balanced(requested, allocatable)

    def score_nodes(self, state, pod, nodes) -> list:
        if self.resources != ["cpu", "memory"]:
            return super().score_nodes(state, pod, nodes)
        # Inlined for cpu and memory, with the same equivalence memo as NodeResourcesFit.
        pc, pm = pod.cpu, pod.memory
        key = f"balanced/{pc}/{pm}"  # a string: its hash is computed once, not per node

        def compute(node) -> int:
            ac, am = node.alloc_cpu, node.alloc_memory
            if ac and am:
                fc = (node.cpu + pc) / ac
                fm = (node.memory + pm) / am
                if fc > 1:
                    fc = 1.0
                if fm > 1:
                    fm = 1.0
                return int((1 - abs((fc - fm) / 2)) * 100)
            return sg.balanced(*node_values(node, self.resources, {"cpu": pc, "memory": pm}, non_zero=False))

        return window_scores(self.handle.snapshot, key, nodes, compute)
