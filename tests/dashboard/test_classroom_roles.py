"""Roles on REST (issue 14 item 3): every role on every endpoint that changes a cluster.

The roles: presenter, controller (a viewer given control), audience, owner (of the sandbox
sbx), other (a viewer without a sandbox), stranger (no key). A refused request is a 403
{"error", "field": "X-Clusterscope-Key"} and changes nothing (same state hash, same
history); an allowed one does what it says. MUTATING lists every such endpoint, and a test
checks it against the OpenAPI schema: a new endpoint that changes a cluster fails here until
it has a role check and a row below.
"""

from dataclasses import dataclass

import pytest

from dashboard import urls  # noqa: F401  (mounts every router)
from dashboard.views.api import api
from tests.dashboard import classroom_setup as cs
from tests.dashboard.classroom_setup import ROLES, ok, send


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # as in the OpenAPI schema
    action: str  # write, destructive or fork (dashboard/classroom/access.py)
    body: object = None  # a body that succeeds, or a function of (role, cluster)
    statuses: tuple = (200,)  # what an allowed request gets
    consumes: bool = False  # it removes what it acts on: a second allowed request may find it gone (404)

    def __str__(self):
        return f"{self.method} {self.path}"


MUTATING = [
    Endpoint("DELETE", "/api/clusters/{name}", "destructive", statuses=(204,), consumes=True),
    Endpoint("PATCH", "/api/clusters/{name}/clock", "write", {"speed": 2}),
    Endpoint("POST", "/api/clusters/{name}/advance", "write", {"seconds": 0.1}),
    Endpoint("POST", "/api/clusters/{name}/step", "write"),
    Endpoint("POST", "/api/clusters/{name}/faults", "destructive", {"action": "crash", "target": "etcd-1"}),
    # On a paused cluster etcd cannot answer: 504 after the timeout shows the request went in.
    Endpoint("POST", "/api/clusters/{name}/etcd", "write", {"op": "put", "key": "k", "value": "v", "timeout": 0.05}, (200, 504)),
    Endpoint("POST", "/api/clusters/{name}/nodes", "write", lambda role, name: {"name": f"node-{role}"}, (201,)),
    Endpoint("DELETE", "/api/clusters/{name}/nodes/{node}", "destructive", statuses=(204,), consumes=True),
    Endpoint("POST", "/api/clusters/{name}/traffic", "write", {"service": "web", "rate": 1, "seconds": 5, "source": "external"}, (202,)),
    Endpoint("DELETE", "/api/clusters/{name}/traffic/{generator}", "write", consumes=True),
    Endpoint("POST", "/api/clusters/{name}/seek", "write", {"time": 1}),
    Endpoint("POST", "/api/clusters/{name}/fork", "fork", lambda role, name: {"name": f"{name}-{role}"}, (201,)),
    Endpoint("POST", "/api/clusters/{name}/branches/{branch}/switch", "write", consumes=True),
    Endpoint("DELETE", "/api/clusters/{name}/branches/{branch}", "destructive", statuses=(204,), consumes=True),
]
# Mutating endpoints without a cluster to check, and why.
UNGUARDED = {
    ("POST", "/api/clusters"): "creates a new, open cluster",
    ("POST", "/api/clusters/import"): "creates a new, open cluster",
    ("POST", "/api/scenarios"): "uploads a scenario file: no cluster",
    ("DELETE", "/api/scenarios/{scenario_id}"): "an uploaded scenario: no cluster (runs keep theirs)",
    ("POST", "/api/scenarios/{scenario_id}/runs"): "starts a run on new clusters",
}
# Checked by test_a_lesson_is_stepped_by_the_presenter_or_controller_only below and the classroom tests.
OWN_CHECKS = {
    ("POST", "/api/scenarios/{scenario_id}/runs/{run_id}/next"),
    ("POST", "/api/classrooms"),
    ("PATCH", "/api/classrooms/{code}"),
    ("DELETE", "/api/classrooms/{code}"),
    ("POST", "/api/classrooms/{code}/viewers"),
    ("POST", "/api/classrooms/{code}/forks"),
    ("POST", "/api/classrooms/{code}/step"),
}


