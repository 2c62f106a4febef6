"""`Cluster`: the small interface the dashboard (and tests, and benchmarks) drive.

    cluster = Cluster(ClusterConfig(name="demo", seed=1))
    cluster.advance(2 * SECOND)                       # virtual time, as fast as the CPU allows
    cluster.command({"type": "fault", "action": "crash", "target": "etcd-1"})
    cluster.snapshot()                                # JSON-safe picture for the view
    cluster.events_since(0, limit=100)                # the event log, or None after a gap

Everything a user does goes through `command`: it is validated, stamped with the current
position (virtual time and actions processed) and appended to `command_log` before it is
applied. `Cluster.replay(config, command_log, ...)` therefore rebuilds a cluster exactly:
the same seed and command log give a byte-identical event log.
"""

import copy
import pickle
from dataclasses import asdict, dataclass, replace

from . import commands as check
from . import compact
from .apiserver import build_apiserver
from .clients import kubectl
from .clients.etcdctl import EtcdCtl
from .commands import CommandError
from .controllers import build_controller_manager
from .etcd import build_members, etcd_view
from .kernel import SECOND, Simulation, calendar, state_hash
from .kubelet import build_node, node_config, nodes_view
from .kubelet import commands as node_commands
from .net import Network
from .profiles import PROFILES, Profile
from .proxy import MODES as PROXY_MODES
from .proxy import SCHEDULERS as IPVS_SCHEDULERS
from .proxy import build_proxy, proxy_view
from .scheduler.component import build_scheduler
from .traffic import commands as traffic_commands
from .traffic import traffic_view

MAX_MEMBERS = 7
MAX_NODES = 5000


@dataclass(frozen=True)
class ClusterConfig:
    name: str
    seed: int = 1
    etcd_members: int = 3
    nodes: int = 3
    profile: str = "teaching"
    rbac: bool = False  # the API server authorizes with RBAC (a lesson can show a Forbidden)
    proxy_mode: str = "iptables"  # every kube-proxy's mode: iptables or ipvs (issue 8)
    ipvs_scheduler: str = "rr"  # ipvs mode's scheduler: rr, lc or sh
    pre_vote: bool = True  # etcd's pre-vote (off: a rejoining member disrupts a healthy leader)
    # Raft timing in milliseconds; None keeps the profile's value.
    raft_heartbeat_ms: int | None = None
    raft_election_min_ms: int | None = None
    raft_election_max_ms: int | None = None
    # The calendar moment virtual time 0 stands for (kernel/calendar.py): the dashboard sets the
    # wall-clock instant of creation; the fixed default keeps tests and benchmarks deterministic.
    epoch: str = calendar.DEFAULT_EPOCH
    # Caps on what the API server holds (None: no cap). A create past one is refused 403 as a
    # ResourceQuota refuses it; the dashboard sets them from its limits, recorded for replay.
    max_pods: int | None = None
    max_objects: int | None = None

    def validate(self) -> "ClusterConfig":
        check.require(isinstance(self.seed, int) and not isinstance(self.seed, bool) and 0 <= self.seed < 2**63, "seed must be a whole number from 0 to 2^63-1", "seed")
        check.require(isinstance(self.etcd_members, int) and not isinstance(self.etcd_members, bool) and 1 <= self.etcd_members <= MAX_MEMBERS, f"etcd_members must be a whole number from 1 to {MAX_MEMBERS}", "etcd_members")
        check.require(isinstance(self.nodes, int) and not isinstance(self.nodes, bool) and 0 <= self.nodes <= MAX_NODES, f"nodes must be a whole number from 0 to {MAX_NODES}", "nodes")
        check.require(isinstance(self.rbac, bool), "rbac must be true or false", "rbac")
        check.require(self.profile in PROFILES, f"profile must be one of: {', '.join(PROFILES)}", "profile")
        check.require(self.proxy_mode in PROXY_MODES, f"proxy_mode must be one of: {', '.join(PROXY_MODES)}", "proxy_mode")
        check.require(self.ipvs_scheduler in IPVS_SCHEDULERS, f"ipvs_scheduler must be one of: {', '.join(IPVS_SCHEDULERS)}", "ipvs_scheduler")
        check.require(isinstance(self.pre_vote, bool), "pre_vote must be true or false", "pre_vote")
        for field in ("raft_heartbeat_ms", "raft_election_min_ms", "raft_election_max_ms"):
            value = getattr(self, field)
            check.require(value is None or (isinstance(value, int) and not isinstance(value, bool) and 10 <= value <= 600_000), f"{field} must be a whole number of milliseconds from 10 to 600000", field)
        for field in ("max_pods", "max_objects"):
            value = getattr(self, field)
            check.require(value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1), f"{field} must be a whole number from 1, or null for no cap", field)
        try:
            calendar.epoch_seconds(self.epoch)
        except (ValueError, TypeError) as exc:
            raise CommandError(str(exc), "epoch") from None
        if self.profile in PROFILES:
            timing = self.timing()
            check.require(timing.raft_election_min_us > timing.raft_heartbeat_us, "raft_election_min_ms must be longer than the heartbeat", "raft_election_min_ms")
            check.require(timing.raft_election_max_us > timing.raft_election_min_us, "raft_election_max_ms must be longer than raft_election_min_ms", "raft_election_max_ms")
        return self

    def timing(self) -> Profile:
        """The profile with this cluster's own Raft timing, where it sets any."""
        overrides = {f"{field[:-3]}_us": getattr(self, field) * 1000 for field in ("raft_heartbeat_ms", "raft_election_min_ms", "raft_election_max_ms") if getattr(self, field) is not None}
        return replace(PROFILES[self.profile], **overrides)

    def as_dict(self) -> dict:
        return asdict(self)


