"""The REST API under /api (shared/DESIGN.md section 4), built on Django Ninja.

Why Ninja: it generates the OpenAPI schema and a browsable page from the same typed
signatures that validate requests (pydantic), supports async views (needed to wait for
the simulation), and ships Swagger UI as local static files (no CDN). Every error is
`{"error": "...", "field": "..."}` with a 4xx status.
"""

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from ninja import NinjaAPI, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from pydantic import ConfigDict, Field

from cluster.commands import CommandError

from .. import limits, selectors, services
from ..classroom import access
from ..classroom import service as classrooms
from .roles import KEY_HEADER, key_of, requires

api = NinjaAPI(
    title="Clusterscope API",
    version="1.0",
    description="Drive simulated Kubernetes clusters: create them, move their clocks, read their state and events.",
    openapi_url="/schema",
    docs_url="/docs",
    urls_namespace="api",
)

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


def error(status: int, message: str, field: str | None = None) -> JsonResponse:
    return JsonResponse({"error": message, "field": field}, status=status)


@api.exception_handler(CommandError)
def on_command_error(request, exc: CommandError):
    return error(exc.status, exc.message, exc.field)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    first = exc.errors[0] if exc.errors else {}
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "payload")]
    field = ".".join(loc) or None
    message = first.get("msg", "invalid request")
    if first.get("type") == "extra_forbidden":
        message = f"unknown field: {field}"
    elif first.get("type") == "json_invalid" or field is None and "JSON" in message:
        message = "the request body is not valid JSON"
    elif field:
        message = f"{field}: {message}"
    return error(400, message, field)


@api.exception_handler(RequestDataTooBig)
def on_body_too_big(request, exc):
    # Django would answer its HTML 400 page; a script wants to know the body was too large.
    return error(413, f"the request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes", "body")


@api.exception_handler(limits.RateLimited)
def on_rate_limited(request, exc: limits.RateLimited):
    response = error(429, exc.message)
    response["Retry-After"] = exc.retry_after_header
    return response


def over_limit(value, name: str, field: str, what: str) -> None:
    """A request past one of the server's limits (dashboard/limits.py) is a 422 naming it."""
    if value > limits.get(name):
        raise CommandError(f"{what} is at most {limits.get(name):g} on this server (limit {name})", field, status=422)


@api.exception_handler(access.Forbidden)
def on_forbidden(request, exc: access.Forbidden):
    return error(403, exc.message, KEY_HEADER)


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return error(exc.status_code, str(exc))


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return error(401, "authentication required")