def allowed(role: str, cluster: str, action: str, *, locked=False, forks=True) -> bool:
    """docs/security.md, Roles."""
    if cluster == "sbx":
        return action == "fork" or role == "owner"
    if action == "fork":
        return forks or role in ("presenter", "controller")
    if role == "presenter":
        return True
    return role == "controller" and not (locked and action == "destructive")


def path_of(endpoint: Endpoint, room: cs.Classroom, cluster: str) -> str:
    return endpoint.path.format(name=cluster, node="node-1", generator=room.generators[cluster], branch=room.branches[cluster])


def body_of(endpoint: Endpoint, role: str, cluster: str):
    return endpoint.body(role, cluster) if callable(endpoint.body) else endpoint.body


async def fingerprint(client, cluster):
    summary = await ok(await client.get(f"/api/clusters/{cluster}"))
    return summary["state_hash"], summary["history"], summary["paused"], summary["speed"]


def test_every_mutating_endpoint_is_listed_and_guarded():
    schema = api.get_openapi_schema(path_prefix="/api")
    found = {(method.upper(), path) for path, item in schema["paths"].items() for method in item if method in ("post", "put", "patch", "delete")}
    listed = {(e.method, e.path) for e in MUTATING}
    assert found == listed | set(UNGUARDED) | OWN_CHECKS, f"new: {found - listed - set(UNGUARDED) - OWN_CHECKS}, gone: {(listed | set(UNGUARDED) | OWN_CHECKS) - found}"
    # ... and each listed view carries the decorator with the action the table says.
    views = {}
    for _prefix, router in api._routers:
        for route, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    views[method, route] = operation.view_func
    for endpoint in MUTATING:
        route = endpoint.path.removeprefix("/api/clusters")
        view = views.get((endpoint.method, route)) or views.get((endpoint.method, "/clusters" + route))
        assert view is not None, endpoint
        assert getattr(view, "requires", None) == endpoint.action, endpoint


@pytest.mark.parametrize("endpoint", MUTATING, ids=str)
async def test_each_role_on_each_mutating_endpoint(async_client, registry, endpoint):
    room = await cs.make(async_client, registry)
    for cluster in ("shared", "sbx"):
        before = {name: await fingerprint(async_client, name) for name in ("shared", "sbx")}
        names = sorted(registry.handles)
        refused = [role for role in ROLES if not allowed(role, cluster, endpoint.action)]
        for role in refused:
            response = await send(async_client, endpoint.method, path_of(endpoint, room, cluster), body_of(endpoint, role, cluster), room.keys[role])
            assert response.status_code == 403, (role, cluster, response.status_code, response.content[:200])
            assert response.json()["field"] == "X-Clusterscope-Key" and response.json()["error"]
        assert {name: await fingerprint(async_client, name) for name in ("shared", "sbx")} == before, "a refused request changed something"
        assert sorted(registry.handles) == names
        # The controller first: after a consuming action of the presenter's there would be nothing left for it.
        permitted = sorted((r for r in ROLES if r not in refused), key=lambda r: r != "controller")
        assert permitted, (endpoint, cluster)
        for i, role in enumerate(permitted):
            response = await send(async_client, endpoint.method, path_of(endpoint, room, cluster), body_of(endpoint, role, cluster), room.keys[role])
            statuses = endpoint.statuses + ((404,) if endpoint.consumes and i > 0 else ())
            assert response.status_code in statuses, (role, cluster, response.status_code, response.content[:200])
        if endpoint.path == "/api/clusters/{name}":  # the shared cluster is gone: its classroom ended with it
            assert (await async_client.get(f"/api/classrooms/{room.code}")).status_code == 404
            return


