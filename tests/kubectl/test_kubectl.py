"""Real kubectl against a simulated cluster, end to end: kubectl -> HTTP -> recorded command ->
the kubectl component -> kube-apiserver -> etcd (Raft) -> watch cache -> controllers, the
scheduler and kubelets on two nodes -> back, for every command of issue 4 item 6.

Most commands run through gcloud's dispatcher (/usr/bin/kubectl), which asks /version and then
runs kubectl 1.32 (protobuf bodies for `create ...`); a subset runs with an older installed minor
(1.29: JSON bodies everywhere) directly. Clusters use realistic timing at speed 100, so a
rollout of nginx (an image pull of a few virtual seconds) takes a fraction of a wall second.
"""

import json
import textwrap
import time

import pytest

from .conftest import KUBECTL_OLD, LineReader

MANIFEST = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: api
      labels: {app: api}
    spec:
      replicas: 2
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          containers: [{name: api, image: "nginx:1.27"}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: api}
    spec:
      selector: {app: api}
      ports: [{port: 80, targetPort: 8080}]
    """)


@pytest.fixture(scope="module")
def cluster(server):
    name = server.cluster("e2e", keep=True, speed=100, nodes=2)
    (server.tmp / "manifest.yaml").write_text(MANIFEST)
    wait_for(lambda: len(table(server.kubectl(name, "get", "nodes").stdout)) == 3, "two nodes registered")
    yield name
    server.delete(name)


def run(server, cluster, *args, **kw):
    return server.kubectl(cluster, *args, **kw)


def table(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def wait_for(condition, what: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds}s: {what}")
        time.sleep(0.2)


def pods(server, cluster, *selector) -> dict[str, dict]:
    listed = json.loads(run(server, cluster, "get", "pods", *selector, "-o", "json").stdout)["items"]
    return {p["metadata"]["name"]: p for p in listed}


def test_version_and_nodes(server, cluster):
    assert "Server Version: v1.32.0" in run(server, cluster, "version").stdout
    rows = table(run(server, cluster, "get", "nodes").stdout)
    assert rows[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [(r[0], r[1], r[-1]) for r in rows[1:]] == [("node-1", "Ready", "v1.32.0"), ("node-2", "Ready", "v1.32.0")]
    wide = table(run(server, cluster, "get", "nodes", "-o", "wide").stdout)
    assert wide[0][5:8] == ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE"] and wide[1][-1].startswith("containerd://")
    assert [row[0] for row in table(run(server, cluster, "get", "namespaces").stdout)[1:]] == ["default", "kube-node-lease", "kube-public", "kube-system"]


def test_apply_then_change_then_unchanged_then_server_side(server, cluster):
    assert run(server, cluster, "apply", "-f", "manifest.yaml").stdout.split("\n")[:2] == ["deployment.apps/api created", "service/api created"]
    assert run(server, cluster, "apply", "-f", "manifest.yaml").stdout.split("\n")[:2] == ["deployment.apps/api unchanged", "service/api unchanged"]
    changed = MANIFEST.replace("replicas: 2", "replicas: 4")
    assert run(server, cluster, "apply", "-f", "-", stdin=changed).stdout.split("\n")[:2] == ["deployment.apps/api configured", "service/api unchanged"]
    deployment = json.loads(run(server, cluster, "get", "deployment", "api", "-o", "json").stdout)
    assert deployment["spec"]["replicas"] == 4 and deployment["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in deployment["metadata"]["annotations"]
    service = json.loads(run(server, cluster, "get", "service", "api", "-o", "json").stdout)
    assert service["spec"]["clusterIP"].startswith("10.") and service["spec"]["type"] == "ClusterIP"
    server_side = MANIFEST.replace("replicas: 2", "replicas: 3")
    out = run(server, cluster, "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=server_side).stdout
    assert out.split("\n")[:2] == ["deployment.apps/api serverside-applied", "service/api serverside-applied"]
    managed = json.loads(run(server, cluster, "get", "deployment", "api", "-o", "json", "--show-managed-fields").stdout)["metadata"]["managedFields"]
    assert "kubectl" in {m["manager"] for m in managed}
    assert run(server, cluster, "rollout", "status", "deployment/api", "--timeout=60s").stdout.strip().endswith('deployment "api" successfully rolled out')
    assert len(pods(server, cluster, "-l", "app=api")) == 3


def test_create_run_and_the_get_variants(server, cluster):
    assert run(server, cluster, "create", "deployment", "web", "--image=nginx", "--replicas=3").stdout.strip() == "deployment.apps/web created"  # protobuf body
    assert run(server, cluster, "create", "namespace", "team-a").stdout.strip() == "namespace/team-a created"  # protobuf body
    assert run(server, cluster, "run", "solo", "--image=nginx", "--labels=app=solo").stdout.strip() == "pod/solo created"
    rollout = run(server, cluster, "rollout", "status", "deployment/web", "--timeout=60s").stdout
    assert rollout.strip().endswith('deployment "web" successfully rolled out')
    wait_for(lambda: pods(server, cluster, "-l", "app=solo")["solo"]["status"].get("phase") == "Running", "solo running")
    rows = table(run(server, cluster, "get", "pods", "-l", "app in (web, solo)", "-o", "wide").stdout)
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE", "READINESS", "GATES"]
    assert len(rows) == 5 and all(r[1:3] == ["1/1", "Running"] and r[5].startswith("10.244.") and r[6] in ("node-1", "node-2") for r in rows[1:])
    pod_yaml = run(server, cluster, "get", "pod", "solo", "-o", "yaml").stdout
    assert "kind: Pod" in pod_yaml and "name: solo" in pod_yaml and "phase: Running" in pod_yaml
    assert list(pods(server, cluster, "-l", "app=solo")) == ["solo"]
    node = pods(server, cluster, "-l", "app=solo")["solo"]["spec"]["nodeName"]
    on_node = table(run(server, cluster, "get", "pods", f"--field-selector=spec.nodeName={node}").stdout)
    assert "solo" in [r[0] for r in on_node[1:]]
    rows = table(run(server, cluster, "get", "deployments", "-A").stdout)
    assert rows[0][:2] == ["NAMESPACE", "NAME"] and ["default", "web", "3/3"] in [r[:3] for r in rows[1:]]
    everything = run(server, cluster, "get", "all").stdout
    for name in ("pod/solo", "service/kubernetes", "deployment.apps/web", "replicaset.apps/web-"):
        assert name in everything
    assert "pod/solo" in run(server, cluster, "get", "pods", "-o", "name").stdout.split()
    empty = run(server, cluster, "get", "pods", "-n", "team-a")
    assert empty.stdout == "" and empty.stderr.strip() == "No resources found in team-a namespace."


def test_every_create_subcommand_sends_protobuf_that_decodes(server, cluster):
    """kubectl 1.32's typed clients send these in protobuf (shared/k8s-api-contract.md section 9)."""
    commands = [
        (["configmap", "cfg", "--from-literal=a=1", "--from-literal=b=two"], "configmap/cfg created"),
        (["secret", "generic", "sec", "--from-literal=pw=s3cr3t"], "secret/sec created"),
        (["service", "clusterip", "svc", "--tcp=80:8080"], "service/svc created"),
        (["service", "nodeport", "np", "--tcp=80:8080", "--node-port=30080"], "service/np created"),
        (["job", "once", "--image=busybox", "--", "echo", "hi"], "job.batch/once created"),
        (["cronjob", "tick", "--image=busybox", "--schedule=*/1 * * * *", "--", "date"], "cronjob.batch/tick created"),
        (["serviceaccount", "robot"], "serviceaccount/robot created"),
        (["role", "reader", "--verb=get,list", "--resource=pods"], "role.rbac.authorization.k8s.io/reader created"),
        (["rolebinding", "reads", "--role=reader", "--user=alice"], "rolebinding.rbac.authorization.k8s.io/reads created"),
        (["quota", "small", "--hard=pods=50", "-n", "team-a"], "resourcequota/small created"),
    ]
    for args, printed in commands:
        assert run(server, cluster, "create", *args).stdout.strip() == printed
    get = lambda *what: json.loads(run(server, cluster, "get", *what, "-o", "json").stdout)  # noqa: E731
    assert get("configmap", "cfg")["data"] == {"a": "1", "b": "two"}
    assert get("secret", "sec")["data"] == {"pw": "czNjcjN0"}
    assert get("service", "svc")["spec"]["ports"] == [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}]
    assert get("service", "np")["spec"]["ports"][0]["nodePort"] == 30080 and get("service", "np")["spec"]["type"] == "NodePort"
    assert get("job", "once")["spec"]["template"]["spec"]["containers"][0]["command"] == ["echo", "hi"]
    assert get("cronjob", "tick")["spec"]["schedule"] == "*/1 * * * *"
    assert get("role", "reader")["rules"] == [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]
    assert get("rolebinding", "reads")["subjects"] == [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}]
    assert get("resourcequota", "small", "-n", "team-a")["spec"]["hard"] == {"pods": "50"}


