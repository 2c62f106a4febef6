"""HTTP over the channel layer: a request for a cluster another process runs is served there.

    application = forward.wrap(django_asgi_app)    # dashboard/asgi.py; unchanged without REDIS_URL

The requesting process reads the whole request body, sends one `fwd.request` message to the
owner's process channel and relays what comes back: `fwd.accepted` at once (no answer
within ACCEPT_SECONDS: the owner is gone, ask the database again), then `fwd.start` and
`fwd.body` messages exactly as the owner's Django app sent them, so a streamed response (a
kubectl watch, `logs -f`) streams through. A client that goes away sends `fwd.cancel`: the
owner's Django sees `http.disconnect` and the watch is cancelled in the simulation as it
would be for a direct client. A requester that dies is noticed by the owner's heartbeat.

Routed by cluster: /api/clusters/<name>[/...], /k8s/<name>/..., /clusters/<name>/; a
classroom's /api/classrooms/<code>[/...] and /c/<code>[/...] by its cluster, as POST
/api/classrooms {"cluster": X} by X. A lesson run's /api/scenarios/<id>/runs/<n>-p<process>
goes to the process that holds it, or, that one gone, to the owner of the run's main cluster
(which takes the run up from its saved row). POST /api/clusters goes to the least loaded process;
GET /api/clusters and GET /api/scenarios/<id>/runs merge every process's lists. Everything
else is served where it arrives.
"""

import asyncio
import json
import logging
import re
import uuid

from django.conf import settings

from ..history import store
from . import leases
from .node import node

log = logging.getLogger("clusterscope.scaleout")

HOP = b"x-clusterscope-forwarded"  # set on forwarded requests: served where they land, never forwarded again
SAFE = ("GET", "HEAD")  # a read whose process stopped before answering is asked again elsewhere
ACCEPT_SECONDS = 2.0  # the owner says it has the request within this, or its lease is checked ...
ACCEPT_ROUNDS = 5  # ... and waited for again while it still holds the lease (busy, not dead)
GO_SECONDS = 30.0  # an accepted request runs only when the requester says go
OWNER_CHECK_SECONDS = 2.0
ROUTED = re.compile(r"^/(?:api/clusters|k8s|clusters)/([^/]{1,63})(?:/|$)")
CLASSROOM = re.compile(r"^/(?:api/classrooms|c)/([A-Za-z0-9]{6})(?:/|$)")  # served where its cluster runs
RUNS = re.compile(r"^/api/scenarios/[^/]+/runs$")
RUN = re.compile(r"^/api/scenarios/[^/]+/runs/\d+-p(\d+)(?:/|$)")  # served where the run was started
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def wrap(app):
    """The ASGI app, forwarding what belongs to other processes (only in scale-out)."""
    if not settings.SCALEOUT:
        return app
    node.app = app
    node.autostart()

    async def forwarding(scope, receive, send):
        if scope["type"] != "http" or any(k == HOP for k, _ in scope.get("headers", ())):
            return await app(scope, receive, send)
        path, method = scope["path"], scope["method"]
        if path == "/api/clusters" and method == "POST":
            target = await node.placement()
            if target != node.channel:
                body = await _body(receive)
                if await relay(target, scope, body, receive, send):
                    return
                return await app(scope, _replay(body, receive), send)  # the chosen one is gone: here then
            return await app(scope, receive, send)
        if path == "/api/clusters" and method == "GET":
            return await _merged_list(app, scope, send, "name")
        if path == "/api/classrooms" and method == "POST":  # {"cluster": X}: shared where X runs
            body = await _body(receive)
            name = _cluster_named(body)
            if name is None:  # new clusters (a lesson, the demo): made here
                return await app(scope, _replay(body, receive), send)
            return await _to_cluster(app, name, scope, body, receive, send)
        if method == "GET" and RUNS.match(path):  # a presenter's page looks for its run among every process's
            return await _merged_list(app, scope, send, "run")
        run = RUN.match(path)
        if run is not None:
            return await _to_run(app, int(run.group(1)), scope, receive, send)
        classroom = CLASSROOM.match(path)
        if classroom is not None:
            await node.ready()
            name = await store.acall(leases.classroom_cluster, classroom.group(1))
            if name is None:  # no such classroom: Django answers its 404
                return await app(scope, receive, send)
            return await _to_cluster(app, name, scope, None, receive, send)
        match = ROUTED.match(path)
        if match is None or (path.startswith("/api/clusters/import") and method == "POST"):
            return await app(scope, receive, send)
        return await _to_cluster(app, match.group(1), scope, None, receive, send)

    return forwarding


