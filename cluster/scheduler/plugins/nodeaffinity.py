"""NodeAffinity.

PreFilter: Skip when the pod has neither a nodeSelector nor required node affinity. When
every required term names nodes by `matchFields: metadata.name In [...]` (DaemonSet pods
do), only those nodes are examined; the rest count as "node(s) didn't satisfy plugin(s)
[NodeAffinity]".
Filter: the node's labels must match the whole nodeSelector and at least one required
term (terms are ORed, a term's expressions ANDed); otherwise
    "node(s) didn't match Pod's node affinity/selector"   (UnschedulableAndUnresolvable)
Score: the sum of the weights of the preferred terms the node matches; NormalizeScore
scales by the best node: normalized = 100 × score / max(score).
"""

from ..framework import labels as lb
from ..framework import status as st
from ..framework.interface import Plugin, default_normalize
from ..framework.status import Status

REASON = "node(s) didn't match Pod's node affinity/selector"
CONFLICT = "pod affinity terms conflict"


class NodeAffinity(Plugin):
    NAME = "NodeAffinity"
    EVENTS = ("NodeAdd", "NodeLabel", "PodUpdate")
    _REJECT = Status(st.UNRESOLVABLE, (REASON,), NAME)

    def pre_filter(self, state, pod):
        terms = pod.required_node_terms
        if terms is None and not pod.node_selector:
            return Status.skip()
        if not terms:
            return Status.success()
        names = None
        for _exprs, fields in terms:
            term_names = None
            for key, op, values in fields:
                if key == "metadata.name" and op == "in":
                    term_names = set(values) if term_names is None else term_names & set(values)
            if term_names is None:
                return Status.success()  # a term without node names: any node may match
            names = term_names if names is None else names | term_names
        if names is not None and not names:
            return Status(st.UNRESOLVABLE, (CONFLICT,), self.NAME)
        return (Status.success(), names) if names is not None else Status.success()

    def filter(self, state, pod, node):
        labels = node.labels
        for key, value in pod.node_selector.items():
            if labels.get(key) != value:
                return self._REJECT
        terms = pod.required_node_terms
        if terms is not None and not lb.any_term_matches(terms, node.name, labels):
            return self._REJECT
        return None

    def pre_score(self, state, pod, nodes) -> Status:
        return Status.success() if pod.preferred_node_terms else Status.skip()

    def score(self, state, pod, node) -> int:
        total = 0
        for weight, term in pod.preferred_node_terms:
            if lb.term_matches(term, node.name, node.labels):
                total += weight
        return total

    def normalize(self, state, pod, scores: list) -> list:
        return default_normalize(scores)
