"""Classrooms over REST and the stream (issue 9 item 6): create, join, hand over control, lock,
fork a sandbox, end; viewers counted over real WebSocket connections; bad input answered with
JSON 4xx; everything back after a restart (the rows rebuilt into memory)."""

import asyncio
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
import segno
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application
from dashboard.classroom import access
from dashboard.classroom import service as classrooms
from dashboard.classroom.models import Classroom, Sandbox, Viewer
from tests.dashboard.classroom_setup import ok, send

CODE = re.compile(r"^[2-9A-HJKMNP-Z]{6}$")  # no 0/O, 1/I/L


async def new_cluster(client, name="lab", **fields):
    return await ok(await send(client, "POST", "/api/clusters", {"name": name, "paused": True, "nodes": 1, **fields}), 201)


async def classroom(client, cluster="lab"):
    await new_cluster(client, cluster)
    return await ok(await send(client, "POST", "/api/classrooms", {"cluster": cluster}), 201)


async def join(client, code, name=""):
    return await ok(await send(client, "POST", f"/api/classrooms/{code}/viewers", {"name": name}), 201)


# --- REST ---------------------------------------------------------------------------------
async def test_a_classroom_on_a_new_cluster(async_client, registry):
    created = await ok(await send(async_client, "POST", "/api/classrooms", {}), 201)
    assert set(created) == {"code", "cluster", "presenter_key", "join_url", "presenter_url", "qr_url"}
    code = created["code"]
    assert CODE.match(code), code
    assert created["join_url"] == f"http://testserver/c/{code}"
    assert created["presenter_url"] == f"http://testserver/c/{code}/present#key={created['presenter_key']}"
    assert created["qr_url"] == f"http://testserver/api/classrooms/{code}/qr.svg"
    handle = registry.get(created["cluster"])
    assert handle is not None and not handle.paused  # it runs, with the demo application on its way
    assert [c["command"]["resource"] for c in handle.cluster.command_log if c["command"]["type"] == "kube"] == ["deployments", "services"]
    assert await ok(await async_client.get(f"/api/classrooms/{code}")) == {
        "code": code, "cluster": created["cluster"], "viewers": 0, "controller": None, "locked": False, "forks_allowed": True,
        "scenario": None, "run": None, "step": None}
    assert (await ok(await async_client.get(f"/api/classrooms/{code.lower()}")))["code"] == code  # typed on a phone
    assert access.role(created["cluster"], created["presenter_key"]) == access.ROLE_PRESENTER


async def test_a_classroom_on_a_lesson_follows_its_live_run(async_client, registry):
    created = await ok(await send(async_client, "POST", "/api/classrooms", {"scenario": "etcd-odd-members", "lang": "zh-Hans"}), 201)
    body = await ok(await async_client.get(f"/api/classrooms/{created['code']}"))
    run = await ok(await async_client.get(f"/api/scenarios/etcd-odd-members/runs/{body['run']}"))
    assert run["mode"] == "live" and run["cluster"] == created["cluster"] and run["lang"] == "zh-Hans"
    # The lesson's compared clusters are shared alike: a stranger changes none of them.
    assert len(run["clusters"]) > 1
    for name in run["clusters"].values():
        assert access.kind(name) == access.SHARED
        assert (await send(async_client, "PATCH", f"/api/clusters/{name}/clock", {"speed": 3})).status_code == 403


async def test_sharing_an_existing_cluster_and_what_cannot_be_shared(async_client, registry):
    created = await classroom(async_client)
    assert created["cluster"] == "lab"
    again = await send(async_client, "POST", "/api/classrooms", {"cluster": "lab"})
    assert again.status_code == 409 and again.json()["field"] == "cluster"
    missing = await send(async_client, "POST", "/api/classrooms", {"cluster": "nope"})
    assert missing.status_code == 404
    both = await send(async_client, "POST", "/api/classrooms", {"cluster": "lab", "scenario": "node-failure"})
    assert both.status_code == 400 and both.json()["field"] == "scenario"
    lesson = await send(async_client, "POST", "/api/classrooms", {"scenario": "no-such-lesson"})
    assert lesson.status_code == 404 and lesson.json()["field"] == "id"


