"""The simulation kernel: virtual time, the event heap, seeded streams, the event log."""

from .canonical import state_hash
from .events import EventLog
from .rng import Stream
from .sim import MILLISECOND, SECOND, Component, Simulation

__all__ = ["Component", "EventLog", "MILLISECOND", "SECOND", "Simulation", "Stream", "state_hash"]
