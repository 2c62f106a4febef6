"""/version, API discovery and the minimal OpenAPI v3 documents, all built from the API
server's resource table (cluster/apiserver/resources.py RESOURCES), so a resource added
there is discoverable, routable and validatable here with no second list.

Discovery comes in two shapes (shared/k8s-api-contract.md section 4), and both are served:
  aggregated  GET /api, /apis with an Accept asking for `as=APIGroupDiscoveryList`: one
              document per root listing every resource; the Content-Type must say exactly
              what it is or kubectl reads it as legacy and finds nothing;
  legacy      /api, /apis, /api/v1, /apis/<group>, /apis/<group>/<version>: what kubectl
              falls back to, and what `kubectl drain` reads (uncached) to find pods/eviction.
Short names and the `all` category come only from here: without them `kubectl get deploy`
and `kubectl get all` do not work.
"""

import hashlib
import json
from functools import cache

from cluster.apiserver.resources import RESOURCES

SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0",
    "gitCommit": "70d3cc986aa8221cd1dfb1121852688902d3bf53",
    "gitTreeState": "clean",
    "buildDate": "2024-12-11T00:00:00Z",
    "goVersion": "go1.23.4",
    "compiler": "gc",
    "platform": "linux/amd64",
}

AGGREGATED_TYPES = {  # the Accept's v= -> our Content-Type (exactly as kubectl wants it)
    "v2": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
    "v2beta1": "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
}


def group_versions() -> list[tuple[str, str]]:
    """(group, version) pairs in table order, core first: the order of `kubectl get all`."""
    seen: list[tuple[str, str]] = []
    for row in RESOURCES:
        pair = (row["group"], row["version"])
        if pair not in seen:
            seen.append(pair)
    return sorted(seen, key=lambda pair: pair[0] != "")  # stable: the core group first


def rows(group: str, version: str) -> list[dict]:
    return [r for r in RESOURCES if r["group"] == group and r["version"] == version]


def gv_string(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


# --- aggregated discovery -------------------------------------------------------------
def aggregated_kind(accept: str) -> str | None:
    """The aggregated discovery version the Accept header prefers (v2, v2beta1), or None when
    it asks for plain JSON first (then legacy discovery is served)."""
    for part in accept.split(","):
        params = [p.strip() for p in part.split(";")]
        if params[0] not in ("application/json", "*/*"):
            continue
        values = dict(p.split("=", 1) for p in params[1:] if "=" in p)
        if not values:
            return None  # plain application/json comes first: legacy
        if values.get("g") == "apidiscovery.k8s.io" and values.get("as") == "APIGroupDiscoveryList" and values.get("v") in AGGREGATED_TYPES:
            return values["v"]
    return None


def _resource_entry(row: dict) -> dict:
    entry = {
        "resource": row["plural"],
        "responseKind": {"group": row["group"], "version": row["version"], "kind": row["kind"]},
        "scope": "Namespaced" if row["namespaced"] else "Cluster",
        "singularResource": row["singular"],
        "verbs": list(row["verbs"]),
    }
    if row["shortNames"]:
        entry["shortNames"] = list(row["shortNames"])
    if row["categories"]:
        entry["categories"] = list(row["categories"])
    subs = [
        {"subresource": sub["name"], "responseKind": {"group": sub["group"], "version": sub["version"], "kind": sub["kind"]}, "verbs": list(sub["verbs"])}
        for sub in row["subresources"]
    ]
    if subs:
        entry["subresources"] = subs
    return entry


@cache
def aggregated(root: str, version: str) -> dict:
    """The APIGroupDiscoveryList for /api (root "api") or /apis (root "apis")."""
    items = []
    for group, gv in group_versions():
        if (group == "") != (root == "api"):
            continue
        item = {
            "metadata": {"name": group, "creationTimestamp": None},
            "versions": [{"version": gv, "resources": [_resource_entry(r) for r in rows(group, gv)], "freshness": "Current"}],
        }
        items.append(item)
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}", "metadata": {}, "items": items}


# --- legacy discovery ------------------------------------------------------------------
def legacy_api() -> dict:
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}]}


def _group_doc(group: str) -> dict | None:
    versions = [{"groupVersion": gv_string(g, v), "version": v} for g, v in group_versions() if g == group]
    if not versions:
        return None
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def legacy_groups() -> dict:
    names = []
    for group, _ in group_versions():
        if group and group not in names:
            names.append(group)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group_doc(g) for g in names]}


def legacy_group(group: str) -> dict | None:
    doc = _group_doc(group) if group else None
    return None if doc is None else {"kind": "APIGroup", "apiVersion": "v1", **doc}


@cache
def legacy_resources(group: str, version: str) -> dict | None:
    """The APIResourceList for one group-version; subresources appear as `pods/eviction`."""
    found = rows(group, version)
    if not found:
        return None
    resources = []
    for row in found:
        resources.append({
            "name": row["plural"],
            "singularName": row["singular"],
            "namespaced": row["namespaced"],
            "kind": row["kind"],
            "verbs": list(row["verbs"]),
            **({"shortNames": list(row["shortNames"])} if row["shortNames"] else {}),
            **({"categories": list(row["categories"])} if row["categories"] else {}),
        })
        for sub in row["subresources"]:
            entry = {"name": f"{row['plural']}/{sub['name']}", "singularName": "", "namespaced": row["namespaced"], "kind": sub["kind"], "verbs": list(sub["verbs"])}
            if sub["group"] != group or sub["version"] != version:
                entry["group"], entry["version"] = sub["group"], sub["version"]
            resources.append(entry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv_string(group, version), "resources": resources}


# --- OpenAPI v3 ---------------------------------------------------------------------------
# kubectl (create -f, apply -f, under --validate=strict) looks for a PATCH operation tagged
# with the kind's group-version-kind that declares the fieldValidation query parameter; when
# it finds one it trusts the server to validate and sends fieldValidation=Strict. That is
# all these documents are for: they carry no schemas.
def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


@cache
def openapi_document(group: str, version: str) -> dict | None:
    found = rows(group, version)
    if not found:
        return None
    paths = {}
    for row in found:
        base = "/" + _gv_path(group, version)
        path = f"{base}/namespaces/{{namespace}}/{row['plural']}/{{name}}" if row["namespaced"] else f"{base}/{row['plural']}/{{name}}"
        paths[path] = {
            "patch": {
                "operationId": f"patch{row['kind']}",
                "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": row["kind"]},
                "x-kubernetes-action": "patch",
                "parameters": [
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                    {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": True}},
                ],
                "responses": {"200": {"description": "OK"}, "201": {"description": "Created"}},
            }
        }
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": SERVER_VERSION["gitVersion"]}, "paths": paths}


def document_hash(doc: dict) -> str:
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:128].upper()


@cache
def openapi_index() -> dict:
    paths = {}
    for group, version in group_versions():
        doc = openapi_document(group, version)
        key = _gv_path(group, version)
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={document_hash(doc)}"}
    return {"paths": paths}


def openapi_for_path(path: str) -> dict | None:
    """The document for `api/v1` or `apis/<group>/<version>`, or None."""
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[0] == "api":
        return openapi_document("", parts[1])
    if len(parts) == 3 and parts[0] == "apis":
        return openapi_document(parts[1], parts[2])
    return None
