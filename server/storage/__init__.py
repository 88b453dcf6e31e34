"""What the server keeps across restarts: bans and the Meta-Pass ledger, in SQLite in its data directory."""
