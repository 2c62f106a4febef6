"""The scenario file schema (scenarios/README.md documents it for authors).

Pydantic models, strict about unknown keys so a typo ("narate:") is an error naming its
line, not a silently ignored step. A model checks what can be checked without a cluster
(ranges, choices, one condition per mapping); what needs the running cluster (a target
that exists, a service to send traffic to) is checked when the step runs, and a failure
there fails that step with the cluster's own message.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

ID_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$"
MAX_VIRTUAL_SECONDS = 4 * 3600  # the longest a run can last (a lesson is minutes)
LANGUAGES = ("en", "zh-Hans")
Name = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Short = Annotated[str, StringConstraints(min_length=1, max_length=253)]
Seconds = Annotated[float, Field(gt=0, le=3600, allow_inf_nan=False)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


class Text(Strict):
    """The same words in English and Simplified Chinese: both are required."""

    en: str = Field(..., min_length=1, max_length=4000)
    zh_hans: str = Field(..., alias="zh-Hans", min_length=1, max_length=4000)

    def pick(self, lang: str) -> str:
        return self.zh_hans if lang == "zh-Hans" else self.en


class ClusterSpec(Strict):
    members: int = Field(3, ge=1, le=7, description="etcd members")
    nodes: int = Field(3, ge=0, le=50)
    profile: Literal["teaching", "realistic"] = "teaching"
    seed: int = Field(1, ge=0, le=2**63 - 1)
    rbac: bool = False
    pre_vote: bool = True
    proxy_mode: Literal["iptables", "ipvs"] = "iptables"


class ClusterOverride(Strict):
    """One more cluster run side by side with the main one: the main spec with these changes."""

    members: int | None = Field(None, ge=1, le=7)
    nodes: int | None = Field(None, ge=0, le=50)
    profile: Literal["teaching", "realistic"] | None = None
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    rbac: bool | None = None
    pre_vote: bool | None = None
    proxy_mode: Literal["iptables", "ipvs"] | None = None


class Narration(Text):
    highlight: list[Short] = Field(default_factory=list, max_length=20, description="components to highlight: etcd-0, kube-apiserver, node-2/kubelet...")


class Question(Strict):
    question: Text
    choices: list[Text] = Field(..., min_length=2, max_length=6)
    answer: int = Field(..., ge=0, description="the right choice, counted from 0")
    explain: Text | None = None

    @model_validator(mode="after")
    def _answer_is_a_choice(self):
        if self.answer >= len(self.choices):
            raise ValueError(f"answer {self.answer} is not a choice: choices are counted from 0 to {len(self.choices) - 1}")
        return self


# --- actions -----------------------------------------------------------------------------
Target = Annotated[str, StringConstraints(min_length=1, max_length=253)]


class Fault(Strict):
    action: Literal["crash", "restart", "isolate", "partition", "heal", "loss", "latency", "timeout"]
    target: Target | None = Field(None, description="a component or host; @leader, @follower, @alive name etcd members by role; $name a remembered one")
    peer: Target | None = None
    groups: list[list[Target]] | None = None
    percent: float | None = Field(None, ge=0, le=100)
    ms: float | None = Field(None, ge=0, le=600_000)


class Etcd(Strict):
    op: Literal["get", "put", "delete", "cas"]
    key: str = Field(..., min_length=1, max_length=1536)
    value: str | None = Field(None, max_length=65536)
    expected: str | None = None
    member: Target | None = None
    consistency: Literal["linearizable", "serializable"] = "linearizable"


class Traffic(Strict):
    service: Short
    namespace: Short = "default"
    rate: float = Field(..., gt=0, le=1000)
    seconds: Seconds
    source: Short = "external"
    port: int | str | None = None
    path: str | None = Field(None, max_length=2048)


class Node(Strict):
    action: Literal["add", "remove"]
    name: Name
    cpu: str | int | float | None = None
    memory: str | int | None = None
    labels: dict[str, str] | None = None
    taints: list[dict[str, str]] | None = None


class Scale(Strict):
    name: Short
    kind: Literal["Deployment", "ReplicaSet", "StatefulSet"] = "Deployment"
    namespace: Short = "default"
    replicas: int = Field(..., ge=0, le=1000)


Selector = str | dict[str, str]


class Delete(Strict):
    kind: str = Field(..., min_length=1, max_length=63, description="Pod, Deployment, Node... (the core and apps groups, batch, ...)")
    name: Short | None = None
    selector: Selector | None = Field(None, description="labels, as app=web or {app: web}: the first `count` matching objects by name")
    namespace: Short | None = "default"
    count: int = Field(1, ge=1, le=100)

    @model_validator(mode="after")
    def _name_or_selector(self):
        if (self.name is None) == (self.selector is None):
            raise ValueError("give either name or selector")
        return self


class KubeRequest(Strict):
    """A raw request as kubectl sends it (verb, resource...), optionally as another user."""

    verb: Literal["get", "list", "create", "update", "patch", "delete", "deletecollection"]
    resource: Short
    group: str = ""
    version: str = "v1"
    namespace: Short | None = "default"
    name: Short | None = None
    subresource: Short | None = None
    body: dict[str, Any] | list | None = None
    patch_type: Literal["merge", "strategic", "json", "apply"] | None = None
    user: dict[str, Any] | None = Field(None, description="{name, groups}: act as this user (kubectl --as)")


class Clock(Strict):
    speed: float = Field(..., ge=0.01, le=100, description="virtual seconds per wall second, in a live run")


ACTION_KINDS = ("fault", "etcd", "traffic", "node", "scale", "delete", "kubectl", "advance", "clock", "remember")


class Action(Strict):
    on: str | list[str] | None = Field(None, description="which cluster: main (the default), a name under `compare`, a list, or all")
    as_: Name | None = Field(None, alias="as", description="remember the result (a request, a resolved target, the deleted names) under this name")
    fault: Fault | None = None
    etcd: Etcd | None = None
    traffic: Traffic | None = None
    node: Node | None = None
    scale: Scale | None = None
    delete: Delete | None = None
    kubectl: KubeRequest | None = None
    advance: Seconds | None = Field(None, description="let this many virtual seconds pass (the clock)")
    clock: Clock | None = Field(None, description="a live run's speed from here on (a fast run has no wall clock: it ignores this)")
    remember: str | None = Field(None, min_length=1, max_length=500, description="a path into the state whose value `as:` keeps, to compare later")

    @model_validator(mode="after")
    def _remember_needs_a_name(self):
        if self.remember is not None and self.as_ is None:
            raise ValueError("remember needs `as:` (the name to keep the value under)")
        return self

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [k for k in ACTION_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"an action needs exactly one of: {', '.join(ACTION_KINDS)}" + (f" (found {', '.join(given)})" if given else ""))
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ACTION_KINDS if getattr(self, k) is not None)


# --- conditions --------------------------------------------------------------------------
class PodsQuery(Strict):
    selector: Selector | None = None
    namespace: Short = "default"
    count: int | None = Field(None, ge=0, le=10000, description="exactly this many")
    at_least: int | None = Field(None, alias="at least", ge=0, le=10000)


class LeaderQuery(Strict):
    not_: str | None = Field(None, alias="not", description="a member (or a remembered $name) that must not be the leader")


class EventQuery(Strict):
    kind: str = Field(..., min_length=1, max_length=100, description="an event kind, or a prefix ending in '.' (scheduler.)")
    source: str | None = None
    target: str | None = None
    data: dict[str, Any] | None = Field(None, description="fields the event's data must hold")
    summary_contains: str | None = Field(None, alias="summary contains")
    count: int | None = Field(None, ge=0)
    at_least: int | None = Field(None, alias="at least", ge=0)


CONDITION_FIELDS = {"pods ready": "pods_ready", "pods pending": "pods_pending", "leader elected": "leader_elected", "no leader": "no_leader",
                    "node NotReady": "node_not_ready", "node Ready": "node_ready", "path": "path", "event": "event"}
CONDITION_KINDS = tuple(CONDITION_FIELDS)
COMPARATOR_FIELDS = {"equals": "equals", "not equals": "not_equals", "at least": "at_least", "at most": "at_most", "more than": "more_than",
                     "less than": "less_than", "count": "count", "exists": "exists",
                     "contains": "contains", "not contains": "not_contains"}
COMPARATORS = tuple(COMPARATOR_FIELDS)


class Condition(Strict):
    on: str | None = Field(None, description="which cluster (main by default)")
    text: Text | None = Field(None, description="how the assertion reads (default: generated from the condition)")
    pods_ready: PodsQuery | None = Field(None, alias="pods ready")
    pods_pending: PodsQuery | None = Field(None, alias="pods pending")
    leader_elected: LeaderQuery | Literal[True] | None = Field(None, alias="leader elected")
    no_leader: Literal[True] | None = Field(None, alias="no leader")
    node_not_ready: Name | None = Field(None, alias="node NotReady")
    node_ready: Name | None = Field(None, alias="node Ready")
    path: str | None = Field(None, min_length=1, max_length=500, description="a JSONPath-like path into the state")
    event: EventQuery | None = None
    equals: Any = None
    not_equals: Any = Field(None, alias="not equals")
    at_least: int | float | str | None = Field(None, alias="at least", description="a number, or $name")
    at_most: int | float | str | None = Field(None, alias="at most", description="a number, or $name")
    more_than: int | float | str | None = Field(None, alias="more than", description="a number, or $name")
    less_than: int | float | str | None = Field(None, alias="less than", description="a number, or $name")
    count: int | None = Field(None, ge=0)
    exists: bool | None = None
    contains: Any = None
    not_contains: Any = Field(None, alias="not contains")

    @model_validator(mode="after")
    def _exactly_one(self):
        kinds = [k for k, field in CONDITION_FIELDS.items() if getattr(self, field) is not None]
        if len(kinds) != 1:
            raise ValueError(f"a condition needs exactly one of: {', '.join(CONDITION_KINDS)}" + (f" (found {', '.join(kinds)})" if kinds else ""))
        given = self.comparisons()
        if kinds[0] == "path":
            if len(given) != 1:
                raise ValueError(f"a path needs exactly one comparison: {', '.join(COMPARATORS)}")
        elif given:
            raise ValueError(f"{given[0]} goes with path only")
        return self

    def comparisons(self) -> list[str]:
        """The comparators written in the file (`equals: null` is a comparison with null)."""
        return [k for k, field in COMPARATOR_FIELDS.items() if field in self.model_fields_set]

    @property
    def kind(self) -> str:
        return next(k for k, field in CONDITION_FIELDS.items() if getattr(self, field) is not None)


class Wait(Condition):
    timeout: Seconds = Field(60, description="virtual seconds to wait before the step fails")


class Step(Strict):
    title: Text
    narrate: Narration | None = None
    ask: Question | None = None
    apply: list[dict[str, Any]] = Field(default_factory=list, max_length=50, description="manifests, applied as kubectl apply --server-side would")
    actions: list[Action] = Field(default_factory=list, max_length=100)
    wait: list[Wait] = Field(default_factory=list, max_length=20, description="one condition, or a list waited for one after another")
    expect: list[Condition] = Field(default_factory=list, max_length=50)
    apply_on: str | list[str] | None = Field(None, alias="apply on", description="which cluster(s) the manifests go to (main by default)")

    @field_validator("wait", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        return [value] if isinstance(value, dict) else value

    @field_validator("apply")
    @classmethod
    def _manifests(cls, docs):
        for i, doc in enumerate(docs):
            for key in ("apiVersion", "kind", "metadata"):
                if key not in doc:
                    raise ValueError(f"manifest {i} has no {key}")
            if not isinstance(doc["metadata"], dict) or not isinstance(doc["metadata"].get("name"), str):
                raise ValueError(f"manifest {i} needs metadata.name")
        return docs


class Scenario(Strict):
    id: Name
    title: Text
    summary: Text
    level: Literal["beginner", "intermediate", "advanced"]
    duration: int = Field(..., ge=1, le=240, description="minutes, for a class")
    cluster: ClusterSpec = Field(default_factory=ClusterSpec)
    compare: dict[Name, ClusterOverride] = Field(default_factory=dict, max_length=5, description="more clusters run side by side, by name")
    steps: list[Step] = Field(..., min_length=1, max_length=100)

    @model_validator(mode="after")
    def _reserved_names(self):
        # (that every `on:` names a cluster is checked by the loader, which knows the lines)
        if "main" in self.compare or "all" in self.compare:
            raise ValueError("compare: main and all are reserved names")
        return self

    @field_validator("steps")
    @classmethod
    def _bounded(cls, steps):
        """A run can last at most MAX_VIRTUAL_SECONDS: the sum of every pause and wait timeout."""
        longest = sum(a.advance or 0 for s in steps for a in s.actions) + sum(w.timeout for s in steps for w in s.wait)
        if longest > MAX_VIRTUAL_SECONDS:
            raise ValueError(f"the steps' advances and wait timeouts add up to {longest:g} virtual seconds; at most {MAX_VIRTUAL_SECONDS} are allowed")
        return steps
