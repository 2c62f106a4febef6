"""DefaultPreemption (PostFilter): when no node fits, find pods of lower priority whose
eviction would make room, nominate that node for the pod and evict them (the component
sends the deletions to the API server).

    eligible?     preemptionPolicy Never: "not eligible due to preemptionPolicy=Never."
                  a victim of an earlier preemption still terminating on the nominated node:
                  "not eligible due to a terminating pod on the nominated node."
    candidates    only nodes whose rejection was Unschedulable (not ...AndUnresolvable: a taint
                  or a selector does not go away by evicting pods). Starting at a random offset,
                  each is tried on a copy: remove every lower-priority pod; if the pod still
                  does not fit, the node is out ("No preemption victims found for incoming pod"
                  when there was nothing to remove); otherwise put pods back, most important
                  first (PDB-protected ones before the others), keeping each that still leaves
                  room. What could not be put back are the victims. The search stops after
                  max(10% of the nodes, 100) candidates.
    choice        fewest PodDisruptionBudget violations, then the lowest highest victim
                  priority, then the smallest sum of priorities, then the fewest victims, then
                  the latest start among the most important victims, then the first.

No candidate: "preemption: 0/3 nodes are available: 1 Preemption is not helpful for
scheduling, 2 No preemption victims found for incoming pod."
"""

from operator import attrgetter

from ..framework import labels as lb
from ..framework import status as st
from ..framework.fit_error import fit_error_message
from ..framework.interface import Plugin, PostFilterResult
from ..framework.runtime import Diagnosis
from ..framework.status import Status

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
_PRIORITY = attrgetter("priority")
MAX_INT32 = 2**31 - 1


def more_important_key(pod) -> tuple:
    """util.MoreImportantPod as a sort key: higher priority first, then the earlier start."""
    return (-pod.priority, pod.started, pod.key)


