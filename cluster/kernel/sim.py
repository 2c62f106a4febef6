"""The discrete-event kernel: integer virtual time, one heap, components, timers.

Time is an integer count of microseconds. Everything scheduled goes into one heap of
(time, priority, sequence, action): equal times leave by priority, then in insertion
order, so the order never depends on object identity or hash order. Actions are plain
tuples naming their component and method (no closures), so the whole simulation can be
pickled for a checkpoint and hashed for `state_hash`.

    sim = Simulation(seed=7)
    sim.add(Pinger(sim, "a")); sim.add(Pinger(sim, "b"))
    sim.run_until(5 * SECOND)          # process every action due at or before 5 s

Position: `sim.now` and `sim.processed` (actions executed so far) together say exactly
where a run is; the command log records both, so replay lands on the same action even
when the user single-stepped.
"""

import heapq

from . import calendar
from .events import US_PER_SECOND, EventLog
from .rng import Stream

SECOND = US_PER_SECOND
MILLISECOND = 1_000

# Priorities for actions due at the same instant: user commands first, then timers,
# then message deliveries. Arbitrary but fixed.
PRIORITY_COMMAND = 0
PRIORITY_TIMER = 1
PRIORITY_DELIVER = 2
COMPONENT_RESTART_US = SECOND  # how long a component that raised stays down before its restart


class Component:
    """A simulated process: one entry for messages, one for timers.

    Subclasses keep plain-data state only (numbers, strings, lists, dicts, dataclasses),
    never callbacks or generators. `epoch` grows on every crash so that timers set
    before the crash are ignored after it.
    """

    kind = "component"
    removed = False  # taken out of the cluster for good (a removed node's agents): stays down

    def __init__(self, sim: "Simulation", name: str, host: str | None = None):
        self.sim = sim
        self.name = name
        # The machine it runs on: components of one host (a node's kubelet, runtime and
        # kube-proxy) fall, restart and get partitioned together. Default: its own host.
        self.host = host or name
        self.alive = True
        self.epoch = 0

    # Entries the kernel calls.
    def on_start(self) -> None:
        """Called once when the component joins the simulation: set first timers here."""

    def on_message(self, msg) -> None:
        """A message from the network arrived for this component."""

    def on_timer(self, tag: str, data) -> None:
        """A timer set with `set_timer` fired."""

    def on_undeliverable(self, msg, reason: str) -> None:
        """A message this component sent was dropped (loss, partition, a peer down).
        Like a failed TCP connection, the sender learns that it did not arrive."""

    def on_crash(self) -> None:
        """Forget volatile state. Persistent state (a disk) survives."""

    def on_restart(self) -> None:
        """Come back up from persistent state."""

    def view(self) -> dict:
        """A JSON-safe picture of this component for the dashboard."""
        return {"name": self.name, "kind": self.kind, "alive": self.alive}

    # Helpers for subclasses.
    @property
    def now(self) -> int:
        return self.sim.now

    def send(self, target: str, kind: str, payload=None, summary: str | None = None, info: dict | None = None) -> None:
        self.sim.net.send(self.name, target, kind, payload, summary, info)

    def set_timer(self, delay_us: int, tag: str, data=None) -> None:
        self.sim.schedule_timer(self.name, max(0, int(delay_us)), tag, data)

    def emit(self, kind: str, summary: str, /, target: str | None = None, **data) -> dict:
        sim = self.sim
        return sim.log.append(sim.now, kind, self.name, target, summary, data)  # = sim.emit(...), one call less

    def stream(self, purpose: str = "") -> Stream:
        return self.sim.stream(f"{self.name}/{purpose}")


