import pytest

from dashboard import limits
from dashboard.classroom import service as classrooms
from dashboard.runner import registry as the_registry


@pytest.fixture(autouse=True)
def registry(settings):
    """A clean registry for every test, with no demo cluster unless a test asks."""
    settings.DEMO_CLUSTER = None
    settings.PERSIST_CLUSTERS = False  # in-process tests keep clusters in memory (tests/history uses a real server)
    the_registry.handles.clear()
    the_registry._demo_made = False
    limits.destructive.clear()  # rations are per process: one test's faults do not count against the next
    limits.creations.clear()
    classrooms.clear()  # classrooms and roles live in memory like the clusters they share
    yield the_registry
    if the_registry._ticker is not None:
        the_registry._ticker.cancel()
        the_registry._ticker = None
    the_registry.handles.clear()
    classrooms.clear()
