"""Suite-wide: a component that raises fails its test (the server would only report it as a
component.error event and restart the component; see Simulation.supervise_components)."""

from pathlib import Path

import pytest

from cluster.kernel.sim import Simulation

# Folders whose tests run after the others, one at a time (make test: `-m serial`), while the
# rest run on two workers (pytest-xdist, `-m "not serial"`): they start servers on fixed ports
# (PostgreSQL) or hold wall-clock bounds (the soak test, leases) that a busy neighbour skews.
SERIAL = {"history", "scaleout", "soak"}
TESTS = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = Path(item.path).relative_to(TESTS).parts
        if parts and parts[0] in SERIAL:
            item.add_marker(pytest.mark.serial)


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
