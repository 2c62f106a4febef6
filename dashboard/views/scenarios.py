"""REST for scenarios (lessons): list, read, upload, run (fast or live), step and read runs.

    GET  /api/scenarios                               {"items": [{id, title, summary, level, duration, steps, source}]}
    GET  /api/scenarios/<id>                          the whole scenario as JSON (the file's keys)
    POST /api/scenarios                               a scenario file (YAML or JSON) in the body: 201 and the scenario
    DELETE /api/scenarios/<id>                        an uploaded scenario (built-in lessons stay: 409)
    GET  /api/scenarios/<id>/runs                     {"items": [{run, mode, state, passed, cluster, steps}]}: this process's runs
                                                      (saved live runs it can take up included)
    POST /api/scenarios/<id>/runs                     {"mode": "fast" | "live", "name", "lang", "speed", "paused", "profile"}
    GET  /api/scenarios/<id>/runs/<run>?lang=         the run's report
    POST /api/scenarios/<id>/runs/<run>/next          {"choice": n}: start a live run's next step

A run's report is shared/DESIGN.md's {"passed", "steps": [{"title", "assertions": [{"text",
"passed"}]}]} with more beside it: per step the narration, the question (its answer once
the step ran), each assertion's `detail` (what was found) and `kind` (wait or expect), the
step's `errors`, its virtual `time` and its `events` range {first_seq, last_seq} on the
main cluster; and `state` (ready, running, done, abandoned) and `next` (the coming step,
without its answer). Registered under the API in dashboard/urls.py.
"""

from typing import Literal

from django.http import HttpRequest, JsonResponse
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field, ValidationError

from cluster.commands import CommandError
from cluster.scenario import LANGUAGES, MAX_BYTES, ScenarioError

from .. import scenarios
from ..classroom import service as classrooms
from ..runner import MAX_SPEED, MIN_SPEED, registry
from .roles import requires

router = Router(tags=["scenarios"])

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?$"
Lang = Literal["en", "zh-Hans"]


class Strict(Schema):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class RunCreate(Strict):
    mode: Literal["fast", "live"] = "fast"
    name: str | None = Field(None, min_length=1, max_length=50, pattern=NAME_PATTERN,
                             description="the main cluster's name (compared clusters add -<key>); default <scenario>-<run>")
    lang: Lang = Field("en", description="the language of titles, narration and assertion texts")
    speed: float = Field(1.0, ge=MIN_SPEED, le=MAX_SPEED, description="live: the clusters' speed")
    paused: bool = Field(False, description="live: keep the clusters paused after the first step starts (its waits then wait for advance); "
                                            "otherwise they start running with the first step")
    profile: Literal["teaching", "realistic"] | None = Field(None, description="the timing profile, instead of the file's (teaching: slow enough to follow by eye)")


class NextStep(Strict):
    choice: int | None = Field(None, ge=0, le=20, description="the audience's answer to the step's question (counted from 0)")


class LangQuery(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)
    lang: Lang | None = None


class Error(Schema):
    error: str
    field: str | None = None


ERRORS = {400: Error, 403: Error, 404: Error, 409: Error, 410: Error, 413: Error, 429: Error}


def _summary(scenario, lang: str) -> dict:
    return {
        "id": scenario.id,
        "title": scenario.title.pick(lang),
        "summary": scenario.summary.pick(lang),
        "titles": {code: scenario.title.pick(code) for code in LANGUAGES},
        "level": scenario.level,
        "duration": scenario.duration,
        "steps": len(scenario.steps),
        "clusters": 1 + len(scenario.compare),
        "source": scenarios.library.source(scenario.id),
    }


@router.get("", response={200: dict}, summary="List scenarios (built-in lessons and uploaded ones)")
async def list_scenarios(request: HttpRequest, query: Query[LangQuery]):
    lang = query.lang or "en"
    return {"items": [_summary(s, lang) for s in scenarios.library.all()]}


