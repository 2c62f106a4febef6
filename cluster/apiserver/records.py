"""What the request inspector shows of a request, kept by the API server after it is answered.

The inspector (static/js/render/requests.js, through GET /api/clusters/<name>/requests/<id>)
shows a request as it was: what the client sent, and the object at the revision the request
produced or read, not the object as it is now. The events of a request carry only small facts
(verb, key, revision); the bodies live here:

    record = {"request": "kubectl#7", "client": "kubectl", "agent": "kubectl", "verb": "create",
              "path": "/apis/apps/v1/namespaces/default/deployments", "user": "system:anonymous",
              "code": 201, "stages": [{"stage": "authn", "time": 12.5, "ok": true}, ...],
              "key": "/registry/deployments/default/web", "revision": "412",
              "request_body": '{"apiVersion":"apps/v1",...}',   # JSON text, as sent
              "response": '{"kind":"Deployment",...}'}          # JSON text: the object at 412

Bodies are frozen as JSON text the moment they are seen: a sender may change its own dict after
sending, and a receiver may change what it got, but text cannot change, and it is compact.
A list keeps a summary (kind, count, resourceVersion, the first names), a watch the fact that
it started, a log its size: never a body of megabytes. The API server keeps the records of the
newest KEEP_HTTP_RECORDS requests from HTTP clients and the newest KEEP_RECORDS from in-cluster
clients (and, like the rest of its memory, loses them when it crashes).
"""

import json

from ..kernel import SECOND

# Records kept, newest first: the cluster's own chatter (leases, heartbeats, controllers) is
# many requests a second, so the requests that came over HTTP (kubectl, scripts: they carry an
# `agent`) are kept apart and never pushed out by it.
KEEP_RECORDS = 500  # in-cluster clients
KEEP_HTTP_RECORDS = 200  # HTTP clients
MAX_BODY_CHARS = 256 * 1024  # a larger body is kept as a note of its size
MAX_NAMES = 10  # names a list's summary shows


def freeze(value) -> str | None:
    """JSON text of a body (None for no body); a note instead when it is too large or not JSON."""
    if value is None:
        return None
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return json.dumps({"omitted": "the body is not JSON data"})
    if len(text) > MAX_BODY_CHARS:
        return json.dumps({"omitted": f"{len(text)} characters of JSON: larger than the {MAX_BODY_CHARS} kept"})
    return text


def thaw(text: str | None):
    return None if text is None else json.loads(text)


def summary_of(body: dict) -> dict:
    """A List or a Table in a few fields."""
    meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    if body.get("kind") == "Table":
        rows = body.get("rows") or []
        names = [((r.get("object") or {}).get("metadata") or {}).get("name") or (r.get("cells") or [""])[0] for r in rows[:MAX_NAMES]]
        count = len(rows)
    else:
        items = body.get("items") or []
        names = [(i.get("metadata") or {}).get("name") for i in items[:MAX_NAMES] if isinstance(i, dict)]
        count = len(items)
    out = {"kind": body.get("kind"), "apiVersion": body.get("apiVersion"), "summary": True, "count": count, "resourceVersion": meta.get("resourceVersion"), "names": names}
    if meta.get("continue"):
        out["continue"] = True
    return out


def request_path(op: dict) -> str | None:
    """The URL path the request stands for, as a client would have sent it."""
    info = op.get("info")
    if info is None:
        return None
    root = f"/apis/{info['group']}/{info['version']}" if info["group"] else f"/api/{info['version']}"
    path = root
    if op.get("namespace") and info["plural"] != "namespaces":
        path += f"/namespaces/{op['namespace']}"
    path += f"/{info['plural']}"
    if op.get("name"):
        path += f"/{op['name']}"
    if op.get("sub"):
        path += f"/{op['sub']}"
    return path


def base(op: dict) -> dict:
    """The part of a record known while the request is in flight."""
    user = op.get("user") or {}
    return {
        "request": op["key"], "client": op["client"], "agent": op.get("agent"), "verb": op.get("verb"),
        "group": (op.get("info") or {}).get("group"), "resource": op.get("plural") or op.get("resource"), "subresource": op.get("sub"),
        "namespace": op.get("namespace"), "name": op.get("name"), "path": request_path(op), "query": op.get("query") or {},
        "patch_type": op.get("patch_type"), "user": user.get("name"), "groups": list(user.get("groups") or []),
        "stages": [{"stage": s, "time": t / SECOND, "ok": ok} for s, t, ok in op.get("stages", [])],
        "received": op["started"] / SECOND, "key": op.get("etcd_key"),
    }


def finished(op: dict, code: int, response: str | None, now_us: int, *, revision: str | None, reason: str | None) -> dict:
    record = base(op)
    record.update({"state": "answered", "code": code, "reason": reason, "rejected_by": op.get("rejected_by"), "responded": now_us / SECOND,
                   "revision": revision, "request_body": op.get("sent_body"), "response": response})
    return record


def view(record: dict) -> dict:
    """The record as the REST endpoint answers it: bodies as JSON again."""
    out = dict(record)
    out["request_body"] = thaw(record.get("request_body"))
    out["response"] = thaw(record.get("response"))
    return out