async def test_the_presenter_locks_allows_forks_and_hands_over_control(async_client, registry):
    created = await classroom(async_client)
    code, presenter = created["code"], created["presenter_key"]
    ann = await join(async_client, code, "Ann")
    assert ann["name"] == "Ann" and ann["viewer"] and ann["key"] and ann["key"] != presenter
    bob = await join(async_client, code, "  Bob ")
    assert bob["name"] == "Bob" and bob["viewer"] != ann["viewer"]
    for key in (None, ann["key"], "made-up"):
        refused = await send(async_client, "PATCH", f"/api/classrooms/{code}", {"locked": True}, key)
        assert refused.status_code == 403 and refused.json()["field"] == "X-Clusterscope-Key"
    body = await ok(await send(async_client, "PATCH", f"/api/classrooms/{code}", {"locked": True, "forks_allowed": False, "controller": ann["viewer"]}, presenter))
    assert (body["locked"], body["forks_allowed"], body["controller"]) == (True, False, ann["viewer"])
    assert access.role("lab", ann["key"]) == access.ROLE_CONTROLLER and access.role("lab", bob["key"]) == access.ROLE_AUDIENCE
    # Leaving a field out keeps it; null takes control back.
    body = await ok(await send(async_client, "PATCH", f"/api/classrooms/{code}", {"locked": False}, presenter))
    assert (body["locked"], body["forks_allowed"], body["controller"]) == (False, False, ann["viewer"])
    body = await ok(await send(async_client, "PATCH", f"/api/classrooms/{code}", {"controller": None}, presenter))
    assert body["controller"] is None and access.role("lab", ann["key"]) == access.ROLE_AUDIENCE
    unknown = await send(async_client, "PATCH", f"/api/classrooms/{code}", {"controller": "v99"}, presenter)
    assert unknown.status_code == 400 and unknown.json()["field"] == "controller"


async def test_the_viewer_list_is_the_presenters(async_client, registry):
    created = await classroom(async_client)
    code = created["code"]
    ann = await join(async_client, code, "Ann")
    await ok(await send(async_client, "POST", f"/api/classrooms/{code}/forks", {}, ann["key"]), 201)
    await join(async_client, code, "Bob")
    assert (await send(async_client, "GET", f"/api/classrooms/{code}/viewers", None, ann["key"])).status_code == 403
    assert (await send(async_client, "GET", f"/api/classrooms/{code}/viewers")).status_code == 403
    listed = await ok(await send(async_client, "GET", f"/api/classrooms/{code}/viewers", None, created["presenter_key"]))
    assert listed == {"viewers": [
        {"viewer": ann["viewer"], "name": "Ann", "connected": False, "sandbox": f"{code.lower()}-{ann['viewer']}"},
        {"viewer": listed["viewers"][1]["viewer"], "name": "Bob", "connected": False, "sandbox": None}]}


async def test_ending_a_classroom_opens_its_cluster_and_leaves_the_sandboxes_theirs(async_client, registry):
    created = await classroom(async_client)
    code, presenter = created["code"], created["presenter_key"]
    ann = await join(async_client, code)
    sandbox = (await ok(await send(async_client, "POST", f"/api/classrooms/{code}/forks", {"name": "anns"}, ann["key"]), 201))["cluster"]
    assert (await send(async_client, "DELETE", f"/api/classrooms/{code}", None, ann["key"])).status_code == 403
    assert (await send(async_client, "DELETE", f"/api/classrooms/{code}")).status_code == 403
    assert (await send(async_client, "DELETE", f"/api/classrooms/{code}", None, presenter)).status_code == 204
    assert (await async_client.get(f"/api/classrooms/{code}")).status_code == 404
    assert access.kind("lab") == access.OPEN
    await ok(await send(async_client, "POST", "/api/clusters/lab/advance", {"seconds": 0.1}))  # anyone, again
    assert (await send(async_client, "POST", f"/api/clusters/{sandbox}/advance", {"seconds": 0.1})).status_code == 403
    await ok(await send(async_client, "POST", f"/api/clusters/{sandbox}/advance", {"seconds": 0.1}, ann["key"]))
    # The owner deletes the sandbox: its name is free and a new cluster of that name is open.
    assert (await send(async_client, "DELETE", f"/api/clusters/{sandbox}", None, ann["key"])).status_code == 204
    await new_cluster(async_client, sandbox)
    await ok(await send(async_client, "POST", f"/api/clusters/{sandbox}/advance", {"seconds": 0.1}))


async def test_deleting_the_shared_cluster_ends_its_classroom(async_client, registry):
    created = await classroom(async_client)
    assert (await send(async_client, "DELETE", "/api/clusters/lab", None, created["presenter_key"])).status_code == 204
    assert (await async_client.get(f"/api/classrooms/{created['code']}")).status_code == 404
    await new_cluster(async_client, "lab")
    assert access.kind("lab") == access.OPEN