def test_scale_and_rollout_status(server, cluster):
    run(server, cluster, "create", "deployment", "roll", "--image=nginx", "--replicas=1")
    assert run(server, cluster, "scale", "deployment", "roll", "--replicas=5").stdout.strip() == "deployment.apps/roll scaled"
    assert json.loads(run(server, cluster, "get", "deployment", "roll", "-o", "json").stdout)["spec"]["replicas"] == 5
    status = run(server, cluster, "rollout", "status", "deployment/roll", "--timeout=60s").stdout
    assert status.strip().endswith('deployment "roll" successfully rolled out')
    rows = table(run(server, cluster, "get", "deployment", "roll").stdout)
    assert rows[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] and rows[1][:4] == ["roll", "5/5", "5", "5"]
    assert run(server, cluster, "set", "image", "deployment/roll", "nginx=nginx:1.27").stdout.strip() == "deployment.apps/roll image updated"
    assert run(server, cluster, "rollout", "status", "deployment/roll", "--timeout=60s").stdout.strip().endswith('deployment "roll" successfully rolled out')
    images = {p["spec"]["containers"][0]["image"] for p in pods(server, cluster, "-l", "app=roll").values() if "deletionTimestamp" not in p["metadata"]}
    assert images == {"nginx:1.27"}


def test_describe_logs_and_events(server, cluster):
    run(server, cluster, "run", "talker", "--image=nginx")
    wait_for(lambda: pods(server, cluster, "-l", "run=talker")["talker"]["status"].get("phase") == "Running", "talker running")
    described = run(server, cluster, "describe", "pod", "talker").stdout
    assert "Name:             talker" in described and "Status:           Running" in described
    for reason in ("Scheduled", "Pulled", "Created", "Started"):
        assert f"Normal  {reason}" in described
    logs = run(server, cluster, "logs", "talker").stdout
    assert "start worker processes" in logs
    assert len(run(server, cluster, "logs", "talker", "--tail=2").stdout.strip().splitlines()) == 2
    follower = server.popen_kubectl(cluster, "logs", "-f", "talker")
    try:
        assert LineReader(follower).lines(3)  # the log so far, then held open for more
        assert follower.poll() is None
    finally:
        follower.kill()
        follower.wait()
    events = table(run(server, cluster, "get", "events", "--field-selector=involvedObject.name=talker").stdout)
    assert events[0] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert {"Scheduled", "Started"} <= {row[2] for row in events[1:]}
    missing = run(server, cluster, "logs", "nope", check=False)
    assert missing.stderr.strip() == 'error: error from server (NotFound): pods "nope" not found in namespace "default"'


