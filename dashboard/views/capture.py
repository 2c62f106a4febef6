"""REST pictures of a cluster's dashboard (issue 10), for scripts:

    GET /api/clusters/<name>/screenshot.png?width=&height=&scale=&panel=&component=&node=&lang=&theme=&controls=&zoom=&present=
    GET /api/clusters/<name>/export.svg?(the same)

The server's own page is drawn by headless chromium in a child process
(dashboard/capture/worker.py) through a frozen kiosk link; a paused cluster gives the same
picture every time. At most MAX_RENDERS run at once and MAX_WAITING wait (beyond: 429); a
render that takes longer than RENDER_TIMEOUT seconds is stopped (504). Bad options: 400 with
{"error", "field"}. Registered under the API in dashboard/urls.py.
"""

import asyncio
import dataclasses
import json
import sys
from typing import Literal

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field

from .. import selectors
from ..capture.browser import View

router = Router(tags=["pictures"])

MAX_RENDERS = 2
MAX_WAITING = 4
RENDER_TIMEOUT = 90.0
_slots = asyncio.Semaphore(MAX_RENDERS)
_waiting = {"count": 0}


class PictureQuery(Schema):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    width: int = Field(1920, ge=320, le=3840, description="viewport width in CSS pixels")
    height: int = Field(1080, ge=240, le=2160, description="viewport height in CSS pixels")
    scale: float = Field(1.0, ge=0.5, le=3, description="device scale factor (2: twice the pixels)")
    panel: Literal["etcd", "scheduler", "controllers", "traffic", "nodes", "requests", "controlplane"] | None = Field(None, description="frame this panel")
    component: str | None = Field(None, max_length=253, description="frame this component's box (e.g. kube-scheduler)")
    node: str | None = Field(None, max_length=253, description="frame this node's card")
    lang: Literal["en", "zh-Hans"] | None = None
    theme: Literal["light", "dark"] = "light"
    controls: bool = Field(True, description="false: hide buttons and forms")
    zoom: float = Field(1.0, ge=0.5, le=3, description="the page's own zoom")
    present: bool = Field(False, description="presentation mode: large type, high contrast, no tool bars")


class Error(Schema):
    error: str
    field: str | None = None


ERRORS = {400: Error, 404: Error, 429: Error, 503: Error, 504: Error}


def _error(status: int, message: str, field: str | None = None) -> JsonResponse:
    return JsonResponse({"error": message, "field": field}, status=status)


def _base_url(request: HttpRequest) -> str:
    """This server as the browser reaches it: the address daphne listens on."""
    host, port = (request.scope.get("server") or ("127.0.0.1", 80)) if hasattr(request, "scope") else ("127.0.0.1", 80)
    if host in ("0.0.0.0", "::", "", None):
        host = "127.0.0.1"
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


async def _render(request: HttpRequest, name: str, kind: str, q: PictureQuery):
    unknown = sorted(set(request.GET) - set(PictureQuery.model_fields))
    if unknown:
        return _error(400, f"unknown option: {unknown[0]} (known: {', '.join(PictureQuery.model_fields)})", unknown[0])
    selectors.summary(name=name)  # 404 for an unknown cluster, before any browser starts
    view = View(width=q.width, height=q.height, device_scale=q.scale, lang=q.lang, theme=q.theme, panel=q.panel, component=q.component, node=q.node,
                controls=q.controls, zoom=q.zoom, present=q.present)
    if sum(x is not None for x in (q.panel, q.component, q.node)) > 1:
        return _error(400, "frame one thing: panel, component or node", "panel")
    if _waiting["count"] >= MAX_WAITING + MAX_RENDERS:
        return _error(429, f"this server renders {MAX_RENDERS} pictures at a time and {MAX_WAITING} more are waiting: try again shortly")
    _waiting["count"] += 1
    try:
        async with _slots:
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "dashboard.capture.worker", _base_url(request), name, kind,
                                                        json.dumps(dataclasses.asdict(view)), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            try:
                out, err = await asyncio.wait_for(proc.communicate(), RENDER_TIMEOUT)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                return _error(504, f"the picture took longer than {RENDER_TIMEOUT:g} s and was stopped")
    finally:
        _waiting["count"] -= 1
    if proc.returncode != 0:
        try:
            problem = json.loads(err)
        except ValueError:
            problem = {"error": "the browser could not draw the page: see the server log", "field": None}
            sys.stderr.write(err.decode(errors="replace")[-2000:])
        status = 400 if problem.get("field") in ("panel", "component", "node") else 503
        return _error(status, problem["error"], problem.get("field"))
    if kind == "png":
        return HttpResponse(out, content_type="image/png")
    response = HttpResponse(out, content_type="image/svg+xml; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{name}.svg"'
    return response


@router.get("/{name}/screenshot.png", response={200: bytes, **ERRORS}, summary="The cluster's dashboard as a PNG")
async def screenshot(request: HttpRequest, name: str, query: Query[PictureQuery]):
    """Drawn frozen at the cluster's time (a paused cluster gives the same picture every time);
    with panel, component or node, only that element's box."""
    return await _render(request, name, "png", query)


@router.get("/{name}/export.svg", response={200: str, **ERRORS}, summary="The cluster's dashboard as a standalone SVG")
async def export_svg(request: HttpRequest, name: str, query: Query[PictureQuery]):
    """The view as the page's SVG export draws it: boxes as rects, text as text, the links and
    message dots; no external references. Each component is a <g data-component="<name>">."""
    return await _render(request, name, "svg", query)
