"""Suite-wide: a component that raises fails its test (the server would only report it as a
component.error event and restart the component; see Simulation.supervise_components)."""

import pytest

from cluster.kernel.sim import Simulation


@pytest.fixture(autouse=True)
def components_raise(monkeypatch):
    monkeypatch.setattr(Simulation, "supervise_components", False)