@router.post("", response={201: dict, **ERRORS}, summary="Upload a scenario file (YAML or JSON, at most 256 KiB)")
async def upload_scenario(request: HttpRequest):
    """The body is the file itself. A file that does not validate is refused with 400 and
    {"error": "<where>:<line>: <field>: <problem>", "field", "line"}."""
    # Read at most one byte over the limit (request.body would refuse a body over Django's
    # DATA_UPLOAD_MAX_MEMORY_SIZE with an HTML page, and read all of it first).
    raw = request.read(MAX_BYTES + 1)
    try:
        scenario = scenarios.library.upload(raw)
    except ScenarioError as exc:
        return JsonResponse(exc.as_dict(), status=400)
    return Status(201, _detail(scenario))


def _detail(scenario) -> dict:
    return {**scenario.model_dump(mode="json", by_alias=True, exclude_none=True), "source": scenarios.library.source(scenario.id)}


@router.get("/{scenario_id}", response={200: dict, **ERRORS}, summary="A scenario, every step")
async def get_scenario(request: HttpRequest, scenario_id: str):
    return _detail(scenarios.library.get(scenario_id))


@router.delete("/{scenario_id}", response={204: None, **ERRORS}, summary="Delete an uploaded scenario")
async def delete_scenario(request: HttpRequest, scenario_id: str):
    scenarios.library.delete(scenario_id)
    return Status(204, None)


@router.get("/{scenario_id}/runs", response={200: dict, **ERRORS}, summary="This scenario's runs (a presenter's page finds its live run again)")
async def list_runs(request: HttpRequest, scenario_id: str):
    scenarios.library.get(scenario_id)
    return {"items": [r.brief() for r in scenarios.of_scenario(scenario_id)]}


@router.post("/{scenario_id}/runs", response={201: dict, **ERRORS}, summary="Run a scenario on new clusters (fast: the whole report; live: stepped)")
async def create_run(request: HttpRequest, scenario_id: str, payload: RunCreate):
    registry.ensure_ticker()
    record = await scenarios.start(scenario_id=scenario_id, mode=payload.mode, name=payload.name, lang=payload.lang, speed=payload.speed,
                                   paused=payload.paused, profile=payload.profile)
    return Status(201, record.report())


@router.get("/{scenario_id}/runs/{run_id}", response={200: dict, **ERRORS}, summary="A run's report so far")
async def get_run(request: HttpRequest, scenario_id: str, run_id: str, query: Query[LangQuery]):
    return scenarios.get(scenario_id, run_id).report(query.lang)


def _run_cluster(kwargs: dict) -> str | None:
    """The main cluster a run drives (its compared ones share its classroom's roles)."""
    record = scenarios.held(kwargs.get("run_id"))  # after a restart: taken up from its saved row
    return record.names["main"] if record is not None else None


@router.post("/{scenario_id}/runs/{run_id}/next", response={200: dict, **ERRORS}, summary="Start a live run's next step")
@requires("write", _run_cluster)
async def next_step(request: HttpRequest, scenario_id: str, run_id: str):
    """Body (optional: a clicker sends none): {"choice": n}. The step's manifests and actions
    enter now; its waits are polled as the clock moves (state "running" until they hold or
    time out). 409 while the previous step is still running."""
    registry.ensure_ticker()
    record = await scenarios.next_step(scenario_id=scenario_id, run_id=run_id, choice=choice_of(request))
    classrooms.stepped(record.names["main"])  # a class following this run hears of the new step
    return record.report()


def choice_of(request: HttpRequest) -> int | None:
    """The optional {"choice": n} of a next step (also POST /api/classrooms/<code>/step)."""
    try:
        # A bare POST (a clicker; a test client's empty multipart form) carries no choice.
        bare = request.content_type.startswith("multipart/") or not request.body.strip()
        return NextStep.model_validate_json(b"{}" if bare else request.body).choice
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise CommandError(f"{field}: {first['msg']}" if field else "the request body is not a JSON object", field) from None