class Strict(Schema):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ClusterCreate(Strict):
    name: str = Field(..., min_length=1, max_length=63, pattern=NAME_PATTERN, description="a DNS label: lower-case letters, digits and '-'")
    etcd_members: int = Field(3, ge=1, le=7)
    nodes: int = Field(3, ge=0, le=5000)
    seed: int = Field(1, ge=0, le=2**63 - 1)
    speed: float = Field(1.0, ge=0.01, le=100)
    paused: bool = False
    profile: str = Field("teaching", pattern="^(teaching|realistic)$")
    rbac: bool = Field(False, description="the API server authorizes requests with RBAC (anonymous users get Forbidden)")
    pre_vote: bool = Field(True, description="etcd's pre-vote; off, a member rejoining after a partition disrupts a healthy leader")
    raft_heartbeat_ms: int | None = Field(None, ge=10, le=600_000, description="Raft heartbeat interval (default: the profile's)")
    raft_election_min_ms: int | None = Field(None, ge=10, le=600_000, description="shortest election timeout (default: the profile's)")
    raft_election_max_ms: int | None = Field(None, ge=10, le=600_000, description="longest election timeout (default: the profile's)")
    proxy_mode: str = Field("iptables", pattern="^(iptables|ipvs)$", description="every kube-proxy's mode: iptables or ipvs")
    ipvs_scheduler: str = Field("rr", pattern="^(rr|lc|sh)$", description="the IPVS scheduler in ipvs mode: rr (round robin), lc (least connections), sh (source hashing)")
    epoch: str | None = Field(None, pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", description="the UTC instant virtual time 0 stands for, e.g. 2026-03-05T09:30:00Z (default: now)")


class ClockPatch(Strict):
    paused: bool | None = None
    speed: float | None = Field(None, ge=0.01, le=100)


class AdvanceBody(Strict):
    seconds: float = Field(..., gt=0, le=services.MAX_ADVANCE_SECONDS)


class EventsQuery(Strict):
    model_config = ConfigDict(extra="forbid", strict=False, allow_inf_nan=False)
    after: int = Field(0, ge=0, le=2**63 - 1)
    limit: int = Field(1000, ge=1, le=selectors.MAX_EVENTS_PAGE)


class Counts(Schema):
    components: int
    events: int
    commands: int


class ClusterSummary(Schema):
    name: str
    seed: int
    time: float = Field(..., description="virtual seconds")
    paused: bool
    speed: float
    profile: str
    etcd_members: int
    nodes: int
    rbac: bool
    proxy_mode: str
    ipvs_scheduler: str
    pre_vote: bool
    epoch: str = Field(..., description="the UTC instant virtual time 0 stands for (timestamps in objects are epoch + virtual time)")
    raft: dict = Field(..., description="the Raft timing in force: heartbeat_ms, election_min_ms, election_max_ms")
    counts: Counts
    last_seq: int
    lagging: bool
    state_hash: str
    history: dict = Field(..., description="head (virtual seconds: the furthest this timeline has run), live (false after a seek into the past), ahead (recorded commands still ahead), commands")


class ClusterList(Schema):
    items: list[ClusterSummary]


class Error(Schema):
    error: str
    field: str | None = None


class AdvanceResult(Schema):
    time: float
    last_seq: int


class EventsPage(Schema):
    events: list[dict]
    last_seq: int
    first_seq: int


ERRORS = {400: Error, 403: Error, 404: Error, 409: Error, 410: Error, 429: Error, 503: Error}


@api.get("/clusters", response=ClusterList, summary="List clusters")
async def list_clusters(request: HttpRequest):
    services.registry.ensure_ticker()
    return {"items": selectors.list_summaries()}


@api.post("/clusters", response={201: ClusterSummary, **ERRORS}, summary="Create a cluster")
async def create_cluster(request: HttpRequest, payload: ClusterCreate):
    services.registry.ensure_ticker()
    over_limit(payload.nodes, "nodes_per_cluster", "nodes", "the number of nodes")
    limits.cluster_creation(limits.client_of(request))
    handle = services.create_cluster(**payload.dict())
    return Status(201, handle.summary())


# Before /clusters/{name}: Django takes the first pattern that matches the path.
class ImportQuery(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)
    name: str | None = Field(None, min_length=1, max_length=63, pattern=NAME_PATTERN, description="import under another name (the state hash then differs)")


@api.post("/clusters/import", response={201: dict, 413: Error, **ERRORS}, summary="A cluster from an exported YAML file")
async def import_cluster(request: HttpRequest, query: Query[ImportQuery]):
    """The request body is the exported file. The log is replayed to the exported position and
    checked against its state hash. 201 with {"cluster": summary, "checkpoint": "used" or "not used"}."""
    limit = settings.IMPORT_MAX_BYTES
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return error(413, f"the file is larger than {limit // (1024 * 1024)} MiB", "file")
    raw = request.read(limit + 1)  # not request.body: files may exceed DATA_UPLOAD_MAX_MEMORY_SIZE
    if not raw.strip():
        return error(400, "the request body must be an exported cluster (YAML)", "file")
    services.registry.ensure_ticker()
    handle, used = await services.import_cluster(raw=raw, name=query.name)
    return Status(201, {"cluster": handle.summary(), "checkpoint": "used" if used else "not used"})


@api.get("/clusters/{name}", response={200: ClusterSummary, **ERRORS}, summary="A cluster's summary")
async def get_cluster(request: HttpRequest, name: str):
    services.registry.ensure_ticker()
    return selectors.summary(name=name)


@api.delete("/clusters/{name}", response={204: None, **ERRORS}, summary="Delete a cluster")
@requires("destructive")
async def delete_cluster(request: HttpRequest, name: str):
    services.delete_cluster(name=name)
    classrooms.cluster_deleted(name)  # a classroom on it ends; a sandbox's name is free again
    return Status(204, None)


@api.patch("/clusters/{name}/clock", response={200: ClusterSummary, **ERRORS}, summary="Pause, resume or change speed")
@requires("write")
async def patch_clock(request: HttpRequest, name: str, payload: ClockPatch):
    services.registry.ensure_ticker()
    handle = services.set_clock(name=name, paused=payload.paused, speed=payload.speed)
    return handle.summary()


@api.post("/clusters/{name}/advance", response={200: AdvanceResult, **ERRORS}, summary="Advance a paused cluster")
@requires("write")
async def advance(request: HttpRequest, name: str, payload: AdvanceBody):
    handle = await services.advance(name=name, seconds=payload.seconds)
    return {"time": handle.cluster.time, "last_seq": handle.cluster.last_seq}


@api.post("/clusters/{name}/step", response={200: AdvanceResult, **ERRORS}, summary="Execute one action of a paused cluster")
@requires("write")
async def step(request: HttpRequest, name: str):
    handle, _ = services.step(name=name)
    return {"time": handle.cluster.time, "last_seq": handle.cluster.last_seq}


class StateQuery(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)
    detail: str = Field("", max_length=30_000, description="a large cluster's nodes to show in full detail, comma-separated (at most 100; cluster/compact.py)")


@api.get("/clusters/{name}/state", response={200: dict, **ERRORS}, summary="The full snapshot, as the WebSocket sends it")
async def state(request: HttpRequest, name: str, query: Query[StateQuery]):
    return selectors.snapshot(name=name, detail=query.detail)


@api.get("/clusters/{name}/events", response={200: EventsPage, **ERRORS}, summary="Events after a sequence number")
async def events(request: HttpRequest, name: str, query: Query[EventsQuery]):
    return selectors.events(name=name, after=query.after, limit=query.limit)


class FaultBody(Strict):
    action: str = Field(..., description="crash, restart, isolate, partition, heal, loss, latency, or timeout (fire an etcd member's election timer now)")
    target: str | None = Field(None, max_length=253, description="the endpoint (an etcd member, a node...) for crash, restart, isolate, loss, latency")
    peer: str | None = Field(None, max_length=253, description="with loss or latency: only the link between target and peer")
    groups: list[list[str]] | None = Field(None, description="partition: the groups that can still talk among themselves")
    percent: float | None = Field(None, ge=0, le=100, description="loss: share of messages dropped")
    ms: float | None = Field(None, ge=0, le=600_000, description="latency: extra milliseconds per message")


@api.post("/clusters/{name}/faults", response={200: dict, **ERRORS}, summary="Inject or clear a fault")
@requires("destructive")
async def faults(request: HttpRequest, name: str, payload: FaultBody):
    command = {"type": "fault", **{k: v for k, v in payload.dict().items() if v is not None}}
    result = services.run_command(name=name, command=command)
    return {**result, "network": selectors.snapshot(name=name)["network"]}


class EtcdRequest(Strict):
    op: str = Field(..., description="get, put, delete or cas")
    key: str = Field(..., min_length=1, max_length=1536)
    value: str | None = Field(None, max_length=1_572_864, description="put and cas: the new value")
    expected: str | None = Field(None, max_length=1_572_864, description="cas: the value the key must hold; null means 'key absent'")
    member: str | None = Field(None, max_length=63, description="the member to send it to (followers forward writes to the leader)")
    consistency: str = Field("linearizable", description="linearizable (ReadIndex through the leader) or serializable (the member's own, maybe stale, state)")
    timeout: float | None = Field(None, gt=0, le=services.MAX_ETCD_TIMEOUT, description="wall seconds to wait for the outcome (default 10)")


@api.post(
    "/clusters/{name}/etcd",
    response={**ERRORS, 200: dict, 503: dict, 504: dict},
    summary="A client request to etcd, answered when the simulation answers it",
)
@requires("write")
async def etcd_request(request: HttpRequest, name: str, payload: EtcdRequest):
    fields = payload.dict()
    timeout = fields.pop("timeout") or services.DEFAULT_ETCD_TIMEOUT
    # "expected": null means "key absent" for cas, and nothing for other ops.
    command = {"type": "etcd", **{k: v for k, v in fields.items() if v is not None or (k == "expected" and fields["op"] == "cas")}}
    status, body = await services.etcd_request(name=name, command=command, timeout=timeout)
    return Status(status, body)


@api.get("/clusters/{name}/requests/{path:request_id}", response={200: dict, **ERRORS}, summary="One API request, as the API server kept it")
async def api_request(request: HttpRequest, name: str, request_id: str):
    """The request inspector's source: verb, path, user, stages, code, etcd key, revision, the
    body as sent and the answer's object at that revision (a summary for lists, watches and
    logs). `request_id` is "<client>#<id>" (URL-encode the #: kubectl%237)."""
    return selectors.api_request(name=name, request=request_id)


@api.get("/clusters/{name}/scheduler/pods/{namespace}/{pod}", response={200: dict, **ERRORS}, summary="A pod's scheduling attempts")
async def scheduler_pod(request: HttpRequest, name: str, namespace: str, pod: str):
    """Every attempt (newest last): per node the filter verdicts and the raw, normalized and
    weighted scores, the chosen node, the nomination and the victims of preemption."""
    return selectors.scheduler_decisions(name=name, namespace=namespace, pod=pod)


class Taint(Strict):
    key: str = Field(..., min_length=1, max_length=316)
    value: str = Field("", max_length=63)
    effect: str = Field(..., description="NoSchedule, PreferNoSchedule or NoExecute")


class NodeCreate(Strict):
    name: str = Field(..., min_length=1, max_length=63, pattern=NAME_PATTERN, description="a DNS label, e.g. node-4")
    cpu: str | int | float = Field("4", description='cores: "4", "4000m" or a number')
    memory: str | int = Field("8Gi", description='bytes: "8Gi", "512Mi" or a number')
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)


