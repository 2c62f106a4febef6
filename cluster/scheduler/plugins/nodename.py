"""NodeName (Filter): a pod that names a node in spec.nodeName fits that node only.
(Pods the scheduler sees have no nodeName; the plugin is here because the profile has it.)"""

from ..framework import status as st
from ..framework.interface import Plugin
from ..framework.status import Status

REASON = "node(s) didn't match the requested node name"


class NodeName(Plugin):
    NAME = "NodeName"
    EVENTS = ("NodeAdd",)
    _REJECT = Status(st.UNRESOLVABLE, (REASON,), NAME)

    def filter(self, state, pod, node):
        if pod.node_name and pod.node_name != node.name:
            return self._REJECT
        return None

    def filter_nodes(self, state, pod, nodes):
        if not pod.node_name:
            return None
        return {i: self._REJECT for i, node in enumerate(nodes) if node.name != pod.node_name} or None