def test_label_annotate_and_the_three_patch_types(server, cluster):
    run(server, cluster, "run", "patched", "--image=nginx")
    assert run(server, cluster, "label", "pod", "patched", "tier=web").stdout.strip() == "pod/patched labeled"
    assert run(server, cluster, "annotate", "pod", "patched", "note=hello").stdout.strip() == "pod/patched annotated"
    run(server, cluster, "label", "pod", "patched", "run-")
    pod = json.loads(run(server, cluster, "get", "pod", "patched", "-o", "json").stdout)
    assert pod["metadata"]["labels"] == {"tier": "web"} and pod["metadata"]["annotations"]["note"] == "hello"
    run(server, cluster, "create", "deployment", "patchy", "--image=nginx")
    run(server, cluster, "patch", "deployment", "patchy", "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.27"}]}}}}')
    run(server, cluster, "patch", "deployment", "patchy", "--type=merge", "-p", '{"metadata":{"labels":{"merged":"yes"}}}')
    run(server, cluster, "patch", "deployment", "patchy", "--type=json", "-p", '[{"op":"replace","path":"/spec/replicas","value":2}]')
    deployment = json.loads(run(server, cluster, "get", "deployment", "patchy", "-o", "json").stdout)
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1 and containers[0]["image"] == "nginx:1.27"  # strategic merge: merged by name
    assert deployment["metadata"]["labels"]["merged"] == "yes" and deployment["spec"]["replicas"] == 2
    assert run(server, cluster, "rollout", "restart", "deployment/patchy").stdout.strip() == "deployment.apps/patchy restarted"
    after = json.loads(run(server, cluster, "get", "deployment", "patchy", "-o", "json").stdout)
    assert "kubectl.kubernetes.io/restartedAt" in after["spec"]["template"]["metadata"]["annotations"]
    assert after["metadata"]["generation"] == deployment["metadata"]["generation"] + 1


