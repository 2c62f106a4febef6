"""The extension points: what a plugin may implement and what the framework guarantees.

A plugin is a class registered by name (registry.py). The framework creates the enabled
plugins afresh for every scheduling cycle with `Plugin(handle, args)`: `handle` is the
Framework of that cycle (the snapshot of nodes, the cycle's random stream, the profile)
and `args` the plugin's pluginConfig args (plain data). Nothing a plugin keeps on itself
outlives the cycle; what must outlive it lives in the scheduler's cache or queue.

Extension points, in the order of a cycle (kube-scheduler's names):

    PreEnqueue      pre_enqueue(pod) -> Status            before the pod may enter activeQ
    QueueSort       less(a, b) -> bool                     order of activeQ (one plugin)
    PreFilter       pre_filter(state, pod) -> Status | (Status, node names)
                    Skip: this plugin's Filter is not run this cycle. Rejected: the pod fails
                    on every node with that message. A set of node names narrows the nodes
                    the cycle looks at (the sets of several plugins are intersected).
    PreFilterExt.   add_pod(state, pod, other, node) / remove_pod(state, pod, other, node)
                    keep a PreFilter state right when preemption or nominated pods change
                    a node in a what-if (only plugins whose Filter reads PreFilter state).
    Filter          filter(state, pod, node) -> None (fits) | Status (rejected, with reasons)
                    filter_nodes(state, pod, nodes) -> None | {index: Status}: the same for
                    many nodes at once (the fast path). The default calls filter per node;
                    an override must give exactly the same answers (tests/…/test_fastpath.py).
                    Filters run in profile order; a node's first rejection ends its checks.
    PostFilter      post_filter(state, pod, diagnosis) -> (PostFilterResult | None, Status)
                    runs only when no node fits: preemption lives here.
    PreScore        pre_score(state, pod, nodes) -> Status (Skip: Score is not run)
    Score           score(state, pod, node) -> int; score_nodes(state, pod, nodes) -> [int]
    NormalizeScore  normalize(state, pod, scores) -> [int], every value within 0..100
                    (plugins without it must score within 0..100 themselves)
    Reserve         reserve(state, pod, node) -> Status; unreserve(state, pod, node)
                    (unreserve runs, in reverse order, when a later step fails)
    Permit          permit(state, pod, node) -> Status (Success or a rejection)
    PreBind         pre_bind(state, pod, node) -> Status
    Bind            bind(state, pod, node) -> dict | Status: the API request that binds
                    (sent by the component: plugins never do I/O). Skip: the next binder.
    PostBind        post_bind(state, pod, node)

`state` is the cycle's CycleState: a dict from plugin name to whatever that plugin wrote
in PreFilter or PreScore, readable by later points of the same cycle.

`EVENTS` names the cluster events after which a pod this plugin rejected may fit (the
queue moves such pods back; see queue.py for the event names).
"""

from itertools import repeat
from operator import attrgetter

from .status import Status

_MEMO = attrgetter("memo")


class Plugin:
    NAME = ""
    EVENTS: tuple = ()

    def __init__(self, handle, args: dict | None = None):
        self.handle = handle
        self.args = args or {}

    @property
    def name(self) -> str:
        return self.NAME

    # Default batch forms: the straightforward loops the fast paths must agree with.
    def filter_nodes(self, state, pod, nodes):
        found = None
        filter_one = self.filter
        for i, node in enumerate(nodes):
            status = filter_one(state, pod, node)
            if status is not None:
                if found is None:
                    found = {}
                found[i] = status
        return found

    def score_nodes(self, state, pod, nodes) -> list:
        score = self.score
        return [score(state, pod, node) for node in nodes]


class PostFilterResult:
    """What PostFilter (preemption) decided: the node to nominate and the pods to evict."""

    __slots__ = ("nominated_node", "victims", "clear_nominated")

    def __init__(self, nominated_node: str | None, victims=(), clear_nominated=()):
        self.nominated_node = nominated_node
        self.victims = list(victims)  # PodInfo of the pods to delete
        self.clear_nominated = list(clear_nominated)  # PodInfo of lower-priority pods nominated to that node

    def __getstate__(self):
        return (self.nominated_node, self.victims, self.clear_nominated)

    def __setstate__(self, state):
        self.nominated_node, self.victims, self.clear_nominated = state


def memo_scores(nodes: list, key: str, compute) -> list:
    """Scores from each node's equivalence memo (node.memo[key]), `compute(node)` for the nodes
    that have none yet (and remembered there). The lookups and the search for the misses run
    in C: after the first cycles almost every node has its score for a Deployment's pods."""
    scores = list(map(dict.get, map(_MEMO, nodes), repeat(key)))
    i = -1
    try:
        while True:
            i = scores.index(None, i + 1)
            node = nodes[i]
            scores[i] = node.memo[key] = compute(node)
    except ValueError:  # no miss left
        return scores


def window_scores(snapshot, key: str, nodes: list, compute) -> list:
    """Scores from the snapshot's score columns when it keeps them and `nodes` is a run of its
    node order (SchedulerCache.window_scores), else from each node's memo (memo_scores)."""
    window = getattr(snapshot, "window_scores", None)
    scores = window(key, nodes, compute) if window is not None else None
    return scores if scores is not None else memo_scores(nodes, key, compute)


def go_div(a: int, b: int) -> int:
    """Go's integer division: truncates toward zero (Python's // floors)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def default_normalize(scores: list, reverse: bool = False, max_score: int = 100) -> list:
    """helper.DefaultNormalizeScore: scale to 0..max_score by the highest score (Go integer
    division); reverse flips it (the highest raw score gets 0). With no positive score the
    scores stay as they are, or all become max_score when reversed."""
    top = max(scores, default=0)
    if top <= 0:
        return [max_score] * len(scores) if reverse else list(scores)
    if reverse:
        return [max_score - go_div(max_score * s, top) for s in scores]
    return [go_div(max_score * s, top) for s in scores]


__all__ = ["Plugin", "PostFilterResult", "Status", "default_normalize", "go_div", "memo_scores", "window_scores"]