class Simulation:
    epoch_seconds = calendar.DEFAULT_EPOCH_SECONDS  # for checkpoints pickled before the epoch was configurable
    # A component that raises is reported, crashed and restarted (a server must go on). The test
    # suite turns this off (tests/conftest.py) so a bug fails its test instead of hiding in an event.
    supervise_components = True

    def __init__(self, seed: int, event_window: int = 200_000, epoch_seconds: int = calendar.DEFAULT_EPOCH_SECONDS):
        self.seed = seed
        self.epoch_seconds = epoch_seconds  # the calendar moment of virtual time 0 (calendar.py)
        self.now = 0
        self.processed = 0
        self.component_failures = 0  # components that raised and were restarted (see _execute)
        self._heap: list = []
        self._sequence = 0
        self.root_stream = Stream.from_seed(seed)
        self._streams: dict[str, Stream] = {}
        self.components: dict[str, Component] = {}
        self.log = EventLog(window=event_window)
        # The network is created by whoever builds the simulation (cluster/net) and
        # attached here, so components reach it as sim.net.
        self.net = None
        # Targets that `call` actions may name besides components (e.g. the cluster itself).
        self.handlers: dict[str, object] = {}

    # --- wiring -------------------------------------------------------------------
    def add(self, component: Component) -> Component:
        if component.name in self.components:
            raise ValueError(f"component {component.name!r} exists already")
        self.components[component.name] = component
        if self.net is not None:
            self.net.add_endpoint(component.name)
        with calendar.using(self.epoch_seconds):
            component.on_start()
        return component

    def hosts(self) -> dict[str, list[str]]:
        """host -> the names of the components on it, in the order they were added."""
        found: dict[str, list[str]] = {}
        for name, component in self.components.items():
            found.setdefault(component.host, []).append(name)
        return found

    def stream(self, name: str) -> Stream:
        """The seeded stream for `name`, created on first use and kept in the state."""
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = self.root_stream.derive(name)
        return stream

    # --- scheduling ---------------------------------------------------------------
    def _push(self, time_us: int, priority: int, action: tuple) -> None:
        if time_us < self.now:
            raise ValueError(f"cannot schedule in the past ({time_us} < {self.now})")
        self._sequence += 1
        heapq.heappush(self._heap, (time_us, priority, self._sequence, action))

    def schedule_timer(self, component: str, delay_us: int, tag: str, data=None) -> None:
        epoch = self.components[component].epoch
        self._push(self.now + delay_us, PRIORITY_TIMER, ("timer", component, epoch, tag, data))

    def schedule_delivery(self, time_us: int, msg) -> None:
        self._push(time_us, PRIORITY_DELIVER, ("deliver", msg))

    def schedule_call(self, delay_us: int, target: str, method: str, *args) -> None:
        """Call handlers[target].method(*args) later: for work that is not a component's timer."""
        self._push(self.now + delay_us, PRIORITY_COMMAND, ("call", target, method, args))

    def next_time(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    # --- running ------------------------------------------------------------------
    def step(self) -> bool:
        """Execute the next action, moving time to it. False when nothing is scheduled."""
        if not self._heap:
            return False
        time_us, _priority, _seq, action = heapq.heappop(self._heap)
        self.now = time_us
        self.processed += 1
        token = calendar.current.set(self.epoch_seconds)
        try:
            self._execute(action)
        finally:
            calendar.current.reset(token)
        return True

    def run_until(self, time_us: int, max_actions: int | None = None) -> bool:
        """Execute every action due at or before `time_us`, then set the clock to it.

        With max_actions, stop early after that many actions and return False (the clock
        then stands at the last action executed); True once `time_us` is reached.
        """
        # The body of step(), inlined: this loop runs under every simulation.
        heap = self._heap
        pop = heapq.heappop
        execute = self._execute
        left = -1 if max_actions is None else max(0, max_actions)
        token = calendar.current.set(self.epoch_seconds)
        try:
            while heap and heap[0][0] <= time_us:
                if left == 0:
                    return False
                left -= 1
                time_now, _priority, _seq, action = pop(heap)
                self.now = time_now
                self.processed += 1
                execute(action)
        finally:
            calendar.current.reset(token)
        if time_us > self.now:
            self.now = time_us
        return True

    def run_actions(self, count: int) -> None:
        """Execute actions until `processed` reaches `count` (used by exact replay)."""
        while self.processed < count and self.step():
            pass

    def move_clock(self, time_us: int) -> None:
        """Set the clock forward without executing anything (replay: the live run stood
        between two actions at this time)."""
        if self._heap and self._heap[0][0] < time_us:
            raise ValueError("move_clock would skip scheduled actions")
        self.now = max(self.now, time_us)

    def _execute(self, action: tuple) -> None:
        try:
            self._dispatch(action)
        except Exception as exc:  # noqa: BLE001 - one faulty component must not stop the cluster
            name = action[1].target if action[0] == "deliver" else action[1]
            if name not in self.components or not self.supervise_components:
                raise
            self._component_failed(name, action[0], exc)

    def _component_failed(self, name: str, during: str, exc: Exception) -> None:
        """A component raised: reported as an event, crashed (its timers die with its epoch) and
        restarted COMPONENT_RESTART_US later, as a supervisor restarts a failed process. The
        event carries only the exception's type and text, so a replay logs it identically."""
        self.component_failures += 1
        error = f"{type(exc).__name__}: {str(exc)[:300]}"
        self.emit("component.error", name, f"{name} failed handling a {during}: {error}; restarting it", error=error, during=during)
        if self.components[name].alive:
            self.crash(name)
        self._push(self.now + COMPONENT_RESTART_US, PRIORITY_TIMER, ("restart", name))

    def _dispatch(self, action: tuple) -> None:
        what = action[0]
        if what == "restart":
            self.restart(action[1])
        elif what == "deliver":
            self.net.deliver(action[1])
        elif what == "timer":
            _, name, epoch, tag, data = action
            component = self.components.get(name)
            if component is not None and component.alive and component.epoch == epoch:
                component.on_timer(tag, data)
        elif what == "call":
            _, target, method, args = action
            owner = self.components.get(target) or self.handlers[target]
            getattr(owner, method)(*args)
        else:  # pragma: no cover - a programming error, not an input
            raise RuntimeError(f"unknown action {what!r}")

    # --- crash and restart ----------------------------------------------------------
    def crash(self, name: str) -> None:
        component = self.components[name]
        if not component.alive:
            return
        component.alive = False
        component.epoch += 1
        with calendar.using(self.epoch_seconds):
            component.on_crash()
        self.emit("net.crash", name, f"{name} crashed")

    def restart(self, name: str) -> None:
        component = self.components[name]
        if component.alive:
            return
        component.alive = True
        component.epoch += 1
        self.emit("net.restart", name, f"{name} restarted")
        if component.removed:  # its machine is gone: it goes straight back down
            component.alive = False
            return
        with calendar.using(self.epoch_seconds):
            component.on_restart()

    # --- events ---------------------------------------------------------------------
    def emit(self, kind: str, source: str, summary: str, /, target: str | None = None, **data) -> dict:
        return self.log.append(self.now, kind, source, target, summary, data)
