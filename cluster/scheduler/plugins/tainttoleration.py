"""TaintToleration.

Filter: the node's first NoSchedule or NoExecute taint the pod does not tolerate rejects it
(UnschedulableAndUnresolvable: evicting pods does not remove a taint):
    "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
Score: the number of PreferNoSchedule taints the pod does not tolerate (only tolerations
with effect PreferNoSchedule or no effect count); NormalizeScore reverses it, so the node
with the most intolerable taints gets 0 and nodes with none get 100:
    normalized = 100 - 100 * count / max(count)          (100 for all when max is 0)
"""

from ..framework import labels as lb
from ..framework import status as st
from ..framework.interface import Plugin, default_normalize
from ..framework.status import Status


class TaintToleration(Plugin):
    NAME = "TaintToleration"
    EVENTS = ("NodeAdd", "NodeTaint", "PodUpdate")

    def _reject(self, taint) -> Status:
        return Status(st.UNRESOLVABLE, (f"node(s) had untolerated taint {lb.describe_taint(taint)}",), self.NAME)

    def filter(self, state, pod, node):
        tolerations = pod.tolerations
        for taint in node.hard_taints:
            if not lb.tolerated(tolerations, taint):
                return self._reject(taint)
        return None

    def filter_nodes(self, state, pod, nodes):
        if getattr(self.handle.snapshot, "tainted_nodes", 1) == 0:
            return None  # no node in the cluster has a NoSchedule or NoExecute taint
        found = None
        tolerations = pod.tolerations
        memo: dict = {}
        for i, node in enumerate(nodes):
            taints = node.hard_taints
            if not taints:
                continue
            for taint in taints:
                verdict = memo.get(taint)
                if verdict is None:
                    verdict = memo[taint] = "ok" if lb.tolerated(tolerations, taint) else self._reject(taint)
                if verdict != "ok":
                    if found is None:
                        found = {}
                    found[i] = verdict
                    break
        return found

    def pre_score(self, state, pod, nodes) -> Status:
        state[self.NAME] = tuple(t for t in pod.tolerations if t[3] in ("", "PreferNoSchedule"))
        return Status.success()

    def score(self, state, pod, node) -> int:
        tolerations = state[self.NAME]
        return sum(1 for taint in node.prefer_taints if not lb.tolerated(tolerations, taint))

    def score_nodes(self, state, pod, nodes) -> list:
        if getattr(self.handle.snapshot, "prefer_tainted_nodes", 1) == 0:
            return [0] * len(nodes)  # no node in the cluster has a PreferNoSchedule taint
        tolerations = state[self.NAME]
        return [sum(1 for taint in node.prefer_taints if not lb.tolerated(tolerations, taint)) if node.prefer_taints else 0 for node in nodes]

    def normalize(self, state, pod, scores: list) -> list:
        return default_normalize(scores, reverse=True)
