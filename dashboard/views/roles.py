"""The roles (dashboard/classroom/access.py) on REST: one decorator on every view that changes
a cluster, so a view says what it does to which cluster and the check cannot be forgotten
half way down a function body.

    @api.post("/clusters/{name}/faults", ...)
    @requires("destructive")
    async def faults(request, name, payload): ...

The caller's key is the X-Clusterscope-Key header (a header, not a cookie: a hostile page
cannot make a browser send it). Destructive actions also take a token from the cluster's
rate limit (limits "destructive_per_minute"), after the role check, so a refused stranger
does not spend the presenter's budget.
"""

import functools
from collections.abc import Callable

from .. import limits
from ..classroom import access
from ..runner import registry

KEY_HEADER = "X-Clusterscope-Key"


def key_of(request) -> str | None:
    return request.headers.get(KEY_HEADER) or None


def by_name(kwargs: dict) -> str | None:
    return kwargs.get("name")


def requires(action: str, cluster: Callable[[dict], str | None] = by_name):
    """`cluster(view kwargs)` names the cluster acted on (default: the path's {name}); None
    when there is none to check (the view then answers 404 itself)."""
    if action not in access.ACTIONS:
        raise ValueError(action)

    def decorate(view):
        @functools.wraps(view)
        async def guarded(request, *args, **kwargs):
            name = cluster(kwargs)
            if name is not None:
                access.check(name, key_of(request), action)
                if action == "destructive" and registry.get(name) is not None:
                    limits.destructive_action(name)
            return await view(request, *args, **kwargs)

        guarded.requires = action  # tests/dashboard/test_classroom_roles.py reads it
        return guarded

    return decorate
