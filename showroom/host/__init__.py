"""The event host's console: ``showroom host URL --token T`` (interactive, one command, or a script).

It speaks the wire protocol's host messages over ``websockets`` and imports only the core,
never ``server``: a host console is a client like any other, with the host token.
"""
