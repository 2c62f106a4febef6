"""A cluster as one human-readable file, and its event log as JSON Lines.

Export (YAML; `format: clusterscope-cluster/1`):

    format: clusterscope-cluster/1
    name: lab
    config: {name: lab, seed: 7, etcd_members: 3, ...}   # ClusterConfig, epoch included
    clock: {paused: true, speed: 1.0}
    position: {time_us: 90000000, processed: 51234}      # where the cluster stood
    head: {time_us: 120000000, processed: 70211}         # the furthest its timeline ran
    state_hash: 3f2a...                                  # at `position`, for checking
    commands:
    - {seq: 1, at: 20000000, after: 10921, command: {type: fault, action: crash, target: etcd-1}}
    checkpoint: {time_us, processed, state: <base64 zlib pickle>, signature: <hmac>}  # optional

Import replays config + seed + commands to `position` and checks the state hash. A
checkpoint is a pickle, and unpickling runs code, so one is used only when its signature
shows this server (its SECRET_KEY) wrote it; any other is ignored and the log replayed.
Branches stay with the server they were made on.
"""

import asyncio
import base64
import binascii
import hmac
import json
import pickle
import time
import zlib

import yaml
from django.conf import settings
from django.utils.crypto import salted_hmac

from cluster.cluster import Cluster, ClusterConfig
from cluster.commands import CommandError

from .timeline import ReplayError, Timeline, checkpoint_bytes, follow, position

FORMAT = "clusterscope-cluster/1"
SIGNING_SALT = "clusterscope.history.checkpoint"
COMMAND_TYPES = ("fault", "kube", "etcd", "node", "traffic", "clock")
MAX_COMMANDS = 200_000


def _sign(blob: bytes) -> str:
    return salted_hmac(SIGNING_SALT, blob, algorithm="sha256").hexdigest()


def export(handle, *, checkpoint: bool) -> str:
    cluster, tl = handle.cluster, handle.history.timeline
    doc = {
        "format": FORMAT,
        "name": cluster.config.name,
        "config": cluster.config.as_dict(),
        "clock": {"paused": handle.paused, "speed": handle.speed},
        "position": {"time_us": cluster.sim.now, "processed": cluster.sim.processed},
        "head": {"time_us": tl.head[0], "processed": tl.head[1]},
        "state_hash": cluster.state_hash(),
        "commands": [{"seq": e["seq"], "at": e["at"], "after": e["after"], "command": e["command"]} for e in tl.entries],
    }
    if checkpoint:
        blob = zlib.compress(checkpoint_bytes(cluster), 6)
        doc["checkpoint"] = {"time_us": cluster.sim.now, "processed": cluster.sim.processed, "state": base64.b64encode(blob).decode(), "signature": _sign(blob)}
    header = f"# A Clusterscope cluster: POST it to /api/clusters/import to rebuild it (same state hash).\n# Exported at virtual time {cluster.time:g} s.\n"
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)


# --- import ------------------------------------------------------------------------------
def _bad(message: str, field: str) -> CommandError:
    return CommandError(message, field)


def _whole(value, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(f"{field} must be a whole number, 0 or more", field)
    return value


def parse(raw: bytes, *, name: str | None = None) -> dict:
    """Validate an exported file: the stored-cluster shape the registry adopts, plus the
    checkpoint (a Cluster, only when signed by this server) and the state hash to check."""
    if len(raw) > settings.IMPORT_MAX_BYTES:
        raise CommandError(f"the file is larger than {settings.IMPORT_MAX_BYTES // (1024 * 1024)} MiB", "file", status=413)
    try:
        doc = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _bad("the file is not UTF-8 text", "file") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1}, column {where.column + 1})" if where is not None else ""
        raise _bad(f"the file is not valid YAML{at}: {getattr(exc, 'problem', None) or exc}", "file") from None
    if not isinstance(doc, dict):
        raise _bad("the file must be a YAML mapping (an exported cluster)", "file")
    if doc.get("format") != FORMAT:
        raise _bad(f"format must be {FORMAT}", "format")
    config = doc.get("config")
    if not isinstance(config, dict):
        raise _bad("config must be a mapping of cluster settings", "config")
    known = set(ClusterConfig.__dataclass_fields__)
    unknown = sorted(set(config) - known)
    if unknown:
        raise _bad(f"unknown setting in config: {unknown[0]}", f"config.{unknown[0]}")
    if name is not None:
        config = {**config, "name": name}
    try:
        cfg = ClusterConfig(**config).validate()
    except TypeError as exc:
        raise _bad(f"config: {exc}", "config") from None
    except CommandError as exc:
        raise _bad(f"config: {exc.message}", f"config.{exc.field}" if exc.field else "config") from None
    clock = doc.get("clock") or {}
    paused = clock.get("paused", True) if isinstance(clock, dict) else None
    speed = clock.get("speed", 1.0) if isinstance(clock, dict) else None
    if not isinstance(paused, bool):
        raise _bad("clock.paused must be true or false", "clock.paused")
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0.01 <= speed <= 100:
        raise _bad("clock.speed must be a number from 0.01 to 100", "clock.speed")
    commands = doc.get("commands") or []
    if not isinstance(commands, list) or len(commands) > MAX_COMMANDS:
        raise _bad(f"commands must be a list of at most {MAX_COMMANDS} entries", "commands")
    entries, last = [], (0, 0, 0)
    for i, item in enumerate(commands):
        field = f"commands[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("command"), dict):
            raise _bad(f"{field} must be a mapping with seq, at, after and command", field)
        seq, at, after = (_whole(item.get(k), f"{field}.{k}") for k in ("seq", "at", "after"))
        if item["command"].get("type") not in COMMAND_TYPES:
            raise _bad(f"{field}.command.type must be one of: {', '.join(COMMAND_TYPES)}", f"{field}.command.type")
        if (at, after) < last[:2] or seq <= last[2]:
            raise _bad(f"{field} is out of order: commands must go forward in time, seq increasing", field)
        last = (at, after, seq)
        try:
            json.dumps(item["command"], allow_nan=False)
        except (TypeError, ValueError):
            raise _bad(f"{field}.command must be plain JSON data", f"{field}.command") from None
        entries.append({"seq": seq, "at": at, "after": after, "command": item["command"]})
    pos = doc.get("position") or {}
    head = doc.get("head") or pos
    if not isinstance(pos, dict) or not isinstance(head, dict):
        raise _bad("position and head must be mappings with time_us and processed", "position")
    at_us, processed = _whole(pos.get("time_us", last[0]), "position.time_us"), _whole(pos.get("processed", last[1]), "position.processed")
    head_pos = (_whole(head.get("time_us", at_us), "head.time_us"), _whole(head.get("processed", processed), "head.processed"))
    if (at_us, processed) < last[:2]:
        at_us, processed = last[:2]
    return {
        "config": cfg.as_dict(),
        "paused": paused,
        "speed": float(speed),
        "position": (at_us, processed),
        "head": max(head_pos, (at_us, processed)),
        "next_seq": last[2] + 1,
        "entries": entries,
        "state_hash": doc.get("state_hash") if name is None or name == doc.get("name") else None,
        "checkpoint": _trusted_checkpoint(doc.get("checkpoint")),
    }


