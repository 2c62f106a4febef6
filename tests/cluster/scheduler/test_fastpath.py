"""Speed must never change a decision.

The fast paths (batch Filter and Score over whole chunks of nodes, incrementally kept node
sums) are compared with the straightforward ones (node by node, sums recounted) on random
clusters: the same node, the same message, the same decision record, the same draws."""

import pickle
import random

from cluster.kernel.rng import Stream
from cluster.scheduler.cache import SchedulerCache
from cluster.scheduler.framework import Framework, PodInfo, Profile
from cluster.scheduler.records import attempt_record, expand

from .harness import cluster_of, node, pod

ZONES = ["a", "b", "c"]
APPS = ["web", "db", "cache"]


def random_node(rng, i):
    labels = {"zone": rng.choice(ZONES)}
    if rng.random() < 0.5:
        labels["disk"] = rng.choice(["ssd", "hdd"])
    taints = []
    if rng.random() < 0.15:
        taints.append({"key": "dedicated", "value": rng.choice(["gpu", "db"]), "effect": rng.choice(["NoSchedule", "NoExecute"])})
    if rng.random() < 0.2:
        taints.append({"key": "soft", "effect": "PreferNoSchedule"})
    images = {"nginx:latest": 200 * 2**20} if rng.random() < 0.4 else None
    return node(f"node-{i:03}", cpu=str(rng.choice([2, 4, 8])), memory=f"{rng.choice([4, 8, 16])}Gi", pods=str(rng.choice([5, 110])),
                labels=labels, taints=taints or None, images=images, unschedulable=rng.random() < 0.05)


