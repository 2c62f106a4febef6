"""Classroom roles on the Kubernetes API (dashboard/kube/roles.py): every verb against every role
on open, shared, locked and sandbox clusters, decided from the method and path; then through
the view, the Status objects kubectl reads and the key never reaching the simulation."""

import json

import pytest
import yaml
from django.test import RequestFactory

from dashboard import limits
from dashboard.classroom import access, service
from dashboard.kube import roles
from dashboard.runner import registry

PRESENTER, CONTROLLER, AUDIENCE, STRANGER, OWNER = "key-presenter", "key-controller", "key-audience", "key-stranger", "key-owner"
NS = "api/v1/namespaces/default"

# (method, path after /k8s/<cluster>/, the access action); one row per Kubernetes verb kubectl
# and the Python client use, and the paths answered without the simulation.
REQUESTS = [
    ("GET", "version", "read"),
    ("GET", "api", "read"),
    ("GET", "apis/apps/v1", "read"),
    ("GET", "openapi/v3/apis/apps/v1", "read"),
    ("GET", f"{NS}/pods", "read"),  # list
    ("GET", f"{NS}/pods/web-1", "read"),  # get
    ("GET", f"{NS}/pods/web-1/log", "read"),
    ("GET", "api/v1/watch/namespaces/default/pods", "read"),  # a legacy watch path
    ("HEAD", f"{NS}/pods", "read"),
    ("POST", f"{NS}/configmaps", "write"),  # create
    ("PUT", f"{NS}/configmaps/c", "write"),  # update (replace)
    ("PATCH", f"{NS}/configmaps/c", "write"),  # patch, apply
    ("PATCH", "apis/apps/v1/namespaces/default/deployments/web/scale", "write"),  # scale
    ("PATCH", "api/v1/nodes/node-1", "write"),  # cordon
    ("DELETE", f"{NS}/pods/web-1", "destructive"),  # delete
    ("DELETE", f"{NS}/pods", "destructive"),  # deletecollection
    ("POST", f"{NS}/pods/web-1/eviction", "destructive"),  # drain
]


@pytest.fixture(autouse=True)
def rooms():
    """Four clusters: open, shared (the controller has control), shared and locked, a sandbox."""
    service.clear()
    limits.destructive.clear()
    viewers = {access.digest(CONTROLLER): "v1", access.digest(AUDIENCE): "v2"}
    access.share("shared", access.Room(code="K7QM2X", presenter=access.digest(PRESENTER), viewers=dict(viewers), controller="v1"))
    access.share("locked", access.Room(code="K7QM3X", presenter=access.digest(PRESENTER), viewers=dict(viewers), controller="v1", locked=True))
    access.own("sandbox", access.digest(OWNER))
    yield
    service.clear()
    limits.destructive.clear()


def expected(cluster: str, key: str | None, action: str) -> int | None:
    """The contract (shared/classroom-contract.md), written out: None lets the request through."""
    if cluster == "open" or action == "read":
        return None
    if key is None:
        return 401
    if cluster == "sandbox":
        return None if key == OWNER else 403
    if key == PRESENTER:
        return None
    if key == CONTROLLER:
        return 403 if cluster == "locked" and action == "destructive" else None
    return 403


def request(method: str, cluster: str, path: str, *, secure: bool):
    return RequestFactory().generic(method, f"/k8s/{cluster}/{path}", secure=secure)


@pytest.mark.parametrize(("method", "path", "action"), REQUESTS)
def test_the_action_of_every_verb(method, path, action):
    assert roles.action(method, path) == action


@pytest.mark.parametrize("cluster", ["open", "shared", "locked", "sandbox"])
@pytest.mark.parametrize("key", [None, PRESENTER, CONTROLLER, AUDIENCE, STRANGER, OWNER])
@pytest.mark.parametrize(("method", "path", "action"), REQUESTS)
def test_every_verb_for_every_role_over_https(cluster, key, method, path, action):
    refused = roles.refusal(request(method, cluster, path, secure=True), cluster, path, key) if roles.guarded(cluster) else None
    want = expected(cluster, key, action)
    assert (refused and refused.code) == want, refused
    if want == 401:
        assert refused.headers == {"WWW-Authenticate": 'Bearer realm="clusterscope"'}
        assert "anyone may read it" in refused.message and f"--server=https://testserver/k8s/{cluster}" in refused.message
    if want == 403:
        assert f"(role {access.role(cluster, key)})" in refused.message


