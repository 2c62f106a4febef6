"""PodInfo and NodeInfo: what the plugins read, computed once per object, never per cycle.

    info = PodInfo.from_pod(pod_dict)         requests, tolerations, parsed affinity terms...
    node = NodeInfo.from_node(node_dict)      allocatable, taints, labels, images
    node.add_pod(info); node.remove_pod(info) keeps the sums (requested, non-zero requested,
                                              host ports, pods with affinity) up to date

NodeInfo's sums are the fast path: they are changed incrementally as pods come and go.
`NodeInfo.recount()` recomputes them from the pods, the straightforward way; the tests
check that both always agree.

Both are plain data (slots of numbers, strings, tuples, dicts): they pickle and hash.
"""

from ...apiserver.meta import parse_time
from . import labels as lb
from .resources import NON_ZERO, pod_requests, safe_milli, safe_value

HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
REGION = "topology.kubernetes.io/region"
DEFAULT_MAX_PODS = 110
LATEST = ":latest"


def normalized_image(name: str) -> str:
    """imagelocality.normalizedImageName: an image without a tag is ":latest"."""
    if name.rfind(":") <= name.rfind("/"):
        return name + LATEST
    return name


class AffinityTerm:
    """A (anti-)affinity term of a pod: which pods it selects, and over which topology."""

    __slots__ = ("selector", "namespaces", "namespace_selector", "topology_key", "weight")

    def __init__(self, selector, namespaces: frozenset, namespace_selector, topology_key: str, weight: int = 0):
        self.selector = selector
        self.namespaces = namespaces
        self.namespace_selector = namespace_selector
        self.topology_key = topology_key
        self.weight = weight

    @classmethod
    def parse(cls, term: dict, own_namespace: str, own_labels: dict, weight: int = 0) -> "AffinityTerm":
        if not isinstance(term, dict):
            raise lb.SelectorError("an affinity term must be an object")
        extra = []
        # matchLabelKeys / mismatchLabelKeys (MatchLabelKeysInPodAffinity): merged into the
        # selector with the pod's own values, as kube-apiserver does when the pod is created.
        for key in term.get("matchLabelKeys") or []:
            if isinstance(key, str) and key in own_labels:
                extra.append((key, "in", frozenset((own_labels[key],))))
        for key in term.get("mismatchLabelKeys") or []:
            if isinstance(key, str) and key in own_labels:
                extra.append((key, "notin", frozenset((own_labels[key],))))
        selector = lb.label_selector(term.get("labelSelector"), extra=tuple(extra))
        namespaces = frozenset(n for n in term.get("namespaces") or [] if isinstance(n, str))
        ns_selector = None
        if term.get("namespaceSelector") is not None:
            ns_selector = lb.label_selector(term.get("namespaceSelector"))
        elif not namespaces:
            namespaces = frozenset((own_namespace,))
        key = term.get("topologyKey")
        if not isinstance(key, str) or not key:
            raise lb.SelectorError("topologyKey must not be empty")
        return cls(selector, namespaces, ns_selector, key, weight)

    def matches(self, pod: "PodInfo", namespace_labels) -> bool:
        """framework.AffinityTerm.Matches: the pod's namespace is one of the term's (or its
        labels match namespaceSelector) and its labels match the selector."""
        if pod.namespace in self.namespaces or (self.namespace_selector is not None and lb.matches(self.namespace_selector, namespace_labels(pod.namespace))):
            return lb.matches(self.selector, pod.labels)
        return False

    def __getstate__(self):
        return (self.selector, self.namespaces, self.namespace_selector, self.topology_key, self.weight)

    def __setstate__(self, state):
        self.selector, self.namespaces, self.namespace_selector, self.topology_key, self.weight = state


