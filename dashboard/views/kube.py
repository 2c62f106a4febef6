"""The Kubernetes API of a simulated cluster, under /k8s/<cluster>/ (shared/k8s-api-contract.md).

    kubectl --server=http://127.0.0.1:8000/k8s/demo --kubeconfig=/dev/null get pods

How a request travels:

    HTTP ──▶ endpoint(): on a classroom's cluster, its roles first (dashboard/kube/roles.py:
             anonymous reads, a key over https to write); route; answer /version,
             discovery and OpenAPI here (no simulation)
         ──▶ dashboard/kube/requests.parse(): path, verb, query, body (JSON, YAML or
             protobuf) -> a `kube` command, or a Status error before anything is recorded
         ──▶ Cluster.command(): validated, recorded in the command log, applied: the kubectl
             component sends "api.request" to kube-apiserver over the simulated network
         ──▶ the runner advances the cluster in real time; the API server answers inside
         ──▶ this view waits (wall time, woken by the runner after every tick) for the
             KubeClient's result, then answers: the object, a List or Table, a Status error
             with its HTTP code, log text; or, for a watch, a stream of JSON lines drained from
             the KubeClient as events arrive, held open until the client leaves (a recorded
             `cancel` command) or the API server ends it.

All cluster access happens on the server's event loop thread (dashboard/runner.py), so the
views are async and touch the cluster only between awaits.
"""

import asyncio
import weakref

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from cluster.clients.kubectl import ENDPOINT
from cluster.commands import CommandError

from .. import services
from ..kube import discovery, roles
from ..kube import requests as kube_requests
from ..kube.status import JSON, dumps, error, json_response, method_not_allowed, not_found, status
from ..runner import registry

WAKE_FALLBACK_SECONDS = 0.1  # the runner wakes waiters after every tick; this is a safety net


class _Waker:
    """Registered with the cluster's handle like a WebSocket consumer: the runner calls
    wake() after every tick and cluster_gone() when the cluster is deleted."""

    __slots__ = ("event", "gone")

    def __init__(self):
        self.event = asyncio.Event()
        self.gone = False

    def wake(self) -> None:
        self.event.set()

    def cluster_gone(self) -> None:
        self.gone = True
        self.event.set()

    async def wait(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.event.wait(), max(0.0, seconds))
        except TimeoutError:
            pass
        self.event.clear()


def _first_values(request: HttpRequest) -> dict[str, str]:
    return {key: values[0] for key, values in request.GET.lists() if values}


def _impersonated(request: HttpRequest) -> dict | None:
    """kubectl --as=<user> [--as-group=<group> ...] sends Impersonate-User and Impersonate-Group.
    Over plain http kubectl sends no credentials at all, so these headers are how a student acts
    as a user of an RBAC cluster: the simulated API server takes the user as a client
    certificate would name it. (A real API server would first check that the caller may
    impersonate; here there is no caller identity to check.)"""
    name = request.headers.get("Impersonate-User", "").strip()
    if not name:
        return None
    groups = [g.strip() for g in request.headers.get("Impersonate-Group", "").split(",") if g.strip()]
    return {"name": name, "groups": groups}


def _agent(request: HttpRequest) -> str:
    """Which HTTP client this is (cluster/clients/kubectl.AGENTS), so the dashboard draws the
    student's kubectl apart from their scripts and from its own requests: kubectl sends
    `User-Agent: kubectl/v1.32.0 (linux/amd64) kubernetes/...`, the Python client
    `OpenAPI-Generator/<version>/python`; the page's inspector says so in a header of its own
    (a browser does not let a page set User-Agent)."""
    if request.headers.get("X-Clusterscope-Client", "").strip().lower() == "inspector":
        return "inspector"
    agent = request.headers.get("User-Agent", "")
    if agent.startswith("kubectl"):  # kubectl/v1.32.0 …, or kubectl.1.32/v1.32.0 … run by gcloud's dispatcher
        return "kubectl"
    if agent.startswith("OpenAPI-Generator/") or agent.startswith("python-requests/") or agent.startswith("Python-urllib/"):
        return "python"
    return "http"


def _token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer " and header[7:].strip():
        return header[7:].strip()[:4096]
    return None