class NodeSummary(Schema):
    name: str
    cpu: str
    memory: str
    pods: int
    labels: dict[str, str]
    taints: list[dict]
    pod_cidr: str
    internal_ip: str


@api.post("/clusters/{name}/nodes", response={201: NodeSummary, **ERRORS}, summary="Add a node")
@requires("write")
async def add_node(request: HttpRequest, name: str, payload: NodeCreate):
    """Its containerd and kubelet start; the kubelet registers the Node with these labels and taints."""
    kubelets = sum(1 for component in services.get_handle(name).cluster.sim.components if component.endswith("/kubelet"))
    over_limit(kubelets + 1, "nodes_per_cluster", "name", "the number of nodes")
    node = services.add_node(name=name, node=payload.name, cpu=payload.cpu, memory=payload.memory, labels=payload.labels,
                             taints=[t.dict() for t in payload.taints])
    return Status(201, node)


@api.delete("/clusters/{name}/nodes/{node}", response={204: None, **ERRORS}, summary="Remove a node")
@requires("destructive")
async def remove_node(request: HttpRequest, name: str, node: str):
    """Its kubelet, runtime and proxy stop for good; kubectl deletes the Node object."""
    services.remove_node(name=name, node=node)
    return Status(204, None)


class TrafficBody(Strict):
    namespace: str = Field("default", min_length=1, max_length=63)
    service: str = Field(..., min_length=1, max_length=63)
    rate: float = Field(..., gt=0, le=1000, description="requests per virtual second")
    seconds: float = Field(..., gt=0, le=3600, description="how long the client sends, in virtual seconds")
    source: str = Field(..., min_length=1, max_length=253, description='a pod name ("client" or "namespace/client") to send from inside the cluster, or "external" for a client on a NodePort')
    port: int | str | None = Field(None, description="the service port (name or number); default: the first")
    path: str | None = Field(None, max_length=2048, description="the HTTP path (default /)")


