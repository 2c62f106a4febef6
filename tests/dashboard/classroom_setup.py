"""A classroom with every role in it, for the classroom tests.

    shared   the classroom's cluster (paused, one node, the demo application, a traffic
             generator and a branch), presented by keys["presenter"]
    sbx      keys["owner"]'s sandbox, forked through the classroom (its own generator and branch)

Keys: presenter, controller (a viewer given control), audience (a viewer), owner (a viewer
who forked sbx), other (a viewer with no sandbox), stranger (no key).
"""

import json
from dataclasses import dataclass, field

from dashboard import demo

NODEPORT = {**demo.SERVICE, "spec": {**demo.SERVICE["spec"], "type": "NodePort"}}  # an external client can reach it
HEADER = "X-Clusterscope-Key"
ROLES = ("presenter", "controller", "audience", "owner", "other", "stranger")


def headers(key):
    return {HEADER: key} if key else {}


async def send(client, method, path, body=None, key=None):
    kwargs = {"headers": headers(key)}
    if body is not None:
        kwargs.update(data=body if isinstance(body, (str, bytes)) else json.dumps(body), content_type="application/json")
    return await client.generic(method, path, **kwargs)


async def ok(response, *statuses):
    assert response.status_code in (statuses or (200, 201, 202, 204)), (response.status_code, response.content[:300])
    return response.json() if response.content and response["Content-Type"].startswith("application/json") else None


@dataclass
class Classroom:
    code: str
    keys: dict = field(default_factory=dict)
    viewers: dict = field(default_factory=dict)  # role -> viewer id
    generators: dict = field(default_factory=dict)  # cluster -> a generator id
    branches: dict = field(default_factory=dict)  # cluster -> a branch id


async def _history(client, name, key):
    """A running traffic generator and a branch (an action taken in the past)."""
    await ok(await send(client, "POST", f"/api/clusters/{name}/traffic", {"service": "web", "rate": 1, "seconds": 600, "source": "external"}, key))
    await ok(await send(client, "POST", f"/api/clusters/{name}/advance", {"seconds": 1}, key))
    now = (await ok(await client.get(f"/api/clusters/{name}")))["time"]
    await ok(await send(client, "POST", f"/api/clusters/{name}/seek", {"time": now - 0.5}, key))
    await ok(await send(client, "POST", f"/api/clusters/{name}/nodes", {"name": f"node-{name}"}, key), 201)  # in the past: sets the old future aside
    await ok(await send(client, "POST", f"/api/clusters/{name}/advance", {"seconds": 0.5}, key))
    branches = (await ok(await client.get(f"/api/clusters/{name}/branches")))["items"]
    generators = (await ok(await client.get(f"/api/clusters/{name}/traffic")))["generators"]
    return generators[0]["name"], branches[0]["id"] if branches else None


async def make(client, registry, *, sandbox=True) -> Classroom:
    await ok(await send(client, "POST", "/api/clusters", {"name": "shared", "paused": True, "nodes": 1}), 201)
    await ok(await send(client, "POST", "/api/clusters/shared/advance", {"seconds": 5}))  # etcd has a leader
    for resource, body in (("deployments", demo.DEPLOYMENT), ("services", NODEPORT)):  # traffic has somewhere to go
        registry.get("shared").command({"type": "kube", "verb": "create", "group": "apps" if resource == "deployments" else "",
                                        "version": "v1", "resource": resource, "namespace": "default", "body": body})
    await ok(await send(client, "POST", "/api/clusters/shared/advance", {"seconds": 10}))
    created = await ok(await send(client, "POST", "/api/classrooms", {"cluster": "shared"}), 201)
    room = Classroom(code=created["code"], keys={"presenter": created["presenter_key"], "stranger": None})
    for role in ("controller", "audience", "owner", "other"):
        joined = await ok(await send(client, "POST", f"/api/classrooms/{room.code}/viewers", {"name": role}), 201)
        room.keys[role], room.viewers[role] = joined["key"], joined["viewer"]
    await ok(await send(client, "PATCH", f"/api/classrooms/{room.code}", {"controller": room.viewers["controller"]}, room.keys["presenter"]))
    room.generators["shared"], room.branches["shared"] = await _history(client, "shared", room.keys["presenter"])
    if sandbox:
        forked = await ok(await send(client, "POST", f"/api/classrooms/{room.code}/forks", {"name": "sbx"}, room.keys["owner"]), 201)
        assert forked == {"cluster": "sbx"}
        room.generators["sbx"], room.branches["sbx"] = await _history(client, "sbx", room.keys["owner"])
    return room