def test_replace_with_a_stale_object_conflicts(server, cluster):
    run(server, cluster, "create", "configmap", "stale", "--from-literal=v=1")
    (server.tmp / "stale.yaml").write_text(run(server, cluster, "get", "configmap", "stale", "-o", "yaml").stdout)
    run(server, cluster, "patch", "configmap", "stale", "--type=merge", "-p", '{"data":{"v":"2"}}')
    result = run(server, cluster, "replace", "-f", "stale.yaml", check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == ('Error from server (Conflict): error when replacing "stale.yaml": Operation cannot be fulfilled on configmaps "stale": '
                                     "the object has been modified; please apply your changes to the latest version and try again")
    fresh = run(server, cluster, "get", "configmap", "stale", "-o", "yaml").stdout
    assert run(server, cluster, "replace", "-f", "-", stdin=fresh.replace("v: \"2\"", "v: \"3\"")).stdout.strip() == "configmap/stale replaced"


def test_delete_with_each_cascade_mode(server, cluster):
    for name in ("gone-bg", "gone-fg", "gone-orphan"):
        run(server, cluster, "create", "deployment", name, "--image=nginx")
    for name in ("gone-bg", "gone-fg", "gone-orphan"):
        run(server, cluster, "rollout", "status", f"deployment/{name}", "--timeout=60s")
    assert run(server, cluster, "delete", "deployment", "gone-bg").stdout.strip() == 'deployment.apps "gone-bg" deleted'
    assert run(server, cluster, "delete", "deployment", "gone-fg", "--cascade=foreground").stdout.strip() == 'deployment.apps "gone-fg" deleted'
    assert run(server, cluster, "delete", "deployment", "gone-orphan", "--cascade=orphan").stdout.strip() == 'deployment.apps "gone-orphan" deleted'
    assert run(server, cluster, "get", "deployment", "gone-bg", check=False).stderr.strip() == 'Error from server (NotFound): deployments.apps "gone-bg" not found'

    def replicasets(app):
        return json.loads(run(server, cluster, "get", "replicasets", "-l", f"app={app}", "-o", "json").stdout)["items"]

    # Background and Foreground: the garbage collector removes the ReplicaSet and its pods.
    wait_for(lambda: not replicasets("gone-bg") and not pods(server, cluster, "-l", "app=gone-bg"), "gone-bg's dependents deleted")
    assert not replicasets("gone-fg") and not pods(server, cluster, "-l", "app=gone-fg")
    # Orphan: they stay, without an owner.
    orphans = replicasets("gone-orphan")
    assert len(orphans) == 1 and not orphans[0]["metadata"].get("ownerReferences")
    assert len(pods(server, cluster, "-l", "app=gone-orphan")) == 1
    run(server, cluster, "run", "short-lived", "--image=nginx")
    assert run(server, cluster, "delete", "pod", "short-lived").stdout.strip() == 'pod "short-lived" deleted'
    assert "short-lived" not in pods(server, cluster)


def test_cordon_uncordon_and_drain(server):
    name = server.cluster("drain", speed=100, nodes=2)
    wait_for(lambda: len(table(run(server, name, "get", "nodes").stdout)) == 3, "two nodes registered")
    assert run(server, name, "cordon", "node-1").stdout.strip() == "node/node-1 cordoned"
    assert table(run(server, name, "get", "node", "node-1").stdout)[1][1] == "Ready,SchedulingDisabled"
    assert run(server, name, "uncordon", "node-1").stdout.strip() == "node/node-1 uncordoned"
    assert json.loads(run(server, name, "get", "node", "node-1", "-o", "json").stdout)["spec"].get("unschedulable") is None
    run(server, name, "create", "deployment", "web", "--image=nginx", "--replicas=4")
    run(server, name, "rollout", "status", "deployment/web", "--timeout=60s")
    on_node_1 = [n for n, p in pods(server, name).items() if p["spec"]["nodeName"] == "node-1"]
    assert on_node_1, "the scheduler spreads four replicas over both nodes"
    drained = run(server, name, "drain", "node-1", "--ignore-daemonsets", "--timeout=60s")
    out = drained.stdout + drained.stderr
    assert "node/node-1 cordoned" in out and "node/node-1 drained" in out
    for pod_name in on_node_1:
        assert f"evicting pod default/{pod_name}" in out and f"pod/{pod_name} evicted" in out
    run(server, name, "rollout", "status", "deployment/web", "--timeout=60s")
    now = pods(server, name)
    assert len(now) == 4 and {p["spec"]["nodeName"] for p in now.values()} == {"node-2"} and not set(on_node_1) & set(now)
    run(server, name, "run", "bare", "--image=nginx", "--overrides", '{"spec": {"nodeName": "node-2"}}')
    refused = run(server, name, "drain", "node-2", "--ignore-daemonsets", "--timeout=5s", check=False)
    assert refused.returncode == 1 and "cannot delete Pods that declare no controller (use --force to override): default/bare" in refused.stderr


def test_expose(server, cluster):
    run(server, cluster, "create", "deployment", "exposed", "--image=nginx")
    assert run(server, cluster, "expose", "deployment", "exposed", "--port=80", "--target-port=8080").stdout.strip() == "service/exposed exposed"
    service = json.loads(run(server, cluster, "get", "service", "exposed", "-o", "json").stdout)
    assert service["spec"]["selector"] == {"app": "exposed"} and service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 8080}]
    rows = table(run(server, cluster, "get", "services").stdout)
    assert rows[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"] and next(r for r in rows if r[0] == "exposed")[1:2] == ["ClusterIP"]


def test_get_watch_streams_events_as_they_happen(server, cluster):
    run(server, cluster, "create", "namespace", "watched")
    run(server, cluster, "run", "watched-0", "--image=nginx", "-n", "watched")
    watcher = server.popen_kubectl(cluster, "get", "pods", "-n", "watched", "-w", "--output-watch-events")
    try:
        reader = LineReader(watcher)
        header, first = reader.lines(2)
        assert header.split() == ["EVENT", "NAME", "READY", "STATUS", "RESTARTS", "AGE"] and first.split()[:2] == ["ADDED", "watched-0"]
        run(server, cluster, "run", "watched-1", "--image=nginx", "-n", "watched")
        seen = []
        while not any(line[:3] == ["MODIFIED", "watched-1", "1/1"] for line in seen):  # added, scheduled, pulled, running...
            seen.append(reader.lines(1)[0].split())
        assert seen[0][:2] == ["ADDED", "watched-1"]
        run(server, cluster, "delete", "pod", "watched-0", "-n", "watched", "--wait=false")
        while True:
            line = reader.lines(1)[0].split()
            if line[:2] == ["DELETED", "watched-0"]:
                break
            assert line[1] == "watched-0"  # Terminating on its way out
        assert watcher.poll() is None  # the stream is held open: kubectl get -w does not exit
    finally:
        watcher.kill()
        watcher.wait()


def test_error_paths_print_kubectl_messages(server, cluster):
    assert run(server, cluster, "get", "pod", "nope", check=False).stderr.strip() == 'Error from server (NotFound): pods "nope" not found'
    assert run(server, cluster, "get", "deployment", "nope", check=False).stderr.strip() == 'Error from server (NotFound): deployments.apps "nope" not found'
    run(server, cluster, "create", "namespace", "twice")
    assert run(server, cluster, "create", "namespace", "twice", check=False).stderr.strip() == 'Error from server (AlreadyExists): namespaces "twice" already exists'
    bad = "apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec: {containers: []}\n"
    invalid = run(server, cluster, "create", "-f", "-", stdin=bad, check=False)
    assert invalid.returncode == 1 and invalid.stderr.startswith('The Pod "Bad_Name" is invalid: \n* metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain')
    assert "* spec.containers: Required value" in invalid.stderr
    unknown = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: loose}\ndata: {a: b}\nfoo: bar\n"
    strict = run(server, cluster, "create", "-f", "-", stdin=unknown, check=False)
    assert strict.stderr.strip() == ('Error from server (BadRequest): error when creating "STDIN": ConfigMap in version "v1" cannot be handled as a ConfigMap: '
                                     'strict decoding error: unknown field "foo"')
    warned = run(server, cluster, "create", "-f", "-", "--validate=warn", stdin=unknown)
    assert warned.stdout.strip() == "configmap/loose created" and 'Warning: unknown field "foo"' in warned.stderr
    server.wait_compacted(cluster)
    expired = run(server, cluster, "get", "--raw", f"/k8s/{cluster}/api/v1/pods?resourceVersion=1&resourceVersionMatch=Exact", check=False)
    assert expired.returncode == 1 and expired.stderr.startswith("Error from server (Expired): too old resource version: 1 (")
    stream = run(server, cluster, "get", "--raw", f"/k8s/{cluster}/api/v1/namespaces/default/pods?watch=true&resourceVersion=1")
    event = json.loads(stream.stdout.splitlines()[0])
    assert event["type"] == "ERROR" and event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"


