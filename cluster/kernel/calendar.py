"""The calendar moment that virtual time 0 stands for (the cluster's creation).

Objects carry wall-clock timestamps (creationTimestamp, lastTransitionTime, log lines), and
kubectl computes some ages itself from its own clock (`kubectl describe`), so virtual time is
shown as `epoch + virtual time`. The epoch is part of a cluster's configuration, decided once
by the dashboard at creation (dashboard/runner.py reads the wall clock) and recorded, so a
replay stamps the same text; tests keep the fixed default.

Several clusters run in one process, so the epoch is not a global: the kernel sets this
context variable to its own epoch around everything it executes (Simulation.step, run_until,
add, crash, restart; Cluster.command), and the text conversions (apiserver/meta.py) read it.

    epoch_seconds("2026-03-05T09:30:00Z")   -> 1772703000
    with calendar.using(1772703000): meta.rfc3339(90 * SECOND)  -> "2026-03-05T09:31:30Z"
"""

import contextlib
import datetime
from contextvars import ContextVar

DEFAULT_EPOCH = "2026-01-01T00:00:00Z"
UNIX = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
EARLIEST, LATEST = "2000-01-01T00:00:00Z", "2200-01-01T00:00:00Z"


def epoch_seconds(text: str) -> int:
    """Unix seconds of an ISO-8601 UTC instant in whole seconds ("2026-03-05T09:30:00Z").
    ValueError for anything else (another zone, fractions, out of 2000-2199)."""
    if not isinstance(text, str) or not text.endswith("Z") or len(text) != 20:
        raise ValueError("the epoch must look like 2026-03-05T09:30:00Z (UTC, whole seconds)")
    moment = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    if not EARLIEST <= text < LATEST:
        raise ValueError("the epoch must lie between the years 2000 and 2199")
    return int((moment - UNIX).total_seconds())


def epoch_text(seconds: int) -> str:
    return (UNIX + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


DEFAULT_EPOCH_SECONDS = epoch_seconds(DEFAULT_EPOCH)
current = ContextVar("clusterscope_epoch_seconds", default=DEFAULT_EPOCH_SECONDS)


@contextlib.contextmanager
def using(seconds: int):
    token = current.set(seconds)
    try:
        yield
    finally:
        current.reset(token)
