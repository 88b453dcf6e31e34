"""The live event, sans-I/O: the show clock, its shards, each connection's protocol state,
selfie queues, rewards and hot reload. Nothing here reads a socket or a clock: bytes and
times come in as arguments, and bytes go out through :class:`server.event.link.Link`.
"""
