"""The simulated network: every message between components crosses it.

Each send becomes a `net.send` event and either a later `net.deliver` or a `net.drop`
(with the reason: loss, partition, a crashed sender or receiver). Faults apply here, so
they apply to every component the same way.

Latency of one message = base + a uniform jitter draw + extra latency configured for the
sender, the receiver and the link. Links are FIFO like the TCP streams etcd and
Kubernetes use: a message never overtakes an earlier one on the same directed link
(turn off with `fifo=False` to let latency reorder a link's messages too).

Partitions are a list of groups of endpoint or host names (a host stands for every
component on it). Two endpoints can talk when no partition is set, when they are on the
same host, when they share a group, or when either of them is in no group at all (an
endpoint that the partition does not mention stays reachable by everyone). Faults may
likewise name a component or a host. Messages between components of one host take the
loopback: a twentieth of the base latency, no jitter.
A message is checked when it is sent and again when it arrives: a partition or crash that
happens while it is in flight drops it.
"""

from dataclasses import dataclass, field


@dataclass(slots=True)
class Message:
    id: int
    source: str
    target: str
    kind: str
    payload: object
    sent: int
    arrives: int


@dataclass
class LinkFault:
    loss: float = 0.0  # probability in [0, 1] that a message is dropped
    latency_us: int = 0  # added to every message

    def is_clear(self) -> bool:
        return self.loss == 0.0 and self.latency_us == 0