async def test_lock_keeps_destructive_actions_for_the_presenter(async_client, registry):
    room = await cs.make(async_client, registry, sandbox=False)
    presenter, controller = room.keys["presenter"], room.keys["controller"]
    refused = await send(async_client, "PATCH", f"/api/classrooms/{room.code}", {"locked": True}, controller)
    assert refused.status_code == 403  # only the presenter locks
    assert (await ok(await send(async_client, "PATCH", f"/api/classrooms/{room.code}", {"locked": True}, presenter)))["locked"] is True
    fault = {"action": "crash", "target": "etcd-2"}
    for method, path, body in (("POST", "/api/clusters/shared/faults", fault), ("DELETE", "/api/clusters/shared/nodes/node-1", None),
                               ("DELETE", f"/api/clusters/shared/branches/{room.branches['shared']}", None), ("DELETE", "/api/clusters/shared", None)):
        response = await send(async_client, method, path, body, controller)
        assert response.status_code == 403 and "locked" in response.json()["error"], (path, response.content)
    # Writes that destroy nothing stay the controller's.
    await ok(await send(async_client, "POST", "/api/clusters/shared/advance", {"seconds": 0.1}, controller))
    await ok(await send(async_client, "POST", "/api/clusters/shared/faults", fault, presenter))
    await ok(await send(async_client, "PATCH", f"/api/classrooms/{room.code}", {"locked": False}, presenter))
    await ok(await send(async_client, "DELETE", "/api/clusters/shared/nodes/node-1", None, controller), 204)


async def test_forks_can_be_forbidden(async_client, registry):
    room = await cs.make(async_client, registry, sandbox=False)
    await ok(await send(async_client, "PATCH", f"/api/classrooms/{room.code}", {"forks_allowed": False}, room.keys["presenter"]))
    for role in ROLES:
        response = await send(async_client, "POST", "/api/clusters/shared/fork", {"name": f"f-{role}"}, room.keys[role])
        expected = 201 if allowed(role, "shared", "fork", forks=False) else 403
        assert response.status_code == expected, (role, response.content)
        response = await send(async_client, "POST", f"/api/classrooms/{room.code}/forks", {}, room.keys[role])
        assert response.status_code == (201 if role == "controller" else 403), (role, response.content)


async def test_a_fork_through_the_cluster_api_with_a_key_is_that_keys_sandbox(async_client, registry):
    room = await cs.make(async_client, registry, sandbox=False)
    mine = room.keys["audience"]
    await ok(await send(async_client, "POST", "/api/clusters/shared/fork", {"name": "mine"}, mine), 201)
    await ok(await send(async_client, "POST", "/api/clusters/mine/advance", {"seconds": 0.1}, mine))
    assert (await send(async_client, "POST", "/api/clusters/mine/advance", {"seconds": 0.1}, room.keys["other"])).status_code == 403
    assert (await send(async_client, "POST", "/api/clusters/mine/advance", {"seconds": 0.1})).status_code == 403
    # Without a key, a fork of a shared cluster is an open cluster like any other.
    await ok(await send(async_client, "POST", "/api/clusters/shared/fork", {"name": "anyones"}), 201)
    await ok(await send(async_client, "POST", "/api/clusters/anyones/advance", {"seconds": 0.1}))


async def test_shared_cluster_destructive_actions_are_rate_limited(async_client, registry, settings):
    settings.CLUSTERSCOPE_LIMITS = {**getattr(settings, "CLUSTERSCOPE_LIMITS", {}), "destructive_per_minute": 3}
    room = await cs.make(async_client, registry, sandbox=False)
    presenter = room.keys["presenter"]
    # Refused strangers do not spend the presenter's budget.
    for _ in range(5):
        assert (await send(async_client, "POST", "/api/clusters/shared/faults", {"action": "heal"})).status_code == 403
    for _ in range(3):
        await ok(await send(async_client, "POST", "/api/clusters/shared/faults", {"action": "heal"}, presenter))
    before = await fingerprint(async_client, "shared")
    response = await send(async_client, "POST", "/api/clusters/shared/faults", {"action": "heal"}, presenter)
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1, response.content
    assert response.json()["error"].startswith("too many destructive actions")
    assert await fingerprint(async_client, "shared") == before
    # Writes are not rationed.
    await ok(await send(async_client, "POST", "/api/clusters/shared/advance", {"seconds": 0.1}, presenter))


