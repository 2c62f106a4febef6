"""Decision records: for every scheduling attempt of a pod, what each plugin said about each
node, the scores, the winner or the reason there was none, the nomination and the victims.

    records.add("default/web-1", uid, attempt_record(result, now, ...))
    records.get("default/web-1")  -> {"uid", "attempts": [oldest, ..., newest]}   (rows expanded)
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
touched are forgotten first), `row_limit` node rows per attempt. An attempt is stored with its
node table in compact columns ("table"); `expand` turns it into the rows above when it is
read, so a busy scheduler does not build thousands of small dicts nobody reads. When a cluster has more
examined nodes than rows, an attempt keeps the winner, the best-scored nodes, and the first
node of each distinct rejection, and says how many rows it left out (the counts of every
rejection stay in "reasons").
"""

from itertools import compress, islice, repeat
from operator import attrgetter, eq, gt

from .framework.fit_error import reason_histogram
from .framework.runtime import MIN_FEASIBLE_NODES_TO_FIND

SECOND = 1_000_000
_NAME = attrgetter("name")

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
        """The pod's attempts, oldest first, each with its node rows ("nodes")."""
        found = self.pods.get(key)
        return None if found is None else {"uid": found["uid"], "attempts": [expand(a) for a in found["attempts"]]}

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
    # Counted and searched in C (500 feasible nodes at 5,000): the tie is every node with the
    # winner's total; the runner-up the best of the rest, first found where it is (it is not
    # the winner's total, so that is not the winner).
    totals = result.totals
    winner = _winner(result)
    if winner is None:
        winner = list(map(_NAME, result.feasible)).index(result.node)
    best = totals[winner]
    tied = totals.count(best)
    if tied > 1:
        return f"it tied with {tied - 1} other node(s) at {best} and won the seeded draw"
    rest = totals[:winner] + totals[winner + 1:]
    if not rest:
        return "it had the highest score"
    runner = max(rest)
    runner_index = totals.index(runner)
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
    table = _table(result, row_limit)
    diagnosis = result.diagnosis
    return {
        "attempt": attempt,
        "cycle": cycle,
        "time": now / SECOND,
        "result": outcome,
        "node": result.node,
        "message": result.message or None,
        "why": explain(result, strategy),
        "table": table,
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
        "rows_omitted": max(0, len(result.examined) + _absent_count(result) - len(table["order"]) - len(table["absent"])),
        "binding": "pending" if outcome == "scheduled" else None,
    }


def _absent_count(result) -> int:
    if result.diagnosis.absent is None:
        return 0
    return result.total - len(result.examined)


