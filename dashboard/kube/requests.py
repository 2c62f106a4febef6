"""From an HTTP request on a Kubernetes API path to a `kube` command (PROTOCOL.md fields).

    parse(method, "api/v1/namespaces/default/pods/web-1/log", query, headers, body)
      -> KubeRequest(command={"type": "kube", "verb": "get", "group": "", "version": "v1",
                              "resource": "pods", "subresource": "log", "namespace": "default",
                              "name": "web-1", "query": {...}, ...}, wait_seconds=60.0)

Everything a client can get wrong is caught here and raised as BadRequest (an HTTP code
and a Status message) before anything reaches the simulation: an unknown path (404), a verb
the resource does not allow (405), an unsupported Content-Type (415), a body that does not
decode (400), a query value of the wrong type (400). What is well-formed but wrong in
Kubernetes terms (an invalid name, a missing namespace, a stale resourceVersion) is for the
API server to answer, visibly, inside the simulation.

Paths (after /k8s/<cluster>/):
    api/v1/<rest>  or  apis/<group>/<version>/<rest>   (optionally with watch/ before <rest>)
    <rest> = namespaces/<ns>/<plural>[/<name>[/<sub>]]      namespaced
           | <plural>[/<name>[/<sub>]]                     cluster-scoped, or all namespaces
           | namespaces/<ns>[/status|/finalize]            a namespace itself
"""

import json
import math
import re
from dataclasses import dataclass

import yaml

from cluster.apiserver.resources import lookup, subresource
from cluster.clients import kubectl as client
from cluster.commands import CommandError

from . import protobuf

MAX_WAIT_SECONDS = 120.0  # the longest a plain request waits for the simulation (wall time)
DEFAULT_WAIT_SECONDS = 60.0

PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/json-patch+json": "json",
    "application/apply-patch+yaml": "apply",
}
PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON_TYPES = ("", "application/json", "*/*", "text/plain")
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
NAMESPACE_SUBRESOURCES = ("status", "finalize")
DELETE_OPTION_FIELDS = {"propagationPolicy": str, "gracePeriodSeconds": int, "orphanDependents": bool, "dryRun": list}


class BadRequest(Exception):
    def __init__(self, code: int, message: str, reason: str | None = None):
        super().__init__(message)
        self.code, self.message, self.reason = code, message, reason


@dataclass
class KubeRequest:
    command: dict
    wait_seconds: float
    info: dict  # the resource table row


# --- the path --------------------------------------------------------------------------
def parse(method: str, path: str, query: dict[str, str], content_type: str, accept: str, body: bytes, token: str | None,
          user: dict | None = None, agent: str = "kubectl") -> KubeRequest:
    """query holds the first value of each parameter (as Go's url.Values.Get reads it); user is
    who the request acts as (kubectl --as / --as-group), None for anonymous; agent is the HTTP
    client (client.AGENTS), for the dashboard to draw apart."""
    parts = [p for p in path.split("/")]
    if parts and parts[-1] == "":
        parts.pop()
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise BadRequest(404, "the server could not find the requested resource")
    if any(not p for p in rest) or not rest:
        raise BadRequest(404, "the server could not find the requested resource")
    legacy_watch = rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
        if not rest:
            raise BadRequest(404, "the server could not find the requested resource")
    namespace, plural, name, sub = _split(group, rest)
    info = lookup(group, plural)
    if info is None or info["version"] != version:
        raise BadRequest(404, "the server could not find the requested resource")
    if namespace is not None and not info["namespaced"]:
        raise BadRequest(404, "the server could not find the requested resource")
    if sub is not None and subresource(info, sub) is None:
        raise BadRequest(404, "the server could not find the requested resource")
    if info["namespaced"] and namespace is None and name is not None:
        raise BadRequest(404, "the server could not find the requested resource")

    verb = _verb(method, name, sub, query, legacy_watch)
    allowed = subresource(info, sub)["verbs"] if sub else info["verbs"]
    if verb not in allowed or (info["namespaced"] and namespace is None and verb not in ("list", "watch")):
        raise BadRequest(405, "the server does not allow this method on the requested resource")

    params = _query(query)
    cmd = {
        "type": "kube", "verb": verb, "group": group, "version": version, "resource": plural, "subresource": sub,
        "namespace": namespace, "name": name, "body": None, "patch_type": None, "query": params,
        "token": token, "user": user, "as_table": False, "include_object": None, "agent": agent,
    }
    if verb in ("create", "update", "patch", "delete", "deletecollection") and body:
        if verb == "patch":
            cmd["patch_type"], cmd["body"] = _patch_body(content_type, body)
        else:
            cmd["body"] = _object_body(content_type, body)
        if verb in ("delete", "deletecollection"):
            _fold_delete_options(cmd)
    elif verb == "patch":
        raise BadRequest(400, "the body of the request is empty: a patch needs one")
    elif verb in ("create", "update"):
        raise BadRequest(400, "the body of the request is empty")
    if verb in ("get", "list", "watch") and sub is None:
        cmd["as_table"] = _wants_table(accept)
        include = query.get("includeObject")
        if include is not None:
            if include not in client.INCLUDE_OBJECT:
                raise BadRequest(400, f"includeObject must be one of {', '.join(client.INCLUDE_OBJECT)}")
            cmd["include_object"] = include
        elif cmd["as_table"]:
            cmd["include_object"] = "Metadata"
    try:
        command = client.validate_command(cmd)
    except CommandError as exc:
        raise BadRequest(exc.status if exc.status in (400, 413) else 400, exc.message) from None
    return KubeRequest(command=command, wait_seconds=_wait_seconds(query), info=info)


