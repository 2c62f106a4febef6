"""NodeUnschedulable (Filter): a cordoned node (spec.unschedulable) takes no new pods,
unless the pod tolerates the node.kubernetes.io/unschedulable:NoSchedule taint."""

from ..framework import labels as lb
from ..framework import status as st
from ..framework.interface import Plugin
from ..framework.status import Status

REASON = "node(s) were unschedulable"
TAINT = ("node.kubernetes.io/unschedulable", "", "NoSchedule")


class NodeUnschedulable(Plugin):
    NAME = "NodeUnschedulable"
    EVENTS = ("NodeAdd", "NodeTaint", "PodUpdate")
    _REJECT = Status(st.UNRESOLVABLE, (REASON,), NAME)

    def filter(self, state, pod, node):
        if node.unschedulable and not lb.tolerated(pod.tolerations, TAINT):
            return self._REJECT
        return None

    def filter_nodes(self, state, pod, nodes):
        if getattr(self.handle.snapshot, "cordoned_nodes", 1) == 0:
            return None  # no node in the cluster is cordoned
        found = None
        for i, node in enumerate(nodes):
            if node.unschedulable:
                if lb.tolerated(pod.tolerations, TAINT):
                    return None
                if found is None:
                    found = {}
                found[i] = self._REJECT
        return found
