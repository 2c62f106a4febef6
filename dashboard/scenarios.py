"""Scenario runs on the server's clusters (REST /api/scenarios). The engine is
cluster/scenario (no Django); this module gives it real clusters from the registry, runs
that are driven by the real-time runner, and the scenarios users upload.

    fast   the run's clusters are created paused and advanced as fast as the CPU allows,
           a step at a time, yielding to other requests between polls; the answer is the
           whole report.
    live   the clusters wait, paused at time 0, for the first `next` (so the first step
           sees everything from the start), then run at the chosen speed (the presenter may
           pause them); each `next` starts one step, whose actions enter at once and whose
           waits are polled while the runner moves the clock. Paused, a waiting step waits.

Runs live in this process's memory, like the clusters they drive (in scale-out a run id names
its process, "<n>-p<process>", and its requests are forwarded there: dashboard/scaleout). A
live run is also saved (LessonRun) when it starts and when each step starts and ends: a
process that does not hold it (restarted, or the new owner of its main cluster after a
failover) takes it up from there (`held`); a step its old process left unfinished is
reported as interrupted, and the presenter goes on with the next.
"""

import asyncio
import itertools
import json
import logging

from django.conf import settings
from django.db import IntegrityError, transaction

from cluster.commands import CommandError
from cluster.scenario import MAX_BYTES, Scenario, ScenarioError, ScenarioRun, builtin, cluster_configs, load_text

from . import services
from .history import store
from .models import LessonRun, UploadedScenario
from .runner import registry

log = logging.getLogger("clusterscope.scenarios")

MAX_USER_SCENARIOS = 100
MAX_RUNS = 200  # finished runs are forgotten oldest first beyond this
FAST_RUN_WALL_SECONDS = 120.0  # a fast run that takes longer is abandoned (an uploaded file could ask for hours)
LIVE_POLL_SECONDS = 0.05
INTERRUPTED = "interrupted by a server restart: the step may have acted in part; its waits and expectations were not checked"


