"""Time travel, branches, forks and files against a real server (SQLite and PostgreSQL).

One paused lesson, driven by REST: a crash at 30 s, a restart at 70 s, run to 120 s (so
there are checkpoints at 60 s and 120 s to restore from)."""

import json

import pytest

pytestmark = pytest.mark.slow


def lesson(server, name: str = "lab") -> str:
    """The lesson; returns the state hash at its end (120 s)."""
    server.rest("POST", "/api/clusters", {"name": name, "seed": 5, "paused": True, "nodes": 1})
    server.rest("POST", f"/api/clusters/{name}/advance", {"seconds": 30})
    server.rest("POST", f"/api/clusters/{name}/faults", {"action": "crash", "target": "etcd-0"})
    server.rest("POST", f"/api/clusters/{name}/advance", {"seconds": 40})
    server.rest("POST", f"/api/clusters/{name}/faults", {"action": "restart", "target": "etcd-0"})
    server.rest("POST", f"/api/clusters/{name}/advance", {"seconds": 50})
    return server.summary(name)["state_hash"]


def seek(server, name: str, seconds: float) -> dict:
    return server.rest("POST", f"/api/clusters/{name}/seek", {"time": seconds})


def test_seek_there_and_back_gives_identical_states(db_server):
    server = db_server
    end = lesson(server)
    at_45 = seek(server, "lab", 45)
    assert at_45["time"] == 45 and at_45["history"] == {"head": 120, "live": False, "ahead": 1, "commands": 2}
    assert at_45["counts"]["commands"] == 1  # the crash; the restart is still ahead
    assert seek(server, "lab", 120)["state_hash"] == end
    assert seek(server, "lab", 45)["state_hash"] == at_45["state_hash"]
    seek(server, "lab", 10)
    assert seek(server, "lab", 45)["state_hash"] == at_45["state_hash"]  # forward, following the log
    # Killed while in the past: back in the past, the future still ahead.
    server.kill()
    server.start()
    again = server.summary("lab")
    assert (again["time"], again["state_hash"], again["history"]) == (45, at_45["state_hash"], at_45["history"])
    assert seek(server, "lab", 120)["state_hash"] == end
    # Play forward with the clock: the recorded restart happens again at 70 s.
    seek(server, "lab", 60)
    server.rest("POST", "/api/clusters/lab/advance", {"seconds": 60})
    assert server.summary("lab")["state_hash"] == end


def test_an_action_in_the_past_forks_and_the_old_future_can_be_restored(db_server):
    server = db_server
    end = lesson(server)
    seek(server, "lab", 45)
    server.rest("POST", "/api/clusters/lab/faults", {"action": "crash", "target": "etcd-2"})
    after = server.summary("lab")
    assert after["history"] == {"head": 45, "live": True, "ahead": 0, "commands": 2}
    branches = server.rest("GET", "/api/clusters/lab/branches")["items"]
    assert [(b["fork"], b["head"], b["ahead"]) for b in branches] == [(45, 120, 1)]
    server.rest("POST", "/api/clusters/lab/advance", {"seconds": 10})
    new_future = server.summary("lab")["state_hash"]
    assert new_future != end
    # Return to the old future: back to where they part, then forward along it.
    switched = server.rest("POST", f"/api/clusters/lab/branches/{branches[0]['id']}/switch")
    assert switched["time"] <= 45 and switched["history"]["head"] == 120
    assert seek(server, "lab", 120)["state_hash"] == end
    (kept,) = server.rest("GET", "/api/clusters/lab/branches")["items"]
    assert (kept["fork"], kept["head"]) == (45, 55)
    server.kill()  # branches survive a restart too
    server.start()
    server.rest("POST", f"/api/clusters/lab/branches/{kept['id']}/switch")
    assert seek(server, "lab", 55)["state_hash"] == new_future
    (other,) = server.rest("GET", "/api/clusters/lab/branches")["items"]
    assert server.request("DELETE", f"/api/clusters/lab/branches/{other['id']}")[0] == 204
    assert server.rest("GET", "/api/clusters/lab/branches")["items"] == []
    code, body = server.call("POST", "/api/clusters/lab/branches/999/switch")
    assert code == 404 and body["field"] == "branch"