@pytest.mark.parametrize("cluster", ["shared", "locked", "sandbox"])
@pytest.mark.parametrize("key", [PRESENTER, CONTROLLER, OWNER, STRANGER])
@pytest.mark.parametrize(("method", "path"), [("GET", f"{NS}/pods"), ("POST", f"{NS}/configmaps"), ("DELETE", f"{NS}/pods/web-1")])
def test_a_token_over_plain_http_is_refused_on_a_guarded_cluster(cluster, key, method, path):
    refused = roles.refusal(request(method, cluster, path, secure=False), cluster, path, key)
    assert refused.code == 403
    assert "over plain http" in refused.message and f"https://testserver:8443/k8s/{cluster}" in refused.message


def test_without_a_tls_listener_the_refusals_say_so(settings):
    settings.TLS_PORT = 0
    path = f"{NS}/configmaps"
    for key in (None, PRESENTER):
        refused = roles.refusal(request("POST", "shared", path, secure=False), "shared", path, key)
        assert refused.code == (401 if key is None else 403) and "started without https" in refused.message and "https://" not in refused.message


def test_only_shared_and_sandbox_clusters_are_guarded():
    assert [c for c in ("open", "shared", "locked", "sandbox") if roles.guarded(c)] == ["shared", "locked", "sandbox"]


def test_the_https_address_keeps_the_host_and_takes_the_tls_port(settings):
    settings.TLS_PORT = 8441
    settings.ALLOWED_HOSTS = ["*"]
    factory = RequestFactory()
    assert roles.https_base(factory.get("/", HTTP_HOST="10.0.0.7:8000")) == "https://10.0.0.7:8441"
    assert roles.https_base(factory.get("/", HTTP_HOST="[::1]:8000")) == "https://[::1]:8441"
    assert roles.https_base(factory.get("/", HTTP_HOST="class.example.org:8443", secure=True)) == "https://class.example.org:8443"


def test_deletions_on_a_shared_cluster_are_rate_limited(settings):
    settings.CLUSTERSCOPE_LIMITS = {**settings.CLUSTERSCOPE_LIMITS, "destructive_per_minute": 2}
    path = f"{NS}/pods/web-1"
    answers = [roles.refusal(request("DELETE", "shared", path, secure=True), "shared", path, PRESENTER) for _ in range(3)]
    assert answers[:2] == [None, None]
    assert answers[2].code == 429 and int(answers[2].headers["Retry-After"]) >= 1
    # writes that destroy nothing, and sandboxes, are not rationed
    assert roles.refusal(request("PATCH", "shared", f"{NS}/configmaps/c", secure=True), "shared", f"{NS}/configmaps/c", PRESENTER) is None
    assert all(roles.refusal(request("DELETE", "sandbox", path, secure=True), "sandbox", path, OWNER) is None for _ in range(3))


# --- through the view: the Status objects, and the key never recorded ------------------------
CLUSTER = "roles"
CONFIGMAPS = f"/k8s/{CLUSTER}/{NS}/configmaps"


@pytest.fixture
async def shared(async_client, registry):
    response = await async_client.post("/api/clusters", data=json.dumps({"name": CLUSTER, "profile": "realistic", "speed": 100, "seed": 3}),
                                       content_type="application/json")
    assert response.status_code == 201, response.content
    access.share(CLUSTER, access.Room(code="K7QM4X", presenter=access.digest(PRESENTER), viewers={access.digest(AUDIENCE): "v2"}))
    return async_client


def _status(response, code: int, reason: str) -> dict:
    body = json.loads(response.content)
    assert response.status_code == code and response["Content-Type"] == "application/json"
    assert {k: body[k] for k in ("kind", "apiVersion", "status", "reason", "code")} == {
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "code": code}
    return body


