"""Actions on clusters (writes). Views and consumers parse and serialize; this module acts.

Every function takes keyword-only arguments and raises CommandError (with an HTTP status
and the offending field) for anything the caller got wrong.
"""

import asyncio

from django.conf import settings

from cluster.cluster import ClusterConfig
from cluster.commands import CommandError
from cluster.kernel import SECOND

from .history import transfer
from .runner import MAX_SPEED, MIN_SPEED, ClusterHandle, creation_epoch, registry

MAX_ADVANCE_SECONDS = 3600.0
DEFAULT_ETCD_TIMEOUT = 10.0
MAX_ETCD_TIMEOUT = 120.0
POLL_SECONDS = 0.005


def get_handle(name: str) -> ClusterHandle:
    registry.ensure_demo()
    handle = registry.get(name)
    if handle is None:
        raise CommandError(f"cluster {name} not found", "name", status=404)
    return handle


def create_cluster(*, speed: float, paused: bool, **config) -> ClusterHandle:
    """A new cluster from ClusterConfig's fields (name, seed, etcd_members, nodes, profile, ...)."""
    registry.ensure_demo()
    if config.get("epoch") is None:
        config["epoch"] = creation_epoch()
    return registry.create(ClusterConfig(**config), speed=speed, paused=paused)


def delete_cluster(*, name: str) -> None:
    get_handle(name)
    registry.delete(name)


def set_clock(*, name: str, paused: bool | None = None, speed: float | None = None) -> ClusterHandle:
    """A clock change is stored like a command before it takes effect."""
    handle = get_handle(name)
    if speed is not None and not MIN_SPEED <= speed <= MAX_SPEED:
        raise CommandError(f"speed must be between {MIN_SPEED} and {MAX_SPEED}", "speed")
    handle.set_clock(paused=handle.paused if paused is None else paused, speed=handle.speed if speed is None else float(speed))
    registry.notify(handle)
    return handle


def _idle(handle: ClusterHandle, what: str) -> None:
    if not handle.paused:
        raise CommandError(f"{what} on paused clusters only: pause it first", "paused", status=409)
    if handle.history.busy:
        raise CommandError("the cluster is being rebuilt at another moment of its history; retry in a moment", "name", status=409)


async def advance(*, name: str, seconds: float) -> ClusterHandle:
    handle = get_handle(name)
    _idle(handle, "advance works")
    if not 0 < seconds <= MAX_ADVANCE_SECONDS:
        raise CommandError(f"seconds must be more than 0 and at most {MAX_ADVANCE_SECONDS:g}", "seconds")
    await registry.advance(handle, seconds)
    return handle


def step(*, name: str) -> tuple[ClusterHandle, bool]:
    handle = get_handle(name)
    _idle(handle, "single steps")
    stepped = registry.step(handle)
    registry.notify(handle)
    return handle, stepped


def _virtual_us(seconds: float, field: str = "time") -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds != seconds or not 0 <= seconds <= 10**9:
        raise CommandError(f"{field} must be a number of virtual seconds, 0 or more", field)
    return int(round(seconds * SECOND))


async def seek(*, name: str, time: float) -> ClusterHandle:
    """Move the cluster to a moment of its timeline: back (from the nearest checkpoint) or
    forward (recorded commands are applied on the way; past the head it simply runs)."""
    handle = get_handle(name)
    target = _virtual_us(time)
    if target > handle.history.timeline.head[0] + MAX_ADVANCE_SECONDS * SECOND:
        raise CommandError(f"time can be at most {MAX_ADVANCE_SECONDS:g} s past the furthest point reached ({handle.history.timeline.head[0] / SECOND:g} s)", "time")
    if handle.history.busy:
        raise CommandError("the cluster is being rebuilt at another moment of its history; retry in a moment", "name", status=409)
    await registry.seek(handle, target)
    return handle


async def fork(*, name: str, new_name: str, time: float | None) -> ClusterHandle:
    handle = get_handle(name)
    handle.history.timeline.touch(handle.cluster)  # a running cluster's head lags between saves
    target = handle.cluster.now if time is None else _virtual_us(time)
    if target > handle.history.timeline.head[0]:
        raise CommandError(f"time must be within the history this cluster has run (at most {handle.history.timeline.head[0] / SECOND:g} s)", "time")
    return await registry.fork(handle, new_name, target)