@csrf_exempt
async def endpoint(request: HttpRequest, cluster: str, rest: str = "") -> HttpResponse:
    registry.ensure_demo()
    registry.ensure_ticker()
    handle = registry.get(cluster)
    if handle is None:
        return error(404, f'cluster "{cluster}" not found: create it with POST /api/clusters')
    path = rest.strip("/")
    method = request.method
    token = _token(request)
    if roles.guarded(cluster):  # a classroom's shared cluster or a viewer's sandbox
        refused = roles.refusal(request, cluster, path, token)
        if refused is not None:
            response = error(refused.code, refused.message)
            for key, value in refused.headers.items():
                response[key] = value
            return response
        token = None  # it was a Clusterscope key: never recorded, never shown in the inspector
    if path in ("", "version", "healthz", "livez", "readyz", "api", "apis", "openapi/v2", "openapi/v3") or path.startswith("openapi/"):
        if method not in ("GET", "HEAD"):
            return method_not_allowed()
        return _static(request, path)
    parts = path.split("/")
    if method == "GET" and ((parts[0] == "api" and len(parts) == 2) or (parts[0] == "apis" and len(parts) in (2, 3))):
        return _group_discovery(parts)
    try:
        body = request.body
    except RequestDataTooBig:
        return error(413, "the request body is larger than this server accepts")
    try:
        query = _first_values(request)
    except SuspiciousOperation as exc:  # e.g. more query parameters than Django accepts
        return error(400, f"the query string cannot be read: {exc}")
    try:
        parsed = kube_requests.parse(method, path, query, request.headers.get("Content-Type", ""),
                                     request.headers.get("Accept", ""), body, token, _impersonated(request), _agent(request))
    except kube_requests.BadRequest as exc:
        return error(exc.code, exc.message, exc.reason)
    return await _serve(handle, cluster, parsed)


# --- answered here: version, discovery, OpenAPI ----------------------------------------------
def _static(request: HttpRequest, path: str) -> HttpResponse:
    if path == "":
        paths = ["/api", "/api/v1", "/apis"]
        for group, version in discovery.group_versions():
            if group:
                paths += [f"/apis/{group}", f"/apis/{group}/{version}"]
        paths += ["/healthz", "/livez", "/openapi/v3", "/readyz", "/version"]
        return json_response({"paths": sorted(set(paths))})
    if path == "version":
        return json_response(discovery.SERVER_VERSION)
    if path in ("healthz", "livez", "readyz"):
        return HttpResponse(b"ok", content_type="text/plain")
    if path in ("api", "apis"):
        aggregated = discovery.aggregated_kind(request.headers.get("Accept", ""))
        if aggregated is not None:
            return json_response(discovery.aggregated(path, aggregated), content_type=discovery.AGGREGATED_TYPES[aggregated], headers={"Vary": "Accept"})
        doc = discovery.legacy_api() if path == "api" else discovery.legacy_groups()
        return json_response(doc, headers={"Vary": "Accept"})
    if path == "openapi/v3":
        return json_response(discovery.openapi_index())
    if path.startswith("openapi/v3/"):
        doc = discovery.openapi_for_path(path[len("openapi/v3/"):])
        return not_found() if doc is None else json_response(doc, headers={"Cache-Control": "public, immutable"})
    return not_found()  # /openapi/v2 and the rest: kubectl falls back to built-in knowledge


def _group_discovery(parts: list[str]) -> HttpResponse:
    if parts[0] == "api":
        doc = discovery.legacy_resources("", parts[1])
    elif len(parts) == 2:
        doc = discovery.legacy_group(parts[1])
    else:
        doc = discovery.legacy_resources(parts[1], parts[2])
    return not_found() if doc is None else json_response(doc)