def _split(group: str, rest: list[str]) -> tuple[str | None, str, str | None, str | None]:
    """(namespace, plural, name, subresource) from the part of the path after the version."""
    if rest[0] == "namespaces" and len(rest) >= 2:
        if len(rest) >= 3 and not (group == "" and rest[2] in NAMESPACE_SUBRESOURCES and len(rest) == 3):
            namespace, rest = rest[1], rest[2:]
            if len(rest) > 3:
                raise BadRequest(404, "the server could not find the requested resource")
            return namespace, rest[0], (rest[1] if len(rest) > 1 else None), (rest[2] if len(rest) > 2 else None)
        return None, "namespaces", rest[1], (rest[2] if len(rest) > 2 else None)
    if len(rest) > 3:
        raise BadRequest(404, "the server could not find the requested resource")
    return None, rest[0], (rest[1] if len(rest) > 1 else None), (rest[2] if len(rest) > 2 else None)


def _verb(method: str, name: str | None, sub: str | None, query: dict, legacy_watch: bool) -> str:
    if legacy_watch:
        if method != "GET":
            raise BadRequest(405, "the server does not allow this method on the requested resource")
        return "watch"
    if method == "GET":
        if name is None:
            return "watch" if _bool(query, "watch") else "list"
        return "get"
    if method == "POST":
        if name is None or sub is not None:
            return "create"
        raise BadRequest(405, "the server does not allow this method on the requested resource")
    if method == "PUT" and name is not None:
        return "update"
    if method == "PATCH" and name is not None:
        return "patch"
    if method == "DELETE":
        return "delete" if name is not None else "deletecollection"
    raise BadRequest(405, "the server does not allow this method on the requested resource")


# --- the query -------------------------------------------------------------------------
_INT = re.compile(r"^[+-]?[0-9]{1,19}$")
_TRUE = ("1", "t", "T", "true", "TRUE", "True")
_FALSE = ("0", "f", "F", "false", "FALSE", "False")


def _bool(query: dict, key: str) -> bool:
    value = query.get(key)
    if value is None or value == "":
        return False
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadRequest(400, f'invalid value for {key}: strconv.ParseBool: parsing "{value[:64]}": invalid syntax')


def _int(query: dict, key: str) -> int:
    value = query[key]
    if not _INT.match(value) or not -(2**63) <= int(value) < 2**63:
        raise BadRequest(400, f'invalid value for {key}: strconv.ParseInt: parsing "{value[:64]}": invalid syntax')
    return int(value)


def _query(query: dict) -> dict:
    out: dict = {}
    for key in client.QUERY_STRINGS:
        if key in query:
            if len(query[key]) > 4096:
                raise BadRequest(400, f"{key} is too long")
            out[key] = query[key]
    for key in client.QUERY_INTS:
        if key in query and query[key] != "":
            out[key] = _int(query, key)
    for key in client.QUERY_BOOLS:
        if key in query and query[key] != "":
            out[key] = _bool(query, key)
    if out.get("limit", 0) < 0:
        raise BadRequest(400, "limit must not be negative")
    for key in ("timeoutSeconds", "tailLines", "sinceSeconds", "limitBytes", "gracePeriodSeconds"):
        if out.get(key, 0) < 0 and key != "gracePeriodSeconds":
            raise BadRequest(400, f"{key} must not be negative")
    if "dryRun" in out and out["dryRun"] not in ("All",):
        raise BadRequest(400, f'invalid dry run option: "{out["dryRun"][:64]}": valid values are "All"')
    return out


_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


def _wait_seconds(query: dict) -> float:
    """The request's `timeout` (a Go duration such as 32s or 1m0s), bounded; else 60 s."""
    raw = query.get("timeout")
    if not raw:
        return DEFAULT_WAIT_SECONDS
    match = _DURATION.match(raw)
    if not match or not any(match.groups()):
        raise BadRequest(400, f'invalid timeout "{raw[:64]}": a duration such as 32s is expected')
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    return max(0.05, min(total, MAX_WAIT_SECONDS))


def _wants_table(accept: str) -> bool:
    for part in accept.split(","):
        params = [p.strip() for p in part.split(";")]
        values = dict(p.split("=", 1) for p in params[1:] if "=" in p)
        if params[0] == "application/json" and values.get("as") == "Table" and values.get("g") == "meta.k8s.io":
            return True
        if params[0] in ("application/json", "*/*", PROTOBUF) and values.get("as") is None:
            return False
    return False