class Library:
    """The built-in lessons (read once from scenarios/) and the scenarios users uploaded.

    Uploaded files are rows (UploadedScenario) when clusters are persisted, so every server
    process and a restarted one know them; each process parses a row once (`uploaded`, by id
    and upload time: a file deleted and uploaded again elsewhere is parsed again). Without
    persistence `uploaded` is the library itself, as the clusters are memory only."""

    def __init__(self):
        self._builtin: dict[str, Scenario] | None = None
        self.uploaded: dict[str, Scenario] = {}
        self._parsed_at: dict[str, object] = {}  # id -> the row's `created` the parse is of

    @property
    def builtin(self) -> dict[str, Scenario]:
        if self._builtin is None:
            self._builtin = builtin()
        return self._builtin

    def get(self, scenario_id: str) -> Scenario:
        scenario = self.builtin.get(scenario_id) or self._uploaded(scenario_id)
        if scenario is None:
            raise CommandError(f"no scenario {scenario_id}", "id", status=404)
        return scenario

    def source(self, scenario_id: str) -> str:
        return "builtin" if scenario_id in self.builtin else "uploaded"

    def delete(self, scenario_id: str) -> None:
        if scenario_id in self.builtin:
            raise CommandError(f"{scenario_id} is a built-in lesson: it cannot be deleted", "id", status=409)
        found = store.call(_db_delete, scenario_id) if store.enabled() else scenario_id in self.uploaded
        if not found:
            raise CommandError(f"no scenario {scenario_id}", "id", status=404)
        self.uploaded.pop(scenario_id, None)
        self._parsed_at.pop(scenario_id, None)

    def all(self) -> list[Scenario]:
        if store.enabled():
            rows = store.call(_db_list)  # [(id, created)], oldest first
            for gone in set(self.uploaded) - {rid for rid, _ in rows}:
                self.uploaded.pop(gone, None)  # deleted by another process
            return [*self.builtin.values(), *(s for s in (self._uploaded(rid, created) for rid, created in rows) if s is not None)]
        return [*self.builtin.values(), *self.uploaded.values()]

    def upload(self, body: bytes) -> Scenario:
        if len(body) > MAX_BYTES:
            raise CommandError(f"a scenario file is at most {MAX_BYTES // 1024} KiB", None, status=413)
        scenario = load_text(body, source="the uploaded file")  # ScenarioError: the view answers 400
        if scenario.id in self.builtin:
            raise CommandError(f"a scenario {scenario.id} exists already", "id", status=409)
        if store.enabled():
            self._parsed_at[scenario.id] = store.call(_db_create, scenario.id, body if isinstance(body, str) else body.decode("utf-8"))
        else:
            if scenario.id in self.uploaded:
                raise CommandError(f"a scenario {scenario.id} exists already", "id", status=409)
            if len(self.uploaded) >= MAX_USER_SCENARIOS:
                raise _too_many()
        self.uploaded[scenario.id] = scenario
        return scenario

    def _uploaded(self, scenario_id: str, created=None) -> Scenario | None:
        """An uploaded scenario, parsed from its row the first time this process reads it."""
        if not store.enabled():
            return self.uploaded.get(scenario_id)
        if created is None:
            row = store.call(_db_created, scenario_id)
            if row is None:
                self.uploaded.pop(scenario_id, None)
                return None
            created = row
        if self._parsed_at.get(scenario_id) != created or scenario_id not in self.uploaded:
            text = store.call(_db_text, scenario_id)
            if text is None:
                return None
            try:
                self.uploaded[scenario_id] = load_text(text, source=f"uploaded scenario {scenario_id}")
            except ScenarioError as exc:  # validated on upload: only a newer schema could refuse it
                log.warning("uploaded scenario %s no longer validates: %s", scenario_id, exc)
                return None
            self._parsed_at[scenario_id] = created
        return self.uploaded[scenario_id]


def _too_many() -> CommandError:
    return CommandError(f"this server keeps at most {MAX_USER_SCENARIOS} uploaded scenarios", None, status=429)


# --- the uploaded files' rows (on the history's database thread: dashboard/history/store.py) ---
def _db_create(scenario_id: str, text: str):
    with transaction.atomic():
        if UploadedScenario.objects.filter(pk=scenario_id).exists():
            raise CommandError(f"a scenario {scenario_id} exists already", "id", status=409)
        if UploadedScenario.objects.count() >= MAX_USER_SCENARIOS:
            raise _too_many()
        try:
            with transaction.atomic():
                return UploadedScenario.objects.create(id=scenario_id, text=text).created
        except IntegrityError:  # another process uploaded the same id a moment ago
            raise CommandError(f"a scenario {scenario_id} exists already", "id", status=409) from None


def _db_delete(scenario_id: str) -> bool:
    return UploadedScenario.objects.filter(pk=scenario_id).delete()[0] > 0


def _db_list() -> list[tuple[str, object]]:
    return list(UploadedScenario.objects.order_by("created", "id").values_list("id", "created"))


def _db_created(scenario_id: str):
    return UploadedScenario.objects.filter(pk=scenario_id).values_list("created", flat=True).first()


def _db_text(scenario_id: str) -> str | None:
    return UploadedScenario.objects.filter(pk=scenario_id).values_list("text", flat=True).first()


class RegistryClusters:
    """The run's clusters, looked up in the registry on every access (a cluster rebuilt by
    a seek into its history is a new object under the same name)."""

    def __init__(self, names: dict[str, str]):
        self.names = names

    def _handle(self, key: str):
        handle = registry.get(self.names[key])
        if handle is None:
            raise CommandError(f"cluster {self.names[key]} was deleted", "name", status=410)
        return handle

    def __getitem__(self, key: str):
        return self._handle(key).cluster

    def require_all(self) -> None:
        """410 when one of the run's clusters was deleted."""
        for key in self.names:
            self._handle(key)

    def __iter__(self):
        return iter(self.names)

    def __len__(self):
        return len(self.names)

    def keys(self):
        return self.names.keys()

    def values(self):
        return [self[k] for k in self.names]

    def items(self):
        return [(k, self[k]) for k in self.names]


