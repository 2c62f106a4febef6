"""The real ASGI application for the kubectl tests, with two test-only wiring choices:

- if Cluster._build does not (yet) create kube-apiserver, the test cluster class adds it
  over the cluster's etcd members;
- a cluster whose name starts with `rbac-` gets the API server with RBAC switched on, and a
  token `admin-token` for a system:masters user (the Python client can send it over http;
  kubectl over http sends none, so it is anonymous and gets Forbidden).

`daphne tests.kubectl.asgi:application`
"""

from cluster.apiserver import build_apiserver
from cluster.cluster import Cluster
from cluster.etcd import build_members
from dashboard import runner
from dashboard.asgi import application  # noqa: F401  (the application daphne serves)

ADMIN_TOKEN = "admin-token"
TOKENS = {ADMIN_TOKEN: {"name": "admin", "groups": ["system:masters"]}}


class KubectlTestCluster(Cluster):
    def _build(self):
        rbac = self.config.name.startswith("rbac-")
        if rbac:
            self._rbac_build()
        else:
            super()._build()
        if "kube-apiserver" not in self.sim.components:
            members = [n for n, c in self.sim.components.items() if c.kind == "etcd"]
            if not members:
                members = build_members(self.sim, self.config.etcd_members, self.profile)
            build_apiserver(self.sim, members, profile=self.profile, rbac_enabled=rbac, tokens=TOKENS)

    def _rbac_build(self):
        """The regular wiring, but the API server is built with RBAC on."""
        import cluster.cluster as module

        real = getattr(module, "build_apiserver", None)
        if real is None:
            super()._build()
            return
        module.build_apiserver = lambda *a, **kw: real(*a, **{**kw, "rbac_enabled": True, "tokens": TOKENS})
        try:
            super()._build()
        finally:
            module.build_apiserver = real


runner.Cluster = KubectlTestCluster
