"""A scenario run: the steps of a scenario played against one or more clusters.

The run is a state machine over plain data, driven from outside, so the same code serves
a headless run (as fast as the CPU allows) and a live one (the dashboard's real-time
runner moves the clock while a presenter steps):

    run = ScenarioRun(scenario, clusters)        # clusters: {"main": Cluster, "<compare name>": Cluster}
    run.start_step()                             # narration shown; manifests and actions begin
    while not run.poll():                        # actions until an `advance`; then the wait
        advance every cluster to run.next_deadline()
    run.results[-1]                              # the step's report

A step, in order: its manifests are applied, its actions run (an `advance` holds the
rest until that much virtual time has passed), then its wait polls its condition every
POLL_US until it holds or its timeout passes, then its expectations are checked once. A
failed action ends the step's actions (the rest would act on a state nobody intended) but
its expectations are still checked and reported. The run always plays every step, so the
report shows every assertion, as a test runner does.

`run_fast(scenario)` builds the clusters and plays the whole run headless.

Between steps a run is plain data (`saved()`): a server keeps it so that a run outlives its
process, and `resume(saved)` puts a new run over the same clusters back where it stood. A run
saved during a step (its process stopped mid-step) resumes after that step, reported as
interrupted: its actions may have run in part, its waits and expectations were not checked.
"""

from ..cluster import Cluster, ClusterConfig
from ..commands import CommandError
from ..kernel import MILLISECOND, SECOND
from . import conditions, paths
from .account import account
from .actions import apply_manifest, etcd_answer, kube_answer, perform
from .schema import LANGUAGES, Scenario, Step
from .state import cluster_state

POLL_US = 100 * MILLISECOND


def cluster_configs(scenario: Scenario, name: str, profile: str | None = None) -> dict[str, ClusterConfig]:
    """The run's clusters: main is called `name`, a compared one `name-<its key>`. `profile`
    overrides the file's timing (a presenter may want `teaching` for a lesson tested in
    `realistic`: the built-in lessons pass in both)."""
    base = scenario.cluster
    fields = {"etcd_members": base.members, "nodes": base.nodes, "profile": profile or base.profile, "seed": base.seed, "rbac": base.rbac,
              "pre_vote": base.pre_vote, "proxy_mode": base.proxy_mode}
    out = {"main": ClusterConfig(name=name, **fields)}
    for key, override in scenario.compare.items():
        changed = {("etcd_members" if k == "members" else k): v for k, v in override.model_dump(exclude_none=True).items() if not (profile and k == "profile")}
        out[key] = ClusterConfig(name=f"{name}-{key}", **{**fields, **changed})
    return out


