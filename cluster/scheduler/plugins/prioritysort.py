"""PrioritySort (QueueSort): higher spec.priority first, then the pod that entered the
queue earlier (kube-scheduler compares the queue timestamp, i.e. age in the queue)."""

from ..framework.interface import Plugin


class PrioritySort(Plugin):
    NAME = "PrioritySort"

    def less(self, a, b) -> bool:
        return self.key(a) < self.key(b)

    @staticmethod
    def key(entry) -> tuple:
        """The heap key of a queue entry ({"priority", "timestamp", "seq"}): smaller first."""
        return (-entry["priority"], entry["timestamp"], entry["seq"])
