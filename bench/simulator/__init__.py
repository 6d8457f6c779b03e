"""A loopback world for the chaos benchmark: fixture-serving hosts and forward proxies with faults.

Everything binds 127.0.0.1 on OS-chosen ports inside the caller's event loop and stops by itself
(see `Simulator`). Scenarios (bench/scenarios/*.yaml) say which faults, with which probabilities.
"""

from bench.simulator.fixtures import FixtureIndex, FixtureTransport
from bench.simulator.traffic import Arrival, SimClock, TrafficLog
from bench.simulator.world import Simulator

__all__ = ["Arrival", "FixtureIndex", "FixtureTransport", "SimClock", "Simulator", "TrafficLog"]
