"""kube-controller-manager: every control loop in one component, active only while it holds the lease.

    start ─▶ campaign (leaderelection.py) ──lease won──▶ start_loops: informers list+watch, queues run, ticks
                 ▲                                          │
                 └──────── stop_loops ◀── lease lost ───────┘   crash: everything volatile is gone

All loops share one ApiClient and so one informer per resource (client-go's shared informer
factory). A loop is a plain object in `self.loops`; its handlers and sync are dispatched by
name ("loops.replicaset.sync"). Nothing reconciles while the component is down or not leading,
and when it comes back it lists everything again and converges from what it finds.
"""

from ..client import ApiClient
from ..kernel import SECOND, Component
from .leaderelection import LeaderElector

NAME = "kube-controller-manager"
USER = {"name": "system:kube-controller-manager", "groups": ["system:authenticated"]}


class ControllerManager(Component):
    kind = "controller-manager"

    def __init__(self, sim, name: str = NAME, *, loops=None, resync_us: int = 300 * SECOND, lease_name: str = NAME, options: dict | None = None,
                 client_options: dict | None = None, host: str | None = None, **elector_options):
        super().__init__(sim, name, host=host)
        from . import LOOPS  # the registry of loop classes (a module-level table, not state)

        self.resync_us = resync_us
        self.options = dict(options or {})
        self.api = ApiClient(self, user=USER, event_prefix="controller", **(client_options or {}))
        names = list(LOOPS) if loops is None else list(loops)
        unknown = sorted(set(names) - set(LOOPS))
        if unknown:
            raise ValueError(f"unknown controllers: {', '.join(unknown)}")
        self.loops = {}
        for loop_name in names:
            self.loops[loop_name] = LOOPS[loop_name](self)
        self.elector = LeaderElector(self, lease_name=lease_name, **elector_options)

    def option(self, name: str, default):
        return self.options.get(name, default)

    # --- kernel entries ---------------------------------------------------------------------------
    def on_start(self) -> None:
        self.elector.start()

    def on_message(self, msg) -> None:
        self.api.handle_message(msg)

    def on_undeliverable(self, msg, reason: str) -> None:
        self.api.handle_undeliverable(msg, reason)

    def on_timer(self, tag: str, data) -> None:
        if self.api.handle_timer(tag, data):
            return
        if tag == "leader.tick":
            self.elector.on_tick(data)
        elif tag == "loop.tick":
            name, run = data
            loop = self.loops.get(name)
            if loop is not None and run == self.api.run and self.elector.leading:
                self.manager_tick(loop)

    def manager_tick(self, loop) -> None:
        self.set_timer(loop.tick_us, "loop.tick", [loop.name, self.api.run])
        if self.api.synced():
            loop.tick()

    def on_crash(self) -> None:
        self.api.stop()
        for name in sorted(self.loops):
            self.loops[name].stop()
        self.elector.reset()

    def on_restart(self) -> None:
        self.elector.start()

    # --- leadership -----------------------------------------------------------------------------------
    def start_loops(self) -> None:
        self.api.start()
        for name in sorted(self.loops):
            loop = self.loops[name]
            loop.start()
            if loop.tick_us:
                self.set_timer(loop.tick_us, "loop.tick", [name, self.api.run])

    def stop_loops(self) -> None:
        self.api.stop(keep_requests=True)
        for name in sorted(self.loops):
            self.loops[name].stop()

    # --- view -----------------------------------------------------------------------------------------
    def view(self) -> dict:
        client = self.api.view()
        return {
            "name": self.name, "kind": self.kind, "alive": self.alive, "leading": self.elector.leading, "time": self.now / SECOND,
            "leader": self.elector.view(),
            "loops": [self.loops[n].view() for n in self.loops],
            "informers": client["informers"],
            "pending_requests": client["pending"],
            **{k: v for n in self.loops for k, v in self.loops[n].extra_view().items()},
        }


def build_controller_manager(sim, *, replicas: int = 1, profile=None, **options) -> list[ControllerManager]:
    """Add kube-controller-manager (and kube-controller-manager-2, ... for more replicas) to `sim`."""
    managers = []
    for i in range(replicas):
        name = NAME if i == 0 else f"{NAME}-{i + 1}"
        managers.append(sim.add(ControllerManager(sim, name, **options)))
    return managers
