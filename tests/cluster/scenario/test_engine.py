"""The scenario engine: a failing assertion, a wait that times out and an action the cluster
refuses are reported as such; the path language; live-style stepping."""

import json

import pytest

from cluster.cluster import Cluster
from cluster.kernel import SECOND
from cluster.scenario import ScenarioRun, cluster_configs, load_text, run_fast
from cluster.scenario.paths import PathError, select

HEAD = """\
id: probe
title: {en: Probe, zh-Hans: 探针}
summary: {en: A probe, zh-Hans: 一个探针}
level: beginner
duration: 1
cluster: {members: 3, nodes: 0, profile: realistic, seed: 3}
steps:
"""


def lesson(steps: str):
    return load_text(HEAD + steps)


def test_a_false_expectation_fails_the_step_and_the_run_but_later_steps_still_run():
    run = run_fast(lesson("""\
  - title: {en: Leader, zh-Hans: 领导者}
    wait: {leader elected: true, timeout: 10}
    expect:
      - {path: etcd.size, equals: 3}
      - {path: etcd.size, equals: 4}
  - title: {en: After, zh-Hans: 之后}
    expect:
      - {path: "etcd.members[?role=leader]", count: 1}
"""))
    report = run.report()
    assert report["passed"] is False and [s["passed"] for s in report["steps"]] == [False, True]
    wait, right, wrong = report["steps"][0]["assertions"]
    assert (wait["kind"], wait["passed"], right["passed"], wrong["passed"]) == ("wait", True, True, False)
    assert wrong["text"] == "etcd.size equals 4" and wrong["detail"] == "3"
    assert run.report("zh-Hans")["steps"][0]["assertions"][2]["text"] == "etcd.size 等于 4"


def test_a_wait_that_never_holds_times_out_in_virtual_time():
    run = run_fast(lesson("""\
  - title: {en: No leader, zh-Hans: 没有领导者}
    actions:
      - fault: {action: crash, target: etcd-0}
      - fault: {action: crash, target: etcd-1}
    wait: {leader elected: true, timeout: 7}
"""))
    [step] = run.report()["steps"]
    [wait] = step["assertions"]
    assert not wait["passed"] and wait["detail"].startswith("not within 7 s: leader: none")
    assert step["time"] == {"start": 0.0, "end": 7.0}


def test_an_action_the_cluster_refuses_is_reported_and_stops_that_steps_actions():
    run = run_fast(lesson("""\
  - title: {en: Bad target, zh-Hans: 错误目标}
    actions:
      - fault: {action: crash, target: etcd-9}
      - fault: {action: crash, target: etcd-0}
    expect:
      - {path: "components.etcd-0.alive", equals: true}
"""))
    [step] = run.report()["steps"]
    assert step["errors"] == ["fault on probe: unknown target: etcd-9"] and step["passed"] is False
    assert step["assertions"][0]["passed"] is True  # etcd-0 was not crashed: the actions stopped


def test_remembered_targets_and_paths_with_names():
    run = run_fast(lesson("""\
  - title: {en: Crash the leader, zh-Hans: 让领导者崩溃}
    wait: {leader elected: true, timeout: 10}
    actions: []
  - title: {en: Again, zh-Hans: 再来}
    actions:
      - fault: {action: crash, target: "@leader"}
        as: old
    wait: {leader elected: {not: $old}, timeout: 20}
    expect:
      - {path: "components.$old.alive", equals: false}
      - {path: "etcd.members[?alive=false].name", equals: $old}
"""))
    report = run.report()
    assert report["passed"], report
    old = run.remembered["old"]
    assert old.startswith("etcd-") and report["steps"][1]["assertions"][0]["text"] == f"etcd has a leader other than {old}"


def test_a_side_by_side_run_acts_on_the_named_clusters():
    scenario = load_text(HEAD.replace("steps:\n", "compare:\n  solo: {members: 1}\nsteps:\n") + """\
  - title: {en: Two clusters, zh-Hans: 两个集群}
    actions:
      - fault: {action: crash, target: etcd-0}
        on: solo
      - advance: 3
    expect:
      - {path: etcd.alive, equals: 3}
      - {path: etcd.alive, equals: 0, on: solo}
""")
    report = run_fast(scenario, name="pair").report()
    assert report["passed"] and report["clusters"] == {"main": "pair", "solo": "pair-solo"}
    assert report["steps"][0]["assertions"][1]["text"] == "[pair-solo] etcd.alive equals 0"
    assert set(report["steps"][0]["events_by_cluster"]) == {"pair", "pair-solo"}


def test_stepping_one_step_at_a_time_hides_the_answer_until_the_step_ran():
    scenario = lesson("""\
  - title: {en: Guess, zh-Hans: 猜}
    ask:
      question: {en: 'How many members?', zh-Hans: 几个成员？}
      choices: [{en: one, zh-Hans: 一}, {en: three, zh-Hans: 三}]
      answer: 1
    expect:
      - {path: etcd.size, equals: 3}
""")
    clusters = {key: Cluster(config) for key, config in cluster_configs(scenario, "live").items()}
    run = ScenarioRun(scenario, clusters)
    before = run.report()
    assert before["state"] == "ready" and "answer" not in before["next"]["question"] and before["next"]["question"]["choices"] == ["one", "three"]
    run.start_step(choice=0)
    assert run.poll() is True and run.done
    after = run.report("zh-Hans")
    step = after["steps"][0]
    assert (step["question"]["answer"], step["choice"], step["correct"]) == (1, 0, False) and after["next"] is None and after["state"] == "done"