async def _to_cluster(app, name: str, scope, body: bytes | None, receive, send) -> None:
    """Serve a request where cluster `name` runs: here, or relayed to its owner."""
    for _attempt in range(5):
        where, found = await node.locate(name)
        if where == "remote":
            if body is None:
                body = await _body(receive)
            if await relay(found, scope, body, receive, send):
                return
            node.forget_owner(name)  # gone, or no longer its owner: ask again
            await asyncio.sleep(0.2)
            continue
        if where == "unavailable":
            return await _unavailable(scope, send, found)
        break  # local, or missing (Django answers its 404)
    else:
        return await _unavailable(scope, send, f"the server process running cluster {name} does not answer; retry in a moment")
    return await app(scope, receive if body is None else _replay(body, receive), send)


async def _to_run(app, process: int, scope, receive, send) -> None:
    """A lesson run lives in the memory of the process that started it (its id says which);
    when that process is gone, in the process that runs its main cluster now (from its row)."""
    await node.ready()
    if process == node.pk:
        return await app(scope, receive, send)
    target = next((c for c, row in node.live.items() if row.get("pk") == process), None)
    if target is None:
        node.live = {row["channel"]: row for row in await store.acall(leases.processes)}
        target = next((c for c, row in node.live.items() if row.get("pk") == process), None)
    body = None
    if target is not None:
        body = await _body(receive)
        if await relay(target, scope, body, receive, send):
            return
    # That process is gone: the run is taken up from its saved row where its main cluster runs now.
    run = scope["path"].split("/")[5]
    main = await store.acall(leases.run_cluster, run)
    if main is None:
        return await _answer(send, 410, {"error": f"lesson run {run} was lost with the server process that held it (it was never saved): start the lesson again",
                                         "field": "run"})
    return await _to_cluster(app, main, scope, body, receive, send)


def _cluster_named(body: bytes) -> str | None:
    """The "cluster" of a POST /api/classrooms body, when it names one (else Django judges the body)."""
    try:
        name = json.loads(body or b"{}").get("cluster")
    except (ValueError, AttributeError):
        return None
    return name if isinstance(name, str) and NAME.match(name) else None


async def _answer(send, status: int, payload: dict) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


async def _body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive):
    sent = False

    async def again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


async def _unavailable(scope, send, why: str) -> None:
    if scope["path"].startswith("/k8s/"):
        from ..kube.status import status  # noqa: PLC0415 - only on this rare path

        body = json.dumps(status(503, why)).encode()
    else:
        body = json.dumps({"error": why, "field": "name"}).encode()
    await send({"type": "http.response.start", "status": 503, "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")]})
    await send({"type": "http.response.body", "body": body})


def _request_message(scope, body: bytes, rid: str) -> dict:
    client = scope.get("client") or ("", 0)
    return {"type": "fwd.request", "id": rid, "reply": node.channel, "method": scope["method"], "path": scope["path"],
            "query": scope.get("query_string", b""), "scheme": scope.get("scheme", "http"), "body": body,
            "headers": [[k, v] for k, v in scope.get("headers", ()) if k != HOP] + [[HOP, b"1"]],
            "client": [client[0], client[1]], "server": list(scope.get("server") or ("127.0.0.1", 80))}


