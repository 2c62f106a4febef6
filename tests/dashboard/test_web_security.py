"""Web security (docs/security.md): cross-site writes refused, a strict Content-Security-Policy,
WebSocket origins checked, and production settings that pass `manage.py check --deploy`."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application
from dashboard.security import CSP
from tests.dashboard.test_stream import add_cluster

ROOT = Path(__file__).resolve().parents[2]
BODY = json.dumps({"name": "c1", "paused": True, "nodes": 0})


async def names(client):
    return [c["name"] for c in (await client.get("/api/clusters")).json()["items"]]


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"}, {"Origin": "http://testserver.evil.example"},
                                     {"Sec-Fetch-Site": "cross-site"}])
async def test_a_cross_site_write_to_the_api_is_refused(async_client, headers):
    response = await async_client.post("/api/clusters", data=BODY, content_type="text/plain", headers=headers)
    assert response.status_code == 403 and response.json()["field"] == "Origin"
    assert await names(async_client) == []


async def test_same_origin_pages_and_scripts_may_write(async_client):
    page = await async_client.post("/api/clusters", data=BODY, content_type="application/json", headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"})
    assert page.status_code == 201
    script = await async_client.post("/api/clusters", data=BODY.replace("c1", "c2"), content_type="application/json")  # curl: no Origin
    assert script.status_code == 201
    assert await names(async_client) == ["c1", "c2"]


async def test_a_trusted_origin_may_write(async_client, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://lab.example"]
    response = await async_client.post("/api/clusters", data=BODY, content_type="application/json", headers={"Origin": "https://lab.example"})
    assert response.status_code == 201


async def test_a_cross_site_write_to_the_kubernetes_api_is_a_forbidden_status(async_client):
    assert (await async_client.post("/api/clusters", data=BODY, content_type="application/json")).status_code == 201
    response = await async_client.post("/k8s/c1/api/v1/namespaces/default/configmaps", data=json.dumps({"metadata": {"name": "x"}}),
                                       content_type="application/json", headers={"Origin": "http://evil.example"})
    status = response.json()
    assert response.status_code == 403 and (status["kind"], status["reason"], status["code"]) == ("Status", "Forbidden", 403)
    assert (await async_client.get("/api/clusters/c1")).json()["counts"]["commands"] == 0


@pytest.mark.parametrize("path", ["/", "/api/clusters", "/api/docs", "/static/js/main.js"])
async def test_every_response_carries_the_content_security_policy(async_client, path):
    response = await async_client.get(path)
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == CSP
    assert "'unsafe-inline'" not in CSP and "script-src 'self';" in CSP and "frame-ancestors 'none'" in CSP


async def test_the_pages_have_no_inline_script(async_client, registry):
    add_cluster(registry, name="page")
    for path in ("/", "/clusters/page/"):
        html = (await async_client.get(path)).content.decode()
        for tag in html.split("<script")[1:]:
            head = tag.split(">", 1)[0]
            assert 'src="' in head or 'type="application/json"' in head, head


@pytest.mark.parametrize("origin, accepted", [(b"http://127.0.0.1", True), (b"http://evil.example", False), (None, False)])
async def test_websocket_origins_are_checked(registry, origin, accepted):
    """Channels' AllowedHostsOriginValidator: the Origin must name an allowed host (a script sends one too)."""
    add_cluster(registry)
    headers = [(b"host", b"127.0.0.1")] + ([(b"origin", origin)] if origin else [])
    communicator = WebsocketCommunicator(application, "/ws/clusters/ws/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected is accepted
    await communicator.disconnect()


def run_check(env: dict, *args) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "CLUSTERSCOPE_TLS")}
    return subprocess.run([sys.executable, "manage.py", "check", *args], env={**clean, **env}, capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_production_settings_pass_check_deploy():
    result = run_check({"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "lab.example"}, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0 and "no issues" in result.stdout, result.stdout + result.stderr
    refused = run_check({"DEBUG": "0", "ALLOWED_HOSTS": "lab.example"})
    assert refused.returncode != 0 and "set SECRET_KEY" in refused.stderr
    demo = run_check({})  # `make run`: no configuration
    assert demo.returncode == 0, demo.stderr
