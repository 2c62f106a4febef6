"""The real ASGI application, with clusters built as FakeCluster (kubectl + a stand-in API
server), so the HTTP layer can be driven by real kubectl apart from the real API server:
`daphne tests.kubectl.fake_asgi:application`."""

from dashboard import runner
from dashboard.asgi import application  # noqa: F401  (the application daphne serves)
from tests.kubectl.fake_apiserver import FakeCluster

runner.Cluster = FakeCluster