class SpreadConstraint:
    __slots__ = ("max_skew", "topology_key", "hard", "selector", "min_domains", "honor_affinity", "honor_taints")

    def __init__(self, max_skew: int, topology_key: str, hard: bool, selector, min_domains: int = 1, honor_affinity: bool = True, honor_taints: bool = False):
        self.max_skew = max_skew
        self.topology_key = topology_key
        self.hard = hard  # whenUnsatisfiable: DoNotSchedule (Filter) or ScheduleAnyway (Score)
        self.selector = selector
        self.min_domains = min_domains
        self.honor_affinity = honor_affinity  # nodeAffinityPolicy (default Honor)
        self.honor_taints = honor_taints  # nodeTaintsPolicy (default Ignore)

    @classmethod
    def parse(cls, c: dict, own_labels: dict) -> "SpreadConstraint":
        if not isinstance(c, dict):
            raise lb.SelectorError("a topology spread constraint must be an object")
        extra = tuple((k, "in", frozenset((own_labels[k],))) for k in c.get("matchLabelKeys") or [] if isinstance(k, str) and k in own_labels)
        selector = lb.label_selector(c.get("labelSelector"), extra=extra)
        skew = c.get("maxSkew")
        if not isinstance(skew, int) or isinstance(skew, bool) or skew < 1:
            raise lb.SelectorError("maxSkew must be a positive integer")
        key = c.get("topologyKey")
        if not isinstance(key, str) or not key:
            raise lb.SelectorError("topologyKey must not be empty")
        min_domains = c.get("minDomains")
        min_domains = min_domains if isinstance(min_domains, int) and not isinstance(min_domains, bool) and min_domains > 0 else 1
        return cls(skew, key, c.get("whenUnsatisfiable", "DoNotSchedule") != "ScheduleAnyway", selector, min_domains,
                   c.get("nodeAffinityPolicy", "Honor") != "Ignore", c.get("nodeTaintsPolicy", "Ignore") == "Honor")

    def __getstate__(self):
        return tuple(getattr(self, s) for s in self.__slots__)

    def __setstate__(self, state):
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, value)


class PodInfo:
    """A pod as the scheduler sees it. `error` holds a parse problem (a malformed selector):
    such a pod fails its cycle with an Error status instead of breaking the scheduler."""

    __slots__ = (
        "key", "namespace", "name", "uid", "rv", "labels", "priority", "preemption_policy", "scheduler_name", "node_name",
        "nominated_node", "terminating", "phase", "created", "started", "cpu", "memory", "nz_cpu", "nz_memory", "ports",
        "images", "containers", "tolerations", "node_selector", "required_node_terms", "preferred_node_terms",
        "required_affinity", "required_anti", "preferred_affinity", "preferred_anti", "spread", "gates", "disruption_target", "owner", "error",
    )

    def __init__(self):
        for name in self.__slots__:
            setattr(self, name, None)

    @classmethod
    def from_pod(cls, pod: dict) -> "PodInfo":
        self = cls()
        meta = pod.get("metadata") if isinstance(pod.get("metadata"), dict) else {}
        spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
        status = pod.get("status") if isinstance(pod.get("status"), dict) else {}
        self.namespace = meta.get("namespace") or ""
        self.name = meta.get("name") or ""
        self.key = f"{self.namespace}/{self.name}" if self.namespace else self.name
        self.uid = meta.get("uid")
        self.rv = meta.get("resourceVersion")
        self.labels = dict(meta.get("labels") or {}) if isinstance(meta.get("labels"), dict) else {}
        priority = spec.get("priority")
        self.priority = priority if isinstance(priority, int) and not isinstance(priority, bool) else 0
        self.preemption_policy = spec.get("preemptionPolicy") or "PreemptLowerPriority"
        self.scheduler_name = spec.get("schedulerName") or "default-scheduler"
        self.node_name = spec.get("nodeName") or None
        self.nominated_node = status.get("nominatedNodeName") or None
        self.terminating = bool(meta.get("deletionTimestamp"))
        self.phase = status.get("phase") or "Pending"
        self.created = parse_time(meta.get("creationTimestamp")) or 0
        self.started = parse_time(status.get("startTime")) or self.created
        self.cpu, self.memory = pod_requests(spec)
        self.nz_cpu, self.nz_memory = pod_requests(spec, NON_ZERO)
        ports = []
        containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
        inits = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
        for container in containers:
            for port in container.get("ports") or []:
                if isinstance(port, dict) and isinstance(port.get("hostPort"), int) and port["hostPort"] > 0:
                    ports.append((str(port.get("hostIP") or "0.0.0.0"), str(port.get("protocol") or "TCP"), port["hostPort"]))
        self.ports = tuple(ports)
        self.images = tuple(normalized_image(c["image"]) for c in inits + containers if isinstance(c.get("image"), str) and c["image"])
        self.containers = len(inits) + len(containers)
        self.tolerations = lb.tolerations_of(spec)
        selector = spec.get("nodeSelector")
        self.node_selector = dict(selector) if isinstance(selector, dict) else {}
        owner = None
        for ref in meta.get("ownerReferences") or []:
            if isinstance(ref, dict) and ref.get("controller"):
                owner = (str(ref.get("apiVersion") or ""), str(ref.get("kind") or ""), str(ref.get("name") or ""))
                break
        self.owner = owner
        self.gates = tuple(g.get("name") for g in spec.get("schedulingGates") or [] if isinstance(g, dict))
        self.disruption_target = any(isinstance(c, dict) and c.get("type") == "DisruptionTarget" and c.get("status") == "True" and c.get("reason") == "PreemptionByScheduler"
                                     for c in status.get("conditions") or [])
        self.required_node_terms = None
        self.preferred_node_terms = ()
        self.required_affinity = self.required_anti = self.preferred_affinity = self.preferred_anti = ()
        self.spread = ()
        try:
            self._parse_affinity(spec.get("affinity"))
            self.spread = tuple(SpreadConstraint.parse(c, self.labels) for c in spec.get("topologySpreadConstraints") or [])
        except lb.SelectorError as err:
            self.error = f"invalid pod spec: {err}"
        return self

    def _parse_affinity(self, affinity) -> None:
        if not isinstance(affinity, dict):
            return
        node = affinity.get("nodeAffinity")
        if isinstance(node, dict):
            required = node.get("requiredDuringSchedulingIgnoredDuringExecution")
            if isinstance(required, dict):
                self.required_node_terms = lb.node_selector_terms(required.get("nodeSelectorTerms"))
            preferred = []
            for p in node.get("preferredDuringSchedulingIgnoredDuringExecution") or []:
                if isinstance(p, dict) and isinstance(p.get("weight"), int) and p["weight"] != 0:
                    preferred.append((p["weight"], lb.node_selector_term(p.get("preference") or {})))
            self.preferred_node_terms = tuple(preferred)
        for field, required_attr, preferred_attr in (("podAffinity", "required_affinity", "preferred_affinity"), ("podAntiAffinity", "required_anti", "preferred_anti")):
            block = affinity.get(field)
            if not isinstance(block, dict):
                continue
            required = tuple(AffinityTerm.parse(t, self.namespace, self.labels) for t in block.get("requiredDuringSchedulingIgnoredDuringExecution") or [])
            preferred = tuple(
                AffinityTerm.parse(p.get("podAffinityTerm"), self.namespace, self.labels, weight=p["weight"])
                for p in block.get("preferredDuringSchedulingIgnoredDuringExecution") or []
                if isinstance(p, dict) and isinstance(p.get("weight"), int) and p["weight"] != 0
            )
            setattr(self, required_attr, required)
            setattr(self, preferred_attr, preferred)

    @property
    def has_affinity(self) -> bool:
        """NodeInfo.PodsWithAffinity counts pods with any pod (anti-)affinity."""
        return bool(self.required_affinity or self.required_anti or self.preferred_affinity or self.preferred_anti)

    @property
    def terminal(self) -> bool:
        return self.phase in ("Succeeded", "Failed")

    def __getstate__(self):
        return tuple(getattr(self, s) for s in self.__slots__)

    def __setstate__(self, state):
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, value)

    def __repr__(self):
        return f"PodInfo({self.key}, node={self.node_name}, cpu={self.cpu}m, memory={self.memory})"


