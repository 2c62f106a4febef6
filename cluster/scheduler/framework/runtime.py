"""`Framework`: one scheduling cycle over the plugins of a profile (schedule_one.go).

    fw = Framework(profile, cache, stream=stream, now=now)       fresh plugins for this cycle
    result = fw.schedule(pod_info, start=next_start_index)          filter, then score, then pick
    if result.node is None and result.status.rejected:
        fw.post_filter(result)                                      preemption, maybe
    fw.reserve(...), fw.permit(...), fw.bind(...)                   the component carries on

A cycle, step by step (what the decision record shows):

    PreFilter  every plugin once; Skip takes that plugin's Filter out of this cycle; a
               rejection fails the pod on every node; node sets narrow the candidates
    nominated  a pod nominated to a node (after preemption) tries that node first
    Filter     nodes in NodeTree order, starting where the previous cycle stopped, until
               `nodes_to_find` feasible ones are found (percentageOfNodesToScore)
    Score      skipped when exactly one node is feasible; otherwise PreScore, Score,
               NormalizeScore, times the weight, summed; the highest total wins and ties
               are broken with the seeded stream

Two ways to run Filter and Score, with the same answers: the fast path hands each plugin
a whole chunk of nodes (`filter_nodes`, `score_nodes`), the straightforward path asks
node by node (`filter`, `score`). `Framework(..., fast=False)` takes the second; the tests
compare both on random clusters.
"""

from itertools import compress, repeat
from operator import add, eq, mul

from . import status as st
from .fit_error import NO_NODES_MESSAGE, fit_error_message
from .interface import PostFilterResult
from .profile import Profile
from .status import Status

MAX_NODE_SCORE = 100
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE = 5


def nodes_to_find(percentage: int | None, total: int) -> tuple[int, int]:
    """numFeasibleNodesToFind: (how many feasible nodes end the search, the percentage used).
    Below 100 nodes: all. Adaptive default: 50% minus 1% per 125 nodes, at least 5%; never
    fewer than 100 nodes."""
    if total < MIN_FEASIBLE_NODES_TO_FIND:
        return total, 100
    pct = percentage or 0
    if pct <= 0:
        pct = 50 - total // 125
        if pct < MIN_FEASIBLE_NODES_PERCENTAGE:
            pct = MIN_FEASIBLE_NODES_PERCENTAGE
    count = total * pct // 100
    if count < MIN_FEASIBLE_NODES_TO_FIND:
        return MIN_FEASIBLE_NODES_TO_FIND, pct
    return count, pct


class CycleState(dict):
    """plugin name -> what it computed in PreFilter / PreScore for this cycle."""

    def clone(self) -> "CycleState":
        out = CycleState()
        for key, value in self.items():
            out[key] = value.clone() if hasattr(value, "clone") else value
        return out


class Diagnosis:
    """Why nodes were rejected: node -> Status, the status of nodes never examined, the
    plugins that rejected, and the PreFilter / PostFilter messages (FitError's parts)."""

    __slots__ = ("statuses", "absent", "plugins", "pre_filter_msg", "post_filter_msg")

    def __init__(self):
        self.statuses: dict = {}
        self.absent: Status | None = None
        self.plugins: set = set()
        self.pre_filter_msg = ""
        self.post_filter_msg = ""

    def status_of(self, node: str) -> Status | None:
        return self.statuses.get(node, self.absent)

    def __getstate__(self):
        return (self.statuses, self.absent, self.plugins, self.pre_filter_msg, self.post_filter_msg)

    def __setstate__(self, state):
        self.statuses, self.absent, self.plugins, self.pre_filter_msg, self.post_filter_msg = state


