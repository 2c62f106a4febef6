"""The REST API fuzzed from its own OpenAPI schema (schemathesis builds the requests, Hypothesis
drives them): valid and invalid requests to every operation, with a fixed seed and a small
budget. No answer is a 500 (a 503 or 504 only where the operation documents it), every error is JSON {"error", "field"}, nothing is logged at ERROR
level, and a rejected request leaves the cluster it named as it was (same state hash)."""

import json
import logging
from urllib.parse import urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from dashboard import urls  # noqa: F401  (mounts every router before the schema is read)
from dashboard.views.api import api

pytestmark = pytest.mark.asyncio

KEEP = "keep"
EXAMPLES_PER_OPERATION = 5
# Valid requests to these may rightly take long (an hour of virtual time, a whole lesson, waiting
# for etcd's answer on a paused cluster): only invalid ones are generated for them.
COSTLY = {("post", "/api/clusters/{name}/advance"), ("post", "/api/clusters/{name}/seek"), ("post", "/api/clusters/{name}/etcd"),
          ("post", "/api/scenarios/{scenario_id}/runs")}

SCHEMA = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api"))
OPERATIONS = sorted((result.ok() for result in SCHEMA.get_all_operations()), key=lambda op: (op.path, op.method))


def strategy(operation):
    """Half the time the request names the cluster that exists, so it reaches past the 404."""
    names = st.sampled_from([KEEP, KEEP, "nope"]) if "{name}" in operation.path else None
    modes = [GenerationMode.NEGATIVE] if (operation.method, operation.path) in COSTLY else [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]

    @st.composite
    def case(draw):
        fixed = {"name": draw(names)} if names is not None else None
        return draw(operation.as_strategy(draw(st.sampled_from(modes)), path_parameters=fixed))

    return case()


async def send(client, case):
    path = case.formatted_path
    if case.query:
        path += "?" + urlencode({k: v if isinstance(v, (str, list)) else json.dumps(v) for k, v in case.query.items()}, doseq=True)
    kwargs = {}
    if case.body is not None and not isinstance(case.body, schemathesis.core.NotSet):
        data = case.body if isinstance(case.body, bytes) else json.dumps(case.body).encode()
        kwargs = {"data": data, "content_type": case.media_type or "application/json"}
    return await client.generic(case.method.upper(), path, **kwargs)


async def keep_hash(client):
    response = await client.get(f"/api/clusters/{KEEP}")
    if response.status_code == 404:  # a fuzzed DELETE that was allowed: make it again
        response = await client.post("/api/clusters", data=json.dumps({"name": KEEP, "paused": True, "nodes": 1}), content_type="application/json")
    return response.json()["state_hash"]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
@seed(14)
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True, phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_fuzzed_requests_get_json_4xx_and_change_nothing(async_client, registry, caplog, operation, data):
    caplog.set_level(logging.ERROR)
    caplog.clear()
    case = data.draw(strategy(operation))
    before = await keep_hash(async_client)
    names = sorted(registry.handles)
    response = await send(async_client, case)
    # Never a 500; a 503 or 504 only where the operation documents it (e.g. waiting for etcd).
    documented = set(operation.definition.raw.get("responses", {}))
    assert response.status_code < 500 or str(response.status_code) in documented - {"500"}, \
        (response.status_code, case.method, case.formatted_path, case.query, case.body, response.content[:300])
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("error"), str) and body["error"] and "field" in body, body
        assert sorted(registry.handles) == names
        assert (await keep_hash(async_client)) == before
    for name in list(registry.handles):  # keep the server small: what a fuzzed request created goes
        if name != KEEP:
            registry.delete(name)
    # An exception anywhere, or an ERROR line other than django.request's note of a documented 503.
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and (r.exc_info or r.name != "django.request")]
    assert not errors, [r.getMessage() for r in errors]