async def test_a_sandbox_diverges_without_touching_the_shared_cluster(async_client, registry):
    created = await classroom(async_client)
    code, presenter = created["code"], created["presenter_key"]
    await ok(await send(async_client, "POST", "/api/clusters/lab/advance", {"seconds": 8}, presenter))
    shared = await ok(await async_client.get("/api/clusters/lab"))
    ann = await join(async_client, code)
    sandbox = (await ok(await send(async_client, "POST", f"/api/classrooms/{code}/forks", {}, ann["key"]), 201))["cluster"]
    forked = await ok(await async_client.get(f"/api/clusters/{sandbox}"))
    assert forked["time"] == shared["time"] and forked["paused"] is True  # at the shared cluster's moment, as it was (paused)
    again = await send(async_client, "POST", f"/api/classrooms/{code}/forks", {}, ann["key"])
    assert again.status_code == 409 and sandbox in again.json()["error"]
    # The sandbox's owner crashes the etcd leader and lets time run there ...
    leader = next(m["name"] for m in (await ok(await async_client.get(f"/api/clusters/{sandbox}/state")))["etcd"]["members"] if m.get("role") == "leader")
    await ok(await send(async_client, "POST", f"/api/clusters/{sandbox}/faults", {"action": "crash", "target": leader}, ann["key"]))
    await ok(await send(async_client, "POST", f"/api/clusters/{sandbox}/advance", {"seconds": 5}, ann["key"]))
    diverged = await ok(await async_client.get(f"/api/clusters/{sandbox}"))
    assert diverged["state_hash"] != forked["state_hash"] and diverged["time"] > shared["time"]
    # ... and the shared cluster is exactly where it was.
    after = await ok(await async_client.get("/api/clusters/lab"))
    assert (after["state_hash"], after["time"], after["history"]) == (shared["state_hash"], shared["time"], shared["history"])
    members = (await ok(await async_client.get("/api/clusters/lab/state")))["etcd"]["members"]
    assert all(m.get("state", "up") != "crashed" for m in members if m["name"] == leader), members


async def test_a_running_shared_cluster_gives_a_running_sandbox(async_client, registry):
    created = await ok(await send(async_client, "POST", "/api/classrooms", {}), 201)
    ann = await join(async_client, created["code"])
    sandbox = (await ok(await send(async_client, "POST", f"/api/classrooms/{created['code']}/forks", {"name": "mine"}, ann["key"]), 201))["cluster"]
    assert sandbox == "mine" and registry.get("mine").paused is False
    assert access.role("mine", ann["key"]) == access.ROLE_OWNER


async def test_a_fork_of_a_running_cluster_starts_at_its_current_moment(async_client, registry):
    # The runner moves a live cluster's clock in slices; the saved head of its history may
    # lag behind. A fork "now" must still be allowed, and land exactly at now.
    created = await classroom(async_client)
    handle = registry.get("lab")
    handle.cluster.advance(3_000_000)  # as a tick between two saves of the head
    assert handle.cluster.now > handle.history.timeline.head[0]
    ann = await join(async_client, created["code"])
    sandbox = (await ok(await send(async_client, "POST", f"/api/classrooms/{created['code']}/forks", {}, ann["key"]), 201))["cluster"]
    assert registry.get(sandbox).cluster.now == handle.cluster.now


async def test_forks_need_a_viewer_key(async_client, registry):
    created = await classroom(async_client)
    code = created["code"]
    for key in (None, "made-up"):
        response = await send(async_client, "POST", f"/api/classrooms/{code}/forks", {}, key)
        assert response.status_code == 403 and "join" in response.json()["error"]
    assert sorted(registry.handles) == ["lab"]