class NodeInfo:
    __slots__ = (
        "name", "labels", "taints", "hard_taints", "prefer_taints", "unschedulable", "alloc_cpu", "alloc_memory", "alloc_pods",
        "images", "pods", "cpu", "memory", "nz_cpu", "nz_memory", "ports", "affinity_pods", "anti_pods", "known", "generation", "memo",
    )
    # `memo` is an equivalence cache, not state: plugins keep scores there keyed by what the
    # score depends on in the pod; any change to the node empties it. Not pickled, not hashed.
    _STATE = __slots__[:-1]

    def __init__(self, name: str):
        self.name = name
        self.labels: dict = {}
        self.taints: tuple = ()
        self.hard_taints: tuple = ()  # NoSchedule and NoExecute: the Filter's business
        self.prefer_taints: tuple = ()  # PreferNoSchedule: the Score's
        self.unschedulable = False
        self.alloc_cpu = self.alloc_memory = 0
        self.alloc_pods = DEFAULT_MAX_PODS
        self.images: dict = {}  # normalized image name -> size in bytes
        self.pods: dict = {}  # pod key -> PodInfo, in the order they arrived
        self.known = False  # False: only pods refer to this node (its Node object is not in the cache)
        self.generation = 0
        self.memo: dict = {}
        self._zero()

    def _zero(self) -> None:
        self.cpu = self.memory = self.nz_cpu = self.nz_memory = 0
        self.ports: dict = {}  # (hostIP, protocol, port) -> how many pods use it
        self.affinity_pods = 0  # pods with any pod (anti-)affinity
        self.anti_pods = 0  # pods with required anti-affinity

    @classmethod
    def from_node(cls, node: dict) -> "NodeInfo":
        info = cls(node.get("metadata", {}).get("name", ""))
        info.set_node(node)
        return info

    def set_node(self, node: dict) -> None:
        meta = node.get("metadata") if isinstance(node.get("metadata"), dict) else {}
        spec = node.get("spec") if isinstance(node.get("spec"), dict) else {}
        status = node.get("status") if isinstance(node.get("status"), dict) else {}
        self.labels = dict(meta.get("labels") or {}) if isinstance(meta.get("labels"), dict) else {}
        self.taints = lb.taints_of(node)
        self.hard_taints = tuple(t for t in self.taints if t[2] in ("NoSchedule", "NoExecute"))
        self.prefer_taints = tuple(t for t in self.taints if t[2] == "PreferNoSchedule")
        self.unschedulable = bool(spec.get("unschedulable"))
        allocatable = status.get("allocatable") if isinstance(status.get("allocatable"), dict) else None
        if allocatable is None:
            allocatable = status.get("capacity") if isinstance(status.get("capacity"), dict) else {}
        self.alloc_cpu = safe_milli(allocatable.get("cpu", 0))
        self.alloc_memory = safe_value(allocatable.get("memory", 0))
        self.alloc_pods = safe_value(allocatable.get("pods", DEFAULT_MAX_PODS), DEFAULT_MAX_PODS) if "pods" in allocatable else DEFAULT_MAX_PODS
        images = {}
        for image in status.get("images") or []:
            if not isinstance(image, dict):
                continue
            size = image.get("sizeBytes") if isinstance(image.get("sizeBytes"), int) else 0
            for name in image.get("names") or []:
                if isinstance(name, str):
                    images[normalized_image(name)] = size
        self.images = images
        self.known = True
        self.generation += 1
        self.memo = {}

    # --- pods: the incremental fast path ---------------------------------------------------------
    def add_pod(self, pod: PodInfo) -> None:
        self.pods[pod.key] = pod
        self._count(pod, 1)
        self.generation += 1
        self.memo = {}

    def remove_pod(self, key: str) -> PodInfo | None:
        pod = self.pods.pop(key, None)
        if pod is not None:
            self._count(pod, -1)
            self.generation += 1
            self.memo = {}
        return pod

    def _count(self, pod: PodInfo, sign: int) -> None:
        self.cpu += sign * pod.cpu
        self.memory += sign * pod.memory
        self.nz_cpu += sign * pod.nz_cpu
        self.nz_memory += sign * pod.nz_memory
        for port in pod.ports:
            left = self.ports.get(port, 0) + sign
            if left:
                self.ports[port] = left
            else:
                del self.ports[port]
        if pod.has_affinity:
            self.affinity_pods += sign
        if pod.required_anti:
            self.anti_pods += sign

    def recount(self) -> None:
        """The straightforward way: forget the sums and add every pod again."""
        self._zero()
        for pod in self.pods.values():
            self._count(pod, 1)

    def sums(self) -> tuple:
        return (self.cpu, self.memory, self.nz_cpu, self.nz_memory, tuple(sorted(self.ports.items())), self.affinity_pods, self.anti_pods)

    def clone(self) -> "NodeInfo":
        """A copy whose pods can be added and removed (preemption's what-if) without touching this one."""
        other = NodeInfo.__new__(NodeInfo)
        for name in self._STATE:
            setattr(other, name, getattr(self, name))
        other.pods = dict(self.pods)
        other.ports = dict(self.ports)
        other.memo = {}
        return other

    def port_in_use(self, port: tuple) -> bool:
        """nodeports: a wanted (hostIP, protocol, port) conflicts with one in use when protocol
        and port agree and either IP is the 0.0.0.0 wildcard or they are equal."""
        ip, protocol, number = port
        for used_ip, used_protocol, used_number in self.ports:
            if used_number == number and used_protocol == protocol and (ip == used_ip or ip == "0.0.0.0" or used_ip == "0.0.0.0"):
                return True
        return False

    def __getstate__(self):
        return tuple(getattr(self, s) for s in self._STATE)

    def __setstate__(self, state):
        for name, value in zip(self._STATE, state, strict=True):
            setattr(self, name, value)
        self.memo = {}

    def __repr__(self):
        return f"NodeInfo({self.name}, cpu {self.cpu}/{self.alloc_cpu}m, memory {self.memory}/{self.alloc_memory}, pods {len(self.pods)}/{self.alloc_pods})"
