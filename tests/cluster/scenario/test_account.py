"""The plain-language account of a step (cluster/scenario/account.py): exact sentences from
given events, similar events told once, the cap, both languages; and in a run's report."""

from cluster.scenario import load_text, run_fast
from cluster.scenario.account import MAX_SENTENCES, account


def ev(kind, source="x", target=None, summary="", **data):
    return {"seq": 0, "time": 0.0, "kind": kind, "source": source, "target": target, "summary": summary, "data": data}


def texts(lines, lang="en"):
    return [line["texts"][lang] for line in lines]


def test_a_leader_a_binding_and_the_counts():
    events = [
        ev("net.send", "etcd-0", "etcd-1"),
        ev("raft.role", "etcd-1", role="leader", term=3),
        ev("raft.role", "etcd-0", role="follower", term=3),
        ev("scheduler.bound", "kube-scheduler", "node-2", "kube-scheduler bound default/web-1 to node-2: it had the most free cpu", pod="default/web-1", node="node-2"),
        ev("api.request", "kube-apiserver", "kubectl", request="kubectl#1", verb="create", resource="pods", name="web-1"),
        ev("etcd.txn", "etcd-1", "kube-apiserver", revision=7),
        ev("etcd.txn", "etcd-0", "kube-apiserver", revision=7),  # every member applies the same write
    ]
    lines = account(events, 2.5)
    assert texts(lines) == [
        "etcd-1 became the etcd leader in term 3.",
        "The scheduler bound web-1 to node-2: it had the most free cpu.",
        "In 2.5 virtual seconds: 1 messages on the network, 1 API requests, 1 new etcd revisions.",
    ]
    assert [line["kind"] for line in lines] == ["raft", "scheduler", "other"]
    assert texts(lines, "zh-Hans")[:2] == ["etcd-1 在任期 3 成为 etcd 的 leader。", "调度器绑定了 web-1 → node-2。"]


def test_similar_events_are_told_once_with_their_names():
    events = [ev("kubelet.step", f"node-{i % 2 + 1}/kubelet", pod=f"default/web-{i}", step="ready") for i in range(5)]
    events.append(ev("kubelet.step", "node-1/kubelet", pod="default/web-0", step="ready"))  # ready again after a restart
    events += [ev("controller.reconcile", "kube-controller-manager", controller="replicaset", key="default/web-x", action="create", want=5, count=c)
               for c in (3, 2)]
    lines = texts(account(events))
    assert lines == [
        "5 pods became Ready: web-0 (node-1), web-1 (node-2), web-2 (node-1) and 2 more.",
        "The ReplicaSet controller created 5 pods for default/web-x (want 5).",
        "0 messages on the network, 0 API requests, 0 new etcd revisions.",
    ]


def test_refused_requests_say_where_and_quiet_reconciles_are_not_news():
    events = [
        ev("api.request", "kube-apiserver", "kubectl", request="kubectl#4", verb="list", resource="pods"),
        ev("api.response", "kube-apiserver", "kubectl", request="kubectl#4", code=403, reason="Forbidden", rejected_by="authz"),
        ev("controller.reconcile", "kube-controller-manager", controller="replicaset", key="default/web", action="none"),
        ev("api.request", "kube-apiserver", "kubectl", request="kubectl#5", verb="get", resource="pods", name="web"),
        ev("api.response", "kube-apiserver", "kubectl", request="kubectl#5", code=200),  # a read that worked: nothing to tell
    ]
    lines = account(events)
    assert texts(lines)[:-1] == ["The API server refused kubectl's list pods: 403 Forbidden at authorization."]
    assert texts(lines, "zh-Hans")[0] == "API 服务器拒绝了 kubectl 的 list pods：403 Forbidden（在授权阶段）。"


def test_at_most_max_sentences_then_one_that_says_how_many_more():
    events = [ev("net.crash", f"etcd-{i}") for i in range(MAX_SENTENCES + 4)]
    lines = texts(account(events))
    assert len(lines) == MAX_SENTENCES + 1  # the cap, then the counts
    assert lines[MAX_SENTENCES - 2] == f"etcd-{MAX_SENTENCES - 2} crashed."
    assert lines[MAX_SENTENCES - 1] == "… and 5 more things: the event log has every one."


def test_no_events_no_account():
    assert account([], 1.0) == []


LESSON = """\
id: told
title: {en: Told, zh-Hans: 讲述}
summary: {en: An account, zh-Hans: 叙述}
level: beginner
duration: 1
cluster: {members: 3, nodes: 0, profile: realistic, seed: 3}
steps:
  - title: {en: Leader, zh-Hans: 领导者}
    wait: {leader elected: true, timeout: 10}
  - title: {en: Crash it, zh-Hans: 让它崩溃}
    actions: [{fault: {action: crash, target: "@leader"}, as: old}]
    wait: {leader elected: {not: $old}, timeout: 20}
"""


def test_a_runs_report_tells_each_step_in_its_language_and_the_same_every_time():
    first = run_fast(load_text(LESSON)).report()
    crash = first["steps"][1]
    old = next(line for line in crash["account"] if line["text"].endswith("crashed."))["text"].split()[0]
    leader = [line["text"] for line in crash["account"] if "became the etcd leader" in line["text"]]
    assert leader and old not in leader[0] and "term 2" in leader[0]
    assert first["steps"][0]["account"][0] == {"kind": "raft", "text": first["steps"][0]["account"][0]["text"]}
    assert run_fast(load_text(LESSON)).report() == first
    chinese = run_fast(load_text(LESSON), lang="zh-Hans").report()["steps"][1]["account"]
    assert any(line["text"] == f"{old} 崩溃了。" for line in chinese)
