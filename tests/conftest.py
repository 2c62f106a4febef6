"""Suite-wide: a component that raises fails its test (the server would only report it as a
component.error event and restart the component; see Simulation.supervise_components)."""

import pytest

from cluster.kernel.sim import Simulation


@pytest.fixture(autouse=True)
def components_raise(monkeypatch):
    monkeypatch.setattr(Simulation, "supervise_components", False)


@pytest.fixture(scope="session")
def postgres():
    """A private PostgreSQL (tests/history/conftest.py's Postgres) for the session, shared by
    the suites that need one (tests/history, tests/scaleout)."""
    from tests.history.conftest import POSTGRES_PORT, Postgres, port_free

    if not port_free(POSTGRES_PORT):
        pytest.skip(f"port {POSTGRES_PORT} is taken: PostgreSQL cannot start here")
    pg = Postgres()
    yield pg
    pg.stop()
