"""Classroom viewers and frames among several processes (dashboard/classroom/service.py).

A classroom's REST calls are served by the process that runs its cluster (forward.py), so
that process, the owner, is where it is counted and where its frames start:

- A viewer socket on another process (reading a mirror of the cluster) is reported to the
  owner: `scaleout.seats` {code, from, viewers} with the viewer ids connected there, sent
  on every join and leave and again every heartbeat (so a new owner learns them). The owner
  keeps them per process (`Classroom.remote`) and forgets a process that stops beating.
- Every classroom frame the owner sends to its own sockets also goes, once per cluster, to
  the cluster's group (`cluster.classroom`): each process watching the cluster hands it to
  its sockets on that cluster. A newcomer gets the latest such frame at once; the first one
  on a process asks the owner for it (`want_frame`: a `scaleout.classroom` answer).

The channel layer, not the database: counts change at every connection, the process rows
already say who is alive, and frames must reach the sockets within the moment anyway.
"""

import asyncio
import logging

from ..classroom import access, service
from ..runner import registry
from .node import group

log = logging.getLogger("clusterscope.scaleout")


class Seats:
    def __init__(self, node):
        self.node = node
        self.frames: dict[str, str] = {}  # classroom code -> the owner's latest frame (its text)

    def runs_here(self, c) -> bool:
        return registry.get(c.cluster) is not None

    # --- on a process with viewers of a cluster it does not run ----------------------------
    async def joined(self, c, consumer) -> None:
        frame = self.frames.get(c.code)
        if frame is not None:
            await consumer.send(frame)
        await self.report(c, want_frame=frame is None)

    def left(self, c) -> None:
        asyncio.get_running_loop().create_task(self.report(c))

    async def report(self, c, want_frame: bool = False) -> None:
        where, owner = await self.node.locate(c.cluster)
        if where == "local":  # it came here meanwhile (a takeover): counted here now
            service.broadcast(c)
        elif where == "remote":
            await self.node.send(owner, {"type": "scaleout.seats", "code": c.code, "from": self.node.channel,
                                         "viewers": sorted(c.here()), "want_frame": want_frame})

    def on_frame(self, message: dict) -> None:
        """A classroom frame from the owner: to this process's sockets on that cluster (a group
        message) or on all of the classroom's clusters (the answer to `want_frame`)."""
        code, frame, cluster = message["code"], message["frame"], message.get("cluster")
        self.frames[code] = frame
        c = service.classrooms.get(code)
        if c is None or self.runs_here(c):
            return
        loop = asyncio.get_running_loop()
        for consumer in list(c.sockets):
            if cluster is None or getattr(consumer, "name", None) == cluster:
                loop.create_task(consumer.send(frame))

    # --- on the owner ----------------------------------------------------------------------
    def on_report(self, message: dict) -> None:
        access.ensure_loaded()
        c = service.classrooms.get(message["code"])
        if c is None or not self.runs_here(c):
            return
        before = len(c.connected())
        if message["viewers"]:
            c.remote[message["from"]] = set(message["viewers"])
        else:
            c.remote.pop(message["from"], None)
        if len(c.connected()) != before:
            service.broadcast(c)
        elif message.get("want_frame"):
            frame = service._dumps({"type": "classroom", "classroom": c.body()})
            asyncio.get_running_loop().create_task(self.node.send(message["from"], {"type": "scaleout.classroom", "code": c.code, "frame": frame}))

    def publish(self, c, text: str) -> None:
        """A frame the owner sends its sockets: once per cluster to the processes watching it."""
        if not self.runs_here(c):  # only the owner speaks for a classroom
            return
        loop = asyncio.get_running_loop()
        for name in c.clusters:
            loop.create_task(self.node.layer.group_send(group(name), {"type": "cluster.classroom", "cluster": name, "code": c.code, "frame": text}))

    # --- the heartbeat ---------------------------------------------------------------------
    async def upkeep(self) -> None:
        for c in list(service.classrooms.values()):
            if self.runs_here(c):
                gone = [p for p in c.remote if p not in self.node.live]
                if gone:
                    before = len(c.connected())
                    for p in gone:
                        del c.remote[p]
                    if len(c.connected()) != before:
                        service.broadcast(c)
            elif c.sockets:
                try:
                    await self.report(c)
                except Exception as exc:  # noqa: BLE001 - told again next heartbeat
                    log.warning("classroom %s: the owner could not be told its viewers here: %s", c.code, exc)
        for code in [k for k in self.frames if k not in service.classrooms]:
            del self.frames[code]
