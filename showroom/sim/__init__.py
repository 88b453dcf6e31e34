"""The simulation core: struct-of-arrays crowd state and batch step functions (no I/O)."""

from showroom.sim.allocator import keep_large_allocations

keep_large_allocations()
