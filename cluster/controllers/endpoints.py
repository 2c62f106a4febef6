"""Endpoints controller (pkg/controller/endpoint): a Service's selector → the addresses of its pods.

sync(service key):
    service gone, or without a selector ─▶ delete the Endpoints of that name (if we had one)
    pods = the namespace's pods matching the selector, with an IP, not terminating
    each service port resolves its targetPort on each pod (a number, or a container port's name)
    subsets: one per distinct set of resolved ports; ready pods in `addresses`, the others in
    `notReadyAddresses` (all in `addresses` with publishNotReadyAddresses); sorted by IP
    create or update the Endpoints object when it differs
"""

from ..apiserver.meta import copy_json, dig, meta_of
from ..client import is_pod_ready, key_of, selector_matches, split_key
from .base import Controller, plural


def service_selector(service: dict) -> dict | None:
    selector = dig(service, "spec", "selector")
    return selector if isinstance(selector, dict) and selector else None


def matching_pods(pods, service: dict) -> list[dict]:
    selector = service_selector(service)
    if selector is None:
        return []
    return [p for p in pods if selector_matches({"matchLabels": selector}, meta_of(p).get("labels"))]


def resolve_port(service_port: dict, pod: dict) -> int | None:
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int) and not isinstance(target, bool):
        return target
    if isinstance(target, str):
        if target.isdigit():
            return int(target)
        for container in dig(pod, "spec", "containers", default=[]) or []:
            for port in container.get("ports") or []:
                if port.get("name") == target and (port.get("protocol") or "TCP") == (service_port.get("protocol") or "TCP"):
                    return port.get("containerPort")
    return None


def pod_ports(service: dict, pod: dict) -> tuple | None:
    """The pod's (name, port, protocol) for every service port, or None if one does not resolve."""
    out = []
    for sp in dig(service, "spec", "ports", default=[]) or []:
        port = resolve_port(sp, pod)
        if port is None:
            return None
        out.append((sp.get("name") or "", port, sp.get("protocol") or "TCP"))
    return tuple(out)


def ports_json(ports: tuple) -> list[dict]:
    out = []
    for name, port, protocol in ports:
        item = {"port": port, "protocol": protocol}
        if name:
            item["name"] = name
        out.append(item)
    return out


def target_ref(pod: dict) -> dict:
    meta = meta_of(pod)
    return {"kind": "Pod", "namespace": meta.get("namespace"), "name": meta.get("name"), "uid": meta.get("uid")}


def pod_ip(pod: dict) -> str | None:
    ip = dig(pod, "status", "podIP")
    return ip if isinstance(ip, str) and ip else None


class EndpointsController(Controller):
    name = "endpoints"
    label = "Endpoints"

    def setup(self) -> None:
        self.services = self.informer("services", "on_service", indexes=("namespace",))
        self.pods = self.informer("pods", "on_pod", indexes=("namespace", "controller", "node", "owner"))
        self.endpoints = self.informer("endpoints", "on_endpoints", indexes=("namespace",))

    def on_service(self, event, obj, old) -> None:
        self.queue.add(key_of(obj))

    def on_endpoints(self, event, obj, old) -> None:
        if event in ("delete", "update") and self.services.get(key_of(obj)) is not None:
            self.queue.add(key_of(obj))

    def on_pod(self, event, pod, old) -> None:
        if event == "update" and old is not None and _pod_view(old) == _pod_view(pod):
            return
        namespace = meta_of(pod).get("namespace")
        for service in self.services.list(namespace):
            if matching_pods([pod], service) or (old is not None and matching_pods([old], service)):
                self.queue.add(key_of(service))

    def sync(self, key: str):
        namespace, name = split_key(key)
        service = self.services.get(key)
        current = self.endpoints.get(key)
        if service is None or service_selector(service) is None:
            if service is None and current is not None:
                self.reconcile(key, "delete", f"Endpoints {key}: its Service is gone, deleting it")
                self.request("delete", "endpoints", namespace=namespace, name=name, ok=(404,))
            elif service is not None:
                self.reconcile(key, "none", f"Endpoints {key}: Service has no selector; its endpoints are managed by hand")
            return True
        publish = bool(dig(service, "spec", "publishNotReadyAddresses"))
        groups: dict[tuple, dict] = {}
        ready_count = 0
        for pod in matching_pods(self.pods.list(namespace), service):
            ip = pod_ip(pod)
            if ip is None or meta_of(pod).get("deletionTimestamp") or dig(pod, "status", "phase") in ("Succeeded", "Failed"):
                continue
            ports = pod_ports(service, pod)
            if ports is None:
                continue
            address = {"ip": ip, "targetRef": target_ref(pod)}
            if dig(pod, "spec", "nodeName"):
                address["nodeName"] = dig(pod, "spec", "nodeName")
            group = groups.setdefault(ports, {"addresses": [], "notReadyAddresses": []})
            if is_pod_ready(pod) or publish:
                group["addresses"].append(address)
                ready_count += 1
            else:
                group["notReadyAddresses"].append(address)
        subsets = []
        for ports in sorted(groups):
            group = groups[ports]
            subset = {}
            for field in ("addresses", "notReadyAddresses"):
                if group[field]:
                    subset[field] = sorted(group[field], key=lambda a: (a["ip"], a["targetRef"]["name"]))
            subset["ports"] = ports_json(ports)
            subsets.append(subset)
        labels = dict(meta_of(service).get("labels") or {})
        desired = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": namespace, "labels": labels}}
        if subsets:
            desired["subsets"] = subsets
        not_ready = sum(len(g["notReadyAddresses"]) for g in groups.values())
        described = f"Endpoints {key}: {plural(ready_count, 'ready address')}" + (f", {not_ready} not ready" if not_ready else "")
        if current is None:
            self.reconcile(key, "create", f"{described}; creating the Endpoints object", ready=ready_count, not_ready=not_ready)
            self.request("create", "endpoints", namespace=namespace, body=desired, ok=(409,))
        elif (current.get("subsets") or []) != (desired.get("subsets") or []) or (meta_of(current).get("labels") or {}) != labels:
            body = copy_json(current)
            body["metadata"]["labels"] = labels
            if subsets:
                body["subsets"] = subsets
            else:
                body.pop("subsets", None)
            self.reconcile(key, "update", f"{described}; updating it", ready=ready_count, not_ready=not_ready)
            self.request("update", "endpoints", namespace=namespace, name=name, body=body, ok=(404,))
        else:
            self.reconcile(key, "none", f"{described}; up to date", ready=ready_count, not_ready=not_ready)
        return True


def _pod_view(pod: dict) -> tuple:
    """What of a pod matters to endpoints (so status heartbeats do not wake the loop)."""
    return (meta_of(pod).get("labels"), pod_ip(pod), is_pod_ready(pod), bool(meta_of(pod).get("deletionTimestamp")),
            dig(pod, "status", "phase"), dig(pod, "spec", "nodeName"))