class Cluster:
    # the memo of state_hash is not state (the canonical hash walks the Cluster through sim.handlers)
    _unhashed = ("_hash_memo",)

    def __init__(self, config: ClusterConfig):
        self.config = config.validate()
        self.profile = config.timing()
        self.sim = Simulation(seed=config.seed, epoch_seconds=calendar.epoch_seconds(config.epoch))
        self.sim.net = Network(self.sim, base_latency_us=self.profile.net_latency_us, jitter_us=self.profile.net_jitter_us)
        self.sim.handlers["cluster"] = self
        self.command_log: list[dict] = []
        self.etcd_members: list = []
        self.sim.emit("cluster.created", "cluster", f"cluster {config.name} created: {config.etcd_members} etcd member(s), {config.nodes} node(s), {config.profile} timing", config=config.as_dict())
        with calendar.using(self.sim.epoch_seconds):
            self._build()

    def _build(self) -> None:
        """Create the components. Each issue that adds a component wires it in here."""
        self.etcd_members = build_members(self.sim, self.config.etcd_members, self.profile, pre_vote=self.config.pre_vote)
        self.apiserver = build_apiserver(self.sim, self.etcd_members, rbac_enabled=self.config.rbac, profile=self.profile, kubelet_endpoint="{node}/kubelet")
        self.apiserver.max_pods, self.apiserver.max_objects = self.config.max_pods, self.config.max_objects
        self.etcdctl = self.sim.add(EtcdCtl(self.sim))  # the user's etcd client: REST /etcd requests leave from here
        self.sim.add(kubectl.KubeClient(self.sim))  # the user's kubectl: HTTP /k8s/<name>/ requests leave from here
        # kube-scheduler (issue 6): watches pods and nodes, binds pods through pods/binding.
        self.scheduler = build_scheduler(self.sim, self.profile)
        # Nodes (issue 7): node-1 … node-N, each a host with containerd and a kubelet (4 cpu, 8Gi, 110 pods).
        for index in range(1, self.config.nodes + 1):
            config = node_config(f"node-{index}", index)
            build_node(self.sim, config, profile=self.profile.name)
            self._build_proxy(config)  # kube-proxy (issue 8) on the same host
        # kube-controller-manager (issue 5): every control loop; two replicas lead in turn through a Lease in kube-system.
        self.controller_managers = build_controller_manager(self.sim, replicas=2, profile=self.profile)

    # --- position and time ------------------------------------------------------------
    @property
    def now(self) -> int:
        return self.sim.now

    @property
    def time(self) -> float:
        return self.sim.now / SECOND

    def advance(self, delta_us: int) -> None:
        self.sim.run_until(self.sim.now + max(0, int(delta_us)))

    def advance_to(self, time_us: int) -> None:
        self.sim.run_until(time_us)

    def step(self) -> bool:
        """Execute exactly one scheduled action (a single step for a teacher)."""
        return self.sim.step()

    # --- commands ---------------------------------------------------------------------
    def command(self, cmd: dict, store=None) -> dict:
        """Validate, record and apply one user command. Raises CommandError when invalid.

        `store(entry)`, when given, makes the entry durable before anything changes (the
        dashboard writes it to the database); if it raises, the command is not applied."""
        check.require(isinstance(cmd, dict), "a command must be an object")
        kind = check.string(cmd, "type", choices=sorted(self._handlers()))
        handler = self._handlers()[kind]
        normalized = handler["validate"](self, cmd)
        entry = {"at": self.sim.now, "after": self.sim.processed, "command": normalized}
        if store is not None:
            store(entry)
        self.command_log.append(entry)
        with calendar.using(self.sim.epoch_seconds):
            return handler["apply"](self, normalized)

    @classmethod
    def _handlers(cls) -> dict:
        return {
            "fault": {"validate": cls._validate_fault, "apply": cls._apply_fault},
            "kube": {"validate": cls._validate_kube, "apply": cls._apply_kube},
            "etcd": {"validate": cls._validate_etcd, "apply": cls._apply_etcd},
            "node": {"validate": cls._validate_node, "apply": cls._apply_node},
            "traffic": {"validate": cls._validate_traffic, "apply": cls._apply_traffic},
            "caps": {"validate": cls._validate_caps, "apply": cls._apply_caps},
        }

    # Lower the API server's caps on pods and objects (the dashboard does, for an imported
    # cluster whose file allows more than the server does). Never raises them.
    def _validate_caps(self, cmd: dict) -> dict:
        check.no_unknown_fields(cmd, {"type", "max_pods", "max_objects"})
        out = {"type": "caps"}
        for field in ("max_pods", "max_objects"):
            if cmd.get(field) is not None:
                out[field] = check.number(cmd, field, low=1, high=2**53, integer=True)
        return out

    def _apply_caps(self, cmd: dict) -> dict:
        for field in ("max_pods", "max_objects"):
            current = getattr(self.apiserver, field)
            if field in cmd and (current is None or cmd[field] < current):
                setattr(self.apiserver, field, cmd[field])
        return {"max_pods": self.apiserver.max_pods, "max_objects": self.apiserver.max_objects}

    # Add or remove a node while running (REST /nodes): see cluster/kubelet/commands.py.
    def _validate_node(self, cmd: dict) -> dict:
        return node_commands.validate(self.sim, cmd, MAX_NODES)

    def _apply_node(self, cmd: dict) -> dict:
        old_proxy = self.sim.components.get(f"{cmd['name']}/kube-proxy")
        result = node_commands.apply(self.sim, cmd, self.profile.name)
        if cmd["action"] == "add":
            kubelet = self.sim.components[f"{cmd['name']}/kubelet"]
            self._build_proxy(kubelet.config, epoch=old_proxy.epoch + 1 if old_proxy is not None else 0)
        return result

    def _build_proxy(self, node: dict, epoch: int = 0) -> None:
        build_proxy(self.sim, node, mode=self.config.proxy_mode, scheduler=self.config.ipvs_scheduler, profile=self.profile.name, epoch=epoch)

    # Send traffic to a Service (REST /traffic): see cluster/traffic/commands.py.
    def _validate_traffic(self, cmd: dict) -> dict:
        return traffic_commands.validate(self.sim, cmd)

    def _apply_traffic(self, cmd: dict) -> dict:
        return traffic_commands.apply(self.sim, cmd)

    # A client request to etcd (REST /etcd): the etcdctl component sends it to a member.
    ETCD_OPS = ("get", "put", "delete", "cas")
    MAX_KEY_BYTES = 1536
    MAX_VALUE_BYTES = 1_572_864  # etcd's default request size limit (1.5 MiB)

    def _validate_etcd(self, cmd: dict) -> dict:
        check.no_unknown_fields(cmd, {"type", "op", "key", "value", "expected", "member", "consistency"})
        op = check.string(cmd, "op", choices=self.ETCD_OPS)
        key = check.string(cmd, "key", max_length=self.MAX_KEY_BYTES)
        check.require(key != "", "key must not be empty", "key")
        out = {"type": "etcd", "op": op, "key": key}
        if op in ("put", "cas"):
            out["value"] = check.string(cmd, "value", max_length=self.MAX_VALUE_BYTES)
        elif cmd.get("value") is not None:
            raise CommandError(f"value does not go with {op}", "value")
        if op == "cas":
            expected = cmd.get("expected")
            check.require(expected is None or isinstance(expected, str), "expected must be a string, or null for 'key absent'", "expected")
            out["expected"] = expected
        elif cmd.get("expected") is not None:
            raise CommandError(f"expected goes with cas only, not {op}", "expected")
        out["consistency"] = check.string(cmd, "consistency", choices=("linearizable", "serializable"), default="linearizable")
        check.require(op == "get" or out["consistency"] == "linearizable", "serializable applies to reads (get) only", "consistency")
        names = [m.name for m in self.etcd_members]
        if cmd.get("member") is not None:
            member = check.string(cmd, "member")
            check.require(member in names, f"unknown member: {member}; members are {', '.join(names)}", "member", status=404)
            out["member"] = member
        return out

    def _apply_etcd(self, cmd: dict) -> dict:
        request = {k: cmd[k] for k in ("op", "key", "value", "expected", "consistency") if k in cmd}
        # Without a chosen member, spread requests over the endpoints like etcd's client.
        # Drawn here, not in validation, so a replay of the recorded command draws the same.
        member = cmd.get("member") or self.sim.stream("etcdctl/endpoint").choice([m.name for m in self.etcd_members])
        rid = self.etcdctl.submit(request, member)
        return {"request": rid, "member": member}

    # A Kubernetes API request (dashboard/views/kube.py) or a watch cancellation: see
    # cluster/clients/kubectl.py for the fields.
    def _validate_kube(self, cmd: dict) -> dict:
        return kubectl.validate_command(cmd)

    def _apply_kube(self, cmd: dict) -> dict:
        return kubectl.apply_command(self.sim, cmd)

    FAULT_ACTIONS = ("crash", "restart", "isolate", "partition", "heal", "loss", "latency", "timeout")

    def _validate_fault(self, cmd: dict) -> dict:
        check.no_unknown_fields(cmd, {"type", "action", "target", "peer", "groups", "percent", "ms"})
        action = check.string(cmd, "action", choices=self.FAULT_ACTIONS)
        out = {"type": "fault", "action": action}
        names = set(self.sim.components) | set(self.sim.hosts())  # a host stands for its components
        if action in ("crash", "restart", "isolate", "loss", "latency", "timeout") or cmd.get("target") is not None:
            if action != "partition" and action != "heal":
                target = check.string(cmd, "target")
                check.require(target in names, f"unknown target: {target}", "target", status=404)
                check.require(self.sim.net.host_of(target) not in node_commands.removed_hosts(self.sim), f"node {self.sim.net.host_of(target)} was removed", "target", status=404)
                out["target"] = target
        if action == "timeout":
            check.require(out["target"] in {m.name for m in self.etcd_members}, "timeout (an election timeout) applies to etcd members only", "target")
        if action in ("loss", "latency") and cmd.get("peer") is not None:
            peer = check.string(cmd, "peer")
            check.require(peer in names, f"unknown peer: {peer}", "peer", status=404)
            check.require(peer != out["target"], "peer must differ from target", "peer")
            out["peer"] = peer
        if action == "loss":
            out["percent"] = check.number(cmd, "percent", low=0, high=100)
        if action == "latency":
            out["ms"] = check.number(cmd, "ms", low=0, high=600_000)
        if action == "partition":
            groups = cmd.get("groups")
            check.require(isinstance(groups, list) and len(groups) >= 2, "groups must be a list of at least two lists of names", "groups")
            seen = set()
            for group in groups:
                check.require(isinstance(group, list) and group, "each group must be a non-empty list of names", "groups")
                for name in group:
                    check.require(isinstance(name, str), "group members must be names", "groups")
                    check.require(name in names, f"unknown endpoint in groups: {name}", "groups", status=404)
                    check.require(name not in seen, f"{name} is in more than one group", "groups")
                    seen.add(name)
            out["groups"] = [list(g) for g in groups]
        return out

    def _apply_fault(self, cmd: dict) -> dict:
        net, action = self.sim.net, cmd["action"]
        if action == "crash":
            for name in self._components_of(cmd["target"]):
                self.sim.crash(name)
        elif action == "restart":
            for name in self._components_of(cmd["target"]):
                self.sim.restart(name)
        elif action == "isolate":
            host = net.host_of(cmd["target"])
            others = [h for h in self.sim.hosts() if h != host]
            net.partition([[host], others])
        elif action == "partition":
            net.partition(cmd["groups"])
        elif action == "heal":
            net.heal()
        elif action == "loss":
            net.set_fault(loss=cmd["percent"] / 100, target=cmd["target"], peer=cmd.get("peer"))
        elif action == "latency":
            net.set_fault(latency_us=int(cmd["ms"] * 1000), target=cmd["target"], peer=cmd.get("peer"))
        elif action == "timeout":
            started = self.sim.components[cmd["target"]].force_timeout()
            return {"ok": True, "time": self.time, "started": started}
        return {"ok": True, "time": self.time}

    def _components_of(self, target: str) -> list[str]:
        """A component's own name, or every component on a host."""
        return [target] if target in self.sim.components else self.sim.hosts()[target]

    # --- reading ----------------------------------------------------------------------
    def events_since(self, after: int, limit: int | None = None) -> list[dict] | None:
        return self.sim.log.since(after, limit)

    @property
    def last_seq(self) -> int:
        return self.sim.log.last_seq

    def event_digest(self) -> str:
        return self.sim.log.digest()

    def state_hash(self) -> str:
        """The canonical hash of the whole simulation (kernel/canonical.py), computed at most once
        per state: it walks every object (37 s at 1,000 nodes) and GET /api/clusters/<name> shows
        it. The state changes only by an action executed, a command or the clock moving; the
        memo's key holds each of them (and anything scheduled or emitted), so it is never stale."""
        key = self._position_key()
        memo = getattr(self, "_hash_memo", None)
        if memo is not None and memo[0] == key:
            return memo[1]
        value = state_hash(self.sim)
        self._hash_memo = (key, value)
        return value

    def _position_key(self) -> tuple:
        sim = self.sim
        return (id(sim), sim.now, sim.processed, sim._sequence, sim.log.last_seq, len(self.command_log))

    def counts(self) -> dict:
        return {"components": len(self.sim.components), "events": self.sim.log.last_seq, "commands": len(self.command_log)}

    def snapshot(self, detail=None) -> dict:
        """Everything the view needs to draw this moment (JSON-safe). A large cluster's node-level
        views are compact but for the nodes in `detail` (a list: GET /state); without `detail`
        (the WebSocket's snapshot) they are left out (cluster/compact.py)."""
        scale = compact.scale_of(self.sim, detail or ())
        shown = set(scale["detail"])
        state = {
            "name": self.config.name,
            "time": self.time,
            "seq": self.last_seq,
            "profile": self.profile.as_dict(),
            "etcd": etcd_view(self.etcd_members),
            "network": self.sim.net.view(),
            "nodes": nodes_view(self.sim, shown if scale["compact"] else None),
            "proxy": proxy_view(self.sim),
            "traffic": traffic_view(self.sim),
            "components": compact.component_views(self.sim, shown) if scale["compact"] else [c.view() for c in self.sim.components.values()],
            "scale": scale,
        }
        if scale["compact"]:
            compact.trim(state, scale)
            if detail is None:
                compact.for_stream(state)
        return state

    # --- checkpoints and replay ----------------------------------------------------------
    def checkpoint(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def restore(blob: bytes) -> "Cluster":
        return pickle.loads(blob)

    def clone(self) -> "Cluster":
        return copy.deepcopy(self)

    @classmethod
    def replay(cls, config: ClusterConfig, command_log: list[dict], until_us: int | None = None) -> "Cluster":
        """Rebuild a cluster from its configuration and command log, then run to until_us."""
        cluster = cls(config)
        for entry in command_log:
            cluster.sim.run_actions(entry["after"])
            cluster.sim.move_clock(entry["at"])
            cluster.command(copy.deepcopy(entry["command"]))
        if until_us is not None:
            cluster.advance_to(until_us)
        return cluster


__all__ = ["Cluster", "ClusterConfig", "CommandError"]
