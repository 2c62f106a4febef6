"""A stand-in `kube-apiserver` that speaks cluster/apiserver/PROTOCOL.md from a dict, for
testing the client component and the HTTP layer apart from the real API server (no etcd,
no pipeline): objects by (group, plural, namespace, name), one resourceVersion counter, a
bounded history of changes for watches (older RVs get ERROR 410), Tables with NAME and AGE.

    FakeCluster(ClusterConfig(name="t"))   a Cluster with kubectl + this fake
"""

import copy

from cluster.clients.kubectl import KubeClient
from cluster.cluster import Cluster
from cluster.kernel import SECOND, Component

KEEP_EVENTS = 50
KINDS = {"pods": "Pod", "deployments": "Deployment", "services": "Service", "namespaces": "Namespace", "nodes": "Node", "configmaps": "ConfigMap"}


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}


class FakeApiServer(Component):
    kind = "kube-apiserver"

    def __init__(self, sim, name="kube-apiserver"):
        super().__init__(sim, name)
        self.rv = 100
        self.objects = {}  # (group, plural, ns, name) -> object
        self.history = []  # (rv, group, plural, type, object)
        self.watches = {}  # (source, id) -> request
        self.logs = {}  # (ns, pod) -> text

    def reply(self, msg, payload, kind="api.response"):
        self.send(msg.source, kind, payload)

    def on_message(self, msg):
        request = msg.payload
        if msg.kind == "api.watch_cancel":
            self.watches.pop((msg.source, request["id"]), None)
            return
        if msg.kind != "api.request":
            return
        rid, verb = request["id"], request["verb"]
        info = {"kind": KINDS.get(request["resource"], request["resource"])}
        ns, name = request["namespace"], request["name"]
        key = (request["group"], request["resource"], ns, name)
        if request.get("subresource") == "log":
            text = self.logs.get((ns, name), f"log of {name}\n")
            if request["query"].get("follow"):
                self.reply(msg, {"id": rid, "code": 200, "watch": True})
                for line in text.splitlines(keepends=True):
                    self.reply(msg, {"id": rid, "text": line}, "api.log_chunk")
                self.watches[(msg.source, rid)] = request
                return
            self.reply(msg, {"id": rid, "code": 200, "text": text})
            return
        if verb == "create":
            obj = copy.deepcopy(request["body"])
            meta = obj.setdefault("metadata", {})
            key = (request["group"], request["resource"], ns, meta.get("name"))
            if not meta.get("name"):
                self.reply(msg, {"id": rid, "code": 422, "body": status(422, "Invalid", f'{info["kind"]} "" is invalid: metadata.name: Required value')})
                return
            if key in self.objects:
                self.reply(msg, {"id": rid, "code": 409, "body": status(409, "AlreadyExists", f'{request["resource"]} "{meta["name"]}" already exists')})
                return
            if ns:
                meta["namespace"] = ns
            meta["creationTimestamp"] = "2025-01-01T00:00:00Z"
            self.write(key, "ADDED", obj)
            self.reply(msg, {"id": rid, "code": 201, "body": obj})
        elif verb == "get":
            obj = self.objects.get(key)
            if obj is None:
                self.reply(msg, {"id": rid, "code": 404, "body": status(404, "NotFound", f'{request["resource"]} "{name}" not found')})
            else:
                self.reply(msg, {"id": rid, "code": 200, "body": self.table([obj]) if request["as_table"] else obj})
        elif verb == "list":
            items = [o for k, o in sorted(self.objects.items()) if k[:2] == key[:2] and (ns is None or k[2] == ns)]
            body = self.table(items) if request["as_table"] else {"kind": info["kind"] + "List", "apiVersion": "v1", "metadata": {"resourceVersion": str(self.rv)}, "items": items}
            self.reply(msg, {"id": rid, "code": 200, "body": body})
        elif verb in ("update", "patch"):
            obj = self.objects.get(key)
            if obj is None:
                self.reply(msg, {"id": rid, "code": 404, "body": status(404, "NotFound", f'{request["resource"]} "{name}" not found')})
                return
            obj = copy.deepcopy(obj)
            if verb == "update":
                obj = copy.deepcopy(request["body"])
            elif isinstance(request["body"], dict):
                merge(obj, request["body"])
            else:  # a JSON patch: replace and add on plain paths are enough here
                for op in request["body"]:
                    *parents, leaf = [p for p in str(op.get("path", "")).split("/") if p]
                    node = obj
                    for part in parents:
                        node = node.setdefault(part, {})
                    if op.get("op") in ("add", "replace") and leaf:
                        node[leaf] = op.get("value")
            self.write(key, "MODIFIED", obj)
            self.reply(msg, {"id": rid, "code": 200, "body": obj})
        elif verb == "delete":
            obj = self.objects.get(key)
            if obj is None:
                self.reply(msg, {"id": rid, "code": 404, "body": status(404, "NotFound", f'{request["resource"]} "{name}" not found')})
                return
            self.write(key, "DELETED", obj)
            self.reply(msg, {"id": rid, "code": 200, "body": self.last})
        elif verb == "watch":
            start = int(request["query"].get("resourceVersion") or 0)
            self.reply(msg, {"id": rid, "code": 200, "watch": True})
            if start and self.history and start < self.history[0][0] - 1:
                self.reply(msg, {"id": rid, "type": "ERROR", "object": status(410, "Expired", f"too old resource version: {start} ({self.history[0][0] - 1})")}, "api.watch_event")
                self.reply(msg, {"id": rid}, "api.watch_end")
                return
            self.watches[(msg.source, rid)] = request
            if not start:
                for k, obj in sorted(self.objects.items()):
                    if k[:2] == key[:2] and (ns is None or k[2] == ns):
                        self.reply(msg, {"id": rid, "type": "ADDED", "object": self.shape(request, obj)}, "api.watch_event")
            for rv, group, plural, type_, obj in self.history:
                if rv > start and (group, plural) == key[:2] and start:
                    self.reply(msg, {"id": rid, "type": type_, "object": self.shape(request, obj)}, "api.watch_event")
            timeout = request["query"].get("timeoutSeconds")
            if timeout:
                self.set_timer(timeout * SECOND, "end", [msg.source, rid])

    def on_timer(self, tag, data):
        source, rid = data
        if self.watches.pop((source, rid), None) is not None:
            self.send(source, "api.watch_end", {"id": rid})

    def write(self, key, type_, obj):
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        if type_ == "DELETED":
            self.objects.pop(key, None)
        else:
            self.objects[key] = obj
        self.last = obj
        self.history.append((self.rv, key[0], key[1], type_, obj))
        del self.history[:-KEEP_EVENTS]
        for (source, rid), request in sorted(self.watches.items()):
            if (request["group"], request["resource"]) == key[:2] and request["verb"] == "watch" and (request["namespace"] in (None, key[2])):
                self.send(source, "api.watch_event", {"id": rid, "type": type_, "object": self.shape(request, obj)})

    def shape(self, request, obj):
        return self.table([obj]) if request["as_table"] else obj

    def table(self, items):
        return {
            "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": str(self.rv)},
            "columnDefinitions": [{"name": "Name", "type": "string", "format": "name"}, {"name": "Age", "type": "string"}],
            "rows": [{"cells": [o["metadata"]["name"], "1m"], "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}} for o in items],
        }


def merge(target, patch):
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class FakeCluster(Cluster):
    """kubectl and the stand-in API server only: no etcd, no real API server."""

    def _build(self):
        self.sim.add(KubeClient(self.sim))
        self.sim.add(FakeApiServer(self.sim))
