"""Scheduler profiles: which plugins run at which extension point, with which weights and args.

A profile is written like one entry of KubeSchedulerConfiguration's `profiles`, so a
teacher can paste a real one:

    {"schedulerName": "default-scheduler",
     "percentageOfNodesToScore": null,                    # null or 0: Kubernetes' adaptive default
     "plugins": {"multiPoint": {"enabled": [{"name": "TaintToleration", "weight": 3}, ...]},
                 "score": {"enabled": [{"name": "ImageLocality", "weight": 5}],
                           "disabled": [{"name": "NodeResourcesBalancedAllocation"}]}},
     "pluginConfig": [{"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "MostAllocated"}}}]}

`Profile.build(config, registry)` resolves it against the plugin registry: multiPoint
plugins join every extension point their class implements, in order; a point's own
`enabled` entries come after them (or, for a plugin already there, change its weight);
`disabled` removes names from a point ("*" removes every multiPoint plugin from it).
The result is plain data: point -> [[name, weight], ...], plugin -> args.
"""

import copy

POINT_METHODS = {
    "queueSort": "less",
    "preEnqueue": "pre_enqueue",
    "preFilter": "pre_filter",
    "filter": "filter",
    "postFilter": "post_filter",
    "preScore": "pre_score",
    "score": "score",
    "reserve": "reserve",
    "permit": "permit",
    "preBind": "pre_bind",
    "bind": "bind",
    "postBind": "post_bind",
}
POINTS = tuple(POINT_METHODS)

DEFAULT_PLUGINS = [
    {"name": "SchedulingGates"},
    {"name": "PrioritySort"},
    {"name": "NodeUnschedulable"},
    {"name": "NodeName"},
    {"name": "TaintToleration", "weight": 3},
    {"name": "NodeAffinity", "weight": 2},
    {"name": "NodePorts"},
    {"name": "NodeResourcesFit", "weight": 1},
    {"name": "PodTopologySpread", "weight": 2},
    {"name": "InterPodAffinity", "weight": 2},
    {"name": "DefaultPreemption"},
    {"name": "NodeResourcesBalancedAllocation", "weight": 1},
    {"name": "ImageLocality", "weight": 1},
    {"name": "DefaultBinder"},
]

DEFAULT_ARGS = {
    "NodeResourcesFit": {"scoringStrategy": {"type": "LeastAllocated", "resources": [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}]}},
    "NodeResourcesBalancedAllocation": {"resources": [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}]},
    "InterPodAffinity": {"hardPodAffinityWeight": 1},
    "PodTopologySpread": {"defaultingType": "System"},
    "DefaultPreemption": {"minCandidateNodesPercentage": 10, "minCandidateNodesAbsolute": 100},
}

DEFAULT_CONFIG = {"schedulerName": "default-scheduler", "percentageOfNodesToScore": None, "plugins": {"multiPoint": {"enabled": DEFAULT_PLUGINS}}, "pluginConfig": []}


class ProfileError(ValueError):
    pass


class Profile:
    def __init__(self, name: str, percentage: int | None, points: dict, args: dict, config: dict):
        self.name = name
        self.percentage = percentage  # percentageOfNodesToScore; None: adaptive
        self.points = points  # point -> [[plugin, weight], ...]
        self.args = args  # plugin -> args
        self.config = config  # what it was built from (for the view)

    @classmethod
    def build(cls, config: dict | None = None, registry: dict | None = None) -> "Profile":
        if registry is None:
            from ..plugins import IN_TREE

            registry = IN_TREE
        config = copy.deepcopy(config if config is not None else DEFAULT_CONFIG)
        if not isinstance(config, dict):
            raise ProfileError("a profile must be an object")
        name = config.get("schedulerName") or "default-scheduler"
        percentage = config.get("percentageOfNodesToScore")
        if percentage is not None and (not isinstance(percentage, int) or isinstance(percentage, bool) or not 0 <= percentage <= 100):
            raise ProfileError("percentageOfNodesToScore must be a whole number from 0 to 100")
        plugins = config.get("plugins") if isinstance(config.get("plugins"), dict) else {"multiPoint": {"enabled": DEFAULT_PLUGINS}}
        multi = plugins.get("multiPoint") or {}
        multi_disabled = {_name(d) for d in multi.get("disabled") or []}
        points: dict[str, list] = {p: [] for p in POINTS}
        for entry in multi.get("enabled") or []:
            plugin = _name(entry)
            if plugin in multi_disabled or "*" in multi_disabled:
                continue
            klass = _lookup(registry, plugin)
            for point, method in POINT_METHODS.items():
                if hasattr(klass, method):
                    _put(points[point], plugin, _weight(entry, point))
        for point in POINTS:
            block = plugins.get(point) or {}
            disabled = {_name(d) for d in block.get("disabled") or []}
            if "*" in disabled:
                points[point] = []
            else:
                points[point] = [pw for pw in points[point] if pw[0] not in disabled]
            for entry in block.get("enabled") or []:
                plugin = _name(entry)
                klass = _lookup(registry, plugin)
                if not hasattr(klass, POINT_METHODS[point]):
                    raise ProfileError(f"plugin {plugin} does not implement {point}")
                _put(points[point], plugin, _weight(entry, point), override=True)
        if len(points["queueSort"]) > 1:
            raise ProfileError("only one queueSort plugin may be enabled")
        if not points["bind"]:
            raise ProfileError("at least one bind plugin is needed")
        args = {name: copy.deepcopy(a) for name, a in DEFAULT_ARGS.items()}
        for item in config.get("pluginConfig") or []:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise ProfileError("pluginConfig entries need a name")
            base = args.get(item["name"], {})
            args[item["name"]] = _merge(base, item.get("args") or {})
        return cls(name, percentage or None, points, args, config)

    def enabled(self, point: str) -> list[str]:
        return [name for name, _w in self.points[point]]

    def weight(self, plugin: str) -> int:
        for name, weight in self.points["score"]:
            if name == plugin:
                return weight
        return 0

    def view(self) -> dict:
        return {"schedulerName": self.name, "percentageOfNodesToScore": self.percentage, "points": {p: [list(x) for x in v] for p, v in self.points.items() if v}}


def _name(entry) -> str:
    if isinstance(entry, str):
        return entry
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise ProfileError("a plugin entry needs a name")
    return entry["name"]


def _weight(entry, point: str) -> int:
    if point != "score":
        return 0
    weight = entry.get("weight") if isinstance(entry, dict) else None
    if weight is None:
        return 1
    if not isinstance(weight, int) or isinstance(weight, bool) or weight < 1:
        raise ProfileError("a score weight must be a positive whole number")
    return weight


def _lookup(registry: dict, plugin: str):
    if plugin == "*":
        raise ProfileError("'*' may only be disabled")
    klass = registry.get(plugin)
    if klass is None:
        raise ProfileError(f"unknown plugin {plugin}; known: {', '.join(sorted(registry))}")
    return klass


def _put(items: list, plugin: str, weight: int, override: bool = False) -> None:
    for pair in items:
        if pair[0] == plugin:
            if override:
                pair[1] = weight
            return
    items.append([plugin, weight])


def _merge(base, extra):
    if isinstance(base, dict) and isinstance(extra, dict):
        out = dict(base)
        for key, value in extra.items():
            out[key] = _merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(extra)