async def test_the_qr_code_holds_the_join_url(async_client, registry):
    created = await classroom(async_client)
    response = await async_client.get(f"/api/classrooms/{created['code']}/qr.svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml; charset=utf-8"
    svg = ET.fromstring(response.content)  # a standalone SVG file: namespaced, well-formed
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert svg.find("{http://www.w3.org/2000/svg}title").text == f"Join classroom {created['code']}"
    # The same symbol segno draws for the join URL (and not for another URL).
    def drawn(url):
        out = io.BytesIO()
        segno.make(url, error="m").save(out, kind="svg", scale=8, border=4, dark="#000", light="#fff", title=f"Join classroom {created['code']}")
        return out.getvalue()
    assert response.content == drawn(created["join_url"]) != drawn(created["join_url"] + "X")
    assert (await async_client.get("/api/classrooms/ZZZZZZ/qr.svg")).status_code == 404


async def test_viewers_per_classroom_are_limited(async_client, registry, settings):
    settings.CLUSTERSCOPE_LIMITS = {**getattr(settings, "CLUSTERSCOPE_LIMITS", {}), "viewers_per_classroom": 2}
    created = await classroom(async_client)
    await join(async_client, created["code"])
    await join(async_client, created["code"])
    full = await send(async_client, "POST", f"/api/classrooms/{created['code']}/viewers", {})
    assert full.status_code == 429 and "viewers_per_classroom" in full.json()["error"]


BAD = [
    ("POST", "/api/classrooms", "{not json", 400),
    ("POST", "/api/classrooms", "[]", 400),
    ("POST", "/api/classrooms", {"cluster": 7}, 400),
    ("POST", "/api/classrooms", {"cluster": "Not A Name"}, 400),
    ("POST", "/api/classrooms", {"cluster": "x" * 64}, 400),
    ("POST", "/api/classrooms", {"lang": "fr"}, 400),
    ("POST", "/api/classrooms", {"extra": True}, 400),
    ("POST", "/api/classrooms", {"scenario": ""}, 400),
    ("GET", "/api/classrooms/0OI1L0", None, 404),
    ("GET", "/api/classrooms/%00%FF", None, 404),
    ("GET", "/api/classrooms/" + "A" * 500, None, 404),
    ("PATCH", "/api/classrooms/{code}", {"locked": "yes"}, 400),
    ("PATCH", "/api/classrooms/{code}", {"controller": 5}, 400),
    ("PATCH", "/api/classrooms/{code}", {"controller": "v" * 17}, 400),
    ("PATCH", "/api/classrooms/{code}", {"colour": "red"}, 400),
    ("PATCH", "/api/classrooms/{code}", "\"\\ud800\"", 400),
    ("POST", "/api/classrooms/{code}/viewers", {"name": "n" * 41}, 400),
    ("POST", "/api/classrooms/{code}/viewers", {"name": None}, 400),
    ("POST", "/api/classrooms/{code}/viewers", "{\"name\": NaN}", 400),
    ("POST", "/api/classrooms/{code}/forks", {"name": "UPPER"}, 400),
    ("POST", "/api/classrooms/{code}/forks", {"name": 1e309}, 400),
    ("POST", "/api/classrooms/{code}/step", {"choice": -1}, 400),
    ("POST", "/api/classrooms/{code}/step", {"choice": "1"}, 400),
    ("POST", "/api/classrooms/{code}/step", "{\"choice\": [[[[[[[[[[[]]]]]]]]]]]}", 400),
    ("POST", "/api/classrooms/{code}/step", {}, 409),  # no lesson: nothing to step
    ("DELETE", "/api/classrooms/NOPE22", None, 404),
    ("POST", "/api/classrooms/NOPE22/forks", {}, 404),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), BAD, ids=lambda v: str(v)[:40])
async def test_bad_input_is_a_json_4xx_that_changes_nothing(async_client, registry, method, path, body, status):
    created = await classroom(async_client)
    before = await ok(await async_client.get(f"/api/classrooms/{created['code']}"))
    hashed = (await ok(await async_client.get("/api/clusters/lab")))["state_hash"]
    response = await send(async_client, method, path.format(code=created["code"]), body, created["presenter_key"])
    assert response.status_code == status, response.content
    error = response.json()
    assert isinstance(error["error"], str) and error["error"] and "field" in error
    assert await ok(await async_client.get(f"/api/classrooms/{created['code']}")) == before
    assert (await ok(await async_client.get("/api/clusters/lab")))["state_hash"] == hashed
    assert sorted(registry.handles) == ["lab"]