def test_forbidden_when_rbac_is_on(server):
    name = server.cluster("rbac", rbac=True)
    listed = run(server, name, "get", "pods", check=False)
    assert listed.stderr.strip() == 'Error from server (Forbidden): pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"'
    created = run(server, name, "create", "deployment", "x", "--image=nginx", check=False)
    assert 'deployments.apps is forbidden: User "system:anonymous" cannot create resource "deployments" in API group "apps" in the namespace "default"' in created.stderr
    # kubectl --as names the user (over http kubectl sends no credentials; impersonation stands in).
    alice = run(server, name, "--as=alice", "get", "pods", check=False)
    assert alice.stderr.strip() == 'Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"'
    admin = ["--as=root", "--as-group=system:masters"]
    run(server, name, *admin, "create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods")
    run(server, name, *admin, "create", "rolebinding", "alice-reads", "--role=pod-reader", "--user=alice")
    assert run(server, name, "--as=alice", "get", "pods").stderr.strip() == "No resources found in default namespace."
    still = run(server, name, "--as=alice", "create", "deployment", "x", "--image=nginx", check=False)
    assert 'User "alice" cannot create resource "deployments"' in still.stderr


@pytest.mark.skipif(KUBECTL_OLD is None, reason="no older kubectl minor installed")
def test_an_older_kubectl_minor_sends_json_and_works_too(server):
    name = server.cluster("old", speed=100, nodes=1)
    version = run(server, name, "version", binary=KUBECTL_OLD).stdout
    assert "Client Version: v1.29" in version or "Client Version: v1.30" in version or "Client Version: v1.28" in version
    assert run(server, name, "create", "deployment", "web", "--image=nginx", "--replicas=2", binary=KUBECTL_OLD).stdout.strip() == "deployment.apps/web created"
    (server.tmp / "old.yaml").write_text(MANIFEST)
    assert "service/api created" in run(server, name, "apply", "-f", "old.yaml", binary=KUBECTL_OLD).stdout
    assert run(server, name, "scale", "deployment", "web", "--replicas=3", binary=KUBECTL_OLD).stdout.strip() == "deployment.apps/web scaled"
    assert run(server, name, "rollout", "status", "deployment/web", "--timeout=60s", binary=KUBECTL_OLD).stdout.strip().endswith('deployment "web" successfully rolled out')
    rows = table(run(server, name, "get", "deployments", binary=KUBECTL_OLD).stdout)
    assert rows[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] and [r[:2] for r in rows[1:]] == [["api", "2/2"], ["web", "3/3"]]
    assert run(server, name, "delete", "deployment", "web", binary=KUBECTL_OLD).stdout.strip() == 'deployment.apps "web" deleted'
    assert run(server, name, "get", "deployment", "web", check=False, binary=KUBECTL_OLD).stderr.strip() == 'Error from server (NotFound): deployments.apps "web" not found'


def test_each_request_is_a_recorded_command_and_a_message_from_kubectl(server):
    name = server.cluster("traced")
    before = server.summary(name)
    run(server, name, "create", "configmap", "traced", "--from-literal=a=b")
    run(server, name, "get", "configmap", "traced")
    after = server.summary(name)
    assert after["counts"]["commands"] - before["counts"]["commands"] == 2
    events = server.rest("GET", f"/api/clusters/{name}/events?after={before['last_seq']}&limit=5000")["events"]
    sends = [e for e in events if e["kind"] == "net.send" and e["source"] == "kubectl"]
    assert [e["summary"] for e in sends] == [
        "kubectl → kube-apiserver: POST /api/v1/namespaces/default/configmaps",
        "kubectl → kube-apiserver: GET /api/v1/namespaces/default/configmaps/traced",
    ]
    assert all(e["target"] == "kube-apiserver" and e["data"]["client"] == "kubectl" for e in sends)
    answers = [e for e in events if e["kind"] == "net.deliver" and e["target"] == "kubectl"]
    assert len(answers) == 2


def test_the_server_never_failed_with_a_500(server):
    log = (server.tmp / "daphne.log").read_text(errors="replace")
    assert "Traceback" not in log and '" 500 ' not in log
