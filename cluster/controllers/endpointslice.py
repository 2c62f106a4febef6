"""EndpointSlice controller (pkg/controller/endpointslice): the same pods as Endpoints, in slices.

A Service's slices are named "<service>-<random>" (generateName), labelled
kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by, and owned by the
Service (so the garbage collector removes them with it). One slice per distinct set of
resolved ports, at most MAX_ENDPOINTS endpoints each. Unlike Endpoints, terminating pods stay
listed with conditions {ready: false, serving, terminating: true}, which kube-proxy uses.

sync(service key):
    desired slices (ports → endpoints), matched to existing slices with the same ports;
    update the differing ones, create the missing, delete the extra.
"""

from ..apiserver.meta import copy_json, dig, meta_of
from ..client import is_pod_ready, key_of, owner_ref, register_index, split_key
from .base import Controller, Expectations, plural
from .endpoints import _pod_view, matching_pods, pod_ip, pod_ports, ports_json, service_selector, target_ref

SERVICE_LABEL = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
MAX_ENDPOINTS = 100


def _by_service(obj):
    labels = meta_of(obj).get("labels") or {}
    name = labels.get(SERVICE_LABEL)
    if not name or labels.get(MANAGED_BY) != CONTROLLER_NAME:
        return []
    return [f"{meta_of(obj).get('namespace')}/{name}"]


register_index("service", _by_service)


class EndpointSliceController(Controller):
    name = "endpointslice"
    label = "EndpointSlice"

    def setup(self) -> None:
        self.expectations = Expectations()  # slices created and not yet seen (their names are generated)
        self.services = self.informer("services", "on_service", indexes=("namespace",))
        self.pods = self.informer("pods", "on_pod", indexes=("namespace", "controller", "node", "owner"))
        self.slices = self.informer("endpointslices", "on_slice", indexes=("namespace", "service"))

    def on_service(self, event, obj, old) -> None:
        self.queue.add(key_of(obj))

    def stop(self) -> None:
        self.expectations = Expectations()

    def on_slice(self, event, obj, old) -> None:
        for key in _by_service(obj):
            if event == "add":
                self.expectations.creation_observed(key)
            self.queue.add(key)

    def on_pod(self, event, pod, old) -> None:
        if event == "update" and old is not None and _pod_view(old) == _pod_view(pod):
            return
        for service in self.services.list(meta_of(pod).get("namespace")):
            if matching_pods([pod], service) or (old is not None and matching_pods([old], service)):
                self.queue.add(key_of(service))

    def sync(self, key: str):
        namespace, name = split_key(key)
        service = self.services.get(key)
        existing = self.slices.by_index("service", key)
        if not self.expectations.satisfied(key, self.now):
            self.reconcile(key, "wait", f"EndpointSlices of {key}: waiting to see the slices it created")
            return True
        if service is None or service_selector(service) is None:
            # The garbage collector removes owned slices with the Service; nothing to manage here.
            if service is not None:
                self.reconcile(key, "none", f"EndpointSlices of {key}: Service has no selector; not managed")
            return True
        groups: dict[tuple, list] = {}
        for pod in matching_pods(self.pods.list(namespace), service):
            ip = pod_ip(pod)
            if ip is None or dig(pod, "status", "phase") in ("Succeeded", "Failed"):
                continue
            ports = pod_ports(service, pod)
            if ports is None:
                continue
            terminating = bool(meta_of(pod).get("deletionTimestamp"))
            ready = is_pod_ready(pod)
            endpoint = {"addresses": [ip], "conditions": {"ready": ready and not terminating, "serving": ready, "terminating": terminating},
                        "targetRef": target_ref(pod)}
            if dig(pod, "spec", "nodeName"):
                endpoint["nodeName"] = dig(pod, "spec", "nodeName")
            groups.setdefault(ports, []).append(endpoint)
        desired = []  # (ports, endpoints) per slice
        for ports in sorted(groups):
            endpoints = sorted(groups[ports], key=lambda e: (e["addresses"][0], e["targetRef"]["name"]))
            for i in range(0, len(endpoints), MAX_ENDPOINTS):
                desired.append((ports, endpoints[i:i + MAX_ENDPOINTS]))
        if not desired:
            desired.append(((), []))  # a Service with no endpoints still has one empty slice
        unused = sorted(existing, key=lambda s: meta_of(s).get("name"))
        updates, creates = [], []
        for ports, endpoints in desired:
            match = next((s for s in unused if tuple((p.get("name") or "", p.get("port"), p.get("protocol") or "TCP") for p in s.get("ports") or []) == ports), None)
            if match is None:
                creates.append((ports, endpoints))
                continue
            unused.remove(match)
            if (match.get("endpoints") or []) != endpoints or not _labels_ok(match, service):
                updates.append((match, ports, endpoints))
        # Reuse leftover slices before creating new ones.
        while creates and unused:
            ports, endpoints = creates.pop(0)
            updates.append((unused.pop(0), ports, endpoints))
        total = sum(len(e) for _p, e in desired)
        ready = sum(1 for _p, eps in desired for e in eps if e["conditions"]["ready"])
        what = f"EndpointSlices of {key}: {plural(total, 'endpoint')} ({ready} ready) in {plural(len(desired), 'slice')}"
        if not updates and not creates and not unused:
            self.reconcile(key, "none", f"{what}; up to date", endpoints=total, ready=ready)
            return True
        parts = [f"{verb} {len(items)}" for verb, items in (("updating", updates), ("creating", creates), ("deleting", unused)) if items]
        self.reconcile(key, "update" if updates else ("create" if creates else "delete"), f"{what}; " + ", ".join(parts), endpoints=total, ready=ready)
        for slice_, ports, endpoints in updates:
            body = copy_json(slice_)
            body.update(self._slice_fields(service, ports, endpoints))
            body["metadata"]["labels"] = dict(body["metadata"].get("labels") or {}, **self._labels(service))
            meta = meta_of(slice_)
            self.request("update", "endpointslices", namespace=namespace, name=meta.get("name"), body=body, ok=(404,))
        if creates:
            self.expectations.expect(key, self.now, adds=len(creates))
        for ports, endpoints in creates:
            body = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"generateName": f"{name}-", "namespace": namespace, "labels": self._labels(service), "ownerReferences": [owner_ref(service)]},
                    **self._slice_fields(service, ports, endpoints)}
            self.request("create", "endpointslices", namespace=namespace, body=body, then=self.handler("created"), context=key)
        for slice_ in unused:
            meta = meta_of(slice_)
            self.request("delete", "endpointslices", namespace=namespace, name=meta.get("name"), ok=(404,))
        return True

    def created(self, response, key) -> None:
        if response.get("code", 0) >= 300:
            self.expectations.creation_observed(key)

    @staticmethod
    def _labels(service: dict) -> dict:
        labels = {k: v for k, v in (meta_of(service).get("labels") or {}).items() if k not in (SERVICE_LABEL, MANAGED_BY)}
        labels[SERVICE_LABEL] = meta_of(service).get("name")
        labels[MANAGED_BY] = CONTROLLER_NAME
        return labels

    @staticmethod
    def _slice_fields(service: dict, ports: tuple, endpoints: list) -> dict:
        return {"addressType": "IPv4", "endpoints": endpoints, "ports": ports_json(ports)}


def _labels_ok(slice_: dict, service: dict) -> bool:
    labels = meta_of(slice_).get("labels") or {}
    return all(labels.get(k) == v for k, v in EndpointSliceController._labels(service).items())
