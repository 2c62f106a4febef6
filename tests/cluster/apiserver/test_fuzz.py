"""Random damage to valid requests: every answer is a Status or a success, never a 500,
never an api.error event, and the server keeps no leftover state."""

import random

import pytest

from cluster.apiserver.resources import RESOURCES

from .harness import Harness
from .kinds import sample

GARBAGE = [None, True, 0, -1, 2**70, 1.5, "", "x", "Bad Name!", [], [1, "a"], {}, {"a": {"b": None}}, "2026-13-45T99:99:99Z"]


def damage(value, rng, depth=0):
    """A copy of value with a few fields replaced, removed or added at random."""
    if isinstance(value, dict):
        out = {}
        for key, child in value.items():
            roll = rng.random()
            if roll < 0.08:
                continue
            out[key] = rng.choice(GARBAGE) if roll < 0.2 else damage(child, rng, depth + 1)
        if rng.random() < 0.1:
            out[rng.choice(["extra", "$patch", "status", "metadata"])] = rng.choice(GARBAGE)
        return out
    if isinstance(value, list):
        items = [damage(v, rng, depth + 1) for v in value]
        if rng.random() < 0.2:
            items.append(rng.choice(GARBAGE))
        return items
    return rng.choice(GARBAGE) if rng.random() < 0.2 else value


@pytest.mark.parametrize("seed", [7, 10, 28, 50, 63])
def test_damaged_requests_never_break_the_server(seed):
    rng = random.Random(seed)
    h = Harness()
    rids = []
    for round_ in range(6):
        for info in RESOURCES:
            namespace = "default" if info["namespaced"] else None
            name, body = sample(info, f"f{round_}-{info['singular']}")
            verb = rng.choice(["create", "create", "update", "patch", "delete", "get", "list", "watch"])
            query = damage({"labelSelector": "a=b", "fieldSelector": "metadata.name=x", "limit": 2, "resourceVersion": "0",
                            "propagationPolicy": "Orphan", "gracePeriodSeconds": 1, "fieldManager": "m", "timeoutSeconds": 1}, rng)
            kwargs = {"group": info["group"], "namespace": namespace, "query": query}
            if verb in ("update", "patch", "delete", "get"):
                kwargs["name"] = name
            if verb in ("create", "update"):
                kwargs["body"] = damage(body, rng)
            if verb == "patch":
                kwargs["patch_type"] = rng.choice(["merge", "strategic", "json", "apply"])
                kwargs["body"] = damage(body, rng) if kwargs["patch_type"] != "json" else [damage({"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}, rng)]
            if verb == "delete":
                kwargs["body"] = damage({"propagationPolicy": "Foreground", "preconditions": {"uid": "x"}}, rng)
            if rng.random() < 0.3 and info["subresources"]:
                kwargs["subresource"] = rng.choice(info["subresources"])["name"]
                kwargs["name"] = name
            rids.append(h.client.request(verb, info["plural"], **kwargs))
        h.run(1)
    h.run_until(lambda: all(r in h.client.responses for r in rids), 60)
    # Whatever got stored prints as a Table.
    for info in RESOURCES:
        listed = h.list(info["plural"], group=info["group"], as_table=True, include_object="Object")
        assert listed["code"] == 200 and listed["body"]["kind"] == "Table"
    for rid in rids:
        response = h.client.responses[rid]
        assert response["code"] < 500, response
        if response["code"] >= 400:
            assert response["body"]["kind"] == "Status"
    assert not [e for e in h.sim.log.events if e["kind"] == "api.error"]
    for rid in rids:
        h.client.cancel(rid)
    h.run(2)
    assert h.server.ops == {} and h.server.etcd_pending == {} and h.server.watchers == {}
