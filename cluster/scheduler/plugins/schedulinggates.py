"""SchedulingGates (PreEnqueue): a pod with spec.schedulingGates stays out of the active
queue until every gate is removed (an update of the pod brings it back)."""

from ..framework import status as st
from ..framework.interface import Plugin
from ..framework.status import Status


class SchedulingGates(Plugin):
    NAME = "SchedulingGates"
    EVENTS = ("PodUpdate",)

    def pre_enqueue(self, pod) -> Status:
        if not pod.gates:
            return Status.success()
        return Status(st.UNRESOLVABLE, (f"waiting for scheduling gates: [{' '.join(pod.gates)}]",), self.NAME)