@api.post("/clusters/{name}/traffic", response={202: dict, **ERRORS}, summary="Send traffic to a Service")
@requires("write")
async def start_traffic(request: HttpRequest, name: str, payload: TrafficBody):
    """A client sends `rate` requests per virtual second for `seconds`: each one decided by the rules
    of the node where it starts, carried to the chosen pod, served and answered. 202 with the generator."""
    over_limit(payload.rate, "traffic_rate", "rate", "a traffic generator's rate")
    return Status(202, services.start_traffic(name=name, **payload.dict()))


@api.delete("/clusters/{name}/traffic/{generator}", response={200: dict, **ERRORS}, summary="Stop a traffic generator")
@requires("write")
async def stop_traffic(request: HttpRequest, name: str, generator: str):
    """Nothing more is sent; the requests in flight are answered or time out. 200 {"generator",
    "stopped" (false if it had already stopped sending), "state", "sent"}; 404 unknown generator."""
    return services.stop_traffic(name=name, generator=generator)


@api.get("/clusters/{name}/traffic", response={200: dict, **ERRORS}, summary="Traffic counters per service")
async def traffic(request: HttpRequest, name: str):
    """{"services": [{"namespace", "name", "requests", "errors", "pods": {pod: count}, "latency_ms": {"p50", "p99"},
    "nodes", "via", "errors_by", "pod_detail", "node_detail"}], "generators": [...]}"""
    return selectors.traffic(name=name)


