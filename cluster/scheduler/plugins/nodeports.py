"""NodePorts (Filter): a pod asking for hostPorts fits only where none of them is taken
(same protocol and port, and the same host IP or either side binding 0.0.0.0)."""

from ..framework import status as st
from ..framework.interface import Plugin
from ..framework.status import Status

REASON = "node(s) didn't have free ports for the requested pod ports"


class NodePorts(Plugin):
    NAME = "NodePorts"
    EVENTS = ("AssignedPodDelete", "NodeAdd")
    _REJECT = Status(st.UNSCHEDULABLE, (REASON,), NAME)

    def pre_filter(self, state, pod):
        return Status.success() if pod.ports else Status.skip()

    def filter(self, state, pod, node):
        for port in pod.ports:
            if node.port_in_use(port):
                return self._REJECT
        return None

    def filter_nodes(self, state, pod, nodes):
        found = None
        for i, node in enumerate(nodes):
            if node.ports and self.filter(state, pod, node) is not None:
                if found is None:
                    found = {}
                found[i] = self._REJECT
        return found
