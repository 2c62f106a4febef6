"""Nothing acknowledged is lost when the server is killed: SIGKILL at random points of a
lesson driven through REST and kubectl, then a restart on the same database.

Two clusters: one paused (driven by advance, faults and node changes: it must come back at
exactly the same state hash) and one running (etcd writes and kubectl creates: every
acknowledged write must be there, and the events it had shown must be the same events,
seq for seq, since replay is exact)."""

import json
import random
import threading

import pytest

pytestmark = pytest.mark.slow

ROUNDS = 4


def _put(server, cluster: str, key: str, value: str, acked: dict) -> None:
    try:
        code, body = server.call("POST", f"/api/clusters/{cluster}/etcd", {"op": "put", "key": key, "value": value, "timeout": 20})
    except OSError:  # in flight when the server was killed: never acknowledged
        return
    if code == 200:
        acked[key] = value


def _drive_paused(server, rng: random.Random, name: str, round_no: int) -> None:
    for _ in range(rng.randint(2, 5)):
        choice = rng.choice(["advance", "advance", "fault", "node"])
        if choice == "advance":
            server.rest("POST", f"/api/clusters/{name}/advance", {"seconds": rng.choice([0.5, 2, 7.25])})
        elif choice == "fault":
            member = f"etcd-{rng.randint(0, 2)}"
            server.rest("POST", f"/api/clusters/{name}/faults", {"action": rng.choice(["crash", "restart"]), "target": member})
        else:
            server.call("POST", f"/api/clusters/{name}/nodes", {"name": f"node-r{round_no}-{rng.randint(0, 99)}"})


def test_sigkill_at_random_points_loses_nothing_acknowledged(db_server):
    server = db_server
    rng = random.Random(20261128)
    server.rest("POST", "/api/clusters", {"name": "still", "seed": 3, "paused": True, "nodes": 1})
    server.rest("POST", "/api/clusters", {"name": "live", "seed": 4, "profile": "realistic", "speed": 5, "nodes": 1})
    acked_keys: dict[str, str] = {}
    acked_maps: list[str] = []
    for round_no in range(ROUNDS):
        # Acknowledged writes of every kind.
        _drive_paused(server, rng, "still", round_no)
        for i in range(rng.randint(1, 4)):
            _put(server, "live", f"/lesson/{round_no}/{i}", f"value-{rng.random():.6f}", acked_keys)
        configmap = f"notes-{round_no}"
        server.kubectl("live", "create", "configmap", configmap, f"--from-literal=round={round_no}")
        acked_maps.append(configmap)
        expected_hash = server.summary("still")["state_hash"]
        expected_time = server.summary("still")["time"]
        expected_state = server.rest("GET", "/api/clusters/still/state")
        # What a browser has seen of the running cluster up to now.
        last = server.summary("live")["last_seq"]
        seen = {e["seq"]: e for e in server.events("live", max(0, last - 3000))}
        # Kill: right after an acknowledgement, or with writes in flight.
        if rng.random() < 0.5:
            threads = [threading.Thread(target=_put, args=(server, "live", f"/inflight/{round_no}/{i}", "x", {}), daemon=True) for i in range(3)]
            for thread in threads:
                thread.start()
            threading.Event().wait(rng.uniform(0.0, 0.3))
        server.kill()
        server.start()

        names = {c["name"] for c in server.rest("GET", "/api/clusters")["items"]}
        assert names == {"still", "live"}
        still = server.summary("still")
        if still["state_hash"] != expected_hash:  # keep both pictures for the post-mortem
            (server.tmp / f"still-{round_no}-before.json").write_text(json.dumps(expected_state, indent=1, sort_keys=True))
            (server.tmp / f"still-{round_no}-after.json").write_text(json.dumps(server.rest("GET", "/api/clusters/still/state"), indent=1, sort_keys=True))
        assert (still["state_hash"], still["time"], still["paused"]) == (expected_hash, expected_time, True), f"round {round_no}"
        # Same seq, same event: the rebuilt cluster, running on from its last saved position,
        # repeats what had been shown. Checked before the reads below: they are commands too,
        # and one taken before the cluster is past what was shown would change what follows.
        again = {}
        after = min(seen) - 1
        while after < max(seen):
            page = server.events("live", after)
            if not page:
                threading.Event().wait(0.1)
                continue
            again.update({e["seq"]: e for e in page if e["seq"] in seen})
            after = page[-1]["seq"]
        if again != seen:
            first = min(seq for seq in seen if again.get(seq) != seen[seq])
            (server.tmp / f"live-{round_no}-events.json").write_text(json.dumps({"seen": [seen[q] for q in range(first - 20, first + 20) if q in seen],
                                                                                "again": [again[q] for q in range(first - 20, first + 20) if q in again]}, indent=1))
        assert again == seen, f"round {round_no}: events differ after restart"
        live = server.summary("live")
        assert not live["paused"] and live["speed"] == 5
        for key, value in acked_keys.items():
            code, body = server.call("POST", "/api/clusters/live/etcd", {"op": "get", "key": key, "timeout": 20})
            assert code == 200 and body["value"] == value, (round_no, key, code, body)
        listed = server.kubectl("live", "get", "configmaps", "-o", "name").stdout.split()
        for configmap in acked_maps:
            assert f"configmap/{configmap}" in listed, (round_no, listed)
