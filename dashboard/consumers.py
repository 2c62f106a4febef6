"""The live stream of one cluster: /ws/clusters/<name>/[?after=<seq>][&wire=compact]

Frames (shared/DESIGN.md section 4):
  {"type": "snapshot", "seq": n, "state": {...}}      first, and again after a gap
  {"type": "events", "events": [...], "clock": {...}}  contiguous seq order
  {"type": "clock", "clock": {...}}                    when time moves with no events
  {"type": "error", "error": "..."}                    then the socket closes
With ?wire=compact (what the page asks for) events come packed, as numbers and string ids, and
the snapshot brings the string table: dashboard/wire.py.

Each consumer keeps its own cursor (the last seq it sent) and pulls from the cluster's
event log when the runner wakes it, so one wake-up covers any number of events:
updates coalesce by construction. A browser that acknowledges frames
({"type": "ack", "seq": <the last seq it has handled>}) gets flow control: at most
WINDOW frames beyond its acknowledged seq are in flight;
while it lags, events pile up in the log, not in the socket, and if more than
RESNAPSHOT_AFTER are waiting it gets one fresh snapshot instead. A slow client
therefore never slows the simulation or the other clients.
"""

import asyncio
import json
import weakref
from collections import deque
from urllib.parse import parse_qs

from autobahn.exception import Disconnected
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from . import limits, wire
from .classroom import service as classroom
from .runner import registry
from .scaleout.mirror import Unavailable
from .scaleout.mirror import viewer_source as _viewer_source
from .scaleout.node import node as _node


async def scaleout_viewer_source(name: str, headers):
    return await _viewer_source(_node, name, headers)

WINDOW = 4  # unacknowledged frames allowed to a client that acknowledges
MAX_BATCH = 2000  # events per frame
RESNAPSHOT_AFTER = 20_000  # pending events beyond which a snapshot is cheaper
CLOCK_EVERY_SECONDS = 0.25
POLICY_VIOLATION = 4008  # a client that breaks the rules: RFC 6455's 1008 in the range daphne may send (below)
# Scale-out: the cluster moved, or its process does not answer yet (static/js/stream.js
# reconnects after any close but 4404). 4012/4013 after RFC 6455's 1012/1013: daphne's
# autobahn refuses a server close code other than 1000 or 3000-4999 (it raised, and the
# socket stayed open on a closed mirror, its viewer frozen).
SERVICE_RESTART, TRY_AGAIN_LATER = 4012, 4013


dumps = wire.dumps  # one compact JSON encoding for every frame, plain or packed


# Viewers at the same place in the same cluster (a classroom's all are) share one encoding of a
# frame: encoding it once per viewer was half the server's time with 200 viewers (bench/RESULTS.md).
_encoded: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()
SHARED_FRAMES = 8  # the newest encodings kept per cluster


def shared(cluster, key: tuple, make) -> str:
    """make(), called once per cluster and key."""
    frames = _encoded.setdefault(cluster, {})
    text = frames.get(key)
    if text is None:
        text = frames[key] = make()
        if len(frames) > SHARED_FRAMES:
            del frames[next(iter(frames))]
    return text


class ClusterStreamConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.name = self.scope["url_route"]["kwargs"]["name"]
        self.inbound = limits.Bucket()  # this socket's frames per second (limit ws_messages_per_second)
        self.handle = None
        wire_format = self._query("wire") or "json"
        if wire_format not in ("json", "compact"):
            await self.accept()
            await self.send(dumps({"type": "error", "error": f"wire must be json or compact, not {wire_format[:40]!r}"}))
            await self.close(code=POLICY_VIOLATION)
            return
        registry.ensure_demo()
        registry.ensure_ticker()
        self.handle = registry.get(self.name)
        if self.handle is None and settings.SCALEOUT:  # run by another process: its mirror here
            try:
                self.handle = await scaleout_viewer_source(self.name, self.scope.get("headers", ()))
            except Unavailable as exc:
                await self.accept()
                await self.send(dumps({"type": "error", "error": str(exc)}))
                await self.close(code=TRY_AGAIN_LATER)
                return
        await self.accept()
        if self.handle is None:
            await self.send(dumps({"type": "error", "error": f"cluster {self.name} not found"}))
            await self.close(code=4404)
            return
        self.cursor = None
        self.compact = wire_format == "compact"
        self.synced = None  # compact: the encoder whose string table the client holds at the cursor
        self.acks_enabled = False
        self.in_flight = deque()  # the last seq of each frame sent and not yet acknowledged
        self.last_clock_sent = 0.0
        self.last_clock = None
        self._flushing = False
        self._again = False
        after = self._after_param()
        # Resume only inside the history this server holds: an `after` beyond its last seq
        # comes from another history (a server that restarted), so it gets a snapshot.
        if after is not None and after <= self.handle.cluster.last_seq and self.handle.cluster.events_since(after, 1) is not None:
            self.cursor = after  # resume: missed events follow
        self.handle.subscribers.add(self)
        await self.flush()
        await classroom.connected(self, self.name)  # on a shared cluster: ?key=&viewer= counts a viewer

    def _query(self, key: str) -> str | None:
        query = parse_qs(self.scope.get("query_string", b"").decode(errors="replace"))
        return (query.get(key) or [None])[0]

    def _after_param(self) -> int | None:
        raw = self._query("after")
        try:
            value = int(raw) if raw is not None else None
        except ValueError:
            return None
        return value if value is not None and value >= 0 else None

    async def disconnect(self, code):
        handle = getattr(self, "handle", None)
        if handle is not None:
            handle.subscribers.discard(self)
            classroom.disconnected(self, self.name)

    async def dispatch(self, message):
        # Channels closes stale database connections before every handler, through a worker
        # thread: a thread hop for every ack, a quarter of the server's CPU with 200 viewers
        # (py-spy, bench/RESULTS.md). A browser's frames never touch the database, so they skip
        # it; connect, disconnect and channel-layer messages keep it.
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            self.inbound.take(None, limits.get("ws_messages_per_second"), 1.0, "frames from this client")
        except limits.RateLimited as exc:  # a client flooding the socket is cut off, not served
            await self.send(dumps({"type": "error", "error": exc.message}))
            await self.close(code=POLICY_VIOLATION)
            return
        if bytes_data is not None or text_data is None or len(text_data) > limits.get("ws_message_bytes"):
            await self.send(dumps({"type": "error", "error": f"frames must be JSON text of at most {limits.get('ws_message_bytes')} bytes"}))
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self.send(dumps({"type": "error", "error": "frames must be JSON"}))
            return
        if not isinstance(message, dict):
            await self.send(dumps({"type": "error", "error": "frames must be JSON objects"}))
            return
        if message.get("type") == "ack" and isinstance(message.get("seq"), int) and not isinstance(message.get("seq"), bool):
            self.acks_enabled = True
            while self.in_flight and self.in_flight[0] <= message["seq"]:
                self.in_flight.popleft()
            await self.flush()
        elif message.get("type") == "resync":
            self.cursor = None
            await self.flush()
        else:
            await self.send(dumps({"type": "error", "error": "unknown frame type; expected ack or resync"}))

    # --- called by the runner (synchronously, on the loop) --------------------------------
    def wake(self) -> None:
        if self._flushing:
            self._again = True
        else:
            asyncio.get_running_loop().create_task(self.flush())

    def cluster_moved(self) -> None:
        """Another server process runs the cluster now (dashboard/scaleout): the browser
        reconnects, through the load balancer, to wherever it is."""
        asyncio.get_running_loop().create_task(self.close(code=SERVICE_RESTART))

    def cluster_gone(self) -> None:
        asyncio.get_running_loop().create_task(self._gone())

    async def _gone(self):
        await self.send(dumps({"type": "error", "error": f"cluster {self.name} was deleted"}))
        await self.close(code=4404)

    # --- sending ---------------------------------------------------------------------------
    async def flush(self) -> None:
        if self._flushing:
            self._again = True
            return
        self._flushing = True
        try:
            while True:
                self._again = False
                await self._send_pending()
                if not self._again:
                    break
        except Disconnected:  # the browser went while a frame was on its way; its disconnect follows
            pass
        finally:
            self._flushing = False

    async def _send_pending(self) -> None:
        handle = self.handle
        if handle is None or (registry.get(self.name) is not handle and not (getattr(handle, "mirrored", False) and not handle.closed)):
            return
        cluster = handle.cluster
        if cluster is not getattr(self, "sent_from", cluster) or (self.cursor is not None and self.cursor > cluster.last_seq):
            self.cursor = None  # a seek rebuilt the cluster at another moment: start again from a snapshot
        self.sent_from = cluster
        while not (self.acks_enabled and len(self.in_flight) >= WINDOW):
            if self.cursor is None or cluster.last_seq - self.cursor > RESNAPSHOT_AFTER:
                await self._send_snapshot()
                continue
            if self.compact and self.synced is not wire.encoder(cluster):
                await self._send_strings(cluster)
                continue
            batch = cluster.events_since(self.cursor, MAX_BATCH)
            if batch is None:  # fell out of the kept window
                self.cursor = None
                continue
            if not batch:
                await self._maybe_send_clock()
                return
            cursor, upto = self.cursor, batch[-1]["seq"]
            frame = {"type": "events", "events": batch, "clock": handle.clock()}
            if self.compact:
                encoder = self.synced
                if not (encoder.can_serve(cursor) and encoder.reach(cluster, upto, batch)):
                    self.cursor = None  # its packed events are gone (a long-lagging client): a snapshot
                    continue
                text = shared(cluster, ("packed", encoder, cursor, upto, *frame["clock"].values()), lambda: encoder.frame(cursor, upto, frame["clock"]))  # noqa: B023 - called at once
            else:
                text = shared(cluster, ("events", cursor, upto, *frame["clock"].values()), lambda: dumps(frame))  # noqa: B023 - called at once
            self.cursor = upto
            await self._send_frame(frame, text)

    async def _send_snapshot(self) -> None:
        cluster, clock = self.handle.cluster, self.handle.clock()
        sim = getattr(cluster, "sim", None)
        # a scale-out mirror's snapshot is one fetched state (its identity says which); else not shared
        at = (sim.now, sim.processed, len(cluster.command_log)) if sim is not None else getattr(cluster, "snapshot_key", (object(),))

        def make() -> str:
            state = cluster.snapshot()
            state["clock"] = clock
            return dumps({"type": "snapshot", "seq": state["seq"], "state": state})

        self.cursor = getattr(cluster, "snapshot_seq", cluster.last_seq)  # a scale-out mirror's snapshot is older than its newest events
        key = (self.cursor, *at, *clock.values())
        text = plain = shared(cluster, ("snapshot", *key), make)
        if self.compact:  # the same snapshot, with the string table the packed events after it build on
            self.synced = encoder = wire.encoder_at(cluster, self.cursor)
            text = shared(cluster, ("snapshot+strings", encoder, *key), lambda: f'{plain[:-1]},"strings":{dumps(encoder.strings_at(self.cursor))}}}')
        await self._send_frame({"type": "snapshot", "seq": self.cursor, "state": {"clock": clock}}, text)

    async def _send_strings(self, cluster) -> None:
        """A compact client resuming at the cursor (or whose encoder was replaced) is sent the
        string table as of the cursor; a snapshot if this server's encoder cannot give it."""
        encoder = wire.encoder(cluster)
        if encoder is not None and self.cursor < encoder.floor:
            self.cursor = None  # older than anything packed here
            return
        encoder = wire.encoder_at(cluster, self.cursor)
        self.synced = encoder
        await self.send(shared(cluster, ("strings", encoder, self.cursor), lambda: dumps({"type": "strings", "seq": self.cursor, "strings": encoder.strings_at(self.cursor)})))

    async def _maybe_send_clock(self) -> None:
        clock = self.handle.clock()
        now = asyncio.get_running_loop().time()
        changed = self.last_clock is None or clock["paused"] != self.last_clock["paused"] or clock["speed"] != self.last_clock["speed"]
        if changed or (clock != self.last_clock and now - self.last_clock_sent >= CLOCK_EVERY_SECONDS):
            await self._send_frame({"type": "clock", "clock": clock})

    async def _send_frame(self, frame: dict, text: str | None = None) -> None:
        """Send `frame` (as `text` when it is already encoded)."""
        if "clock" in frame or frame["type"] == "snapshot":
            self.last_clock = frame.get("clock") or frame["state"]["clock"]
            self.last_clock_sent = asyncio.get_running_loop().time()
        if self.acks_enabled and frame["type"] != "clock":
            self.in_flight.append(frame["seq"] if frame["type"] == "snapshot" else frame["events"][-1]["seq"])
        await self.send(text if text is not None else dumps(frame))
