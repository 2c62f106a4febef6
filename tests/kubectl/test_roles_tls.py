"""Classroom roles on the Kubernetes API, with the real kubectl and the official Python client
against `manage.py serve` (what `make run` starts): http and https from one daphne, a private CA
made on first start. Anonymous kubectl reads a shared cluster over http and is refused writes;
the presenter's key (a downloaded kubeconfig: https, CA, token) writes; a viewer's key writes
only while the viewer has control, and deletes nothing once the presenter locks; a token over
plain http is refused; an open cluster works as before."""

import json
import os
import ssl
import subprocess
import sys
import time

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from .conftest import Server, free_port

ROOT_ARGS = ("--kubeconfig=/dev/null",)


class TlsServer(Server):
    """`manage.py serve` on two free ports; clusters made here are deleted with the module."""

    def argv(self, app: str) -> list[str]:
        self.tls_port = free_port()
        return [sys.executable, "manage.py", "serve", f"127.0.0.1:{self.port}", "--tls-port", str(self.tls_port), "--noreload"]

    @property
    def ca(self):
        return self.tmp / "var" / "tls" / "ca.pem"

    def tls_request(self, method: str, path: str):
        return self.request(method, path, tls=(self.tls_port, ssl.create_default_context(cafile=str(self.ca))))

    def keyed(self, method: str, path: str, key: str | None, body=None):
        headers = {"Content-Type": "application/json", **({"X-Clusterscope-Key": key} if key else {})}
        code, _, raw = self.request(method, path, None if body is None else json.dumps(body).encode(), headers)
        return code, (json.loads(raw) if raw and raw[:1] in b"{[" else raw)

    def kubectl_with(self, *args: str, server: str, extra=(), check: bool = False):
        """kubectl with its own flags (no --server from the fixture), stdin closed."""
        env = {**os.environ, "HOME": str(self.home)}
        env.pop("KUBECONFIG", None)
        argv = ["kubectl", f"--cache-dir={self.tmp / 'kube-cache'}", *([f"--server={server}"] if server else []), *extra, *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, cwd=self.tmp, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    srv = TlsServer("dashboard.asgi:application", tmp_path_factory.mktemp("kube-tls"))
    srv.classrooms, srv.sandboxes = [], []
    try:
        for _ in range(100):  # the https listener starts with the http one; wait for it too
            try:
                srv.tls_request("GET", "/k8s/none/version")
                break
            except OSError:
                time.sleep(0.1)
        yield srv
    finally:
        for code, key, cluster in srv.classrooms:
            srv.keyed("DELETE", f"/api/classrooms/{code}", key)
            srv.delete(cluster)
        for cluster, key in srv.sandboxes:
            srv.keyed("DELETE", f"/api/clusters/{cluster}", key)
        srv.stop()


@pytest.fixture
def room(tls):
    """A classroom on a new cluster: {code, cluster, presenter_key}, ended after the test."""
    name = tls.cluster("room", keep=True)
    code, body = tls.keyed("POST", "/api/classrooms", None, {"cluster": name})
    assert code == 201, body
    tls.classrooms.append((body["code"], body["presenter_key"], name))
    return body


def https(tls, cluster: str) -> str:
    return f"https://127.0.0.1:{tls.tls_port}/k8s/{cluster}"


def keyed_kubectl(tls, cluster: str, key: str, *args: str, check: bool = False):
    return tls.kubectl_with(*args, server=https(tls, cluster), extra=(*ROOT_ARGS, f"--certificate-authority={tls.ca}", f"--token={key}"), check=check)


def anonymous_kubectl(tls, cluster: str, *args: str, check: bool = False):
    return tls.kubectl_with(*args, server=f"{tls.url}/k8s/{cluster}", extra=ROOT_ARGS, check=check)


def join(tls, code: str, name: str) -> dict:
    status, body = tls.keyed("POST", f"/api/classrooms/{code}/viewers", None, {"name": name})
    assert status == 201, body
    return body


def patch(tls, room: dict, **fields) -> None:
    status, body = tls.keyed("PATCH", f"/api/classrooms/{room['code']}", room["presenter_key"], fields)
    assert status == 200, body


def test_the_ca_is_served_and_the_certificate_verifies(tls):
    status, headers, body = tls.request("GET", "/api/tls/ca.pem")
    assert status == 200 and headers["Content-Type"] == "application/x-pem-file"
    assert body == tls.ca.read_bytes() and body.startswith(b"-----BEGIN CERTIFICATE-----")
    status, _, version = tls.tls_request("GET", "/k8s/demo/version")  # ssl verified it against the CA for 127.0.0.1
    assert status == 200 and json.loads(version)["gitVersion"] == "v1.32.0"


def test_anonymous_kubectl_reads_a_shared_cluster_and_is_refused_writes(tls, room):
    cluster = room["cluster"]
    assert "No resources found" in anonymous_kubectl(tls, cluster, "get", "configmaps", check=True).stderr
    created = anonymous_kubectl(tls, cluster, "create", "configmap", "nope", "--from-literal=k=v")
    assert created.returncode == 1 and f"failed to create configmap: Unauthorized: cluster {cluster} is shared by classroom {room['code']}" in created.stderr
    deleted = anonymous_kubectl(tls, cluster, "delete", "configmap", "kube-root-ca.crt")
    assert deleted.returncode == 1 and "error: You must be logged in to the server" in deleted.stderr
    assert "nope" not in anonymous_kubectl(tls, cluster, "get", "configmaps", "-o", "name", check=True).stdout


def test_the_presenters_kubeconfig_creates_scales_and_deletes_over_https(tls, room):
    status, headers, raw = tls.request("GET", f"/api/classrooms/{room['code']}/kubeconfig", headers={"X-Clusterscope-Key": room["presenter_key"]})
    assert status == 200 and headers["Cache-Control"] == "no-store"
    config = yaml.safe_load(raw)
    assert config["clusters"][0]["cluster"]["server"] == https(tls, room["cluster"])
    assert config["users"][0]["user"] == {"token": room["presenter_key"]}
    path = tls.tmp / f"{room['code']}.kubeconfig"
    path.write_bytes(raw)

    def kubectl(*args):
        return tls.kubectl_with(*args, server=None, extra=(f"--kubeconfig={path}",), check=True)

    assert "deployment.apps/web created" in kubectl("create", "deployment", "web", "--image=nginx", "--replicas=1").stdout
    assert "deployment.apps/web scaled" in kubectl("scale", "deployment", "web", "--replicas=2").stdout
    assert kubectl("get", "deployment", "web", "-o", "jsonpath={.spec.replicas}").stdout == "2"
    assert 'deployment.apps "web" deleted' in kubectl("delete", "deployment", "web", "--wait=false").stdout
    # the key went no further than the role check: the cluster's recorded requests hold no token
    exported = tls.request("GET", f"/api/clusters/{room['cluster']}/export")[2].decode()
    assert "verb: create" in exported and room["presenter_key"] not in exported


def test_the_anonymous_kubeconfig_is_read_only_over_http(tls, room):
    status, _, raw = tls.request("GET", f"/api/classrooms/{room['code']}/kubeconfig")
    config = yaml.safe_load(raw)
    assert status == 200 and config["clusters"][0]["cluster"] == {"server": f"{tls.url}/k8s/{room['cluster']}"}
    path = tls.tmp / "anonymous.kubeconfig"
    path.write_bytes(raw)
    assert tls.kubectl_with("get", "nodes", server=None, extra=(f"--kubeconfig={path}",)).returncode == 0
    assert tls.kubectl_with("create", "namespace", "mine", server=None, extra=(f"--kubeconfig={path}",)).returncode == 1
    status, body = tls.keyed("GET", f"/api/classrooms/{room['code']}/kubeconfig", "not-a-key-of-this-room")
    assert status == 403 and body["field"] == "X-Clusterscope-Key"


def test_a_token_over_plain_http_is_refused(tls, room):
    cluster, key = room["cluster"], room["presenter_key"]
    api = k8s.CoreV1Api(k8s.ApiClient(_configuration(f"{tls.url}/k8s/{cluster}", key)))  # the Python client sends it over http
    with pytest.raises(ApiException) as refused:
        api.list_namespaced_config_map("default")
    body = json.loads(refused.value.body)
    assert refused.value.status == 403 and body["reason"] == "Forbidden" and f"https://127.0.0.1:{tls.tls_port}/k8s/{cluster}" in body["message"]
    # kubectl itself never sends a token over http: the write arrives anonymous, and is refused as such
    dropped = tls.kubectl_with("create", "namespace", "mine", server=f"{tls.url}/k8s/{cluster}", extra=(*ROOT_ARGS, f"--token={key}"))
    assert dropped.returncode == 1 and f"shared by classroom {room['code']}" in dropped.stderr


def test_a_viewer_writes_only_while_given_control_and_deletes_nothing_once_locked(tls, room):
    cluster = room["cluster"]
    viewer = join(tls, room["code"], "ada")
    refused = keyed_kubectl(tls, cluster, viewer["key"], "create", "configmap", "ada", "--from-literal=k=v")
    assert refused.returncode == 1 and "(role audience)" in refused.stderr
    assert keyed_kubectl(tls, cluster, viewer["key"], "get", "configmaps", check=True).returncode == 0  # reads with a key

    patch(tls, room, controller=viewer["viewer"])
    assert "configmap/ada created" in keyed_kubectl(tls, cluster, viewer["key"], "create", "configmap", "ada", "--from-literal=k=v", check=True).stdout
    patch(tls, room, locked=True)
    locked = keyed_kubectl(tls, cluster, viewer["key"], "delete", "configmap", "ada")
    assert locked.returncode == 1 and "Error from server (Forbidden)" in locked.stderr and "locked destructive actions" in locked.stderr
    assert "configmap/ada labeled" in keyed_kubectl(tls, cluster, viewer["key"], "label", "configmap", "ada", "x=y", check=True).stdout

    patch(tls, room, controller=None)
    taken = keyed_kubectl(tls, cluster, viewer["key"], "annotate", "configmap", "ada", "seen=yes")
    assert taken.returncode == 1 and "Error from server (Forbidden)" in taken.stderr and "(role audience)" in taken.stderr
    assert 'configmap "ada" deleted' in keyed_kubectl(tls, cluster, room["presenter_key"], "delete", "configmap", "ada", check=True).stdout


def test_the_python_client_over_https(tls, room):
    cluster = room["cluster"]
    presenter = k8s.CoreV1Api(k8s.ApiClient(_configuration(https(tls, cluster), room["presenter_key"], ca=tls.ca)))
    stranger = k8s.CoreV1Api(k8s.ApiClient(_configuration(https(tls, cluster), "a-guess", ca=tls.ca)))
    nobody = k8s.CoreV1Api(k8s.ApiClient(_configuration(https(tls, cluster), None, ca=tls.ca)))
    body = {"metadata": {"name": "from-python"}, "data": {"k": "v"}}
    assert presenter.create_namespaced_config_map("default", body).metadata.name == "from-python"
    assert "from-python" in [c.metadata.name for c in nobody.list_namespaced_config_map("default").items]  # anonymous read over https
    for api, code, reason in ((stranger, 403, "Forbidden"), (nobody, 401, "Unauthorized")):
        with pytest.raises(ApiException) as refused:
            api.delete_namespaced_config_map("from-python", "default")
        assert refused.value.status == code and json.loads(refused.value.body)["reason"] == reason
    presenter.delete_namespaced_config_map("from-python", "default")


def test_a_sandbox_is_written_by_the_key_that_forked_it_alone(tls, room):
    owner, other = join(tls, room["code"], "ada"), join(tls, room["code"], "bob")
    # paused first: a running cluster's fork "now" can be ahead of its saved history (reported to the history's owner)
    assert tls.keyed("PATCH", f"/api/clusters/{room['cluster']}/clock", room["presenter_key"], {"paused": True})[0] == 200
    status, body = tls.keyed("POST", f"/api/classrooms/{room['code']}/forks", owner["key"], {})
    assert status == 201, body
    sandbox = body["cluster"]
    tls.sandboxes.append((sandbox, owner["key"]))
    assert tls.keyed("PATCH", f"/api/clusters/{sandbox}/clock", other["key"], {"paused": False})[0] == 403  # REST agrees
    assert tls.keyed("PATCH", f"/api/clusters/{sandbox}/clock", owner["key"], {"paused": False})[0] == 200
    tls.wait_ready(sandbox)
    assert "configmap/mine created" in keyed_kubectl(tls, sandbox, owner["key"], "create", "configmap", "mine", "--from-literal=k=v", check=True).stdout
    for key in (other["key"], room["presenter_key"]):  # not even the presenter drives a viewer's sandbox
        refused = keyed_kubectl(tls, sandbox, key, "delete", "configmap", "mine")
        assert refused.returncode == 1 and "Error from server (Forbidden)" in refused.stderr and "sandbox" in refused.stderr
    assert "configmap/mine" in anonymous_kubectl(tls, sandbox, "get", "configmaps", "-o", "name", check=True).stdout  # anyone may look
    assert tls.keyed("PATCH", f"/api/clusters/{room['cluster']}/clock", room["presenter_key"], {"paused": False})[0] == 200
    assert "configmap/mine" not in anonymous_kubectl(tls, room["cluster"], "get", "configmaps", "-o", "name", check=True).stdout


def test_an_open_cluster_works_as_before(tls):
    name = tls.cluster("open")
    assert "configmap/free created" in anonymous_kubectl(tls, name, "create", "configmap", "free", "--from-literal=k=v", check=True).stdout
    assert 'configmap "free" deleted' in anonymous_kubectl(tls, name, "delete", "configmap", "free", check=True).stdout
    api = k8s.CoreV1Api(k8s.ApiClient(_configuration(https(tls, name), None, ca=tls.ca)))  # https without a token, too
    assert api.create_namespaced_config_map("default", {"metadata": {"name": "over-tls"}}).metadata.name == "over-tls"
    tls.delete(name)


def _configuration(host: str, token: str | None, ca=None) -> k8s.Configuration:
    config = k8s.Configuration()
    config.host = host
    if ca is not None:
        config.ssl_ca_cert = str(ca)
    if token:
        config.api_key = {"authorization": f"Bearer {token}"}
    return config
