"""Running one event across worker processes and machines: the shared seat registry and its tokens."""