class Run:
    def __init__(self, run_id: str, mode: str, run: ScenarioRun, names: dict[str, str]):
        self.id, self.mode, self.run, self.names = run_id, mode, run, names
        self.task: asyncio.Task | None = None
        self.failure: str | None = None
        self.start_clock_on_next = False  # live: the clusters start running with the first step

    def brief(self) -> dict:
        report = self.report()
        return {k: report.get(k) for k in ("run", "mode", "state", "passed", "cluster", "clusters", "time")} | {"steps": len(report["steps"])}

    def report(self, lang: str | None = None) -> dict:
        try:
            out = self.run.report(lang)
        except CommandError as exc:  # a cluster of the run was deleted
            out = {"scenario": self.run.scenario.id, "state": "abandoned", "passed": False, "steps": [], "error": exc.message}
        out = {"run": self.id, "mode": self.mode, **out}
        if self.failure:
            out["state"], out["error"] = "abandoned", self.failure
        return out


library = Library()
runs: dict[str, Run] = {}
counter = {"next_run": 1}  # run ids count up for the life of the process
# Among several server processes (dashboard/scaleout) "-p<process id>": a run's requests are
# forwarded to the one process that holds it in memory (its clusters run there too).
run_suffix = ""


def _send(cluster, command: dict) -> dict:
    """Scenario commands enter as the REST API's do: recorded, persisted, viewers woken."""
    return services.run_command(name=cluster.config.name, command=command)


def _set_speed(cluster, speed: float) -> None:
    services.set_clock(name=cluster.config.name, speed=speed)


def _create_clusters(scenario: Scenario, name: str, *, paused: bool, speed: float, profile: str | None) -> dict[str, str]:
    configs = cluster_configs(scenario, name, profile)
    for config in configs.values():
        if registry.get(config.name) is not None:
            raise CommandError(f"cluster {config.name} already exists", "name", status=409)
    if len(registry.handles) + len(configs) > settings.MAX_CLUSTERS:
        raise CommandError(f"this server runs at most {settings.MAX_CLUSTERS} clusters", "name", status=429)
    created = {}
    try:
        for key, config in configs.items():
            fields = {k: v for k, v in config.as_dict().items() if v is not None}
            services.create_cluster(speed=speed, paused=paused, **fields)
            created[key] = config.name
    except Exception:
        for made in created.values():
            registry.delete(made)
        raise
    return created


def _free_name(scenario: Scenario, number: int) -> str:
    """<id>-<run>, or the next number up whose clusters are all free (clusters restored from
    history may hold names an earlier process gave out). Among several processes the run's
    process suffix keeps the names of one process's runs apart from another's."""
    for n in itertools.count(number):
        name = f"{scenario.id[:40]}-{n}{run_suffix}"
        if all(registry.get(c.name) is None for c in cluster_configs(scenario, name).values()):
            return name
    raise AssertionError("unreachable")


def _remember(run: Run) -> Run:
    runs[run.id] = run
    finished = [rid for rid, r in runs.items() if r.run.done or r.failure]
    for rid in finished[: max(0, len(runs) - MAX_RUNS)]:
        runs.pop(rid, None)
    return run


