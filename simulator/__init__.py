"""A generative model of a health system's marketing with known truth, for tests and benchmarks.

Not part of the installed ``clearcount`` packages: it lives in the repository beside
``benchmarks/`` and ``tests/``, and ``clearcount simulate`` works from a checkout only.
"""

from simulator.landing import write_world
from simulator.world import World, WorldConfig, simulate_world

__all__ = ["World", "WorldConfig", "simulate_world", "write_world"]
