"""The scheduling framework: extension points, Status, cycle state, profiles, the cycle runner.

    status.py      Status and its codes                    interface.py  Plugin base, contracts
    types.py       PodInfo, NodeInfo                       resources.py  exact quantities, pod requests
    labels.py      selectors, node selector terms, taints  profile.py    profiles (plugins, weights, args)
    runtime.py     Framework: one cycle                    fit_error.py  the FailedScheduling message
"""

from .interface import Plugin, PostFilterResult, default_normalize, go_div
from .profile import DEFAULT_CONFIG, Profile, ProfileError
from .runtime import CycleResult, CycleState, Diagnosis, Framework, nodes_to_find
from .status import Status
from .types import NodeInfo, PodInfo

__all__ = [
    "CycleResult", "CycleState", "DEFAULT_CONFIG", "Diagnosis", "Framework", "NodeInfo", "Plugin", "PodInfo", "PostFilterResult",
    "Profile", "ProfileError", "Status", "default_normalize", "go_div", "nodes_to_find",
]
