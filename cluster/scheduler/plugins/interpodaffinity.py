"""InterPodAffinity: place pods near (affinity) or away from (anti-affinity) other pods, by
topology domain (a node, a zone: any node label named by topologyKey).

Filter, with counts per (topologyKey, value) made once per cycle in PreFilter:
  1. the pod's required affinity terms: the node must have every term's topologyKey and
     its domain must hold a pod matching all terms. Exception: when no pod anywhere matches
     and the pod matches its own terms, it may go (the first replica of a group)
         → "node(s) didn't match pod affinity rules"             UnschedulableAndUnresolvable
  2. the pod's required anti-affinity terms: no matching pod in the node's domain
         → "node(s) didn't match pod anti-affinity rules"        Unschedulable
  3. existing pods' required anti-affinity terms that match this pod: none of them may be
     in the node's domain
         → "node(s) didn't satisfy existing pods anti-affinity rules"   Unschedulable

Score: for every existing pod, per (topologyKey, value) of its node:
     + weight  for each preferred affinity term of the pod that the existing pod matches
     − weight  for each preferred anti-affinity term of the pod it matches
     + hardPodAffinityWeight (1)  for each required affinity term of the existing pod the pod matches
     + weight / − weight  for the existing pod's preferred (anti-)affinity terms the pod matches
  a node scores the sum over the domains it belongs to; NormalizeScore:
     normalized = int(100 × (score − min) / (max − min))     (0 for all when max = min)
"""

from ..framework import status as st
from ..framework.interface import Plugin
from ..framework.status import Status

REASON_AFFINITY = "node(s) didn't match pod affinity rules"
REASON_ANTI = "node(s) didn't match pod anti-affinity rules"
REASON_EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"


def _bump(counts: dict, node, key: str, delta: int) -> None:
    value = node.labels.get(key)
    if value is None:
        return
    pair = (key, value)
    left = counts.get(pair, 0) + delta
    if left:
        counts[pair] = left
    else:
        counts.pop(pair, None)


def _matches_all(terms, pod, ns_labels) -> bool:
    if not terms:
        return False
    for term in terms:
        if not term.matches(pod, ns_labels):
            return False
    return True


class AffinityFilterState:
    def __init__(self, existing_anti: dict, affinity: dict, anti: dict):
        self.existing_anti = existing_anti  # pairs where an existing pod's anti-affinity forbids this pod
        self.affinity = affinity  # pairs holding pods that match all the pod's affinity terms
        self.anti = anti  # pairs holding pods that match one of the pod's anti-affinity terms

    def clone(self) -> "AffinityFilterState":
        return AffinityFilterState(dict(self.existing_anti), dict(self.affinity), dict(self.anti))


