"""Decision records: for every scheduling attempt of a pod, what each plugin said about each
node, the scores, the winner or the reason there was none, the nomination and the victims.

    records.add("default/web-1", uid, attempt_record(result, now, ...))
    records.get("default/web-1")  -> {"uid", "attempts": [oldest, ..., newest]}
    records.update_last("default/web-1", binding="bound")

One attempt (shared/DESIGN.md §4, plus what a student needs to read it):

    {"attempt": 3, "cycle": 41, "time": 12.5,
     "result": "scheduled" | "unschedulable" | "error",
     "node": "node-2" | None, "message": FailedScheduling message | None,
     "why": "it had the most free cpu and memory (NodeResourcesFit)",
     "nodes": [{"name": "node-1",
                "filters": [{"plugin": "NodeUnschedulable", "status": "Success", "reason": ""},
                            {"plugin": "TaintToleration", "status": "UnschedulableAndUnresolvable",
                             "reason": "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"}],
                "scores": [], "total": None},
               {"name": "node-2", "filters": [... all Success ...],
                "scores": [{"plugin": "NodeResourcesFit", "raw": 62, "normalized": 62, "weight": 1}, ...],
                "total": 287}],
     "nominated_node": None, "victims": [],
     "examined": 3, "total_nodes": 3, "feasible": 2,
     "percentage": {"nodes_to_find": 3, "percentage": 100, "why": "..."},
     "scoring": "scored" | "one feasible node" | "nominated node",
     "skipped": {"filter": [...], "score": [...]}, "reasons": ["1 node(s) had untolerated taint {...}"],
     "rows_omitted": 0, "binding": "pending" | "bound" | "failed: <message>" | None}

Bounded: `per_pod` attempts per pod (the newest), `max_pods` pods (the least recently
touched are forgotten first), `row_limit` node rows per attempt. When a cluster has more
examined nodes than rows, an attempt keeps the winner, the best-scored nodes, and the first
node of each distinct rejection, and says how many rows it left out (the counts of every
rejection stay in "reasons").
"""

from .framework.fit_error import reason_histogram
from .framework.runtime import MIN_FEASIBLE_NODES_TO_FIND

SECOND = 1_000_000

WHY = {
    "NodeResourcesFit": {"LeastAllocated": "it had the most free cpu and memory", "MostAllocated": "it was the fullest node (MostAllocated packs pods together)",
                         "RequestedToCapacityRatio": "its utilization scored best on the configured shape"},
    "NodeResourcesBalancedAllocation": "its cpu and memory use stayed the most balanced",
    "ImageLocality": "it already had the pod's image",
    "TaintToleration": "it had the fewest PreferNoSchedule taints the pod does not tolerate",
    "NodeAffinity": "it matched the pod's preferred node affinity best",
    "InterPodAffinity": "the pod's (and other pods') inter-pod affinity preferred it",
    "PodTopologySpread": "it kept matching pods the most evenly spread",
}


class DecisionRecords:
    def __init__(self, *, per_pod: int = 20, max_pods: int = 2000, row_limit: int = 100):
        self.per_pod = per_pod
        self.max_pods = max_pods
        self.row_limit = row_limit
        self.pods: dict[str, dict] = {}  # key -> {"uid", "attempts"}; least recently touched first
        self.recent: list = []  # the newest attempts' summaries, for the view

    def add(self, key: str, uid, attempt: dict) -> None:
        found = self.pods.pop(key, None)
        if found is None or found["uid"] != uid:
            found = {"uid": uid, "attempts": []}
        found["attempts"].append(attempt)
        if len(found["attempts"]) > self.per_pod:
            del found["attempts"][: len(found["attempts"]) - self.per_pod]
        self.pods[key] = found
        while len(self.pods) > self.max_pods:
            del self.pods[next(iter(self.pods))]
        self.recent.append({"pod": key, "attempt": attempt["attempt"], "time": attempt["time"], "result": attempt["result"], "node": attempt["node"],
                            "nominated_node": attempt["nominated_node"], "message": attempt["message"], "why": attempt["why"]})
        if len(self.recent) > 10:
            del self.recent[0]

    def get(self, key: str) -> dict | None:
        found = self.pods.get(key)
        return None if found is None else {"uid": found["uid"], "attempts": found["attempts"]}

    def last(self, key: str) -> dict | None:
        found = self.pods.get(key)
        return found["attempts"][-1] if found and found["attempts"] else None

    def update_last(self, key: str, **fields) -> None:
        attempt = self.last(key)
        if attempt is not None:
            attempt.update(fields)
            for summary in reversed(self.recent):
                if summary["pod"] == key:
                    summary.update({k: v for k, v in fields.items() if k in summary})
                    break


def percentage_note(result) -> dict:
    total, to_find, pct = result.candidates, result.to_find, result.percentage
    if result.scoring == "nominated node":
        why = f"the pod was nominated to {result.node} (after preemption): that node is checked first, and it fits"
    elif total < MIN_FEASIBLE_NODES_TO_FIND:
        why = f"{total} node(s): below {MIN_FEASIBLE_NODES_TO_FIND}, every node is examined"
    else:
        adaptive = "adaptive " if not result.percentage_configured else ""
        formula = f" = 50 − {total}/125" if not result.percentage_configured else ""
        why = (f"{total} nodes: percentageOfNodesToScore {adaptive}{pct}%{formula} → the search stops after {to_find} feasible node(s) "
               f"(at least {MIN_FEASIBLE_NODES_TO_FIND}); it examined {len(result.examined)}, starting at node #{result.start % max(total, 1)}")
    return {"nodes_to_find": to_find, "percentage": pct, "why": why}