def random_pod(rng, name, node_name=None):
    app = rng.choice(APPS)
    spec = {}
    if rng.random() < 0.2:
        spec["nodeSelector"] = {"zone": rng.choice(ZONES)}
    if rng.random() < 0.2:
        spec["tolerations"] = [{"key": "dedicated", "operator": "Exists"}]
    affinity = {}
    if rng.random() < 0.2:
        affinity["podAntiAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": rng.choice(["kubernetes.io/hostname", "zone"])}]}
    if rng.random() < 0.2:
        affinity["podAffinity"] = {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": rng.randint(1, 100), "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": rng.choice(APPS)}}, "topologyKey": "zone"}}]}
    if rng.random() < 0.15:
        affinity["nodeAffinity"] = {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": rng.randint(1, 100), "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}}]}
    if affinity:
        spec["affinity"] = affinity
    if rng.random() < 0.2:
        spec["topologySpreadConstraints"] = [{"maxSkew": rng.randint(1, 3), "topologyKey": rng.choice(["zone", "kubernetes.io/hostname"]),
                                              "whenUnsatisfiable": rng.choice(["DoNotSchedule", "ScheduleAnyway"]), "labelSelector": {"matchLabels": {"app": app}}}]
    body = pod(name, cpu=rng.choice([None, "100m", "500m", "1", "2"]), memory=rng.choice([None, "128Mi", "1Gi", "3Gi"]), node=node_name,
               labels={"app": app}, priority=rng.choice([0, 0, 10, 100]), **spec)
    if rng.random() < 0.1:
        body["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080, "protocol": "TCP"}]
    return body


def random_cluster(rng, nodes, pods):
    node_list = [random_node(rng, i) for i in range(nodes)]
    cache = cluster_of(node_list)
    for i in range(pods):
        target = rng.choice(node_list)["metadata"]["name"]
        cache.add_pod(PodInfo.from_pod(random_pod(rng, f"old-{i}", target)))
    for i in range(rng.randint(0, 3)):
        waiting = PodInfo.from_pod(random_pod(rng, f"nominated-{i}"))
        cache.set_nominated(waiting, rng.choice(node_list)["metadata"]["name"])
    if rng.random() < 0.5:
        cache.set_service("default/web", {"app": "web"})
    return cache


def run(cache, incoming, fast, seed, start):
    fw = Framework(Profile.build(), cache, stream=Stream.from_seed(seed), fast=fast)
    result = fw.schedule(incoming, start=start)
    if result.node is None and result.status.rejected:
        fw.post_filter(result)
    records = [expand(attempt_record(result, 0, attempt=1, cycle=1, row_limit=limit)) for limit in (1000, 10)]
    return result, records, fw.stream.state


def test_fast_and_straightforward_paths_decide_alike():
    rng = random.Random(20240611)
    decided = failed = 0
    for trial in range(40):
        nodes = rng.choice([3, 8, 30, 140])
        cache = random_cluster(rng, nodes, rng.randint(0, nodes * 3))
        start = rng.randint(0, nodes - 1)
        for i in range(3):
            incoming = PodInfo.from_pod(random_pod(rng, f"new-{trial}-{i}"))
            fast, fast_record, fast_draws = run(cache, incoming, True, trial, start)
            slow, slow_record, slow_draws = run(cache, incoming, False, trial, start)
            assert fast_record == slow_record, (trial, i)
            assert (fast.node, fast.message, fast.next_start, fast_draws) == (slow.node, slow.message, slow.next_start, slow_draws)
            if fast.node:
                decided += 1
                cache.assume(incoming, fast.node, 0)
                start = fast.next_start
            else:
                failed += 1
    assert decided > 40 and failed > 5  # both outcomes were exercised


def test_incremental_node_sums_match_a_recount():
    rng = random.Random(7)
    cache = random_cluster(rng, 20, 60)
    keys = sorted(cache.pod_node)
    for step in range(400):
        action = rng.random()
        if action < 0.3 and keys:
            key = keys.pop(rng.randrange(len(keys)))
            cache.remove_pod(key)
        elif action < 0.55:
            info = PodInfo.from_pod(random_pod(rng, f"p{step}", f"node-{rng.randrange(20):03}"))
            cache.add_pod(info)
            keys.append(info.key)
        elif action < 0.75:
            info = PodInfo.from_pod(random_pod(rng, f"a{step}"))
            cache.assume(info, f"node-{rng.randrange(20):03}", step)
            if rng.random() < 0.5:
                cache.forget(info.key)
            else:
                keys.append(info.key)
        elif action < 0.9:
            cache.set_node(random_node(rng, rng.randrange(20)))
        else:
            cache.remove_node(f"node-{rng.randrange(20):03}")
            cache.set_node(random_node(rng, rng.randrange(20)))
        if step % 50 == 0:
            assert cache.check() == []
    assert cache.check() == []


def mixed_cluster(rng, nodes, pods):
    """The first 60 nodes random (taints, cordons, small ones), the rest plain nodes of a few
    sizes: windows there have nothing rejected, which is when the score columns are read."""
    node_list = [random_node(rng, i) if i < 60 else node(f"node-{i:03}", cpu=str(rng.choice([4, 8])), memory=f"{rng.choice([16, 32])}Gi", labels={"zone": ZONES[i % 3]})
                 for i in range(nodes)]
    cache = cluster_of(node_list)
    for i in range(pods):  # most on the random nodes, a few spread thin over the plain ones
        target = rng.choice(node_list[:60] if i % 6 else node_list[60:])["metadata"]["name"]
        cache.add_pod(PodInfo.from_pod(random_pod(rng, f"old-{i}", target)))
    return cache


def test_fast_path_on_hundreds_of_nodes_keeps_every_record(monkeypatch):
    """400 nodes: the Filter window (100 feasible nodes) is longer than a record's rows and runs
    across the round-robin wrap, the score columns and the room floor are in use, and nodes
    and pods change between cycles. Every record, node and draw is the same on both paths,
    and a checkpoint (pickle) of the fast path's cache in the middle changes nothing."""
    read = []  # whether each score read came from the columns (None: not a window of the node order)
    columns = SchedulerCache.window_scores
    monkeypatch.setattr(SchedulerCache, "window_scores", lambda self, *args: read.append(columns(self, *args)) or read[-1])
    for seed in (5, 6):
        rng = random.Random(seed)
        fast_cache, slow_cache = (mixed_cluster(random.Random(seed), 400, 300) for _ in range(2))
        starts = [rng.randrange(400)] * 2
        decided = 0
        for i in range(120):
            if i == 60:
                fast_cache = pickle.loads(pickle.dumps(fast_cache))
            if rng.random() < 0.5:  # a Deployment's pod: no selector, nothing rejects it but a full node
                body = pod(f"web-{i}", cpu=rng.choice(["100m", "500m"]), memory="256Mi", labels={"app": "batch"})
            else:
                body = random_pod(rng, f"new-{i}")
            outcomes = []
            for k, cache in enumerate((fast_cache, slow_cache)):
                incoming = PodInfo.from_pod(body)
                result, records, draws = run(cache, incoming, k == 0, seed * 1000 + i, starts[k])
                outcomes.append((result.node, result.message, result.next_start, draws, records))
                if result.node:
                    cache.assume(incoming, result.node, i)
                    starts[k] = result.next_start
            assert outcomes[0] == outcomes[1], (seed, i)
            decided += outcomes[0][0] is not None
            change = rng.random()
            node_body = random_node(rng, rng.randrange(400))
            key = rng.choice(sorted(slow_cache.pod_node))
            for cache in (fast_cache, slow_cache):
                if change < 0.2:
                    cache.set_node(node_body)  # new labels, taints, allocatable
                elif change < 0.4:
                    cache.remove_pod(key)
        assert decided > 40
        assert fast_cache.check() == [] and slow_cache.check() == []
    assert sum(found is not None for found in read) >= 10 and None in read  # both ways of reading scores ran