class InterPodAffinity(Plugin):
    NAME = "InterPodAffinity"
    EVENTS = ("AssignedPodAdd", "AssignedPodLabel", "AssignedPodDelete", "NodeAdd", "NodeLabel", "PodUpdate")

    def __init__(self, handle, args=None):
        super().__init__(handle, args)
        weight = self.args.get("hardPodAffinityWeight", 1)
        self.hard_weight = weight if isinstance(weight, int) and not isinstance(weight, bool) else 1
        self.ignore_existing_preferred = bool(self.args.get("ignorePreferredTermsOfExistingPods", False))

    # --- Filter ----------------------------------------------------------------------------------
    def pre_filter(self, state, pod):
        snapshot = self.handle.snapshot
        ns_labels = snapshot.namespace_labels
        existing_anti: dict = {}
        if snapshot.anti_total:
            for node in snapshot.node_list():
                if not node.anti_pods:
                    continue
                for other in node.pods.values():
                    for term in other.required_anti:
                        if term.matches(pod, ns_labels):
                            _bump(existing_anti, node, term.topology_key, 1)
        affinity: dict = {}
        anti: dict = {}
        if pod.required_affinity or pod.required_anti:
            for node in snapshot.node_list():
                for other in node.pods.values():
                    self._count_incoming(pod, other, node, affinity, anti, 1)
        if not existing_anti and not pod.required_affinity and not pod.required_anti:
            return Status.skip()
        state[self.NAME] = AffinityFilterState(existing_anti, affinity, anti)
        return Status.success()

    def _count_incoming(self, pod, other, node, affinity: dict, anti: dict, delta: int) -> None:
        ns_labels = self.handle.snapshot.namespace_labels
        if _matches_all(pod.required_affinity, other, ns_labels):
            for term in pod.required_affinity:
                _bump(affinity, node, term.topology_key, delta)
        for term in pod.required_anti:
            if term.matches(other, ns_labels):
                _bump(anti, node, term.topology_key, delta)

    def add_pod(self, state, pod, other, node) -> None:
        self._update(state, pod, other, node, 1)

    def remove_pod(self, state, pod, other, node) -> None:
        self._update(state, pod, other, node, -1)

    def _update(self, state, pod, other, node, delta: int) -> None:
        s = state.get(self.NAME)
        if s is None:
            return
        ns_labels = self.handle.snapshot.namespace_labels
        for term in other.required_anti:
            if term.matches(pod, ns_labels):
                _bump(s.existing_anti, node, term.topology_key, delta)
        self._count_incoming(pod, other, node, s.affinity, s.anti, delta)

    def filter(self, state, pod, node):
        s = state[self.NAME]
        labels = node.labels
        if pod.required_affinity:
            exists = True
            for term in pod.required_affinity:
                value = labels.get(term.topology_key)
                if value is None:
                    return Status(st.UNRESOLVABLE, (REASON_AFFINITY,), self.NAME)
                if s.affinity.get((term.topology_key, value), 0) <= 0:
                    exists = False
            if not exists and not (not s.affinity and _matches_all(pod.required_affinity, pod, self.handle.snapshot.namespace_labels)):
                return Status(st.UNRESOLVABLE, (REASON_AFFINITY,), self.NAME)
        if s.anti:
            for term in pod.required_anti:
                value = labels.get(term.topology_key)
                if value is not None and s.anti.get((term.topology_key, value), 0) > 0:
                    return Status(st.UNSCHEDULABLE, (REASON_ANTI,), self.NAME)
        if s.existing_anti:
            for pair in labels.items():
                if s.existing_anti.get(pair, 0) > 0:
                    return Status(st.UNSCHEDULABLE, (REASON_EXISTING,), self.NAME)
        return None

    # --- Score -----------------------------------------------------------------------------------
    def pre_score(self, state, pod, nodes) -> Status:
        snapshot = self.handle.snapshot
        has_constraints = bool(pod.preferred_affinity or pod.preferred_anti)
        if self.ignore_existing_preferred and not has_constraints:
            return Status.skip()
        if not has_constraints and not snapshot.affinity_total:
            return Status.skip()
        ns_labels = snapshot.namespace_labels
        scores: dict = {}  # topology key -> value -> score

        def add(term, weight, target, node):
            if term.matches(target, ns_labels):
                value = node.labels.get(term.topology_key)
                if value is not None:
                    row = scores.setdefault(term.topology_key, {})
                    row[value] = row.get(value, 0) + weight

        for node in snapshot.node_list():
            if not node.labels or (not has_constraints and not node.affinity_pods):
                continue
            for other in node.pods.values():
                if not has_constraints and not other.has_affinity:
                    continue
                for term in pod.preferred_affinity:
                    add(term, term.weight, other, node)
                for term in pod.preferred_anti:
                    add(term, -term.weight, other, node)
                if self.hard_weight > 0:
                    for term in other.required_affinity:
                        add(term, self.hard_weight, pod, node)
                for term in other.preferred_affinity:
                    add(term, term.weight, pod, node)
                for term in other.preferred_anti:
                    add(term, -term.weight, pod, node)
        if not scores:
            return Status.skip()
        state[self.NAME + "/score"] = scores
        return Status.success()

    def score(self, state, pod, node) -> int:
        total = 0
        for key, values in state[self.NAME + "/score"].items():
            value = node.labels.get(key)
            if value is not None:
                total += values.get(value, 0)
        return total

    def normalize(self, state, pod, scores: list) -> list:
        if not scores:
            return scores
        low, high = min(scores), max(scores)
        spread = high - low
        if spread <= 0:
            return [0] * len(scores)
        return [int(100 * ((s - low) / spread)) for s in scores]