def explain(result, strategy: str | None = None) -> str:
    """A short human reason for the outcome."""
    if result.node is None:
        if result.nominated_node:
            return f"no node fits; preemption nominated {result.nominated_node} and evicts {len(result.victims)} pod(s) there"
        return result.message or "no node fits"
    if result.scoring == "one feasible node":
        rejected = len(result.diagnosis.statuses)
        return f"it was the only node that fit ({rejected} rejected)" if rejected else "it was the only node"
    if result.scoring == "nominated node":
        return "it was nominated for the pod after preemption, and it fits"
    names = [n.name for n in result.feasible]
    winner = names.index(result.node)
    best = result.totals[winner]
    tied = [n for n, t in zip(names, result.totals, strict=True) if t == best]
    if len(tied) > 1:
        return f"it tied with {len(tied) - 1} other node(s) at {best} and won the seeded draw"
    runner = max((t for i, t in enumerate(result.totals) if i != winner), default=None)
    if runner is None:
        return "it had the highest score"
    runner_index = next(i for i, t in enumerate(result.totals) if t == runner and i != winner)
    gains = []
    for name, weight in result.score_plugins:
        norm = result.normalized[name]
        gains.append(((norm[winner] - norm[runner_index]) * weight, name))
    gain, plugin = max(gains)
    reason = WHY.get(plugin, f"{plugin} scored it highest")
    if isinstance(reason, dict):
        reason = reason.get(strategy or "LeastAllocated", reason["LeastAllocated"])
    return f"{reason} ({plugin}: +{gain}; total {best} vs {runner})"


def attempt_record(result, now: int, *, attempt: int, cycle: int, row_limit: int, strategy: str | None = None) -> dict:
    if result.node is not None:
        outcome = "scheduled"
    elif result.status.code in ("Unschedulable", "UnschedulableAndUnresolvable"):
        outcome = "unschedulable"
    else:
        outcome = "error"
    rows = _rows(result, row_limit)
    diagnosis = result.diagnosis
    return {
        "attempt": attempt,
        "cycle": cycle,
        "time": now / SECOND,
        "result": outcome,
        "node": result.node,
        "message": result.message or None,
        "why": explain(result, strategy),
        "nodes": rows,
        "nominated_node": result.nominated_node,
        "victims": [v.key for v in result.victims],
        "examined": len(result.examined),
        "total_nodes": result.total,
        "feasible": len(result.feasible),
        "percentage": percentage_note(result),
        "scoring": result.scoring,
        "skipped": {"filter": list(result.skipped_filter), "score": list(result.skipped_score)},
        "weights": {name: weight for name, weight in result.score_plugins},
        "reasons": reason_histogram(result.total, diagnosis.statuses, diagnosis.absent) if diagnosis.statuses or diagnosis.absent else [],
        "rows_omitted": max(0, len(result.examined) + _absent_count(result) - len(rows)),
        "binding": "pending" if outcome == "scheduled" else None,
    }


def _absent_count(result) -> int:
    if result.diagnosis.absent is None:
        return 0
    examined = {n.name for n in result.examined}
    return result.total - len(examined)


def _rows(result, limit: int) -> list:
    examined = result.examined
    statuses = result.diagnosis.statuses
    feasible_index = {node.name: i for i, node in enumerate(result.feasible)}
    chosen = set()
    if len(examined) <= limit:
        chosen = {n.name for n in examined}
    else:
        if result.node is not None:
            chosen.add(result.node)
        if result.totals:
            order = sorted(range(len(result.feasible)), key=lambda i: (-result.totals[i], i))
            for i in order[: max(1, limit // 2)]:
                chosen.add(result.feasible[i].name)
        elif result.feasible:
            for node in result.feasible[: max(1, limit // 2)]:
                chosen.add(node.name)
        seen_reasons = set()
        for node in examined:
            status = statuses.get(node.name)
            if status is not None and status.reasons not in seen_reasons and len(chosen) < limit:
                seen_reasons.add(status.reasons)
                chosen.add(node.name)
        for node in examined:
            if len(chosen) >= limit:
                break
            chosen.add(node.name)
    filters = result.filter_plugins
    rows = []
    for node in examined:
        if node.name not in chosen:
            continue
        status = statuses.get(node.name)
        entries = []
        if status is None:
            entries = [{"plugin": p, "status": "Success", "reason": ""} for p in filters]
        else:
            for p in filters:
                if p == status.plugin:
                    break
                entries.append({"plugin": p, "status": "Success", "reason": ""})
            entries.append({"plugin": status.plugin, "status": status.code, "reason": status.message})
        scores = []
        total = None
        i = feasible_index.get(node.name)
        if i is not None and result.totals:
            for name, weight in result.score_plugins:
                scores.append({"plugin": name, "raw": result.raw[name][i], "normalized": result.normalized[name][i], "weight": weight})
            total = result.totals[i]
        rows.append({"name": node.name, "filters": entries, "scores": scores, "total": total})
    absent = result.diagnosis.absent
    if absent is not None and len(rows) < limit:
        have = {n.name for n in examined}
        for node in result.all_nodes:
            if len(rows) >= limit:
                break
            if node.name not in have:
                rows.append({"name": node.name, "filters": [{"plugin": absent.plugin, "status": absent.code, "reason": absent.message}], "scores": [], "total": None})
    return rows