@pytest.mark.django_db
async def test_the_view_answers_statuses_and_lets_the_presenter_through(shared):
    cm = json.dumps({"metadata": {"name": "from-the-presenter"}, "data": {"k": "v"}})
    listed = await shared.get(CONFIGMAPS)  # anonymous read, plain http
    assert listed.status_code == 200 and json.loads(listed.content)["kind"] == "ConfigMapList"

    anonymous = await shared.post(CONFIGMAPS, data=cm, content_type="application/json")
    assert "K7QM4X" in _status(anonymous, 401, "Unauthorized")["message"]
    assert anonymous["WWW-Authenticate"] == 'Bearer realm="clusterscope"'

    over_http = await shared.post(CONFIGMAPS, data=cm, content_type="application/json", headers={"Authorization": f"Bearer {PRESENTER}"})
    assert "https" in _status(over_http, 403, "Forbidden")["message"]

    viewer = await shared.post(CONFIGMAPS, data=cm, content_type="application/json", secure=True, headers={"Authorization": f"Bearer {AUDIENCE}"})
    assert "(role audience)" in _status(viewer, 403, "Forbidden")["message"]

    created = await shared.post(CONFIGMAPS, data=cm, content_type="application/json", secure=True, headers={"Authorization": f"Bearer {PRESENTER}"})
    assert created.status_code == 201, created.content
    names = [i["metadata"]["name"] for i in json.loads((await shared.get(CONFIGMAPS)).content)["items"]]
    assert names.count("from-the-presenter") == 1  # and the refused attempts stored nothing

    kube = [entry["command"] for entry in registry.get(CLUSTER).cluster.command_log if entry["command"].get("type") == "kube"]
    assert [c["verb"] for c in kube] == ["list", "create", "list"] and all(c["token"] is None for c in kube)
    exported = (await shared.get(f"/api/clusters/{CLUSTER}/export")).content.decode()
    assert "configmaps" in exported and PRESENTER not in exported


# --- the kubeconfig download -------------------------------------------------------------------
@pytest.mark.django_db
async def test_the_kubeconfig_follows_the_key_and_the_listeners(async_client, registry, settings):
    response = await async_client.post("/api/clusters", data=json.dumps({"name": "kc", "speed": 1, "paused": True}), content_type="application/json")
    assert response.status_code == 201, response.content
    room = json.loads((await async_client.post("/api/classrooms", data=json.dumps({"cluster": "kc"}), content_type="application/json")).content)
    viewer = json.loads((await async_client.post(f"/api/classrooms/{room['code']}/viewers", data="{}", content_type="application/json")).content)
    url = f"/api/classrooms/{room['code']}/kubeconfig"

    async def config(key=None, **extra):
        answer = await async_client.get(url, headers={"X-Clusterscope-Key": key} if key else {}, **extra)
        return answer.status_code, (yaml.safe_load(answer.content) if answer.status_code == 200 else json.loads(answer.content))

    settings.TLS_PORT, settings.HTTP_PORT = 8444, 8001
    status, audience = await config(viewer["key"])  # a viewer's key: it writes once control is handed over
    assert status == 200 and audience["users"][0]["user"] == {"token": viewer["key"]}
    assert audience["clusters"][0]["cluster"]["server"] == "https://testserver:8444/k8s/kc"
    status, anonymous = await config(secure=True)  # asked over https, still plain http: kubectl would prompt otherwise
    assert anonymous["clusters"][0]["cluster"] == {"server": "http://testserver:8001/k8s/kc"} and anonymous["users"][0]["user"] == {}
    assert (await config("someone-else"))[0] == 403
    settings.TLS_PORT = 0  # serve --tls-port 0: no https to send a key to
    status, body = await config(room["presenter_key"])
    assert status == 409 and body["field"] == "X-Clusterscope-Key"
    assert (await config())[0] == 200
    assert (await async_client.get("/api/classrooms/ZZZZZZ/kubeconfig")).status_code == 404