@api.get("/clusters/{name}/proxy/{node}/rules", response={200: str, **ERRORS}, summary="A node's kube-proxy rules as text")
async def proxy_rules(request: HttpRequest, name: str, node: str):
    """`iptables-save` (iptables mode) or `ipvsadm -Ln` (ipvs mode) of the node, now (text/plain)."""
    return HttpResponse(selectors.proxy_rules(name=name, node=node), content_type="text/plain; charset=utf-8")


# --- history (dashboard/history/README.md) ------------------------------------------------
class SeekBody(Strict):
    time: float = Field(..., ge=0, le=10**9, description="virtual seconds: a moment in the past (rebuilt from the nearest checkpoint) or ahead")


class ForkBody(Strict):
    name: str = Field(..., min_length=1, max_length=63, pattern=NAME_PATTERN, description="the new cluster's name")
    time: float | None = Field(None, ge=0, le=10**9, description="virtual seconds (default: now); at most the furthest point reached")


@api.post("/clusters/{name}/seek", response={200: ClusterSummary, **ERRORS}, summary="Go to another moment of the cluster's history")
@requires("write")
async def seek(request: HttpRequest, name: str, payload: SeekBody):
    """Back in time the cluster is rebuilt from its nearest checkpoint and replayed; forward it
    follows the recorded commands. An action taken in the past forks the timeline: the old
    future is kept as a branch (GET .../branches). The clock keeps its paused/running state."""
    services.registry.ensure_ticker()
    return (await services.seek(name=name, time=payload.time)).summary()


@api.post("/clusters/{name}/fork", response={201: ClusterSummary, **ERRORS}, summary="A new cluster from this one at a moment of its history")
@requires("fork")
async def fork(request: HttpRequest, name: str, payload: ForkBody):
    """The new cluster (paused) has this one's configuration, seed and commands up to `time`,
    and its own log from then on; this cluster is untouched."""
    handle = await services.fork(name=name, new_name=payload.name, time=payload.time)
    classrooms.own_fork(name, payload.name, key_of(request))  # a viewer's fork of a shared cluster is their sandbox
    return Status(201, handle.summary())


@api.get("/clusters/{name}/branches", response={200: dict, **ERRORS}, summary="Futures set aside by acting in the past")
async def branches(request: HttpRequest, name: str):
    """{"items": [{"id", "fork" (virtual seconds where it parts from the active timeline), "head", "commands", "ahead"}], "history": {...}}"""
    return services.branches(name=name)


@api.post("/clusters/{name}/branches/{branch}/switch", response={200: ClusterSummary, **ERRORS}, summary="Return to a branch")
@requires("write")
async def switch_branch(request: HttpRequest, name: str, branch: int):
    """The branch becomes the active timeline and the active one a branch in its place; a
    cluster past the point where they part goes back to it."""
    return (await services.switch_branch(name=name, branch=branch)).summary()


@api.delete("/clusters/{name}/branches/{branch}", response={204: None, **ERRORS}, summary="Discard a branch")
@requires("destructive")
async def discard_branch(request: HttpRequest, name: str, branch: int):
    services.discard_branch(name=name, branch=branch)
    return Status(204, None)


class ExportQuery(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)
    checkpoint: bool = Field(False, description="include a checkpoint (faster import on this server; other servers ignore it)")


@api.get("/clusters/{name}/export", response={200: str, **ERRORS}, summary="The cluster as a YAML file")
async def export(request: HttpRequest, name: str, query: Query[ExportQuery]):
    """Configuration, seed, clock, position and the command log (and, if asked, a checkpoint):
    POST it to /api/clusters/import to rebuild the cluster at the same state hash."""
    text = services.export_cluster(name=name, checkpoint=query.checkpoint)
    response = HttpResponse(text.encode(), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.clusterscope.yaml"'
    return response


@api.get("/clusters/{name}/events.jsonl", response={200: str, **ERRORS}, summary="The event log as JSON Lines")
async def events_jsonl(request: HttpRequest, name: str, query: Query[EventsQuery]):
    """Every event after `after` (default: from the first) up to now, one JSON object per line;
    events older than those kept are regenerated by replaying a copy (the same seq, the same event)."""
    lines = services.event_lines(name=name, after=query.after)
    response = StreamingHttpResponse(lines, content_type="application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.events.jsonl"'
    return response


def not_found(request: HttpRequest, path: str = ""):
    return error(404, f"no such API path: /api/{path}")


def body_json(request: HttpRequest) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise CommandError("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise CommandError("the request body must be a JSON object")
    return data