STATE = {
    "etcd": {"leader": "etcd-1", "members": [{"name": "etcd-0", "role": "follower", "term": 2}, {"name": "etcd-1", "role": "leader", "term": 3}]},
    "objects": {"pods": [{"metadata": {"name": "a", "labels": {"app": "web", "kubernetes.io/x": "y"}}}, {"metadata": {"name": "b", "labels": {"app": "db"}}}]},
    "components": {"node-1/kubelet": {"alive": True}},
}


@pytest.mark.parametrize("path, expected", [
    ("etcd.leader", (["etcd-1"], False)),
    ("etcd.members[*].term", ([2, 3], True)),
    ("etcd.members[?role=leader].name", (["etcd-1"], True)),
    ("etcd.members[?term>2].name", (["etcd-1"], True)),
    ("etcd.members[?role!=leader].name", (["etcd-0"], True)),
    ("etcd.members[-1].name", (["etcd-1"], False)),
    ("etcd.members.length", ([2], False)),
    ("components['node-1/kubelet'].alive", ([True], False)),
    ("objects.pods[?metadata.labels['kubernetes.io/x']=y].metadata.name", (["a"], True)),
    ("objects.pods[?metadata.labels.app].metadata.name", (["a", "b"], True)),
    ("etcd.nothing.here", ([], False)),
])
def test_paths(path, expected):
    assert select(STATE, path) == expected


@pytest.mark.parametrize("path", ["etcd..leader", "etcd[?]", "etcd.members[x"])
def test_paths_that_do_not_parse(path):
    with pytest.raises(PathError):
        select(STATE, path)


def test_a_clock_action_sets_a_live_runs_speed_and_a_fast_run_ignores_it():
    scenario = lesson("""\
  - title: {en: Slow down, zh-Hans: 放慢}
    actions:
      - clock: {speed: 0.25}
      - advance: 1
    expect:
      - {path: time, at least: 1}
""")
    assert run_fast(scenario).report()["passed"]
    clusters = {key: Cluster(config) for key, config in cluster_configs(scenario, "live").items()}
    speeds = []
    run = ScenarioRun(scenario, clusters, set_speed=lambda cluster, speed: speeds.append((cluster.config.name, speed)))
    run.start_step()
    assert run.poll() is False and speeds == [("live", 0.25)]  # then it waits for the clock
    clusters["main"].advance_to(run.next_deadline())
    assert run.poll() is True and run.passed


def test_a_run_saved_between_steps_and_resumed_over_its_clusters_reports_as_if_never_stopped():
    from cluster.scenario import builtin
    from cluster.scenario.run import advance_all
    from cluster.scenario.state import cluster_state

    scenario = builtin()["apiserver-pipeline"]  # its steps remember kubectl requests (`as:`) and read their answers
    straight = run_fast(scenario, name="a")
    clusters = {key: Cluster(config) for key, config in cluster_configs(scenario, "a").items()}
    run = ScenarioRun(scenario, clusters)
    while not run.done:
        run.start_step()
        while not run.poll():
            advance_all(clusters, run.next_deadline())
        saved = json.loads(json.dumps(run.saved()))  # as a server keeps it: plain data
        run = ScenarioRun(scenario, clusters)  # another process, the same clusters (rebuilt from their logs)
        run.resume(saved, interrupted="cut")
        if run.index == 1:
            state = cluster_state(run.main, requests=run.requests, remembered=run.remembered)
            assert select(state, "requests.denied.code") == ([403], False)  # an earlier step's request, read again
    assert run.report() == straight.report() and run.passed


def test_a_run_saved_during_a_step_resumes_after_it_reported_interrupted():
    scenario = lesson("""\
  - title: {en: Leader, zh-Hans: 领导者}
    wait: {leader elected: true, timeout: 10}
  - title: {en: Size, zh-Hans: 大小}
    expect:
      - {path: etcd.size, equals: 3}
""")
    clusters = {key: Cluster(config) for key, config in cluster_configs(scenario, "p").items()}
    run = ScenarioRun(scenario, clusters)
    run.start_step()
    assert not run.poll()  # no virtual time yet: the wait is polling
    saved = json.loads(json.dumps(run.saved()))
    clusters["main"].advance_to(3 * SECOND)  # the clusters went on (rebuilt, or run elsewhere)
    again = ScenarioRun(scenario, clusters)
    again.resume(saved, interrupted="interrupted by a restart")
    report = again.report()
    assert (report["state"], report["next"]["title"], len(report["steps"])) == ("ready", "Size", 1)
    step = report["steps"][0]
    assert (step["passed"], step["interrupted"], step["errors"], step["assertions"]) == (False, True, ["interrupted by a restart"], [])
    assert step["time"] == {"start": 0.0, "end": 3.0} and step["events"]["first_seq"] == saved["current"]["first_seq"]["main"] and step["events"]["last_seq"] == clusters["main"].last_seq
    again.start_step()
    assert again.poll() and again.done and again.results[-1]["passed"] and not again.passed
