"""REST for classrooms (README "Classroom"; the roles in dashboard/classroom/access.py).

    POST   /api/classrooms                    {"cluster"?, "scenario"?, "lang"?}: 201 {code, cluster, presenter_key, join_url, presenter_url, qr_url}
    GET    /api/classrooms/<code>             {code, cluster, viewers, controller, locked, forks_allowed, scenario, run, step}
    PATCH  /api/classrooms/<code>             presenter: {"locked"?, "forks_allowed"?, "controller"?}
    DELETE /api/classrooms/<code>             presenter: the cluster becomes open again
    POST   /api/classrooms/<code>/viewers     {"name"?}: 201 {viewer, key, name}
    GET    /api/classrooms/<code>/viewers     presenter: {"viewers": [{viewer, name, connected, sandbox}]}
    POST   /api/classrooms/<code>/forks       a viewer's key, {"name"?}: 201 {"cluster"}: their sandbox
    POST   /api/classrooms/<code>/step        presenter or controller, {"choice"?}: the lesson run's next step (its report)
    GET    /api/classrooms/<code>/qr.svg      the join URL as a QR code

Keys travel in the X-Clusterscope-Key header. Registered under the API in dashboard/urls.py.
"""

import io
from typing import Literal

import segno
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field

from .. import limits
from ..classroom import service
from ..runner import registry
from .roles import key_of
from .scenarios import choice_of

router = Router(tags=["classrooms"])

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


class Strict(Schema):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ClassroomCreate(Strict):
    cluster: str | None = Field(None, min_length=1, max_length=63, pattern=NAME_PATTERN, description="share this existing open cluster")
    scenario: str | None = Field(None, min_length=1, max_length=63, description="or start this lesson live on new clusters (stepped with POST .../step)")
    lang: Literal["en", "zh-Hans"] = Field("en", description="the lesson's language")


class ClassroomPatch(Strict):
    locked: bool | None = Field(None, description="destructive actions by the presenter only")
    forks_allowed: bool | None = Field(None, description="viewers may fork their own sandbox")
    controller: str | None = Field(None, max_length=16, description="the viewer id given control, or null to take it back")


class JoinBody(Strict):
    name: str = Field("", max_length=40, description="a display name the presenter sees")


class ForkBody(Strict):
    name: str | None = Field(None, min_length=1, max_length=63, pattern=NAME_PATTERN, description="the sandbox's name (default <code>-<viewer>)")


class Created(Schema):
    code: str
    cluster: str
    presenter_key: str = Field(..., description="shown once: send it as X-Clusterscope-Key to act as the presenter")
    join_url: str
    presenter_url: str = Field(..., description="the presenter page, with the key in the fragment (#key=: never sent to a server)")
    qr_url: str


class ClassroomBody(Schema):
    code: str
    cluster: str
    viewers: int = Field(..., description="viewers connected now (sockets that gave their viewer id and key; the presenter not counted)")
    controller: str | None
    locked: bool
    forks_allowed: bool
    scenario: str | None
    run: str | None = Field(..., description="the live scenario run the classroom follows")
    step: int | None = Field(..., description="the index of the lesson step started last")


class Joined(Schema):
    viewer: str
    key: str
    name: str


class Error(Schema):
    error: str
    field: str | None = None


ERRORS = {400: Error, 403: Error, 404: Error, 409: Error, 410: Error, 429: Error}


@router.post("", response={201: Created, **ERRORS}, summary="Start a classroom (a shared cluster)")
async def create_classroom(request: HttpRequest, payload: ClassroomCreate):
    registry.ensure_ticker()
    c, key = await service.create(cluster=payload.cluster, scenario=payload.scenario, lang=payload.lang, client=limits.client_of(request))
    return Status(201, {
        "code": c.code,
        "cluster": c.cluster,
        "presenter_key": key,
        "join_url": request.build_absolute_uri(f"/c/{c.code}"),
        "presenter_url": request.build_absolute_uri(f"/c/{c.code}/present") + f"#key={key}",
        "qr_url": request.build_absolute_uri(f"/api/classrooms/{c.code}/qr.svg"),
    })


@router.get("/{code}", response={200: ClassroomBody, **ERRORS}, summary="A classroom's state")
async def get_classroom(request: HttpRequest, code: str):
    return service.get(code).body()


@router.patch("/{code}", response={200: ClassroomBody, **ERRORS}, summary="Lock, allow forks, hand over control (presenter)")
async def patch_classroom(request: HttpRequest, code: str, payload: ClassroomPatch):
    c = service.get(code)
    service.update(c, key_of(request), locked=payload.locked, forks_allowed=payload.forks_allowed, controller=payload.controller,
                   set_controller="controller" in payload.model_fields_set)
    return c.body()


@router.delete("/{code}", response={204: None, **ERRORS}, summary="End a classroom (presenter): its cluster becomes open")
async def end_classroom(request: HttpRequest, code: str):
    service.end(service.get(code), key_of(request))
    return Status(204, None)


@router.post("/{code}/viewers", response={201: Joined, **ERRORS}, summary="Join a classroom: a viewer key")
async def join(request: HttpRequest, code: str, payload: JoinBody):
    seat, key = service.join(service.get(code), payload.name.strip())
    return Status(201, {"viewer": seat.viewer, "key": key, "name": seat.name})


@router.get("/{code}/viewers", response={200: dict, **ERRORS}, summary="Who joined, who is connected, their sandboxes (presenter)")
async def list_viewers(request: HttpRequest, code: str):
    return {"viewers": service.viewers(service.get(code), key_of(request))}


@router.post("/{code}/forks", response={201: dict, **ERRORS}, summary="Fork the shared cluster now: the viewer's own sandbox")
async def fork(request: HttpRequest, code: str, payload: ForkBody):
    """201 {"cluster": name}: the shared cluster at its current time, driven only by the key
    that forked it (403 when the presenter does not allow forks; 409 if that viewer's
    sandbox still exists)."""
    name = await service.fork(service.get(code), key_of(request), payload.name)
    return Status(201, {"cluster": name})


@router.post("/{code}/step", response={200: dict, **ERRORS}, summary="The lesson's next step (presenter or controller)")
async def step(request: HttpRequest, code: str):
    """Body optional (a clicker sends none): {"choice": n}. Answers the run's report, as
    POST /api/scenarios/<id>/runs/<run>/next does."""
    c = service.get(code)
    registry.ensure_ticker()
    return await service.step(c, key_of(request), choice_of(request))


@router.get("/{code}/qr.svg", response={200: str, **ERRORS}, summary="The join URL as a QR code (SVG)")
async def qr(request: HttpRequest, code: str):
    c = service.get(code)
    url = request.build_absolute_uri(f"/c/{c.code}")
    # Dark on an opaque white square with the standard quiet zone: phones read it on a dark theme too.
    svg = io.BytesIO()
    segno.make(url, error="m").save(svg, kind="svg", scale=8, border=4, dark="#000", light="#fff", title=f"Join classroom {c.code}")
    response = HttpResponse(svg.getvalue(), content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response