def branches(*, name: str) -> dict:
    handle = get_handle(name)
    return {"items": handle.history.branch_list(), "history": handle.history_summary()}


async def switch_branch(*, name: str, branch: int) -> ClusterHandle:
    handle = get_handle(name)
    await registry.switch_branch(handle, branch)
    return handle


def discard_branch(*, name: str, branch: int) -> None:
    get_handle(name).history.discard(branch)


def export_cluster(*, name: str, checkpoint: bool) -> str:
    return transfer.export(get_handle(name), checkpoint=checkpoint)


async def import_cluster(*, raw: bytes, name: str | None) -> tuple[ClusterHandle, bool]:
    registry.ensure_demo()
    return await registry.import_cluster(transfer.parse(raw, name=name))


def event_lines(*, name: str, after: int):
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise CommandError("after must be 0 or more", "after")
    return transfer.event_lines(get_handle(name), after, settings.RUNNER_SLICE_BUDGET_SECONDS)


def run_command(*, name: str, command: dict) -> dict:
    handle = get_handle(name)
    result = handle.command(command)
    registry.notify(handle)
    return result


def add_node(*, name: str, node: str, cpu, memory, labels: dict, taints: list) -> dict:
    """Add a node to a running cluster (the `node` command); its summary."""
    command = {"type": "node", "action": "add", "name": node, "cpu": cpu, "memory": memory, "labels": labels, "taints": taints}
    return run_command(name=name, command=command)["node"]


def remove_node(*, name: str, node: str) -> None:
    run_command(name=name, command={"type": "node", "action": "remove", "name": node})


def start_traffic(*, name: str, namespace: str, service: str, rate: float, seconds: float, source: str, port: int | str | None = None,
                  path: str | None = None) -> dict:
    """Start a traffic generator (the `traffic` command): what it will send, and from where."""
    command = {"type": "traffic", "namespace": namespace, "service": service, "rate": rate, "seconds": seconds, "source": source}
    if port is not None:
        command["port"] = port
    if path is not None:
        command["path"] = path
    return {k: v for k, v in run_command(name=name, command=command).items() if k != "ok"}


def stop_traffic(*, name: str, generator: str) -> dict:
    """Stop a traffic generator (the `traffic` command, action stop): {generator, stopped, state, sent}."""
    return {k: v for k, v in run_command(name=name, command={"type": "traffic", "action": "stop", "generator": generator}).items() if k != "ok"}


def waiting_ended(name: str, handle: ClusterHandle) -> str:
    """Why a request waiting on the simulation ends with 503 (the cluster left this process)."""
    if handle.moving:  # a drain or a lost lease (dashboard/scaleout): the command was recorded first
        return (f"cluster {name} is moving to another server process: this command is in its log and runs there; "
                "retry to read its outcome (a retried write may run twice)")
    return f"cluster {name} was deleted while the request was waiting"


async def etcd_request(*, name: str, command: dict, timeout: float) -> tuple[int, dict]:
    """Send a client request into the simulation and wait, in wall time, for its outcome.

    200 with the member's answer; 503 when it certainly failed or may have (see
    `outcome`); 504 when no answer came within `timeout` wall seconds (a paused cluster
    answers only when time is advanced)."""
    handle = get_handle(name)
    sent = handle.command(command)
    registry.notify(handle)
    etcdctl, rid = handle.cluster.etcdctl, sent["request"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (answer := etcdctl.result(rid)) is None:
        if registry.get(name) is not handle:
            return 503, {"error": waiting_ended(name, handle), "outcome": "unknown"}
        if loop.time() >= deadline:
            outcome = "unknown" if command["op"] in ("put", "delete", "cas") else "failed"
            paused = " (the cluster is paused: advance it)" if handle.paused else ""
            return 504, {"error": f"timed out after {timeout:g}s waiting for {sent['member']}{paused}", "outcome": outcome, "member": sent["member"]}
        await asyncio.sleep(POLL_SECONDS)
    if not answer.get("ok"):
        return 503, {"error": answer.get("error", "failed"), "outcome": answer.get("outcome", "unknown"), "member": sent["member"]}
    body = {k: v for k, v in answer.items() if k not in ("id", "ok")}
    body["member"] = sent["member"]
    if command["op"] == "get":
        body.setdefault("value", None)
        body.setdefault("mod_revision", None)
    return 200, body
