"""Every built-in lesson runs headless (fast mode) and every one of its assertions holds, in the
timing profile its file names (realistic: fast to run) and in the teaching profile a presenter
may choose; its report reads in English and in Simplified Chinese."""

import re

import pytest

from cluster.scenario import builtin, run_fast

LESSONS = builtin()
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_lessons_cover_the_concepts_the_issue_lists():
    assert set(LESSONS) >= {"etcd-odd-members", "etcd-leader-partition", "watch-relist", "apiserver-pipeline", "controllers-reconcile",
                            "scheduling-pending", "kubelet-crashloop", "kube-proxy-endpoints", "node-failure", "kube-proxy-modes", "lifecycle-deletion"}


@pytest.mark.parametrize("profile", [None, "teaching"])
@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_lesson_passes_in_fast_mode_in_both_languages(lesson, profile):
    scenario = LESSONS[lesson]
    run = run_fast(scenario, profile=profile)
    assert run.main.config.profile == (profile or scenario.cluster.profile)
    english, chinese = run.report("en"), run.report("zh-Hans")
    failed = [(s["title"], a["text"], a["detail"]) for s in english["steps"] for a in s["assertions"] if not a["passed"]]
    errors = [e for s in english["steps"] for e in s["errors"]]
    assert (failed, errors) == ([], [])
    assert english["passed"] is True and english["state"] == "done" and len(english["steps"]) == len(scenario.steps)
    # Real assertions: every step checks something, the lesson as a whole checks several things.
    assert all(s["assertions"] for s in english["steps"])
    assert sum(len(s["assertions"]) for s in english["steps"]) >= 5
    # Event ranges: each step's events follow the previous step's, none lost, none shared.
    ranges = [(s["events"]["first_seq"], s["events"]["last_seq"]) for s in english["steps"]]
    assert all(first <= last for first, last in ranges)
    assert all(later[0] == earlier[1] + 1 for earlier, later in zip(ranges, ranges[1:], strict=False))
    # Both languages: titles, narration, questions and assertion texts, none of them empty.
    for en_step, zh_step in zip(english["steps"], chinese["steps"], strict=True):
        assert en_step["title"] and CJK.search(zh_step["title"]) and not CJK.search(en_step["title"])
        if en_step["narration"]:
            assert CJK.search(zh_step["narration"]["text"]) and en_step["narration"]["highlight"] == zh_step["narration"]["highlight"]
        if en_step["question"]:
            assert CJK.search(zh_step["question"]["text"]) and len(zh_step["question"]["choices"]) == len(en_step["question"]["choices"])
            assert zh_step["question"]["answer"] == en_step["question"]["answer"] is not None
        assert all(a["text"] for a in zh_step["assertions"]) and [a["passed"] for a in zh_step["assertions"]] == [a["passed"] for a in en_step["assertions"]]
    assert any(CJK.search(a["text"]) for s in chinese["steps"] for a in s["assertions"])
    # What the narration highlights exists in the lesson's clusters (a component or a host).
    names = {n for c in run.clusters.values() for n in (*c.sim.components, *c.sim.hosts())}
    assert {h for s in scenario.steps if s.narrate for h in s.narrate.highlight} <= names


def test_a_lesson_run_is_deterministic():
    first, second = run_fast(LESSONS["apiserver-pipeline"]), run_fast(LESSONS["apiserver-pipeline"])
    assert first.report() == second.report()
    assert first.main.event_digest() == second.main.event_digest() and first.main.state_hash() == second.main.state_hash()


def test_the_lessons_cluster_replays_from_its_command_log():
    """A lesson acts only through recorded commands, so replay rebuilds its cluster exactly."""
    from cluster.cluster import Cluster

    run = run_fast(LESSONS["controllers-reconcile"])
    cluster = run.main
    again = Cluster.replay(cluster.config, cluster.command_log, until_us=cluster.now)
    assert again.event_digest() == cluster.event_digest()
