"""Leader election through a Lease (client-go tools/leaderelection), as plain data.

Every `retry_period` each replica reads the Lease kube-system/kube-controller-manager:

    absent ───────────────────────────────────────────▶ create it, holder = me   ─▶ leading
    held by me ───────────────────────────────────────▶ renew (update renewTime) ─▶ leading
    held by another, renewed within lease_duration ───▶ wait (a follower)
    held by another, unchanged for lease_duration ────▶ take it over (leaseTransitions + 1)

Writes carry the Lease's resourceVersion, so two replicas racing for it cannot both win:
the loser gets 409 Conflict. "Unchanged for lease_duration" is measured on the follower's
own clock from when it last *saw* the record change (as client-go does), never by comparing
renewTime with its clock. A leader that has not renewed for `renew_deadline` steps down
(the real kube-controller-manager exits; here it stops its loops and keeps campaigning).
Each start draws a new identity "<name>_<8 hex>", so a restarted replica waits for its old
lease to expire like a new process would.
"""

from ..apiserver.meta import meta_of, rfc3339_micro
from ..kernel import SECOND

LEASE_NAMESPACE = "kube-system"


class LeaderElector:
    def __init__(self, manager, *, lease_name: str, lease_duration_us: int = 15 * SECOND, renew_deadline_us: int = 10 * SECOND,
                 retry_period_us: int = 2 * SECOND):
        self.manager = manager
        self.lease_name = lease_name
        self.lease_duration_us = lease_duration_us
        self.renew_deadline_us = renew_deadline_us
        self.retry_period_us = retry_period_us
        self.identity: str | None = None
        self.reset()

    def reset(self) -> None:
        self.leading = False
        self.in_flight = False
        self.holder: str | None = None  # the holder as last read
        self.observed_record = None  # (holder, renewTime, transitions) as last read
        self.observed_at: int | None = None  # when this replica saw the record change
        self.last_renew: int | None = None
        self.transitions = 0
        self.token = getattr(self, "token", 0) + 1

    def start(self) -> None:
        self.reset()
        suffix = "".join("0123456789abcdef"[self.manager.stream("identity").randint(0, 15)] for _ in range(8))
        self.identity = f"{self.manager.name}_{suffix}"
        self.manager.set_timer(0, "leader.tick", self.token)

    def on_tick(self, token: int) -> None:
        if token != self.token:
            return
        self.manager.set_timer(self.retry_period_us, "leader.tick", self.token)
        if self.leading and self.last_renew is not None and self.manager.now - self.last_renew > self.renew_deadline_us:
            self._lose(f"could not renew its lease for {self.renew_deadline_us // SECOND} s")
        if self.in_flight:
            return
        self.in_flight = True
        self.manager.api.request("get", "leases", namespace=LEASE_NAMESPACE, name=self.lease_name, then="elector.got", context=self.token,
                                 summary=f"{self.manager.name} → kube-apiserver: get lease {LEASE_NAMESPACE}/{self.lease_name} (leader election)")

    def got(self, response: dict, token: int) -> None:
        if token != self.token:
            return
        code = response.get("code")
        now = self.manager.now
        if code == 404:
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": self.lease_name, "namespace": LEASE_NAMESPACE},
                    "spec": self._spec(acquire=True, transitions=0)}
            self.manager.api.request("create", "leases", namespace=LEASE_NAMESPACE, body=body, then="elector.written", context=[self.token, 0])
            return
        if code != 200:
            self.in_flight = False
            return
        lease = response["body"]
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or None
        record = (holder, spec.get("renewTime"), spec.get("leaseTransitions"))
        if record != self.observed_record:
            self.observed_record = record
            self.observed_at = now
            if holder != self.holder and holder != self.identity:
                self.manager.emit("controller.leader", f"{self.manager.name} sees the lease held by {holder or 'nobody'}", target=self.manager.api.server,
                                  holder=holder, identity=self.identity, leading=False)
        self.holder = holder
        self.transitions = int(spec.get("leaseTransitions") or 0)
        duration = int(spec.get("leaseDurationSeconds") or self.lease_duration_us // SECOND) * SECOND
        if holder and holder != self.identity and now < self.observed_at + duration:
            self.in_flight = False
            if self.leading:
                self._lose(f"the lease now belongs to {holder}")
            return
        takeover = holder != self.identity
        new_spec = self._spec(acquire=takeover, transitions=self.transitions + (1 if takeover and holder else 0))
        if not takeover:
            new_spec["acquireTime"] = spec.get("acquireTime") or new_spec["acquireTime"]
        body = dict(lease, spec=new_spec)
        body["metadata"] = dict(meta_of(lease))
        self.manager.api.request("update", "leases", namespace=LEASE_NAMESPACE, name=self.lease_name, body=body, then="elector.written",
                                 context=[self.token, 1 if takeover else 2],
                                 summary=f"{self.manager.name} → kube-apiserver: {'take' if takeover else 'renew'} lease {LEASE_NAMESPACE}/{self.lease_name}")

    def _spec(self, *, acquire: bool, transitions: int) -> dict:
        stamp = rfc3339_micro(self.manager.now)
        return {"holderIdentity": self.identity, "leaseDurationSeconds": self.lease_duration_us // SECOND, "acquireTime": stamp,
                "renewTime": stamp, "leaseTransitions": transitions}

    def written(self, response: dict, context) -> None:
        token, _how = context
        if token != self.token:
            return
        self.in_flight = False
        code = response.get("code")
        if code in (200, 201):
            spec = response["body"].get("spec") or {}
            self.observed_record = (spec.get("holderIdentity"), spec.get("renewTime"), spec.get("leaseTransitions"))
            self.observed_at = self.manager.now
            self.holder = self.identity
            self.transitions = int(spec.get("leaseTransitions") or 0)
            self.last_renew = self.manager.now
            if not self.leading:
                self.leading = True
                self.manager.emit("controller.leader", f"{self.identity} holds the lease {LEASE_NAMESPACE}/{self.lease_name}: {self.manager.name} is the leader and starts its loops",
                                  target=self.manager.api.server, holder=self.identity, identity=self.identity, leading=True, transitions=self.transitions)
                self.manager.start_loops()
        elif code == 409 and self.leading:
            self._lose("another replica changed the lease")

    def _lose(self, why: str) -> None:
        self.leading = False
        self.last_renew = None
        self.manager.emit("controller.leader", f"{self.manager.name} steps down: {why}; its loops stop", target=self.manager.api.server,
                          holder=self.holder, identity=self.identity, leading=False)
        self.manager.stop_loops()

    def view(self) -> dict:
        now = self.manager.now
        expires = None
        if self.observed_at is not None and self.holder:
            expires = max(0, self.observed_at + self.lease_duration_us - now) / SECOND
        return {
            "identity": self.identity, "leading": self.leading, "holder": self.holder, "transitions": self.transitions,
            "lease": f"{LEASE_NAMESPACE}/{self.lease_name}", "lease_expires_in": expires,
            "last_renew": None if self.last_renew is None else self.last_renew / SECOND,
        }
