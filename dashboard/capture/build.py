"""A cluster built headless from a picture's options, and the file that carries it to a server.

    built = build(Setup(scenario="etcd-leader-partition", step=2, name="shot"))
    built.cluster.state_hash()      # the state the picture shows
    built.export_text()             # POST it to /api/clusters/import: the server replays it

The scenario engine (cluster/scenario) plays steps exactly as `run_scenario` does, on every
cluster of the lesson (only the main one is drawn: a compared cluster's commands may act on
it, but it is not imported); the clock is
moved in virtual time, so the same options always give the same state hash.
"""

from dataclasses import dataclass

import yaml

from cluster.cluster import Cluster, ClusterConfig
from cluster.commands import CommandError
from cluster.kernel import SECOND
from cluster.scenario import ScenarioRun, advance_all, builtin, cluster_configs

from .. import demo, limits
from ..history.transfer import FORMAT

MAX_TIME_SECONDS = 3600.0


@dataclass(frozen=True)
class Setup:
    name: str = "shot"
    scenario: str | None = None  # a built-in lesson's id
    step: int | None = None  # stop after this step (1 = the first); default: every step
    time: float | None = None  # virtual seconds to stop at (alone, or after the step)
    seed: int | None = None  # default: the scenario's, else 1
    nodes: int | None = None
    etcd_members: int | None = None
    profile: str | None = None
    demo: bool = False  # with no scenario: the demo application (dashboard/demo.py) created at time 0


@dataclass
class Built:
    cluster: Cluster
    setup: Setup
    steps_played: int

    def state_hash(self) -> str:
        return self.cluster.state_hash()

    def export_text(self) -> str:
        """The history export format (dashboard/history/transfer.py), paused where it stands."""
        c = self.cluster
        doc = {
            "format": FORMAT,
            "name": c.config.name,
            "config": c.config.as_dict(),
            "clock": {"paused": True, "speed": 1.0},
            "position": {"time_us": c.sim.now, "processed": c.sim.processed},
            "head": {"time_us": c.sim.now, "processed": c.sim.processed},
            "state_hash": c.state_hash(),
            "commands": [{"seq": i, "at": e["at"], "after": e["after"], "command": e["command"]} for i, e in enumerate(c.command_log, 1)],
        }
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)


def _bad(message: str, field: str) -> CommandError:
    return CommandError(message, field)


def build(setup: Setup) -> Built:
    """Raises CommandError (message and field) for options that do not make a cluster."""
    if setup.time is not None and not 0 <= setup.time <= MAX_TIME_SECONDS:
        raise _bad(f"time must be from 0 to {MAX_TIME_SECONDS:g} virtual seconds", "time")
    overrides = {k: v for k, v in (("seed", setup.seed), ("nodes", setup.nodes), ("etcd_members", setup.etcd_members)) if v is not None}
    if setup.scenario is None:
        if setup.step is not None:
            raise _bad("step needs a scenario", "step")
        config = limits.capped(ClusterConfig(name=setup.name, profile=setup.profile or "teaching", **overrides))
        cluster = Cluster(config)
        if setup.demo:
            demo.seed(cluster)
        cluster.advance_to(int(round((setup.time or 0) * SECOND)))
        return Built(cluster, setup, 0)
    lessons = builtin()
    scenario = lessons.get(setup.scenario)
    if scenario is None:
        raise _bad(f"no built-in scenario {setup.scenario!r}: one of {', '.join(lessons)}", "scenario")
    total = len(scenario.steps)
    if setup.step is not None and not 1 <= setup.step <= total:
        raise _bad(f"step must be from 1 to {total} (the steps of {scenario.id})", "step")
    # a lesson that compares clusters plays on all of them (its waits may look at any); the main one is drawn
    configs = cluster_configs(scenario, setup.name, setup.profile)
    # with the server's caps, as the server would make them: the import then rebuilds this very state
    clusters = {key: Cluster(limits.capped(ClusterConfig(**{**config.as_dict(), **overrides}))) for key, config in configs.items()}
    cluster = clusters["main"]
    run = ScenarioRun(scenario, clusters)
    last = setup.step if setup.step is not None else total
    stop_us = None if setup.time is None else int(round(setup.time * SECOND))
    # With only a time, steps play until that moment (maybe in the middle of one); with a
    # step, every step up to it plays in full and then the clock moves on to the time, if later.
    while run.index < last and not (setup.step is None and stop_us is not None and cluster.now >= stop_us):
        run.start_step()
        while not run.poll():
            target = run.next_deadline()
            if setup.step is None and stop_us is not None and target >= stop_us:
                advance_all(clusters, stop_us)
                return Built(cluster, setup, run.index - 1)
            advance_all(clusters, target)
    if stop_us is not None and stop_us > cluster.now:
        advance_all(clusters, stop_us)
    return Built(cluster, setup, len(run.results))
