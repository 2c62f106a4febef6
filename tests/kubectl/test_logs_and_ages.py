"""Real kubectl: `logs` of a crash-looping pod (the kubelet answers, `--previous` too), `logs` of
a pod whose node is down (an answer at once, not a timeout), and the ages kubectl computes
itself on a fresh cluster (virtual time 0 is the cluster's creation instant, ClusterConfig.epoch)."""

import json
import re
import time

from .test_kubectl import table, wait_for


def pod(server, cluster, name) -> dict:
    return json.loads(server.kubectl(cluster, "get", "pod", name, "-o", "json").stdout)


def crash_looping(p) -> bool:
    statuses = p.get("status", {}).get("containerStatuses") or [{}]
    waiting = statuses[0].get("state", {}).get("waiting") or {}
    return waiting.get("reason") == "CrashLoopBackOff" and statuses[0].get("restartCount", 0) >= 1


def test_logs_of_a_crash_looping_pod(server):
    name = server.cluster("crashy", speed=2, nodes=1)
    server.kubectl(name, "run", "crashy", "--image=clusterscope/crasher", "--", "--after=2")
    deadline = time.monotonic() + 90
    while True:  # both reads while the container waits out its back-off (the state they are about)
        wait_for(lambda: crash_looping(pod(server, name, "crashy")), "crashy in CrashLoopBackOff", seconds=60)
        previous = server.kubectl(name, "logs", "crashy", "--previous", check=False)
        last = server.kubectl(name, "logs", "crashy", check=False)
        if crash_looping(pod(server, name, "crashy")) or time.monotonic() > deadline:
            break
    assert previous.returncode == 0, previous.stderr
    assert re.search(r"crasher: starting on \S+; this process will fail in 2 s", previous.stdout)
    assert last.returncode == 0, last.stderr  # a waiting container shows its last run, as the kubelet serves it
    assert "crasher: starting" in last.stdout
    fresh = server.cluster("fresh", speed=5, nodes=1)
    server.kubectl(fresh, "run", "steady", "--image=nginx")
    wait_for(lambda: pod(server, fresh, "steady")["status"].get("phase") == "Running", "steady running")
    never = server.kubectl(fresh, "logs", "steady", "--previous", check=False)
    assert never.returncode != 0
    assert 'previous terminated container "steady" in pod "steady" not found' in never.stderr


def test_logs_of_a_pod_on_a_node_that_is_down(server):
    name = server.cluster("down", speed=20, nodes=1)
    server.kubectl(name, "run", "far", "--image=nginx")
    wait_for(lambda: pod(server, name, "far")["status"].get("phase") == "Running", "far running")
    assert server.kubectl(name, "logs", "far").stdout  # reachable: the log
    server.rest("POST", f"/api/clusters/{name}/faults", {"action": "crash", "target": "node-1"})
    result = server.kubectl(name, "logs", "far", check=False)
    assert result.returncode != 0
    # the dial to the kubelet fails: said at once, as a 503 Status (not a 504 after the 60 s timeout)
    assert re.search(r'\(ServiceUnavailable\): Get "https://[^"]+:10250/containerLogs/default/far/far": dial tcp \S+:10250: connect: connection refused',
                     result.stderr), result.stderr


def test_a_fresh_cluster_shows_small_ages(server):
    name = server.cluster("ages", speed=1, nodes=1)
    server.kubectl(name, "run", "young", "--image=nginx")
    wait_for(lambda: "Scheduled" in server.kubectl(name, "describe", "pod", "young").stdout, "young scheduled")
    rows = table(server.kubectl(name, "get", "pods").stdout)
    assert rows[0][-1] == "AGE" and re.fullmatch(r"\d+s", rows[1][-1]), rows
    described = server.kubectl(name, "describe", "pod", "young").stdout
    # kubectl describe computes these ages from its own clock: they are seconds, not "331d"
    scheduled = next(line.split() for line in described.splitlines() if line.split()[1:2] == ["Scheduled"])
    assert re.fullmatch(r"\d+s", scheduled[2]), scheduled
    start = next(line for line in described.splitlines() if line.startswith("Start Time:"))
    assert time.strftime("%d %b %Y", time.gmtime()) in start
