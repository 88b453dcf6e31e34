"""The event server: authoritative shards over WebSocket (picows), fed by the sans-I/O core.

It imports the core (``showroom.scene``, ``showroom.sim``, ``showroom.protocol``,
``showroom.ledger``) and never panda3d or ``showroom.client``; see DESIGN.md.
"""
