"""The network side of the server: picows sockets, the fixed-rate tick loop, HTTP endpoints.

Only this package reads sockets and clocks; it feeds :mod:`server.event`, which is sans-I/O.
"""
