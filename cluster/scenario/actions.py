"""Actions: each one becomes the cluster commands the REST API would send for it, so a
scenario does nothing a user could not do by hand, and every command lands in the
cluster's command log (replay rebuilds a scenario's cluster like any other).

`perform(action, cluster, remembered, send)` returns what to remember (`as:`) and, for a
request, a function that reads its answer later. `send(cluster, command)` is how commands
enter: `cluster.command` headless; the dashboard passes its own (notifies viewers,
persists the log).
"""

from ..apiserver.resources import BY_KIND, lookup
from ..commands import CommandError
from ..etcd.members import find_leader
from .conditions import labels_of, resolve
from .schema import Action
from .state import api_objects

FIELD_MANAGER = "kubectl"
# The lesson's own kubectl acts as kubeadm's admin.conf does, so manifests go in on clusters
# with RBAC on too; a `kubectl` action can name another user to be refused.
ADMIN = {"name": "kubernetes-admin", "groups": ["system:masters"]}


def resolve_target(name: str, cluster, remembered: dict) -> str:
    """@leader, @follower, @alive (etcd members by role, the first by name), or $remembered,
    else the name itself."""
    if name == "@leader":
        leader = find_leader(cluster.etcd_members)
        if leader is None:
            raise CommandError("@leader: etcd has no leader now", "target")
        return leader.name
    if name == "@follower":
        leader = find_leader(cluster.etcd_members)
        followers = sorted(m.name for m in cluster.etcd_members if m.alive and m is not leader)
        if not followers:
            raise CommandError("@follower: no live follower", "target")
        return followers[0]
    if name == "@alive":
        alive = sorted(m.name for m in cluster.etcd_members if m.alive)
        if not alive:
            raise CommandError("@alive: every etcd member is down", "target")
        return alive[0]
    if name.startswith("$"):
        try:
            return str(resolve(name, remembered))
        except KeyError as exc:
            raise CommandError(str(exc.args[0]), "target") from None
    return name


def apply_manifest(doc: dict, send, cluster) -> int:
    """kubectl apply --server-side: a PATCH of type apply, which creates or updates."""
    group, _, version = doc["apiVersion"].rpartition("/")
    info = BY_KIND.get((group, doc["kind"]))
    if info is None:
        raise CommandError(f"unknown kind {doc['kind']} in {doc['apiVersion']}", "apply")
    namespace = (doc["metadata"].get("namespace") or "default") if info["namespaced"] else None
    command = {"type": "kube", "verb": "patch", "group": group, "version": version, "resource": info["plural"], "namespace": namespace,
               "name": doc["metadata"]["name"], "body": doc, "patch_type": "apply", "query": {"fieldManager": FIELD_MANAGER}, "user": ADMIN}
    return send(cluster, command)["id"]


def kube_answer(cluster, rid: int):
    def fetch():
        client = cluster.sim.components["kubectl"]
        try:
            answer = client.result(rid)
        except KeyError:
            return {"state": "forgotten"}
        return {"state": client.state_of(rid), **(answer or {})}
    fetch.ref = ("kube", rid)  # what a saved run keeps to read the answer again (ScenarioRun.saved)
    return fetch


def etcd_answer(cluster, rid: int):
    def fetch():
        answer = cluster.etcdctl.result(rid)
        return {"state": "pending"} if answer is None else {"state": "done", **answer}
    fetch.ref = ("etcd", rid)
    return fetch


def perform(action: Action, cluster, remembered: dict, send) -> tuple[object, object]:
    """(value to remember, answer fetcher or None)."""
    kind = action.kind
    spec = getattr(action, kind)
    if kind == "fault":
        cmd = {"type": "fault", **spec.model_dump(exclude_none=True)}
        if "target" in cmd:
            cmd["target"] = resolve_target(cmd["target"], cluster, remembered)
        if "peer" in cmd:
            cmd["peer"] = resolve_target(cmd["peer"], cluster, remembered)
        if "groups" in cmd:
            cmd["groups"] = [[resolve_target(n, cluster, remembered) for n in group] for group in cmd["groups"]]
        send(cluster, cmd)
        return cmd.get("target"), None
    if kind == "etcd":
        cmd = {"type": "etcd", **spec.model_dump(exclude_none=True)}
        if spec.op == "cas":
            cmd["expected"] = spec.expected
        if "member" in cmd:
            cmd["member"] = resolve_target(cmd["member"], cluster, remembered)
        sent = send(cluster, cmd)
        return sent["member"], etcd_answer(cluster, sent["request"])
    if kind == "traffic":
        result = send(cluster, {"type": "traffic", **spec.model_dump(exclude_none=True)})
        return result.get("generator"), None
    if kind == "node":
        cmd = {"type": "node", **spec.model_dump(exclude_none=True)}
        send(cluster, cmd)
        return spec.name, None
    if kind == "scale":
        info = BY_KIND[("apps", spec.kind)]
        rid = send(cluster, {"type": "kube", "verb": "patch", "group": "apps", "version": "v1", "resource": info["plural"], "namespace": spec.namespace,
                             "name": spec.name, "subresource": "scale", "body": {"spec": {"replicas": spec.replicas}}, "patch_type": "merge", "user": ADMIN})["id"]
        return spec.replicas, kube_answer(cluster, rid)
    if kind == "delete":
        return _delete(spec, cluster, send), None
    if kind == "kubectl":
        cmd = {"type": "kube", "user": ADMIN, **spec.model_dump(exclude_none=True)}
        if lookup(spec.group, spec.resource) is not None and not lookup(spec.group, spec.resource)["namespaced"]:
            cmd.pop("namespace", None)
        rid = send(cluster, cmd)["id"]
        return rid, kube_answer(cluster, rid)
    raise AssertionError(f"{kind} is handled by the run")  # advance: the run's clock


def _delete(spec, cluster, send) -> list[str]:
    info = next((r for r in BY_KIND.values() if r["kind"] == spec.kind), None)
    if info is None:
        raise CommandError(f"unknown kind {spec.kind}", "delete")
    namespace = spec.namespace if info["namespaced"] else None
    if spec.name is not None:
        names = [spec.name]
    else:
        want = labels_of(spec.selector)
        names = sorted(o["metadata"]["name"] for o in api_objects(cluster, info, namespace)
                       if not o["metadata"].get("deletionTimestamp") and all((o["metadata"].get("labels") or {}).get(k) == v for k, v in want.items()))
        names = names[:spec.count]
        if not names:
            raise CommandError(f"no {spec.kind} matches {spec.selector}", "delete")
    for name in names:
        send(cluster, {"type": "kube", "verb": "delete", "group": info["group"], "version": info["version"], "resource": info["plural"],
                       "namespace": namespace, "name": name, "user": ADMIN})
    return names