async def start(*, scenario_id: str, mode: str, name: str | None, lang: str, speed: float = 1.0, paused: bool = False, profile: str | None = None) -> Run:
    scenario = library.get(scenario_id)
    if store.enabled() and not counter.get("read"):  # a restarted process goes on after its stored runs' numbers
        counter["next_run"] = max(counter["next_run"], 1 + store.call(_db_last_number, run_suffix))
        counter["read"] = True
    number = counter["next_run"]
    counter["next_run"] += 1
    run_id = f"{number}{run_suffix}"
    name = name or _free_name(scenario, number)
    names = _create_clusters(scenario, name, paused=True, speed=speed, profile=profile)
    run = ScenarioRun(scenario, RegistryClusters(names), lang=lang, send=_send, set_speed=_set_speed if mode == "live" else None)
    record = _remember(Run(run_id, mode, run, names))
    record.start_clock_on_next = mode == "live" and not paused
    if mode == "fast":
        await _play_fast(record)
    else:
        _save(record)
    return record


async def _play_fast(record: Run) -> None:
    run = record.run
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FAST_RUN_WALL_SECONDS
    while not run.done:
        if loop.time() > deadline:
            record.failure = f"the run took longer than {FAST_RUN_WALL_SECONDS:g} wall seconds and was stopped at {run.main.time:g} virtual s"
            return
        run.start_step()
        while not run.poll():
            target = run.next_deadline()
            for name in record.names.values():
                handle = registry.get(name)
                if handle is None:
                    record.failure = f"cluster {name} was deleted during the run"
                    return
                await registry.advance(handle, (target - handle.cluster.now) / 1_000_000)


def get(scenario_id: str, run_id: str) -> Run:
    record = held(run_id)
    if record is None or record.run.scenario.id != scenario_id:
        raise CommandError(f"no run {run_id} of scenario {scenario_id}", "run", status=404)
    return record


def held(run_id: str | None) -> Run | None:
    """The run, from this process's memory or else taken up from its saved row (None: no such run)."""
    record = runs.get(run_id)
    if record is not None or not run_id or not store.enabled():
        return record
    row = store.call(_db_run, run_id)
    if row is None:
        return None
    registry.ensure_demo()  # a restarted process: its clusters are rebuilt first
    scenario = library.get(row["scenario"])  # an uploaded file deleted since: 404
    names = row["names"]
    run = ScenarioRun(scenario, RegistryClusters(names), lang=row["lang"], send=_send, set_speed=_set_speed)
    run.clusters.require_all()  # 410 when a cluster of the run is gone (or, in scale-out, runs elsewhere)
    run.resume(row["state"], interrupted=INTERRUPTED)
    record = Run(run_id, "live", run, names)
    record.start_clock_on_next = row["state"].get("start_clock_on_next", False)
    record.failure = row["state"].get("failure")
    log.info("lesson run %s taken up from its saved row at step %d", run_id, run.index)
    if row["state"].get("current") is not None:
        _save(record)  # between steps now
    return _remember(record)


def of_scenario(scenario_id: str) -> list[Run]:
    """A scenario's runs: this process's, and the saved ones it can take up (after a restart the
    presenter's page finds its run again; in scale-out, those whose clusters run here now)."""
    if store.enabled():
        registry.ensure_demo()  # a restarted process: its clusters are rebuilt first
        for run_id, main in store.call(_db_run_mains, scenario_id):
            if run_id not in runs and registry.get(main) is not None:  # only where its main cluster runs
                try:
                    held(run_id)
                except CommandError:  # its clusters are gone, or run by another process
                    pass
    return [r for r in runs.values() if r.run.scenario.id == scenario_id]


def _save(record: Run) -> None:
    """Keep a live run's position (queued on the database thread, in order with the commands)."""
    if record.mode != "live" or not store.enabled():
        return
    state = {**record.run.saved(), "start_clock_on_next": record.start_clock_on_next, "failure": record.failure}
    state = json.loads(json.dumps(state, default=str))  # a copy as it is now; a remembered value JSON cannot hold becomes its text
    store.later(_db_save_run, record.id, record.run.scenario.id, record.run.lang, dict(record.names), state)