class CycleResult:
    """Everything one cycle found out; records.py turns it into the decision record."""

    def __init__(self, pod, total: int, start: int):
        self.pod = pod
        self.total = total  # nodes in the snapshot
        self.start = start  # where the search began
        self.next_start = start
        self.candidates = total  # nodes the search could look at (PreFilter may narrow them)
        self.to_find = 0
        self.percentage = 100
        self.percentage_configured = False
        self.all_nodes: list = []  # the snapshot's nodes, in order (transient: for the record)
        self.examined: list = []  # NodeInfo, in the order they were examined
        self.feasible: list = []  # NodeInfo that passed every filter
        self.diagnosis = Diagnosis()
        self.filter_plugins: list = []  # the Filter plugins that ran (not skipped)
        self.skipped_filter: list = []
        self.score_plugins: list = []  # [name, weight] of the Score plugins that ran
        self.skipped_score: list = []
        self.raw: dict = {}  # plugin -> raw scores, aligned with feasible
        self.normalized: dict = {}
        self.totals: list = []
        self.scoring = "scored"  # or "one feasible node", "nominated node", "no feasible node", "not reached"
        self.node: str | None = None
        self.winner: int | None = None  # the chosen node's index in feasible, when scored
        self.status: Status = Status.success()
        self.message = ""
        self.nominated_node: str | None = None
        self.clear_nomination = False  # PostFilter says: the pod's nomination no longer holds
        self.victims: list = []
        self.clear_nominated: list = []
        self.state = CycleState()


