"""The real ASGI application, with clusters built as FakeCluster (kubectl + a stand-in API
server), so the HTTP layer can be driven by real kubectl apart from the real API server:
`daphne tests.kubectl.fake_asgi:application`."""

import importlib

from dashboard.asgi import application  # noqa: F401  (the application daphne serves; it sets Django up)
from tests.kubectl.fake_apiserver import FakeCluster

# After dashboard.asgi: the runner imports the history models, which need Django set up.
runner = importlib.import_module("dashboard.runner")
runner.Cluster = FakeCluster