def _table(result, limit: int) -> dict:
    """The node table in compact columns (expanded into rows only when read, by `expand`):

        {"filters": [plugin, ...], "scores": [[plugin, weight], ...],
         "order": [node, ...],                       the rows kept, in the order examined
         "rejected": {node: [plugin, code, reason]},
         "feasible": [node, ...], "raw": {plugin: [...]}, "normalized": {plugin: [...]}, "totals": [...],
         "absent": [node, ...], "absent_status": [plugin, code, reason] | None}
    """
    examined = result.examined
    statuses = result.diagnosis.statuses
    feasible = result.feasible
    totals = result.totals
    if len(examined) <= limit:
        keep_feasible = list(range(len(feasible)))
        order = [n.name for n in examined]
        names = [n.name for n in feasible]
    elif feasible == examined and totals and _winner(result) is not None:
        # Nothing rejected (the same nodes, compared by identity) and scored: the same choice
        # as below made on indices, so only the kept rows' nodes are read.
        chosen = set(_best(totals, max(1, limit // 2)))
        chosen.add(_winner(result))
        i = 0
        while len(chosen) < limit and i < len(examined):
            chosen.add(i)
            i += 1
        keep_feasible = sorted(chosen)
        order = [examined[i].name for i in keep_feasible]
        names = list(order)
    else:
        chosen = set()
        if totals:
            # the best totals, ties in the order examined (a stable sort, descending)
            chosen.update(feasible[i].name for i in _best(totals, max(1, limit // 2)))
        else:
            chosen.update(n.name for n in feasible[: max(1, limit // 2)])
        if result.node is not None:
            chosen.add(result.node)
        seen_reasons = set()
        if statuses:
            for node in examined:
                if len(chosen) >= limit:
                    break
                status = statuses.get(node.name)
                if status is not None and status.reasons not in seen_reasons:
                    seen_reasons.add(status.reasons)
                    chosen.add(node.name)
        for node in examined:
            if len(chosen) >= limit:
                break
            chosen.add(node.name)
        order = [n.name for n in examined if n.name in chosen]
        keep_feasible = [i for i, n in enumerate(feasible) if n.name in chosen]
        names = [feasible[i].name for i in keep_feasible]
    table = {
        "filters": list(result.filter_plugins),
        "scores": [list(pw) for pw in result.score_plugins],
        "order": order,
        "rejected": {name: [statuses[name].plugin, statuses[name].code, statuses[name].message] for name in order if name in statuses} if statuses else {},
        "feasible": names,
        "raw": {p: list(map(result.raw[p].__getitem__, keep_feasible)) for p, _w in result.score_plugins} if totals else {},
        "normalized": {p: list(map(result.normalized[p].__getitem__, keep_feasible)) for p, _w in result.score_plugins} if totals else {},
        "totals": list(map(totals.__getitem__, keep_feasible)) if totals else [],
        "absent": [],
        "absent_status": None,
    }
    absent = result.diagnosis.absent
    if absent is not None and len(order) < limit:
        have = {n.name for n in examined}
        table["absent"] = [n.name for n in result.all_nodes if n.name not in have][: limit - len(order)]
        table["absent_status"] = [absent.plugin, absent.code, absent.message]
    return table


def _winner(result) -> int | None:
    """The chosen node's index in feasible, when the cycle scored and its choice stands (the
    component clears result.node when Reserve, Permit or Bind fails)."""
    return getattr(result, "winner", None) if result.node is not None else None


def _best(totals: list, count: int) -> list:
    """sorted(range(len(totals)), key=totals.__getitem__, reverse=True)[:count] as a set of
    indices: every total above the count-th largest, then the first of those equal to it."""
    if count >= len(totals):
        return list(range(len(totals)))
    threshold = sorted(totals, reverse=True)[count - 1]
    above = list(compress(range(len(totals)), map(gt, totals, repeat(threshold))))
    return above + list(islice(compress(range(len(totals)), map(eq, totals, repeat(threshold))), count - len(above)))


def expand(attempt: dict, limit: int | None = None) -> dict:
    """An attempt as read: its compact table turned into "nodes" rows (DESIGN.md's shape)."""
    table = attempt.get("table")
    out = {k: v for k, v in attempt.items() if k != "table"}
    if table is None:
        return out
    filters = table["filters"]
    scores = table["scores"]
    position = {name: i for i, name in enumerate(table["feasible"])}
    rows = []
    order = table["order"] if limit is None else table["order"][:limit]
    for name in order:
        rejected = table["rejected"].get(name)
        entries = []
        for plugin in filters:
            if rejected is not None and plugin == rejected[0]:
                break
            entries.append({"plugin": plugin, "status": "Success", "reason": ""})
        if rejected is not None:
            entries.append({"plugin": rejected[0], "status": rejected[1], "reason": rejected[2]})
        row_scores = []
        total = None
        i = position.get(name)
        if i is not None and table["totals"]:
            row_scores = [{"plugin": p, "raw": table["raw"][p][i], "normalized": table["normalized"][p][i], "weight": w} for p, w in scores]
            total = table["totals"][i]
        rows.append({"name": name, "filters": entries, "scores": row_scores, "total": total})
    absent_status = table["absent_status"]
    for name in table["absent"]:
        if limit is not None and len(rows) >= limit:
            break
        rows.append({"name": name, "filters": [{"plugin": absent_status[0], "status": absent_status[1], "reason": absent_status[2]}], "scores": [], "total": None})
    out["nodes"] = rows
    return out


def summary_rows(attempt: dict, count: int) -> list:
    """A few rows for an event: the chosen node first, then the best totals, then rejections:
    [{"name", "fit": "pass" | "<plugin>: <reason>", "total"}]."""
    table = attempt.get("table")
    if table is None:
        return []
    names, totals = table["feasible"], table["totals"]
    rows = []
    chosen = attempt.get("node")
    if chosen is not None and chosen in names:
        rows.append({"name": chosen, "fit": "pass", "total": totals[names.index(chosen)] if totals else None})
    if totals:
        best = sorted(range(len(names)), key=totals.__getitem__, reverse=True)[: count + 1]
    else:
        best = range(min(len(names), count + 1))
    for i in best:
        if names[i] != chosen:
            rows.append({"name": names[i], "fit": "pass", "total": totals[i] if totals else None})
    rejected = table["rejected"]
    for name in table["order"]:
        if len(rows) >= count:
            break
        found = rejected.get(name)
        if found is not None:
            rows.append({"name": name, "fit": f"{found[0]}: {found[2]}", "total": None})
    return rows[:count]
