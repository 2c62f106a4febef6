"""The server's limits (settings.CLUSTERSCOPE_LIMITS, docs/security.md): each one refused with
a clear JSON error (413, 422 or 429 with Retry-After) that changes nothing."""

import pytest

pytestmark = pytest.mark.asyncio


async def test_a_body_over_the_upload_limit_is_a_json_413(async_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = await async_client.post("/api/clusters", data=b'{"name": "' + b"a" * 2000 + b'"}', content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"error": "the request body is larger than 1000 bytes", "field": "body"}
    assert (await async_client.get("/api/clusters")).json()["items"] == []