# --- answered by the simulation ---------------------------------------------------------------
async def _serve(handle, name: str, parsed: kube_requests.KubeRequest) -> HttpResponse:
    cluster = handle.cluster
    client = cluster.sim.components.get(ENDPOINT)
    if client is None:
        return error(503, "this cluster has no kubectl endpoint")
    try:
        rid = services.run_command(name=name, command=parsed.command)["id"]
    except CommandError as exc:
        return error(exc.status if 400 <= exc.status < 600 else 400, exc.message)
    answer = await _wait_for_answer(handle, name, cluster, client, rid, parsed.wait_seconds)
    if isinstance(answer, HttpResponse):
        return answer
    code = answer.get("code", 200)
    command = parsed.command
    if answer.get("watch") and code < 300:
        text = command["subresource"] == "log"
        guard = _StreamGuard(handle, name, cluster, rid)
        response = StreamingHttpResponse(_stream(guard, client, text), status=code, content_type="text/plain" if text else JSON)
        response["Cache-Control"] = "no-cache, private"
        response["X-Accel-Buffering"] = "no"
        return response
    headers = {}
    warnings = answer.get("warnings")
    if isinstance(warnings, list) and warnings:
        headers["Warning"] = ", ".join(_warning(w) for w in warnings[:20])
    if "text" in answer and answer.get("body") is None:
        response = HttpResponse(str(answer["text"]).encode(errors="replace"), status=code, content_type="text/plain")
    else:
        body = answer.get("body")
        if body is None:
            body = status(code, "") if code >= 400 else {}
        response = json_response(body, code)
    for key, value in headers.items():
        response[key] = value
    return response


async def _wait_for_answer(handle, name: str, cluster, client, rid: int, wait_seconds: float):
    """The KubeClient's result for rid, or an HttpResponse (a Status) when waiting fails."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    waker = _Waker()
    handle.subscribers.add(waker)
    try:
        while True:
            if waker.gone or registry.get(name) is not handle:
                return error(503, services.waiting_ended(name, handle))
            if handle.cluster is not cluster:
                return error(503, f"cluster {name} was rebuilt while the request was waiting; retry")
            try:
                answer = client.take(rid)
            except KeyError:
                return error(504, "the answer to this request was forgotten before it could be read; retry")
            if answer is not None:
                return answer
            left = deadline - loop.time()
            if left <= 0:
                if handle.paused:
                    return error(504, f"the simulation is paused: resume cluster {name}'s clock or advance its time, then retry "
                                 "(the request was sent and may still take effect)", "Timeout")
                return error(504, f"the simulation did not answer within {wait_seconds:g} wall seconds "
                             "(the request was sent and may still take effect)", "Timeout")
            await waker.wait(min(left, WAKE_FALLBACK_SECONDS))
    finally:
        handle.subscribers.discard(waker)


class _StreamGuard:
    """Ends a watch in the simulation exactly once, whether its HTTP stream finished, the
    client went away mid-stream, or the response was dropped before it ever started (then
    a finalizer schedules the cancel back on the event loop)."""

    def __init__(self, handle, name: str, cluster, rid: int):
        self.handle, self.name, self.cluster, self.rid = handle, name, cluster, rid
        self.closed = False

    def alive(self) -> bool:
        return registry.get(self.name) is self.handle and self.handle.cluster is self.cluster

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        client = self.cluster.sim.components.get(ENDPOINT)
        if not self.alive() or client is None or client.state_of(self.rid) not in ("pending", "watching"):
            return
        try:
            services.run_command(name=self.name, command={"type": "kube", "verb": "cancel", "watch": self.rid})
        except CommandError:
            pass


def _warning(text) -> str:
    """One RFC 7234 warning value as kube-apiserver writes it: `299 - "text"`, the text's
    quotes and backslashes escaped, no line breaks (a header cannot hold them)."""
    text = " ".join(str(text).split())[:1024].replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{text}"'


def _line(item: dict) -> bytes:
    return dumps({"type": item.get("type"), "object": item.get("object")}) + b"\n"


def _stream(guard: _StreamGuard, client, text: bool):
    loop = asyncio.get_running_loop()

    async def generate():
        waker = _Waker()
        guard.handle.subscribers.add(waker)
        try:
            yield b""  # sends the status line and headers now, not with the first event
            while guard.alive() and not waker.gone:
                items, over, overflowed = client.drain(guard.rid)
                if items:
                    yield b"".join(str(i.get("text", "")).encode(errors="replace") if text else _line(i) for i in items)
                if overflowed:
                    if not text:
                        expired = status(410, "the watch fell too far behind: too old resource version", "Expired")
                        yield _line({"type": "ERROR", "object": expired})
                    break
                if over:
                    break
                await waker.wait(WAKE_FALLBACK_SECONDS)
        finally:
            guard.handle.subscribers.discard(waker)
            guard.close()

    stream = generate()
    weakref.finalize(stream, _close_soon, loop, guard)
    return stream


def _close_soon(loop, guard: _StreamGuard) -> None:
    if not guard.closed and not loop.is_closed():
        loop.call_soon_threadsafe(guard.close)
