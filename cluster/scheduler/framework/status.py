"""`Status`: what a plugin says at an extension point, as kube-scheduler's framework.Status.

    Status.success()
    Status.unschedulable("Insufficient cpu", plugin="NodeResourcesFit")
    Status(UNRESOLVABLE, ["node(s) didn't match Pod's node affinity/selector"], "NodeAffinity")

Codes (the framework's meaning, kept from kube-scheduler):

    Success                       the plugin is content
    Error                         something went wrong inside (a bug or a bad input): the pod
                                  goes to back-off, not to the unschedulable pool
    Unschedulable                 the node does not fit now, but evicting pods might help
                                  (preemption considers such nodes)
    UnschedulableAndUnresolvable  the node does not fit, and preemption would not change that
    Wait                          (Permit) hold the pod; not used by the in-tree plugins
    Skip                          (PreFilter, PreScore) this plugin has nothing to do for this
                                  pod: its Filter or Score is not run at all in this cycle

Statuses are immutable: plugins hand out shared instances for their fixed reasons, so a
batch filter over thousands of nodes allocates nothing per node.
"""

SUCCESS = "Success"
ERROR = "Error"
UNSCHEDULABLE = "Unschedulable"
UNRESOLVABLE = "UnschedulableAndUnresolvable"
WAIT = "Wait"
SKIP = "Skip"

CODES = (SUCCESS, ERROR, UNSCHEDULABLE, UNRESOLVABLE, WAIT, SKIP)


class Status:
    __slots__ = ("code", "reasons", "plugin")

    def __init__(self, code: str = SUCCESS, reasons=(), plugin: str | None = None):
        if code not in CODES:
            raise ValueError(f"unknown status code {code!r}")
        self.code = code
        self.reasons = tuple(reasons)
        self.plugin = plugin

    # --- constructors ---------------------------------------------------------------------
    @classmethod
    def success(cls) -> "Status":
        return _SUCCESS

    @classmethod
    def skip(cls) -> "Status":
        return _SKIP

    @classmethod
    def unschedulable(cls, *reasons: str, plugin: str | None = None) -> "Status":
        return cls(UNSCHEDULABLE, reasons, plugin)

    @classmethod
    def unresolvable(cls, *reasons: str, plugin: str | None = None) -> "Status":
        return cls(UNRESOLVABLE, reasons, plugin)

    @classmethod
    def error(cls, reason: str, plugin: str | None = None) -> "Status":
        return cls(ERROR, (reason,), plugin)

    def with_plugin(self, plugin: str) -> "Status":
        return self if self.plugin == plugin else Status(self.code, self.reasons, plugin)

    # --- questions ------------------------------------------------------------------------
    @property
    def ok(self) -> bool:
        return self.code == SUCCESS

    @property
    def rejected(self) -> bool:
        """Unschedulable or UnschedulableAndUnresolvable (kube-scheduler's IsRejected)."""
        return self.code == UNSCHEDULABLE or self.code == UNRESOLVABLE

    @property
    def message(self) -> str:
        return ", ".join(self.reasons)

    def as_dict(self) -> dict:
        return {"code": self.code, "reasons": list(self.reasons), "plugin": self.plugin}

    def __eq__(self, other) -> bool:
        return isinstance(other, Status) and (self.code, self.reasons, self.plugin) == (other.code, other.reasons, other.plugin)

    def __hash__(self) -> int:
        return hash((self.code, self.reasons, self.plugin))

    def __repr__(self) -> str:
        who = f" from {self.plugin}" if self.plugin else ""
        return f"Status({self.code}{who}: {self.message!r})"

    def __getstate__(self):
        return (self.code, self.reasons, self.plugin)

    def __setstate__(self, state):
        self.code, self.reasons, self.plugin = state


_SUCCESS = Status(SUCCESS)
_SKIP = Status(SKIP)
