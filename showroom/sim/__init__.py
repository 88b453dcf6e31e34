"""The simulation core: struct-of-arrays crowd state and batch step functions (no I/O)."""
