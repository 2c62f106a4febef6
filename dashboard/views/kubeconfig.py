"""kubectl's way into a classroom (README "kubectl against a classroom cluster").

    GET /api/tls/ca.pem                     the CA of the server's https listener (dashboard/tls.py)
    GET /api/classrooms/<code>/kubeconfig   a kubeconfig for the classroom's shared cluster:
        with the presenter's key, or a viewer's (X-Clusterscope-Key): the https address, the CA
            and that key as the token; a viewer's key writes once the presenter hands them
            control (dashboard/kube/roles.py decides each request, not this file);
        without a key: the plain http address and no user, read-only (kubectl over https with
            no credentials would stop to ask for a user name).

Registered under the API in dashboard/urls.py.
"""

import base64
from urllib.parse import urlsplit

import yaml
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Router

from .. import tls
from ..classroom import access, service
from ..kube.roles import https_base

router = Router(tags=["classrooms"])

KEY_HEADER = "X-Clusterscope-Key"
WITH_TOKEN = (access.ROLE_PRESENTER, access.ROLE_CONTROLLER, access.ROLE_AUDIENCE)


@router.get("/tls/ca.pem", response={200: str, 404: dict}, summary="The CA certificate of the server's https listener (kubectl --certificate-authority)")
async def ca_pem(request: HttpRequest):
    pem = tls.ca_pem()
    if pem is None:
        return JsonResponse({"error": "this server has no TLS certificate: manage.py serve (make run) or manage.py tls_cert makes one", "field": None},
                            status=404)
    return HttpResponse(pem, content_type="application/x-pem-file")


@router.get("/classrooms/{code}/kubeconfig", response={200: str, 403: dict, 404: dict, 409: dict},
            summary="A kubeconfig for the classroom's cluster: with a key, https and that key as token; without, read-only over http")
async def kubeconfig(request: HttpRequest, code: str):
    c = service.get(code)
    key = request.headers.get(KEY_HEADER) or None
    if key is None:
        document = _document(c.code, c.cluster, _http_base(request), user="anonymous", ca=None, token=None)
    else:
        role = access.role(c.cluster, key)
        if role not in WITH_TOKEN:
            return JsonResponse({"error": f"this key is neither the presenter's nor a viewer's of classroom {c.code}", "field": KEY_HEADER}, status=403)
        if not request.is_secure() and not settings.TLS_PORT:
            return JsonResponse({"error": "this server serves no https (started with --tls-port 0), and kubectl sends a key over https only",
                                 "field": KEY_HEADER}, status=409)
        document = _document(c.code, c.cluster, https_base(request), user=role, ca=tls.ca_pem(), token=key)
    response = HttpResponse(yaml.safe_dump(document, sort_keys=False).encode(), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{c.code}.kubeconfig"'
    response["Cache-Control"] = "no-store"  # it may hold a key
    return response


def _http_base(request: HttpRequest) -> str:
    """Plain http: the request's own origin, or, asked over https, the same host on the http
    port manage.py serve listens on (none known: the https origin, where kubectl will ask)."""
    if not request.is_secure():
        return f"http://{request.get_host()}"
    port = getattr(settings, "HTTP_PORT", None)
    if not port:
        return f"https://{request.get_host()}"
    host = urlsplit(f"//{request.get_host()}").hostname or "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def _document(code: str, cluster: str, base: str, *, user: str, ca: bytes | None, token: str | None) -> dict:
    """kubectl's Config: one cluster, one user, one context named after the classroom. The CA
    is left out when none was made here (a proxy in front holds a public certificate)."""
    server = {"server": f"{base}/k8s/{cluster}"}
    if ca is not None and base.startswith("https:"):
        server["certificate-authority-data"] = base64.b64encode(ca).decode()
    name = f"clusterscope-{code.lower()}"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": server}],
        "users": [{"name": f"{name}-{user}", "user": {"token": token} if token else {}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-{user}", "namespace": "default"}}],
        "current-context": name,
        "preferences": {},
    }