async def next_step(*, scenario_id: str, run_id: str, choice: int | None) -> Run:
    """Start the next step of a live run; it finishes in the background as time moves."""
    record = get(scenario_id, run_id)
    run = record.run
    if record.mode != "live":
        raise CommandError("only live runs are stepped: a fast run has played every step", "mode", status=409)
    if record.failure:
        raise CommandError(record.failure, "run", status=410)
    run.clusters.require_all()
    if run.current is not None:
        raise CommandError("the current step has not finished yet (its wait is still polling)", "run", status=409)
    if run.done:
        raise CommandError("the run has played every step", "run", status=409)
    step = run.scenario.steps[run.index]
    if choice is not None and (step.ask is None or not 0 <= choice < len(step.ask.choices)):
        raise CommandError("choice must be the index of one of the step's choices" if step.ask else "this step asks no question", "choice")
    if record.start_clock_on_next:
        record.start_clock_on_next = False
        for name in names_of(record):
            services.set_clock(name=name, paused=False)
    run.start_step(choice=choice)
    _save(record)  # mid-step: a process that takes it up reports this step interrupted
    if not run.poll():
        record.task = asyncio.get_running_loop().create_task(_finish_live_step(record), name=f"scenario-run-{record.id}")
    else:
        _save(record)
    return record


def live_run_of(cluster: str) -> dict | None:
    """The newest live run that drives this cluster, as {"scenario", "run"} (the cluster page
    follows its narration), or None."""
    for record in reversed(runs.values()):
        if record.mode == "live" and cluster in record.names.values():
            return {"scenario": record.run.scenario.id, "run": record.id}
    if store.enabled() and registry.get(cluster) is not None:  # after a restart: a saved run of it, taken up
        run_id = store.call(_db_newest_run_of, cluster)
        try:
            record = held(run_id)
        except CommandError:
            record = None
        if record is not None:
            return {"scenario": record.run.scenario.id, "run": record.id}
    return None


def names_of(record: Run) -> list[str]:
    return list(record.names.values())


async def _finish_live_step(record: Run) -> None:
    try:
        while not record.run.poll():
            await asyncio.sleep(LIVE_POLL_SECONDS)
    except CommandError as exc:
        record.failure = exc.message
        if exc.status == 410:  # a cluster gone from here (deleted, or moved to another process): the row
            return             # keeps the step as started, so the process that runs it now takes it up
    except Exception:  # a bug must not kill the server's loop silently
        log.exception("scenario run %s failed", record.id)
        record.failure = "the run failed: see the server log"
    _save(record)


# --- the saved runs' rows (on the database thread) ------------------------------------------
def _db_save_run(run_id: str, scenario: str, lang: str, names: dict, state: dict) -> None:
    LessonRun.objects.update_or_create(id=run_id, defaults={"scenario": scenario, "lang": lang, "names": names, "state": state})


def _db_run_mains(scenario_id: str) -> list[tuple[str, str]]:
    """(run id, main cluster) of a scenario's saved runs."""
    return [(run_id, names.get("main")) for run_id, names in LessonRun.objects.filter(scenario=scenario_id).order_by("updated").values_list("id", "names")]


def _db_newest_run_of(cluster: str) -> str | None:
    return next((run_id for run_id, names in LessonRun.objects.order_by("-updated").values_list("id", "names").iterator() if cluster in names.values()), None)


def _db_run(run_id: str) -> dict | None:
    return LessonRun.objects.filter(pk=run_id).values("scenario", "lang", "names", "state").first()


def _db_last_number(suffix: str) -> int:
    """The highest run number saved with this process's suffix ("" in one process)."""
    numbers = [0]
    for run_id in LessonRun.objects.values_list("id", flat=True):
        head, _, tail = run_id.partition("-p")
        if ("-p" + tail if tail else "") == suffix and head.isdigit():
            numbers.append(int(head))
    return max(numbers)


def error_body(exc: ScenarioError) -> dict:
    return exc.as_dict()