async def relay(target: str, scope, body: bytes, receive, send) -> bool:
    """Have `target` serve this request and pass its answer on. False when it never took the
    request (dead, or the cluster is no longer there): nothing was done, try elsewhere."""
    rid = uuid.uuid4().hex
    replies: asyncio.Queue = asyncio.Queue()
    node.pending[rid] = replies
    disconnected = None
    try:
        if not await node.send(target, _request_message(scope, body, rid)):
            return False
        first = None
        for _ in range(ACCEPT_ROUNDS):
            try:
                first = await asyncio.wait_for(replies.get(), ACCEPT_SECONDS)
                break
            except TimeoutError:  # busy (rebuilding a cluster holds its loop), or dead?
                if not await node.still_owner(target, scope["path"]):
                    return False
        if first is None or first["type"] != "fwd.accepted":
            return False  # never started: the owner runs a request only after our go, below
        await node.send(target, {"type": "fwd.go", "id": rid})
        disconnected = asyncio.ensure_future(receive())  # the client leaving mid-answer
        started = False
        while True:
            reply = asyncio.ensure_future(replies.get())
            done, _ = await asyncio.wait({reply, disconnected}, timeout=OWNER_CHECK_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            if disconnected in done:
                reply.cancel()
                await node.send(target, {"type": "fwd.cancel", "id": rid})
                return True
            if not done:
                reply.cancel()
                if target not in node.live and target != node.channel:  # its heartbeat stopped: it is gone
                    if not started and scope["method"] in SAFE:
                        disconnected.cancel()
                        return False  # a read: asked again elsewhere (the caller's retry), as if never sent
                    if not started:
                        await _unavailable(scope, send, "the server process answering this request stopped; it may or may not have taken effect")
                    else:
                        await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return True
                continue
            message = reply.result()
            if message["type"] == "fwd.start":
                started = True
                await send({"type": "http.response.start", "status": message["status"], "headers": [tuple(h) for h in message["headers"]]})
            elif message["type"] == "fwd.body":
                await send({"type": "http.response.body", "body": message["body"], "more_body": message["more"]})
                if not message["more"]:
                    return True
    finally:
        node.pending.pop(rid, None)  # from here a late `accepted` gets no go: nothing runs twice
        if disconnected is not None and not disconnected.done():
            disconnected.cancel()


async def serve(node, message: dict) -> None:
    """Serve a request another process forwarded here, through this process's Django app."""
    rid, reply = message["id"], message["reply"]
    match = ROUTED.match(message["path"])
    if match and not (message["path"].startswith("/api/clusters/import")) and node.app is not None:
        from ..runner import registry  # noqa: PLC0415

        if registry.get(match.group(1)) is None:  # moved on (or never here): the requester asks again
            await node.send(reply, {"type": "fwd.moved", "id": rid})
            return
    incoming: asyncio.Queue = asyncio.Queue()
    node.served[rid] = {"receive": incoming, "reply": reply}
    await node.send(reply, {"type": "fwd.accepted", "id": rid})
    try:  # the requester may have given up waiting for `accepted`: then no go comes, nothing runs
        go = await asyncio.wait_for(incoming.get(), GO_SECONDS)
    except TimeoutError:
        node.served.pop(rid, None)
        return
    if go["type"] != "fwd.go":
        node.served.pop(rid, None)
        return
    incoming.put_nowait({"type": "http.request", "body": message["body"], "more_body": False})
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1", "method": message["method"],
             "scheme": message["scheme"], "path": message["path"], "raw_path": message["path"].encode(), "query_string": message["query"],
             "root_path": "", "headers": [tuple(h) for h in message["headers"]], "client": tuple(message["client"]), "server": tuple(message["server"])}

    async def send(event):
        if event["type"] == "http.response.start":
            ok = await node.send(reply, {"type": "fwd.start", "id": rid, "status": event["status"], "headers": [list(h) for h in event.get("headers", ())]})
        elif event["type"] == "http.response.body":
            ok = await node.send(reply, {"type": "fwd.body", "id": rid, "body": event.get("body", b""), "more": event.get("more_body", False)})
        else:
            return
        if not ok:  # the requester is not reading: as if its client left
            incoming.put_nowait({"type": "http.disconnect"})

    try:
        await node.app(scope, incoming.get, send)
    except Exception:
        log.exception("forwarded %s %s failed", message["method"], message["path"])
    finally:
        node.served.pop(rid, None)


async def capture(target: str | None, app, method: str, path: str, query: bytes = b"", headers=()) -> tuple[int, bytes]:
    """A whole answer to a small request, from `target` or (None) from this process's app."""
    headers = [(k, v) for k, v in headers if k not in (HOP, b"content-length", b"accept-encoding")] + [(b"accept", b"application/json")]
    scope = {"type": "http", "method": method, "path": path, "query_string": query, "headers": headers,
             "scheme": "http", "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 80)}
    parts: list[bytes] = []
    status = [502]

    async def never():
        await asyncio.Future()  # a short answer needs no disconnect

    async def collect(event):
        if event["type"] == "http.response.start":
            status[0] = event["status"]
        elif event["type"] == "http.response.body":
            parts.append(event.get("body", b""))

    if target is None:
        await app({**scope, "headers": headers + [(HOP, b"1")]}, _replay(b"", never), collect)
    elif not await relay(target, scope, b"", never, collect):
        return 503, b""
    return status[0], b"".join(parts)


async def _merged_list(app, scope, send, key: str) -> None:
    """GET /api/clusters (or a scenario's runs): every process's items, sorted by `key`."""
    await node.ready()
    path, query, headers = scope["path"], scope.get("query_string", b""), scope.get("headers", ())
    answers = await asyncio.gather(capture(None, app, "GET", path, query, headers),
                                   *(capture(c, app, "GET", path, query, headers) for c in node.live if c != node.channel))
    if all(code != 200 for code, _ in answers):  # an unknown scenario (uploaded files stay on one process)
        return await _answer(send, answers[0][0], json.loads(answers[0][1] or b"{}"))
    items = {}
    for code, body in answers:
        if code == 200:
            for item in json.loads(body).get("items", []):
                items[item[key]] = item
    await _answer(send, 200, {"items": [items[k] for k in sorted(items, key=_natural)]})


def _natural(key: str) -> tuple:
    """Names sort as text; run ids ("<n>-p<process>") by their numbers."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", key))