# --- the stream ------------------------------------------------------------------------------
async def connect(cluster, query=""):
    ws = WebsocketCommunicator(application, f"/ws/clusters/{cluster}/{query}", headers=[(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")])
    connected, _ = await ws.connect()
    assert connected
    return ws


async def next_classroom_frame(ws, timeout=2.0):
    """The next classroom frame (snapshots, events and clocks in between are skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = json.loads(await ws.receive_from(timeout=max(0.05, deadline - loop.time())))
        if frame["type"] == "classroom":
            return frame["classroom"]


async def test_viewers_are_counted_over_real_websockets_and_everyone_hears_of_changes(async_client, registry):
    created = await classroom(async_client)
    code, presenter = created["code"], created["presenter_key"]
    ann, bob = await join(async_client, code, "Ann"), await join(async_client, code, "Bob")
    stage = await connect("lab", f"?key={presenter}")  # the presenter's page is not counted
    assert (await next_classroom_frame(stage))["viewers"] == 0
    ann_ws = await connect("lab", f"?key={ann['key']}&viewer={ann['viewer']}")
    assert (await next_classroom_frame(stage))["viewers"] == 1
    assert (await next_classroom_frame(ann_ws))["viewers"] == 1
    # A viewer id without its key, a second tab of the same viewer, a bare socket: not counted.
    impostor = await connect("lab", f"?key={ann['key']}&viewer={bob['viewer']}")
    ann_tab = await connect("lab", f"?key={ann['key']}&viewer={ann['viewer']}")
    bare = await connect("lab")
    for ws in (impostor, ann_tab, bare):
        assert (await next_classroom_frame(ws))["viewers"] == 1
    bob_ws = await connect("lab", f"?key={bob['key']}&viewer={bob['viewer']}")
    assert (await next_classroom_frame(stage))["viewers"] == 2
    assert (await ok(await async_client.get(f"/api/classrooms/{code}")))["viewers"] == 2
    listed = await ok(await send(async_client, "GET", f"/api/classrooms/{code}/viewers", None, presenter))
    assert [v["connected"] for v in listed["viewers"]] == [True, True]
    # Control, lock and forks reach every socket of the shared cluster.
    await ok(await send(async_client, "PATCH", f"/api/classrooms/{code}", {"controller": bob["viewer"], "locked": True}, presenter))
    for ws in (stage, ann_ws, bob_ws, bare):
        frame = await next_classroom_frame(ws)
        while frame["controller"] is None:  # a socket that has not read the news of Bob's arrival yet
            assert frame["viewers"] == 2
            frame = await next_classroom_frame(ws)
        assert (frame["controller"], frame["locked"], frame["viewers"]) == (bob["viewer"], True, 2)
    await bob_ws.disconnect()
    assert (await next_classroom_frame(stage))["viewers"] == 1
    await ann_tab.disconnect()  # Ann still has a tab open
    await ann_ws.disconnect()
    assert (await next_classroom_frame(stage))["viewers"] == 0
    # The end of the classroom is announced too.
    assert (await send(async_client, "DELETE", f"/api/classrooms/{code}", None, presenter)).status_code == 204
    while True:
        frame = json.loads(await stage.receive_from(timeout=2))
        if frame["type"] == "classroom":
            break
    assert frame == {"type": "classroom", "classroom": None, "ended": code}
    for ws in (stage, impostor, bare):
        await ws.disconnect()


async def test_an_open_cluster_gets_no_classroom_frames(async_client, registry):
    await new_cluster(async_client, "plain")
    ws = await connect("plain", "?key=x&viewer=v1")
    first = json.loads(await ws.receive_from(timeout=2))
    assert first["type"] == "snapshot"
    assert await ws.receive_nothing(timeout=0.2)
    await ws.disconnect()


# --- persistence -----------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
async def test_classrooms_and_sandboxes_come_back_after_a_restart(async_client, registry, settings):
    settings.PERSIST_CLUSTERS = True
    created = await classroom(async_client)
    code, presenter = created["code"], created["presenter_key"]
    ann, bob = await join(async_client, code, "Ann"), await join(async_client, code, "Bob")
    await ok(await send(async_client, "PATCH", f"/api/classrooms/{code}", {"controller": bob["viewer"], "locked": True, "forks_allowed": False}, presenter))
    await ok(await send(async_client, "PATCH", f"/api/classrooms/{code}", {"forks_allowed": True}, presenter))
    await ok(await send(async_client, "POST", f"/api/classrooms/{code}/forks", {"name": "anns"}, ann["key"]), 201)
    before = await ok(await async_client.get(f"/api/classrooms/{code}"))
    # Only digests are stored.
    stored = await asyncio.to_thread(lambda: (list(Classroom.objects.values_list("presenter", flat=True)), list(Viewer.objects.values_list("key", flat=True)),
                                              list(Sandbox.objects.values_list("cluster", "owner"))))
    assert stored == ([access.digest(presenter)], [access.digest(ann["key"]), access.digest(bob["key"])], [("anns", access.digest(ann["key"]))])
    # A new process: nothing in memory, everything read back from the rows.
    registry.handles.clear()
    registry._loaded = False
    classrooms.clear()
    assert await ok(await async_client.get(f"/api/classrooms/{code}")) == before
    assert sorted(registry.handles) == ["anns", "lab"]
    assert [access.role("lab", k) for k in (presenter, bob["key"], ann["key"], None)] == ["presenter", "controller", "audience", "anyone"]
    assert access.role("anns", ann["key"]) == access.ROLE_OWNER
    locked = await send(async_client, "POST", "/api/clusters/lab/faults", {"action": "heal"}, bob["key"])
    assert locked.status_code == 403 and "locked" in locked.json()["error"]
    await ok(await send(async_client, "POST", "/api/clusters/anns/advance", {"seconds": 0.1}, ann["key"]))
    listed = await ok(await send(async_client, "GET", f"/api/classrooms/{code}/viewers", None, presenter))
    assert [(v["name"], v["sandbox"]) for v in listed["viewers"]] == [("Ann", "anns"), ("Bob", None)]
    # A viewer who joins now gets an id of their own; the end of the classroom is stored too.
    carl = await join(async_client, code, "Carl")
    assert carl["viewer"] not in (ann["viewer"], bob["viewer"])
    assert (await send(async_client, "DELETE", f"/api/classrooms/{code}", None, presenter)).status_code == 204
    classrooms.clear()
    assert (await async_client.get(f"/api/classrooms/{code}")).status_code == 404
    assert access.kind("lab") == access.OPEN and access.role("anns", ann["key"]) == access.ROLE_OWNER


@pytest.mark.django_db(transaction=True)
async def test_among_several_processes_the_rows_are_read_again(async_client, registry, settings):
    """dashboard/scaleout: another process may change the rows; roles older than a second are re-read."""
    settings.PERSIST_CLUSTERS = True
    created = await classroom(async_client)
    code, presenter = created["code"], created["presenter_key"]
    ann = await join(async_client, code, "Ann")
    ws = await connect("lab", f"?key={ann['key']}&viewer={ann['viewer']}")
    assert (await next_classroom_frame(ws))["viewers"] == 1
    # Another process hands Ann control and locks the classroom.
    await asyncio.to_thread(lambda: Classroom.objects.filter(code=code).update(controller=ann["viewer"], locked=True))
    settings.SCALEOUT = True
    assert access.role("lab", ann["key"]) == access.ROLE_AUDIENCE  # read a moment ago: not yet
    access._loaded_at -= access.SCALEOUT_REFRESH_SECONDS
    assert access.role("lab", ann["key"]) == access.ROLE_CONTROLLER
    with pytest.raises(access.Forbidden, match="locked"):
        access.check("lab", ann["key"], "destructive")
    access.check("lab", presenter, "destructive")
    assert classrooms.get(code).body()["viewers"] == 1  # this process's sockets are kept over the re-read
    await ws.disconnect()


async def test_each_lesson_step_reaches_every_socket(async_client, registry):
    created = await ok(await send(async_client, "POST", "/api/classrooms", {"scenario": "controllers-reconcile"}), 201)
    code, presenter, cluster = created["code"], created["presenter_key"], created["cluster"]
    run = (await ok(await async_client.get(f"/api/classrooms/{code}")))["run"]
    ann = await join(async_client, code, "Ann")
    ws = await connect(cluster, f"?key={ann['key']}&viewer={ann['viewer']}")
    assert (await next_classroom_frame(ws))["step"] is None
    # Stepped as a scenario run ...
    await ok(await send(async_client, "POST", f"/api/scenarios/controllers-reconcile/runs/{run}/next", None, presenter))
    assert (await next_classroom_frame(ws))["step"] == 0
    # ... or through the classroom, once the first step's waits have held (virtual time moved by hand).
    await ok(await send(async_client, "PATCH", f"/api/clusters/{cluster}/clock", {"paused": True}, presenter))
    for _ in range(200):
        response = await send(async_client, "POST", f"/api/classrooms/{code}/step", None, presenter)
        if response.status_code != 409:
            break
        await ok(await send(async_client, "POST", f"/api/clusters/{cluster}/advance", {"seconds": 1}, presenter))
    assert response.status_code == 200, response.content
    frame = await next_classroom_frame(ws)
    assert (frame["step"], frame["run"], frame["viewers"]) == (1, run, 1)
    await ws.disconnect()