class ScenarioRun:
    def __init__(self, scenario: Scenario, clusters: dict, *, lang: str = "en", send=None, set_speed=None):
        self.scenario, self.clusters, self.lang = scenario, clusters, lang
        self.send = send or (lambda cluster, command: cluster.command(command))
        self.set_speed = set_speed  # (cluster, speed) in a live run; headless there is no wall clock to set
        self.remembered: dict = {}
        self.requests: dict = {}  # name -> a function reading the request's answer
        self.request_refs: dict = {}  # name -> {"on", "kind", "rid"}: the same, as plain data
        self.results: list[dict] = []
        self.index = 0  # the next step to start
        self.current: dict | None = None

    # --- position ------------------------------------------------------------------------
    @property
    def main(self) -> Cluster:
        return self.clusters["main"]

    @property
    def done(self) -> bool:
        return self.current is None and self.index >= len(self.scenario.steps)

    @property
    def passed(self) -> bool:
        return self.done and all(r["passed"] for r in self.results)

    def targets(self, on) -> list[str]:
        if on is None:
            return ["main"]
        if on == "all":
            return list(self.clusters)
        return [on] if isinstance(on, str) else list(dict.fromkeys(on))

    # --- a step --------------------------------------------------------------------------
    def start_step(self, choice: int | None = None) -> None:
        assert self.current is None and not self.done, "a step is in progress, or the run is over"
        step = self.scenario.steps[self.index]
        ops = [("apply", name, doc) for name in self.targets(step.apply_on) for doc in step.apply]
        for action in step.actions:
            if action.advance is not None:
                ops.append(("advance", None, action))
            else:
                ops.extend(("action", name, action) for name in self.targets(action.on))
        self.current = {
            "step": step, "ops": ops, "pc": 0, "sleep_until": None, "waiting": 0, "wait_started": None, "choice": choice,
            "first_seq": {name: c.last_seq + 1 for name, c in self.clusters.items()}, "start": self.main.now,
            "errors": [], "assertions": [],
        }
        self.index += 1

    def poll(self) -> bool:
        """Do what the step can do at this moment; True once the step has finished."""
        cur = self.current
        if cur is None:
            return True
        step: Step = cur["step"]
        now = self.main.now
        while cur["pc"] < len(cur["ops"]) and not cur["errors"]:
            if cur["sleep_until"] is not None:
                if now < cur["sleep_until"]:
                    return False
                cur["sleep_until"] = None
                cur["pc"] += 1
                continue
            kind, name, item = cur["ops"][cur["pc"]]
            if kind == "advance":
                cur["sleep_until"] = now + int(round(item.advance * SECOND))
                continue
            try:
                self._do(kind, name, item)
            except (CommandError, KeyError, paths.PathError) as exc:
                message = exc.message if isinstance(exc, CommandError) else str(exc.args[0])
                cur["errors"].append(f"{'manifest' if kind == 'apply' else item.kind} on {self.clusters[name].config.name}: {message}")
            cur["pc"] += 1
        while cur["waiting"] < len(step.wait) and not cur["errors"]:
            wait = step.wait[cur["waiting"]]
            timeout = int(round(wait.timeout * SECOND))
            if cur["wait_started"] is None:
                cur["wait_started"] = now
            held, detail = self._check(wait)
            if not held and now < cur["wait_started"] + timeout:
                return False
            waited = (now - cur["wait_started"]) / SECOND
            verdict = f"held after {waited:g} s" if held else f"not within {wait.timeout:g} s"
            cur["assertions"].append({"kind": "wait", "texts": self._describe(wait), "passed": held, "detail": f"{verdict}: {detail}"})
            cur["waiting"] += 1
            cur["wait_started"] = None
            if not held:
                break  # later waits would only time out in turn
        for cond in step.expect:
            held, detail = self._check(cond)
            cur["assertions"].append({"kind": "expect", "texts": self._describe(cond), "passed": held, "detail": detail})
        self.results.append(self._report(cur))
        self.current = None
        return True

    def next_deadline(self) -> int:
        """How far the driver may advance the clusters before polling again."""
        cur = self.current
        if cur is not None and cur["sleep_until"] is not None:
            return cur["sleep_until"]
        return self.main.now + POLL_US

    def _do(self, kind: str, name: str, item) -> None:
        cluster = self.clusters[name]
        if kind == "apply":
            apply_manifest(item, self.send, cluster)
            return
        if item.clock is not None:
            if self.set_speed is not None:
                self.set_speed(cluster, item.clock.speed)
            return
        if item.remember is not None:
            state = cluster_state(cluster, requests=self.requests, remembered=self.remembered)
            found, many = paths.select(state, conditions.substitute(item.remember, self.remembered))
            value, fetch = (found if many else (found[0] if found else None)), None
        else:
            value, fetch = perform(item, cluster, self.remembered, self.send)
        if item.as_ is not None:
            key = item.as_ if len(self.targets(item.on)) == 1 else f"{item.as_}-{name}"
            self.remembered[key] = value
            if fetch is not None:
                self.requests[key] = fetch
                self.request_refs[key] = {"on": name, "kind": fetch.ref[0], "rid": fetch.ref[1]}

    def _check(self, cond) -> tuple[bool, str]:
        name = cond.on or "main"
        cluster = self.clusters[name]
        state = cluster_state(cluster, requests=self.requests, remembered=self.remembered)
        events = []
        if cond.event is not None:
            events = cluster.events_since(self.current["first_seq"][name] - 1)
            if events is None:
                return False, "cannot check: the step's first events have left the event log (it keeps the newest ones)"
        try:
            return conditions.check(cond, cluster, state, events, self.remembered)
        except (KeyError, ValueError) as exc:  # a $name never remembered, a path that does not parse
            return False, f"cannot check: {exc.args[0] if exc.args else exc}"

    def _describe(self, cond) -> dict:
        """The assertion's words in every language, fixed now ($names as they stand now)."""
        label = self.clusters[cond.on].config.name if cond.on and cond.on != "main" else ""
        return {lang: conditions.describe(cond, lang, label, self.remembered) for lang in LANGUAGES}

    # --- saved and resumed ----------------------------------------------------------------
    def saved(self) -> dict:
        """The run as plain data (JSON), enough to resume it between steps."""
        cur = self.current
        current = None if cur is None else {"choice": cur["choice"], "first_seq": cur["first_seq"], "start": cur["start"]}
        return {"index": self.index, "results": self.results, "remembered": self.remembered, "requests": self.request_refs, "current": current}

    def resume(self, saved: dict, *, interrupted: str) -> None:
        """Take up a `saved()` run over the clusters as they are now. A step that was under way
        is closed as interrupted (`interrupted` says why) and the run stands before the next."""
        self.index, self.results, self.remembered = saved["index"], list(saved["results"]), dict(saved["remembered"])
        self.request_refs = dict(saved["requests"])
        answers = {"kube": kube_answer, "etcd": etcd_answer}
        for key, ref in self.request_refs.items():
            self.requests[key] = _lazy_answer(self.clusters, ref, answers[ref["kind"]])
        self.current = None
        cur = saved.get("current")
        if cur is None:
            return
        step = self.scenario.steps[self.index - 1]
        report = {
            "index": len(self.results), "passed": False, "interrupted": True, "errors": [interrupted], "assertions": [],
            "events": {name: {"first_seq": cur["first_seq"].get(name, c.last_seq + 1), "last_seq": c.last_seq} for name, c in self.clusters.items()},
            "time": {"start": cur["start"] / SECOND, "end": self.main.now / SECOND}, "account": [],
        }
        if step.ask is not None and cur["choice"] is not None:
            report["choice"], report["correct"] = cur["choice"], cur["choice"] == step.ask.answer
        self.results.append(report)

    # --- reports -------------------------------------------------------------------------
    def _report(self, cur: dict) -> dict:
        """A finished step, kept in every language; `report(lang)` picks one."""
        step: Step = cur["step"]
        report = {
            "index": len(self.results),
            "passed": not cur["errors"] and all(a["passed"] for a in cur["assertions"]),
            "errors": cur["errors"],
            "assertions": cur["assertions"],
            "events": {name: {"first_seq": cur["first_seq"][name], "last_seq": c.last_seq} for name, c in self.clusters.items()},
            "time": {"start": cur["start"] / SECOND, "end": self.main.now / SECOND},
            "account": self._account(cur),
        }
        if step.ask is not None and cur["choice"] is not None:
            report["choice"] = cur["choice"]
            report["correct"] = cur["choice"] == step.ask.answer
        return report

    def _account(self, cur: dict) -> list[dict]:
        """What the step's events did, in words (account.py); a compared cluster's sentences
        start with its name."""
        seconds = (self.main.now - cur["start"]) / SECOND
        out = []
        for name, cluster in self.clusters.items():
            after = cur["first_seq"][name] - 1
            events = cluster.events_since(after)
            if events is None:  # the oldest have left the log: tell what is left
                events = cluster.events_since(cluster.sim.log.first_seq - 1) or []
            for line in account(events, seconds):
                if name != "main":
                    line = {**line, "texts": {lang: f"{cluster.config.name}: {text}" for lang, text in line["texts"].items()}}
                out.append(line)
        return out

    def step_report(self, result: dict, lang: str) -> dict:
        out = {k: v for k, v in result.items() if k not in ("assertions", "events", "account")}
        out["account"] = [{"kind": line["kind"], "text": line["texts"][lang]} for line in result["account"]]
        out["title"] = self.scenario.steps[result["index"]].title.pick(lang)
        out["assertions"] = [{"text": a["texts"][lang], **{k: v for k, v in a.items() if k != "texts"}} for a in result["assertions"]]
        out["events"] = result["events"]["main"]
        if len(self.clusters) > 1:
            out["events_by_cluster"] = {self.clusters[n].config.name: e for n, e in result["events"].items()}
        out.update(self.words(result["index"], lang, reveal=True))
        return out

    def words(self, index: int, lang: str, *, reveal: bool) -> dict:
        """A step's narration and question (the answer only when revealed)."""
        step = self.scenario.steps[index]
        out: dict = {"narration": None, "question": None}
        if step.narrate is not None:
            out["narration"] = {"text": step.narrate.pick(lang), "highlight": list(step.narrate.highlight)}
        if step.ask is not None:
            ask = step.ask
            question = {"text": ask.question.pick(lang), "choices": [c.pick(lang) for c in ask.choices]}
            if reveal:
                question["answer"] = ask.answer
                question["explain"] = ask.explain.pick(lang) if ask.explain else None
            out["question"] = question
        return out

    def upcoming(self, lang: str) -> dict | None:
        """The next step as the audience sees it before it runs: no answer yet."""
        if self.index >= len(self.scenario.steps):
            return None
        return {"index": self.index, "title": self.scenario.steps[self.index].title.pick(lang), **self.words(self.index, lang, reveal=False)}

    def report(self, lang: str | None = None) -> dict:
        """The run so far (shared/DESIGN.md: {"passed", "steps": [{"title", "assertions": [{"text", "passed"}]}]}, and more)."""
        lang = lang or self.lang
        return {
            "scenario": self.scenario.id,
            "lang": lang,
            "cluster": self.main.config.name,
            "clusters": {key: c.config.name for key, c in self.clusters.items()},
            "state": "done" if self.done else ("running" if self.current is not None else "ready"),
            "passed": self.passed,
            "steps": [self.step_report(r, lang) for r in self.results],
            "next": self.upcoming(lang) if self.current is None else None,
            "time": self.main.time,
        }


def _lazy_answer(clusters, ref: dict, answer):
    """A request's answer, read from whichever cluster object runs under that key now."""
    return lambda: answer(clusters[ref["on"]], ref["rid"])()


def advance_all(clusters: dict, target_us: int) -> None:
    for cluster in clusters.values():
        cluster.advance_to(target_us)


def run_fast(scenario: Scenario, *, name: str | None = None, lang: str = "en", profile: str | None = None) -> ScenarioRun:
    """Play the whole scenario headless on new clusters, as fast as the CPU allows."""
    clusters = {key: Cluster(config) for key, config in cluster_configs(scenario, name or scenario.id, profile).items()}
    run = ScenarioRun(scenario, clusters, lang=lang)
    while not run.done:
        run.start_step()
        while not run.poll():
            advance_all(clusters, run.next_deadline())
    return run
