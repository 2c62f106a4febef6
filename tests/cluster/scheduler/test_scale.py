"""The headless scale run: every pod placed, fast and straightforward paths agree, and the
component path binds every pod through the API server."""

from cluster.scheduler.scale import ComponentRun, ScaleRun, run_scale


def test_scale_run_places_every_pod_the_same_way_on_both_paths():
    fast = run_scale(150, 400, seed=3)
    slow = run_scale(150, 400, seed=3, fast=False)
    assert fast["scheduled"] == 400 and fast["unschedulable"] == 0
    assert fast["examined_per_pod"] == 100  # 150 nodes: 49% = 73, raised to the minimum of 100
    assert fast["digest"] == slow["digest"]
    assert run_scale(150, 400, seed=4)["digest"] != fast["digest"]  # the seed matters (ties)


def test_scale_run_spreads_and_records():
    run = ScaleRun(10, 50, seed=1)
    assert run.schedule(20) == 20 and run.schedule(100) == 30 and run.schedule(1) == 0
    per_node = {}
    for node in run.placements.values():
        per_node[node] = per_node.get(node, 0) + 1
    assert set(per_node.values()) == {5}  # identical pods on identical nodes: least allocated evens them out
    assert run.records.get("default/pod-50")["attempts"][0]["result"] == "scheduled"
    assert run.cache.check() == []


def test_component_path_binds_every_pod():
    run = ComponentRun(8, 40, seed=2)
    run.load()
    assert run.loader.created == 48 and run.bound() == 0
    run.start_scheduler()
    run.run_until_bound(120)
    assert run.bound() == 40
