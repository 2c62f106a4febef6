"""A whole cluster for Service tests: `Cluster` itself (etcd, kube-apiserver, kube-scheduler,
kube-controller-manager, and per node containerd, kubelet and kube-proxy), driven by
recorded commands as the dashboard drives it, plus readers for what happened.

    h = ServiceCluster(mode="iptables")
    h.deploy("web", replicas=3)                    # a Deployment of nginx and a Service in front
    h.client("client", node="node-1")              # a pod to send from
    h.wait_rules("default/web", 3)                 # every kube-proxy has three endpoints
    gen = h.traffic("web", rate=20, seconds=5, source="client")
    h.run(7); h.stats("web")                       # {"requests", "errors", "pods": {...}, ...}
"""

from cluster.cluster import Cluster, ClusterConfig
from cluster.kernel import MILLISECOND, SECOND
from cluster.proxy import proxies, proxy_of
from cluster.traffic import traffic_view


class ServiceCluster:
    def __init__(self, *, mode="iptables", scheduler="rr", nodes=3, seed=1, profile="realistic", start=True):
        self.cluster = Cluster(ClusterConfig(name="svc", seed=seed, etcd_members=1, nodes=nodes, profile=profile, proxy_mode=mode, ipvs_scheduler=scheduler))
        self.sim = self.cluster.sim
        if start:
            self.run_until(lambda: len(self.proxies()) == nodes and all(p.version >= 1 for p in self.proxies()), 30)

    # --- time ---------------------------------------------------------------------------------------
    @property
    def now(self):
        return self.sim.now

    def run(self, seconds):
        self.cluster.advance(int(seconds * SECOND))

    def run_until(self, condition, seconds=60, step_ms=20):
        deadline = self.sim.now + int(seconds * SECOND)
        while not condition():
            if self.sim.now >= deadline:
                raise AssertionError(f"condition not met within {seconds} virtual seconds")
            self.sim.run_until(min(deadline, self.sim.now + step_ms * MILLISECOND))
        return True

    # --- the user's commands ------------------------------------------------------------------------------
    def kube(self, verb, resource, *, group="", version="v1", body=None, name=None, namespace="default", patch_type=None, query=None):
        cmd = {"type": "kube", "verb": verb, "group": group, "version": version, "resource": resource, "namespace": namespace}
        for key, value in (("body", body), ("name", name), ("patch_type", patch_type), ("query", query)):
            if value is not None:
                cmd[key] = value
        return self.cluster.command(cmd)

    def deploy(self, name, replicas=3, *, service=True, kind="ClusterIP", node_port=None, affinity=False, external=None, internal=None, node_selector=None,
               cpu_limit=None):
        labels = {"app": name}
        resources = {"requests": {"cpu": "100m", "memory": "64Mi"}}
        if cpu_limit:
            resources["limits"] = {"cpu": cpu_limit}
        spec = {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80, "name": "http"}], "resources": resources}]}
        if node_selector:
            spec["nodeSelector"] = node_selector
        body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
                "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": spec}}}
        self.kube("create", "deployments", group="apps", body=body)
        if service:
            self.service(name, kind=kind, node_port=node_port, affinity=affinity, external=external, internal=internal)

    def service(self, name, *, selector=None, kind="ClusterIP", node_port=None, affinity=False, external=None, internal=None, headless=False):
        port = {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
        if node_port:
            port["nodePort"] = node_port
        spec = {"type": kind, "selector": selector or {"app": name}, "ports": [port]}
        if affinity:
            spec["sessionAffinity"] = "ClientIP"
        if external:
            spec["externalTrafficPolicy"] = external
        if internal:
            spec["internalTrafficPolicy"] = internal
        if headless:
            spec["clusterIP"] = "None"
        self.kube("create", "services", body={"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})

    def client(self, name, node):
        """A pod that sleeps (the load tool's home), placed on `node` by spec.nodeName."""
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "100000"]}]}}
        self.kube("create", "pods", body=body)
        self.run_until(lambda: self.running(name), 60)

    def traffic(self, service, *, rate, seconds, source, namespace="default", **extra):
        return self.cluster.command({"type": "traffic", "namespace": namespace, "service": service, "rate": rate, "seconds": seconds, "source": source, **extra})

    def delete_pod(self, name, namespace="default"):
        return self.kube("delete", "pods", name=name, namespace=namespace)

    # --- reading the truth (caches and components: no requests, no events) -----------------------------------
    def pods(self, app=None, namespace="default"):
        out = []
        for _key, pod in self.cluster.apiserver.cache.items("pods", f"/registry/pods/{namespace}/"):
            if app is None or (pod["metadata"].get("labels") or {}).get("app") == app:
                out.append(pod)
        return out

    def running(self, name, namespace="default"):
        pod = self.cluster.apiserver.cache.get("pods", f"/registry/pods/{namespace}/{name}")
        return pod is not None and pod.get("status", {}).get("phase") == "Running" and bool(pod["status"].get("podIP"))

    def ready_pods(self, app):
        def ready(p):
            return not p["metadata"].get("deletionTimestamp") and any(
                c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions") or [])
        return sorted(p["metadata"]["name"] for p in self.pods(app) if ready(p))

    def node_of(self, pod_name, namespace="default"):
        return self.cluster.apiserver.cache.get("pods", f"/registry/pods/{namespace}/{pod_name}")["spec"]["nodeName"]

    def node_port(self, service, namespace="default"):
        return self.cluster.apiserver.cache.get("services", f"/registry/services/specs/{namespace}/{service}")["spec"]["ports"][0]["nodePort"]

    def proxies(self):
        return proxies(self.sim)

    def proxy(self, node):
        return proxy_of(self.sim, node)

    def rule_pods(self, key, field="endpoints"):
        """node → the pods its rules send `key` (a service port) to (None: no rules for it yet)."""
        return {p.node: sorted(e["pod"] for e in p.summary[key][field]) if key in p.summary else None for p in self.proxies()}

    def wait_rules(self, key, count, seconds=60, field="endpoints"):
        self.run_until(lambda: all(pods is not None and len(pods) == count for pods in self.rule_pods(key, field).values()), seconds)

    def stats(self, service, namespace="default"):
        return next((s for s in traffic_view(self.sim)["services"] if s["namespace"] == namespace and s["name"] == service), None)

    def generator(self, name):
        return self.sim.components[name]

    def events(self, kind, after=0):
        return [e for e in self.sim.log.events if e["seq"] > after and e["kind"] == kind]

    def done(self, generator):
        return self.generator(generator).state == "done"