def test_a_fork_diverges_without_touching_its_parent(db_server):
    server = db_server
    end = lesson(server)
    parent = server.summary("lab")
    child = server.rest("POST", "/api/clusters/lab/fork", {"name": "lab-b", "time": 60})
    assert (child["time"], child["paused"], child["counts"]["commands"]) == (60, True, 1)
    server.rest("POST", "/api/clusters/lab-b/faults", {"action": "crash", "target": "etcd-1"})
    server.rest("POST", "/api/clusters/lab-b/advance", {"seconds": 60})
    assert server.summary("lab")["state_hash"] == end
    assert server.summary("lab")["counts"] == parent["counts"]
    crashed = [e["source"] for e in server.all_events("lab-b") if e["kind"] == "net.crash"]
    assert crashed == ["etcd-0", "etcd-1"]
    child_hash = server.summary("lab-b")["state_hash"]
    server.kill()
    server.start()
    assert server.summary("lab")["state_hash"] == end
    assert server.summary("lab-b")["state_hash"] == child_hash
    code, body = server.call("POST", "/api/clusters/lab/fork", {"name": "lab-b"})
    assert code == 409 and body["field"] == "name"
    code, body = server.call("POST", "/api/clusters/lab/fork", {"name": "lab-c", "time": 500})
    assert code == 400 and body["field"] == "time"


def test_export_then_import_gives_the_same_state_hash(db_server):
    server = db_server
    end = lesson(server)
    events = server.all_events("lab")
    code, plain = server.request("GET", "/api/clusters/lab/export")
    assert code == 200 and plain.startswith(b"# A Clusterscope cluster")
    code, with_checkpoint = server.request("GET", "/api/clusters/lab/export?checkpoint=true")
    assert code == 200 and b"signature:" in with_checkpoint
    code, lines = server.request("GET", "/api/clusters/lab/events.jsonl")
    assert code == 200 and [json.loads(line) for line in lines.splitlines()] == events
    assert server.request("DELETE", "/api/clusters/lab")[0] == 204
    for body, checkpoint in ((plain, "not used"), (with_checkpoint, "used")):
        code, raw = server.request("POST", "/api/clusters/import", body, {"Content-Type": "application/yaml"})
        answer = json.loads(raw)
        assert code == 201, answer
        assert (answer["cluster"]["state_hash"], answer["checkpoint"]) == (end, checkpoint)
        assert server.all_events("lab") == events
        server.request("DELETE", "/api/clusters/lab")
    # A checkpoint this server did not sign is never unpickled: the log is replayed instead.
    forged = with_checkpoint.replace(b"signature: ", b"signature: 00")
    code, raw = server.request("POST", "/api/clusters/import", forged)
    assert code == 201 and json.loads(raw)["checkpoint"] == "not used" and json.loads(raw)["cluster"]["state_hash"] == end
    server.kill()  # an imported cluster is stored like any other
    server.start()
    assert server.summary("lab")["state_hash"] == end


BAD_FILES = [
    (b"", "file"),
    (b"format: [", "file"),
    (b"- just a list", "file"),
    (b"format: something-else", "format"),
    (b"format: clusterscope-cluster/1\nconfig: {name: x, seed: -1}", "config.seed"),
    (b"format: clusterscope-cluster/1\nconfig: {name: x, colour: red}", "config.colour"),
    (b"format: clusterscope-cluster/1\nconfig: {name: x}\ncommands: [{seq: 1, at: 5, after: 0, command: {type: launch}}]", "commands[0].command.type"),
    (b"format: clusterscope-cluster/1\nconfig: {name: x}\ncommands: [{seq: 1, at: 0, after: 0, command: {type: fault, action: crash, target: nobody}}]", "commands[0]"),
    (b"format: clusterscope-cluster/1\nconfig: {name: x}\ncommands: [{seq: 1, at: 5000000, after: 0, command: {type: fault, action: heal}}]", "commands"),
    (b"format: clusterscope-cluster/1\nconfig: {name: x}\ncommands: [{seq: 2, at: 5, after: 1, command: {type: fault, action: heal}}, {seq: 1, at: 1, after: 0, command: {type: fault, action: heal}}]", "commands[1]"),
    (b"\xff\xfe", "file"),
]


def test_bad_files_are_refused_clearly(server):
    for body, field in BAD_FILES:
        code, raw = server.request("POST", "/api/clusters/import", body)
        answer = json.loads(raw)
        assert code == 400 and answer["field"] == field, (body, answer)
    assert server.rest("GET", "/api/clusters")["items"] == []
    code, raw = server.request("POST", "/api/clusters/import", b"#" * (16 * 1024 * 1024 + 1))
    assert code == 413 and json.loads(raw)["field"] == "file"