async def test_a_lesson_is_stepped_by_the_presenter_or_controller_only(async_client, registry):
    created = await ok(await send(async_client, "POST", "/api/classrooms", {"scenario": "controllers-reconcile"}), 201)
    code, presenter = created["code"], created["presenter_key"]
    joined = {}
    for role in ("controller", "audience"):
        joined[role] = await ok(await send(async_client, "POST", f"/api/classrooms/{code}/viewers", {"name": role}), 201)
    await ok(await send(async_client, "PATCH", f"/api/classrooms/{code}", {"controller": joined["controller"]["viewer"]}, presenter))
    state = await ok(await async_client.get(f"/api/classrooms/{code}"))
    assert state["scenario"] == "controllers-reconcile" and state["run"] is not None and state["step"] is None
    nxt = f"/api/scenarios/controllers-reconcile/runs/{state['run']}/next"
    for key in (None, joined["audience"]["key"]):
        for path in (f"/api/classrooms/{code}/step", nxt):
            response = await send(async_client, "POST", path, None, key)
            assert response.status_code == 403 and response.json()["field"] == "X-Clusterscope-Key", (path, response.content)
    assert (await ok(await async_client.get(f"/api/classrooms/{code}")))["step"] is None
    report = await ok(await send(async_client, "POST", f"/api/classrooms/{code}/step", None, presenter))
    assert report["run"] == state["run"] and report["state"] in ("running", "ready") and report["scenario"] == "controllers-reconcile"
    assert (await ok(await async_client.get(f"/api/classrooms/{code}")))["step"] == 0
    # The controller steps too once the first step has finished (its waits are polled as virtual time moves).
    await ok(await send(async_client, "PATCH", f"/api/clusters/{created['cluster']}/clock", {"paused": True}, presenter))
    for _ in range(200):
        response = await send(async_client, "POST", nxt, None, joined["controller"]["key"])
        if response.status_code != 409:
            break
        await send(async_client, "POST", f"/api/clusters/{created['cluster']}/advance", {"seconds": 1}, presenter)
    assert response.status_code == 200, response.content
    assert (await ok(await async_client.get(f"/api/classrooms/{code}")))["step"] == 1


async def test_each_role_on_the_classroom_endpoints(async_client, registry):
    room = await cs.make(async_client, registry)
    code = room.code
    presenter_only = [("PATCH", f"/api/classrooms/{code}", {"forks_allowed": True}), ("GET", f"/api/classrooms/{code}/viewers", None),
                      ("DELETE", f"/api/classrooms/{code}", None)]
    # A classroom without a lesson has nothing to step: 409 shows the role check was passed.
    expected = {"forks": {"controller": 201, "audience": 201, "other": 201, "owner": 409},  # owner: has a sandbox already
                "step": {"presenter": 409, "controller": 409}}
    for role in ROLES:
        forked = await send(async_client, "POST", f"/api/classrooms/{code}/forks", {"name": f"fork-{role}"}, room.keys[role])
        assert forked.status_code == expected["forks"].get(role, 403), (role, forked.content)
        stepped = await send(async_client, "POST", f"/api/classrooms/{code}/step", None, room.keys[role])
        assert stepped.status_code == expected["step"].get(role, 403), (role, stepped.content)
        if role != "presenter":
            for method, path, body in presenter_only:
                response = await send(async_client, method, path, body, room.keys[role])
                assert response.status_code == 403 and response.json()["field"] == "X-Clusterscope-Key", (role, method, path)
    for method, path, body in presenter_only:
        await ok(await send(async_client, method, path, body, room.keys["presenter"]))