def _trusted_checkpoint(section) -> Cluster | None:
    if not isinstance(section, dict) or not isinstance(section.get("state"), str) or not isinstance(section.get("signature"), str):
        return None
    try:
        blob = base64.b64decode(section["state"], validate=True)
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(_sign(blob), section["signature"]):
        return None  # not written by this server: never unpickled
    try:
        cluster = pickle.loads(zlib.decompress(blob))
    except Exception:  # noqa: BLE001 - a checkpoint that cannot be loaded is ignored
        return None
    return cluster if isinstance(cluster, Cluster) else None


async def replay(stored: dict, slice_seconds: float) -> tuple[Cluster, Timeline, bool]:
    """The imported cluster rebuilt at its position, yielding to the loop between slices.
    Also whether a checkpoint was used. Raises CommandError for a log that does not replay."""
    config = ClusterConfig(**stored["config"])
    timeline = Timeline(stored["entries"], stored["head"], stored["next_seq"])
    base = stored.get("checkpoint")
    used = base is not None and base.config == config and timeline.matches(base) and position(base) <= stored["position"]
    cluster = base if used else Cluster(config)
    timeline.sync_to(cluster)
    at_us, processed = stored["position"]
    try:
        while not follow(cluster, timeline, at_us, processed, deadline=time.perf_counter() + slice_seconds):
            await asyncio.sleep(0)
    except ReplayError as exc:
        raise _bad(f"the command log does not replay on this configuration: {exc}", "commands") from None
    except CommandError as exc:
        index = len(cluster.command_log)
        raise _bad(f"command {index + 1} of the log is refused on replay: {exc.message}", f"commands[{index}]") from None
    if stored.get("state_hash") and cluster.state_hash() != stored["state_hash"]:
        raise _bad("the log replays to a different state than the exported state_hash (another version of Clusterscope?)", "state_hash")
    return cluster, timeline, used


# --- events as JSON Lines ------------------------------------------------------------------
def _line(event: dict) -> bytes:
    return json.dumps(event, separators=(",", ":"), allow_nan=False).encode() + b"\n"


async def event_lines(handle, after: int, slice_seconds: float):
    """Every event after `after` up to now, one JSON object per line. Events older than the
    kept window are regenerated by replaying a copy from time zero (replay is exact: the
    same seq, the same event)."""
    cluster = handle.cluster
    stop_seq = cluster.last_seq
    log = cluster.sim.log
    if after + 1 >= log.first_seq:
        for event in log.since(after) or []:
            if event["seq"] > stop_seq:
                break
            yield _line(event)
        return
    copy = Cluster(cluster.config)
    timeline = Timeline([{"seq": i, **e} for i, e in enumerate(cluster.command_log, start=1)], (0, 0), len(cluster.command_log) + 1)
    target = position(cluster)
    cursor = after
    while True:
        done = follow(copy, timeline, target[0], target[1], deadline=time.perf_counter() + slice_seconds)
        for event in copy.sim.log.since(cursor) or []:
            if event["seq"] > stop_seq:
                return
            cursor = event["seq"]
            yield _line(event)
        if done:
            return
        await asyncio.sleep(0)