class Framework:
    def __init__(self, profile: Profile, snapshot, *, stream=None, now: int = 0, registry: dict | None = None, fast: bool = True):
        if registry is None:
            from ..plugins import IN_TREE

            registry = IN_TREE
        self.profile = profile
        self.snapshot = snapshot
        self.stream = stream
        self.now = now
        self.fast = fast
        names = []
        for point in profile.points.values():
            for name, _weight in point:
                if name not in names:
                    names.append(name)
        self.plugins = {name: registry[name](self, profile.args.get(name)) for name in names}
        self.points = {point: [(name, self.plugins[name]) for name, _w in entries] for point, entries in profile.points.items()}
        self.weights = {name: weight for name, weight in profile.points["score"]}
        self._filter_plugins: list = []
        self._nominated: dict = {}

    # --- the handle plugins use -----------------------------------------------------------------
    def run_filters(self, state: CycleState, pod, node) -> Status | None:
        """Every Filter plugin of this cycle on one node, in order; the first rejection."""
        for name, plugin in self._filter_plugins:
            status = plugin.filter(state, pod, node)
            if status is not None:
                return status if status.plugin else status.with_plugin(name)
        return None

    def run_filters_with_nominated(self, state: CycleState, pod, node) -> Status | None:
        """RunFilterPluginsWithNominatedPods: when pods of equal or higher priority are
        nominated to this node, the pod must fit both with them and without them."""
        others = self._nominated_for(pod, node.name)
        if not others:
            return self.run_filters(state, pod, node)
        state2 = state.clone()
        node2 = node.clone()
        for other in others:
            node2.add_pod(other)
            self.run_add_pod(state2, pod, other, node2)
        status = self.run_filters(state2, pod, node2)
        if status is not None:
            return status
        return self.run_filters(state, pod, node)

    def run_add_pod(self, state, pod, other, node) -> None:
        for name, plugin in self.points["preFilter"]:
            if name not in state.get("#skip_filter", ()) and hasattr(plugin, "add_pod"):
                plugin.add_pod(state, pod, other, node)

    def run_remove_pod(self, state, pod, other, node) -> None:
        for name, plugin in self.points["preFilter"]:
            if name not in state.get("#skip_filter", ()) and hasattr(plugin, "remove_pod"):
                plugin.remove_pod(state, pod, other, node)

    def _nominated_for(self, pod, node: str) -> list:
        found = self._nominated.get(node)
        if found is None:
            found = [p for p in self.snapshot.nominated_for(node) if p.priority >= pod.priority and p.key != pod.key]
            self._nominated[node] = found
        return found

    # --- the cycle ---------------------------------------------------------------------------------
    def begin(self, now: int) -> "Framework":
        """Reuse this framework (its plugins hold nothing between cycles) for a new cycle."""
        self.now = now
        self._nominated = {}
        self._filter_plugins = []
        return self

    def schedule(self, pod, start: int = 0) -> CycleResult:
        self._nominated = {}
        nodes = self.snapshot.node_list()
        result = CycleResult(pod, len(nodes), start)
        result.all_nodes = nodes
        result.scoring = "not reached"
        result.percentage_configured = bool(self.profile.percentage)
        state = result.state
        if pod.error:
            result.status = Status.error(pod.error)
            result.message = pod.error
            return result
        if not nodes:
            result.status = Status.error(NO_NODES_MESSAGE)
            result.message = NO_NODES_MESSAGE
            return result
        diagnosis = result.diagnosis
        # PreFilter
        skip_filter = []
        narrowed = None
        narrowing = []
        for name, plugin in self.points["preFilter"]:
            answer = plugin.pre_filter(state, pod)
            names = None
            if isinstance(answer, tuple):
                answer, names = answer
            if answer.code == st.SKIP:
                skip_filter.append(name)
                continue
            if not answer.ok:
                answer = answer.with_plugin(name)
                if answer.rejected:
                    diagnosis.plugins.add(name)
                    diagnosis.absent = answer
                    diagnosis.pre_filter_msg = answer.message
                    result.status = Status(st.UNSCHEDULABLE, (answer.message,), name)
                    result.message = fit_error_message(result.total, diagnosis)
                    return result
                result.status = answer
                result.message = f"running PreFilter plugin {name}: {answer.message}"
                return result
            if names is not None:
                narrowing.append(name)
                narrowed = set(names) if narrowed is None else narrowed & set(names)
                if not narrowed:
                    if len(narrowing) == 1:
                        text = f"node(s) didn't satisfy plugin {narrowing[0]}"
                    else:
                        text = f"node(s) didn't satisfy plugin(s) {_go_list(narrowing)} simultaneously"
                    diagnosis.plugins.update(narrowing)
                    diagnosis.absent = Status(st.UNSCHEDULABLE, (text,), narrowing[0])
                    diagnosis.pre_filter_msg = text
                    result.status = Status(st.UNSCHEDULABLE, (text,))
                    result.message = fit_error_message(result.total, diagnosis)
                    return result
        state["#skip_filter"] = tuple(skip_filter)
        result.skipped_filter = skip_filter
        self._filter_plugins = [(n, p) for n, p in self.points["filter"] if n not in skip_filter]
        result.filter_plugins = [n for n, _p in self._filter_plugins]
        # A nominated pod tries its node first.
        feasible = None
        if pod.nominated_node:
            node = self.snapshot.get(pod.nominated_node)
            if node is not None and (narrowed is None or node.name in narrowed):
                status = self.run_filters_with_nominated(state, pod, node)
                if status is None:
                    feasible = [node]
                    result.examined = [node]
                    result.scoring = "nominated node"
                elif status.code == st.ERROR:
                    return self._error(result, status)
                else:
                    diagnosis.statuses[node.name] = status
                    diagnosis.plugins.add(status.plugin)
        if feasible is None:
            candidates = nodes
            if narrowed is not None:
                candidates = [n for n in nodes if n.name in narrowed]
                diagnosis.absent = Status(st.UNRESOLVABLE, (f"node(s) didn't satisfy plugin(s) {_go_list(sorted(narrowing))}",), narrowing[0])
                diagnosis.plugins.update(narrowing)
            result.candidates = len(candidates)
            feasible = self._find_feasible(state, pod, candidates, result)
            if feasible is None:
                return result  # an Error status is set
            result.next_start = (start + len(result.examined)) % len(nodes)
        result.scoring = "scored" if result.scoring == "not reached" else result.scoring
        result.feasible = feasible
        if not feasible:
            result.scoring = "no feasible node"
            result.status = Status(st.UNSCHEDULABLE, (), None)
            result.message = fit_error_message(result.total, diagnosis)
            return result
        if len(feasible) == 1:
            if result.scoring == "scored":
                result.scoring = "one feasible node"
            result.node = feasible[0].name
            return result
        if not self._score(state, pod, feasible, result):
            return result
        result.winner = self._select(feasible, result.totals)
        result.node = feasible[result.winner].name
        return result

    def _find_feasible(self, state, pod, candidates: list, result: CycleResult) -> list | None:
        """findNodesThatPassFilters: examine candidates round-robin from `start` until
        `to_find` of them fit. Chunked for the fast path: each chunk is exactly as many
        nodes as are still needed, so the result is the node-by-node result."""
        total = len(candidates)
        to_find, pct = nodes_to_find(self.profile.percentage, total)
        result.to_find, result.percentage = to_find, pct
        start = result.start % total
        statuses = result.diagnosis.statuses
        plugins = result.diagnosis.plugins
        nominated_nodes = {name for name in self.snapshot.nominated if self._nominated_for(result.pod, name)}
        feasible: list = []
        pos = 0
        while len(feasible) < to_find and pos < total:
            chunk = _rotated(candidates, start, pos, pos + to_find - len(feasible))
            pos += len(chunk)
            rejected = self._filter_chunk(state, result.pod, chunk, nominated_nodes)
            if rejected:
                for name, status in rejected.items():
                    if status.code == st.ERROR:
                        result.examined = _rotated(candidates, start, 0, pos)
                        return self._error(result, status)
                    statuses[name] = status
                    plugins.add(status.plugin)
                feasible.extend(n for n in chunk if n.name not in rejected)
            else:
                feasible.extend(chunk)
        result.examined = _rotated(candidates, start, 0, pos)
        return feasible

    def _filter_chunk(self, state, pod, chunk: list, nominated_nodes: set) -> dict:
        rejected: dict = {}
        plain = chunk
        if nominated_nodes:
            plain = []
            for node in chunk:
                if node.name in nominated_nodes:
                    status = self.run_filters_with_nominated(state, pod, node)
                    if status is not None:
                        rejected[node.name] = status
                else:
                    plain.append(node)
        if not self.fast:
            for node in plain:
                status = self.run_filters(state, pod, node)
                if status is not None:
                    rejected[node.name] = status
            return rejected
        survivors = plain
        for name, plugin in self._filter_plugins:
            if not survivors:
                break
            fails = plugin.filter_nodes(state, pod, survivors)
            if fails:
                keep = []
                for i, node in enumerate(survivors):
                    status = fails.get(i)
                    if status is None:
                        keep.append(node)
                    else:
                        rejected[node.name] = status if status.plugin else status.with_plugin(name)
                survivors = keep
        return rejected

    def _score(self, state, pod, feasible: list, result: CycleResult) -> bool:
        skip = []
        for name, plugin in self.points["preScore"]:
            status = plugin.pre_score(state, pod, feasible)
            if status.code == st.SKIP:
                skip.append(name)
            elif not status.ok:
                self._error(result, status.with_plugin(name))
                return False
        result.skipped_score = skip
        count = len(feasible)
        # Totals are summed once at the end: a plugin that gave every node the same score
        # adds a constant, the others a column each (weighted), then one pass over the columns.
        constant = 0
        columns = []
        for name, plugin in self.points["score"]:
            if name in skip:
                continue
            weight = self.weights[name]
            if self.fast:
                raw = plugin.score_nodes(state, pod, feasible)
            else:
                raw = [plugin.score(state, pod, node) for node in feasible]
            normalized = plugin.normalize(state, pod, list(raw)) if hasattr(plugin, "normalize") else raw
            low = high = 0
            if normalized:
                if normalized == [normalized[0]] * count:  # one score for all (a pass in C, equal items by identity)
                    low = high = normalized[0]
                else:
                    low, high = min(normalized), max(normalized)
                if low < 0 or high > MAX_NODE_SCORE:
                    value = next(v for v in normalized if not 0 <= v <= MAX_NODE_SCORE)
                    self._error(result, Status.error(f"plugin {name} returns an invalid score {value}, it should in the range of [0, {MAX_NODE_SCORE}] after normalizing", name))
                    return False
            result.score_plugins.append([name, weight])
            result.raw[name] = raw
            result.normalized[name] = normalized
            if len(normalized) != count:
                self._error(result, Status.error(f"plugin {name} returned {len(normalized)} scores for {count} nodes", name))
                return False
            if low == high:
                constant += low * weight
            elif weight == 1:
                columns.append(normalized)
            else:
                columns.append(list(map(mul, normalized, repeat(weight, count))))
        if not columns:
            totals = [constant] * count
        elif len(columns) == 1:
            totals = list(map(add, columns[0], repeat(constant, count))) if constant else list(columns[0])
        else:
            if constant:
                columns.append(repeat(constant, count))
            totals = list(map(sum, zip(*columns, strict=True)))
        result.totals = totals
        return True

    def _select(self, feasible: list, totals: list) -> int:
        """selectHost: the index of the highest total; among equal totals, one chosen with the
        seeded stream."""
        best = max(totals)
        if totals.count(best) == 1 or self.stream is None:
            return totals.index(best)
        tied = list(compress(range(len(totals)), map(eq, totals, repeat(best))))
        return tied[self.stream.randint(0, len(tied) - 1)]

    def _error(self, result: CycleResult, status: Status):
        result.status = status
        result.message = status.message
        return None

    # --- after the cycle ---------------------------------------------------------------------------
    def post_filter(self, result: CycleResult) -> Status:
        """RunPostFilterPlugins on a pod no node fits; fills in the nomination and victims and
        completes the FitError message with the PostFilter's."""
        reasons = []
        rejector = None
        outcome = None
        final = None
        for name, plugin in self.points["postFilter"]:
            answer, status = plugin.post_filter(result.state, result.pod, result.diagnosis)
            if status.ok:
                outcome, final = answer, status
                break
            if status.code == st.UNRESOLVABLE:
                outcome, final = answer, status.with_plugin(name)
                break
            if not status.rejected:
                final = Status(st.ERROR, status.reasons, name)
                outcome = None
                break
            if answer is not None:
                outcome = answer
            reasons.extend(status.reasons)
            rejector = rejector or name
        if final is None:
            final = Status(st.UNSCHEDULABLE, reasons, rejector) if self.points["postFilter"] else Status.success()
        result.diagnosis.post_filter_msg = final.message if not final.ok else ""
        if isinstance(outcome, PostFilterResult):
            if outcome.nominated_node:
                result.nominated_node = outcome.nominated_node
            elif outcome.nominated_node == "":
                result.clear_nomination = True
            result.victims = outcome.victims
            result.clear_nominated = outcome.clear_nominated
        result.message = fit_error_message(result.total, result.diagnosis)
        return final

    def reserve(self, state, pod, node: str) -> Status:
        done = []
        for name, plugin in self.points["reserve"]:
            status = plugin.reserve(state, pod, node)
            if not status.ok:
                for _n, p in reversed(done):
                    p.unreserve(state, pod, node)
                plugin.unreserve(state, pod, node)
                return status.with_plugin(name)
            done.append((name, plugin))
        return Status.success()

    def unreserve(self, state, pod, node: str) -> None:
        for _name, plugin in reversed(self.points["reserve"]):
            plugin.unreserve(state, pod, node)

    def permit(self, state, pod, node: str) -> Status:
        for name, plugin in self.points["permit"]:
            status = plugin.permit(state, pod, node)
            if not status.ok:
                if status.code == st.WAIT:
                    return Status(st.UNSCHEDULABLE, ("waiting on permit is not supported in this simulation",), name)
                return status.with_plugin(name)
        return Status.success()

    def pre_bind(self, state, pod, node: str) -> Status:
        for name, plugin in self.points["preBind"]:
            status = plugin.pre_bind(state, pod, node)
            if not status.ok:
                return status.with_plugin(name)
        return Status.success()

    def bind(self, state, pod, node: str):
        """The first Bind plugin that does not Skip: its request (a dict) or a failed Status."""
        for name, plugin in self.points["bind"]:
            answer = plugin.bind(state, pod, node)
            if isinstance(answer, Status):
                if answer.code == st.SKIP:
                    continue
                return answer.with_plugin(name)
            return answer
        return Status.error("no bind plugin accepted the pod")

    def post_bind(self, state, pod, node: str) -> None:
        for _name, plugin in self.points["postBind"]:
            plugin.post_bind(state, pod, node)


def _rotated(items: list, start: int, a: int, b: int) -> list:
    """(items[start:] + items[:start])[a:b] without copying the whole list (5,000 nodes a cycle)."""
    total = len(items)
    b = min(b, total)
    i, j = start + a, start + b
    if j <= total:
        return items[i:j]
    if i >= total:
        return items[i - total:j - total]
    return items[i:] + items[:j - total]


def _go_list(names) -> str:
    """fmt's %v of a []string: [a b c]."""
    return "[" + " ".join(names) + "]"