@dataclass
class Network:
    sim: object
    base_latency_us: int
    jitter_us: int
    fifo: bool = True
    endpoints: list = field(default_factory=list)
    partitions: list = field(default_factory=list)  # [[names...], ...]
    endpoint_faults: dict = field(default_factory=dict)  # name -> LinkFault
    link_faults: dict = field(default_factory=dict)  # "a|b" (undirected, sorted) -> LinkFault
    _last_arrival: dict = field(default_factory=dict)  # "a>b" -> time
    _next_id: int = 0
    in_flight: dict = field(default_factory=dict)  # id -> Message, for the view
    # "a>b" -> that link's stream (link_stream), once drawn from: the same objects as the simulation's
    # streams, kept here so a send skips the name and the lookup. A cache, not state.
    _unhashed = ("_link_streams",)
    _link_streams = None

    def link_stream(self, source: str, target: str):
        """Jitter and loss draws come from one stream per directed link, so adding a
        component (new links) never changes the timing of messages between others."""
        return self.sim.stream(f"net/{source}>{target}")

    # --- topology --------------------------------------------------------------------
    def add_endpoint(self, name: str) -> None:
        if name not in self.endpoints:
            self.endpoints.append(name)

    def host_of(self, name: str) -> str:
        component = self.sim.components.get(name)
        return component.host if component is not None else name

    def group_of(self, name: str) -> int | None:
        host = self.host_of(name)
        for index, group in enumerate(self.partitions):
            if name in group or host in group:
                return index
        return None

    def connected(self, a: str, b: str) -> bool:
        if not self.partitions or a == b or self.host_of(a) == self.host_of(b):
            return True
        ga, gb = self.group_of(a), self.group_of(b)
        return ga is None or gb is None or ga == gb

    @staticmethod
    def link_key(a: str, b: str) -> str:
        return "|".join(sorted((a, b)))

    def _faults_on(self, a: str, b: str) -> list[LinkFault]:
        if not self.endpoint_faults and not self.link_faults:
            return []
        ha, hb = self.host_of(a), self.host_of(b)
        if ha == hb:
            return []  # loopback
        keys = {a, b, ha, hb}
        found = [self.endpoint_faults.get(k) for k in sorted(keys)]
        found += [self.link_faults.get(self.link_key(x, y)) for x in sorted({a, ha}) for y in sorted({b, hb})]
        return [f for f in found if f is not None]

    # --- faults ----------------------------------------------------------------------
    def partition(self, groups: list[list[str]]) -> None:
        self.partitions = [sorted(group) for group in groups]
        self.sim.emit("net.partition", "network", "network partitioned into " + " | ".join(", ".join(g) for g in self.partitions), groups=self.partitions)

    def heal(self) -> None:
        self.partitions = []
        self.endpoint_faults = {}
        self.link_faults = {}
        self.sim.emit("net.heal", "network", "network healed: every link restored", groups=[])

    def set_fault(self, *, loss: float | None = None, latency_us: int | None = None, target: str | None = None, peer: str | None = None) -> None:
        """Set loss and/or extra latency on an endpoint (target) or a link (target and peer)."""
        if peer is not None:
            table, key = self.link_faults, self.link_key(target, peer)
        else:
            table, key = self.endpoint_faults, target
        fault = table.get(key) or LinkFault()
        if loss is not None:
            fault.loss = loss
        if latency_us is not None:
            fault.latency_us = latency_us
        if fault.is_clear():
            table.pop(key, None)
        else:
            table[key] = fault
        where = f"{target}↔{peer}" if peer else target
        self.sim.emit("net.fault", "network", f"{where}: {fault.loss:.0%} loss, +{fault.latency_us // 1000} ms latency", target=target, peer=peer, loss=fault.loss, latency_ms=fault.latency_us / 1000)

    # --- messages --------------------------------------------------------------------
    def send(self, source: str, target: str, kind: str, payload=None, summary: str | None = None, info: dict | None = None) -> Message | None:
        # This and deliver() run for every message of every simulation: the common case
        # (no fault, no partition) is kept short, and the events go straight to the log.
        sim = self.sim
        self._next_id += 1
        msg_id = self._next_id
        summary = summary or f"{source} → {target}: {kind}"
        components = sim.components
        receiver = components.get(target)
        if receiver is None:
            sim.emit("net.drop", source, summary, target=target, reason="unknown endpoint", **self._event_data(msg_id, kind, info))
            return None
        sender = components.get(source)
        faults = self._faults_on(source, target) if self.endpoint_faults or self.link_faults else ()
        link = f"{source}>{target}"
        if (sender.host if sender is not None else source) == receiver.host:
            latency = max(1, self.base_latency_us // 20)
        elif self.jitter_us:
            streams = self._link_streams
            if streams is None:
                streams = self._link_streams = {}
            stream = streams.get(link)
            if stream is None:
                stream = streams[link] = self.link_stream(source, target)
            latency = self.base_latency_us + stream.randint(0, self.jitter_us)
        else:
            latency = self.base_latency_us
        if faults:
            latency += sum(f.latency_us for f in faults)
        now = sim.now
        arrives = now + max(1, latency)
        if self.fifo:
            last = self._last_arrival.get(link, 0)
            if last > arrives:
                arrives = last
            self._last_arrival[link] = arrives
        msg = Message(msg_id, source, target, kind, payload, now, arrives)
        # {"arrives", "msg", "kind", then info's fields} (info may override msg and kind)
        sent = {"arrives": arrives / 1_000_000, "msg": msg_id, "kind": kind, **info} if info else {"arrives": arrives / 1_000_000, "msg": msg_id, "kind": kind}
        sim.log.append(now, "net.send", source, target, summary, sent)
        if sender is not None and sender.alive and receiver.alive and (not self.partitions or self.connected(source, target)):
            reason = None
            for fault in faults:
                if self.link_stream(source, target).chance(fault.loss):
                    reason = "loss"
                    break
        else:
            reason = self._blocked(source, target)
        if reason is not None:
            sim.emit("net.drop", source, summary, target=target, reason=reason, **self._event_data(msg_id, kind, info))
            self._tell_sender(msg, reason)
            return None
        self.in_flight[msg_id] = msg
        sim.schedule_delivery(arrives, msg)
        return msg

    @staticmethod
    def _event_data(msg_id: int, kind: str, info: dict | None) -> dict:
        data = {"msg": msg_id, "kind": kind}
        if info:
            data.update(info)
        return data

    def _blocked(self, source: str, target: str) -> str | None:
        components = self.sim.components
        if not components[source].alive:
            return f"{source} is down"
        if not components[target].alive:
            return f"{target} is down"
        if not self.connected(source, target):
            return "partition"
        return None

    def deliver(self, msg: Message) -> None:
        sim = self.sim
        self.in_flight.pop(msg.id, None)
        source, target = msg.source, msg.target
        components = sim.components
        receiver = components[target]
        if not (components[source].alive and receiver.alive and (not self.partitions or self.connected(source, target))):
            reason = self._blocked(source, target)
            sim.emit("net.drop", source, f"{source} → {target}: {msg.kind} lost", target=target, reason=reason, msg=msg.id, kind=msg.kind)
            self._tell_sender(msg, reason)
            return
        sim.log.append(sim.now, "net.deliver", source, target, f"{target} received {msg.kind} from {source}", {"msg": msg.id, "kind": msg.kind})
        receiver.on_message(msg)

    def _tell_sender(self, msg: Message, reason: str) -> None:
        sender = self.sim.components.get(msg.source)
        if sender is not None and sender.alive:
            sender.on_undeliverable(msg, reason)

    # --- view ------------------------------------------------------------------------
    def view(self) -> dict:
        return {
            "partitions": self.partitions,
            "faults": {
                "endpoints": {k: {"loss": f.loss, "latency_ms": f.latency_us / 1000} for k, f in sorted(self.endpoint_faults.items())},
                "links": {k: {"loss": f.loss, "latency_ms": f.latency_us / 1000} for k, f in sorted(self.link_faults.items())},
            },
            "in_flight": [
                {"id": m.id, "source": m.source, "target": m.target, "kind": m.kind, "sent": m.sent / 1_000_000, "arrives": m.arrives / 1_000_000}
                for m in self.in_flight.values()
            ],
        }