class DefaultPreemption(Plugin):
    NAME = "DefaultPreemption"

    def __init__(self, handle, args=None):
        super().__init__(handle, args)
        self.min_percentage = int(self.args.get("minCandidateNodesPercentage", 10))
        self.min_absolute = int(self.args.get("minCandidateNodesAbsolute", 100))

    def post_filter(self, state, pod, diagnosis: Diagnosis):
        result, status = self._preempt(state, pod, diagnosis)
        if status.message:
            return result, Status(status.code, ("preemption: " + status.message,), self.NAME)
        return result, status

    def _preempt(self, state, pod, diagnosis: Diagnosis):
        fw = self.handle
        snapshot = fw.snapshot
        eligible, why = self._eligible(pod, diagnosis)
        if not eligible:
            return None, Status(st.UNSCHEDULABLE, (why,))
        nodes = snapshot.node_list()
        potential = []
        for node in nodes:
            status = diagnosis.status_of(node.name)
            if status is not None and status.code == st.UNSCHEDULABLE:
                potential.append(node)
        statuses: dict = {}
        candidates: list = []
        if potential:
            offset = fw.stream.randint(0, len(potential) - 1) if fw.stream is not None and len(potential) > 1 else 0
            wanted = self.candidates_wanted(len(potential))
            pdbs = snapshot.pdb_list() if hasattr(snapshot, "pdb_list") else []
            non_violating, violating = [], []
            for i in range(len(potential)):
                node = potential[(offset + i) % len(potential)]
                if min(map(_PRIORITY, node.pods.values()), default=pod.priority) >= pod.priority:
                    # select_victims' first answer, without copying the node and the cycle state
                    statuses[node.name] = Status(st.UNRESOLVABLE, (NO_VICTIMS,), self.NAME)
                    continue
                victims, violations, status = self.select_victims(state.clone(), pod, node.clone(), pdbs)
                if status is None and victims:
                    (non_violating if violations == 0 else violating).append((node.name, victims, violations))
                    if non_violating and len(non_violating) + len(violating) >= wanted:
                        break
                    continue
                if status is None:
                    status = Status.error(f'expected at least one victim pod on node "{node.name}"')
                statuses[node.name] = status
            candidates = non_violating + violating
        if not candidates:
            fit = Diagnosis()
            fit.statuses = statuses
            fit.absent = Status(st.UNRESOLVABLE, (NOT_HELPFUL,))
            return PostFilterResult(""), Status(st.UNSCHEDULABLE, (fit_error_message(len(nodes), fit),))
        name, victims, _violations = self.pick_one(candidates)
        victims = [v for v in victims if not v.terminating]
        lower = [p for p in snapshot.nominated_for(name) if p.priority < pod.priority]
        return PostFilterResult(name, victims, lower), Status.success()

    def candidates_wanted(self, count: int) -> int:
        n = count * self.min_percentage // 100
        if n < self.min_absolute:
            n = self.min_absolute
        return min(n, count)

    def _eligible(self, pod, diagnosis: Diagnosis) -> tuple[bool, str]:
        if pod.preemption_policy == "Never":
            return False, "not eligible due to preemptionPolicy=Never."
        nominated = pod.nominated_node
        if nominated:
            status = diagnosis.status_of(nominated)
            if status is not None and status.code == st.UNRESOLVABLE:
                return True, ""
            node = self.handle.snapshot.get(nominated)
            if node is not None:
                for other in node.pods.values():
                    if other.priority < pod.priority and other.terminating and other.disruption_target:
                        return False, "not eligible due to a terminating pod on the nominated node."
        return True, ""

    def select_victims(self, state, pod, node, pdbs: list):
        """SelectVictimsOnNode on a copy of the node: (victims, PDB violations, None) or
        (None, 0, the Status why this node cannot be made to fit)."""
        fw = self.handle
        potential = [p for p in node.pods.values() if p.priority < pod.priority]
        for victim in potential:
            node.remove_pod(victim.key)
            fw.run_remove_pod(state, pod, victim, node)
        if not potential:
            return None, 0, Status(st.UNRESOLVABLE, (NO_VICTIMS,), self.NAME)
        status = fw.run_filters_with_nominated(state, pod, node)
        if status is not None:
            return None, 0, status
        potential.sort(key=more_important_key)
        violating, non_violating = self.split_by_pdb(potential, pdbs)
        victims = []
        violations = 0

        def reprieve(victim) -> bool:
            node.add_pod(victim)
            fw.run_add_pod(state, pod, victim, node)
            if fw.run_filters_with_nominated(state, pod, node) is None:
                return True
            node.remove_pod(victim.key)
            fw.run_remove_pod(state, pod, victim, node)
            victims.append(victim)
            return False

        for victim in violating:
            if not reprieve(victim):
                violations += 1
        for victim in non_violating:
            reprieve(victim)
        if violating and non_violating:
            victims.sort(key=more_important_key)
        return victims, violations, None

    @staticmethod
    def split_by_pdb(pods: list, pdbs: list) -> tuple[list, list]:
        """filterPodsWithPDBViolation: pods whose eviction would take a budget below zero."""
        allowed = [pdb["allowed"] for pdb in pdbs]
        violating, fine = [], []
        for pod in pods:
            violated = False
            if pod.labels:
                for i, pdb in enumerate(pdbs):
                    if pdb["namespace"] != pod.namespace or not pdb["selector"] or not lb.matches(pdb["selector"], pod.labels):
                        continue
                    if pod.name in pdb["disrupted"]:
                        continue
                    allowed[i] -= 1
                    if allowed[i] < 0:
                        violated = True
            (violating if violated else fine).append(pod)
        return violating, fine

    @staticmethod
    def pick_one(candidates: list) -> tuple:
        """pickOneNodeForPreemption over (node, victims sorted by importance, violations)."""

        def earliest_top_start(victims) -> int:
            top = victims[0].priority
            return min(v.started for v in victims if v.priority == top)

        scorers = (
            lambda c: -c[2],
            lambda c: -c[1][0].priority,
            lambda c: -sum(v.priority + MAX_INT32 + 1 for v in c[1]),
            lambda c: -len(c[1]),
            lambda c: earliest_top_start(c[1]),
        )
        remaining = list(candidates)
        for scorer in scorers:
            best = max(scorer(c) for c in remaining)
            remaining = [c for c in remaining if scorer(c) == best]
            if len(remaining) == 1:
                break
        return remaining[0]