# --- bodies ----------------------------------------------------------------------------
def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _object_body(content_type: str, body: bytes) -> dict:
    kind = media_type(content_type)
    if kind == PROTOBUF:
        try:
            return protobuf.decode(body)
        except protobuf.UnsupportedKind as exc:
            raise BadRequest(415, str(exc)) from None
        except protobuf.ProtobufError as exc:
            raise BadRequest(400, f"the protobuf body could not be decoded: {exc}") from None
    if kind in JSON_TYPES:
        value = decode_json(body)
    elif kind in YAML_TYPES:
        value = decode_yaml(body)
    else:
        raise BadRequest(415, f'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, {PROTOBUF}')
    if not isinstance(value, dict):
        raise BadRequest(400, "the body of the request must be a JSON object")
    return value


def _patch_body(content_type: str, body: bytes):
    kind = media_type(content_type)
    patch_type = PATCH_TYPES.get(kind)
    if patch_type is None:
        raise BadRequest(415, "the body of the request was in an unknown format - accepted media types include: "
                         "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json")
    value = decode_yaml(body) if patch_type == "apply" else decode_json(body)
    if patch_type == "json":
        if not isinstance(value, list) or not all(isinstance(op, dict) for op in value):
            raise BadRequest(400, "a JSON patch must be a list of operations")
    elif not isinstance(value, dict):
        raise BadRequest(400, "the patch must be a JSON object")
    return patch_type, value


def _fold_delete_options(cmd: dict) -> None:
    """DeleteOptions in a DELETE body count as query parameters the query did not set."""
    body = cmd["body"]
    for key, kind in DELETE_OPTION_FIELDS.items():
        if key in body and key not in cmd["query"]:
            value = body[key]
            if kind is list:
                if value in (["All"], []):
                    if value:
                        cmd["query"][key] = "All"
                    continue
                raise BadRequest(400, 'invalid dry run option: valid values are "All"')
            if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
                raise BadRequest(400, f"DeleteOptions.{key} has the wrong type")
            cmd["query"][key] = value


def _no_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number is out of range")
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _without_lone_surrogates(value):
    """Strings with a lone UTF-16 surrogate (a JSON escape such as \\ud800 can make one) get
    U+FFFD in its place, as Go's JSON decoder does; anything else is returned as it is."""
    def fix(text: str) -> str:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")

    root = [value]
    work = [(value, root, 0)]
    while work:
        item, parent, key = work.pop()
        if isinstance(item, str):
            parent[key] = fix(item)
        elif isinstance(item, list):
            work.extend((v, item, i) for i, v in enumerate(item))
        elif isinstance(item, dict):
            for k in list(item):
                v = item.pop(k)
                k = fix(k)
                item[k] = v
                work.append((v, item, k))
    return root[0]


def decode_json(body: bytes):
    try:
        text = body.decode("utf-8")
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
        return _without_lone_surrogates(value) if _SURROGATE_ESCAPE.search(text) else value
    except RecursionError:
        raise BadRequest(400, "the JSON body nests too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(400, f"the body is not valid JSON: {str(exc)[:200]}") from None


class _Loader(yaml.SafeLoader):
    """YAML as Kubernetes reads it: timestamps stay strings (sigs.k8s.io/yaml goes through
    JSON), and no aliases (a few lines of anchors can expand exponentially)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def decode_yaml(body: bytes):
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, "the YAML body is not valid UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)  # JSON is what kubectl sends
        return _without_lone_surrogates(value) if _SURROGATE_ESCAPE.search(text) else value
    except RecursionError:
        raise BadRequest(400, "the body nests too deeply") from None
    except ValueError:
        pass
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                raise BadRequest(400, "YAML aliases are not supported in request bodies")
        value = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise BadRequest(400, "the YAML body nests too deeply") from None
    except yaml.YAMLError as exc:
        raise BadRequest(400, f"the body is not valid YAML: {str(exc)[:200]}") from None
    value = _jsonable(value)
    return _without_lone_surrogates(value) if _SURROGATE_ESCAPE.search(text) else value


def _jsonable(value):
    """YAML scalars JSON cannot hold become what sigs.k8s.io/yaml makes of them, or a 400.
    Rebuilt iteratively (source, parent container, key in parent): no recursion limit."""
    out_root: list = [None]
    work = [(value, out_root, 0)]
    while work:
        item, parent, key = work.pop()
        if isinstance(item, dict):
            new: dict = {}
            parent[key] = new
            for k, v in item.items():
                if isinstance(k, bool):
                    k = "true" if k else "false"
                elif isinstance(k, (int, float)) or k is None:
                    k = "null" if k is None else str(k)
                elif not isinstance(k, str):
                    raise BadRequest(400, "YAML mapping keys must be strings")
                new[k] = None
                work.append((v, new, k))
        elif isinstance(item, list):
            new_list: list = [None] * len(item)
            parent[key] = new_list
            work.extend((v, new_list, i) for i, v in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            raise BadRequest(400, "the body holds a number that is not finite")
        elif item is None or isinstance(item, (str, int, float, bool)):
            parent[key] = item
        else:
            raise BadRequest(400, f"the YAML body holds a {type(item).__name__}, which JSON cannot carry")
    return out_root[0]
