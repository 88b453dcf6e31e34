"""The error every ledger check raises: what failed, in words a person can act on."""

from __future__ import annotations

from showroom.errors import ShowroomError


class LedgerError(ShowroomError):
    """A ledger entry, checkpoint, proof, key or export that does not verify, with the reason."""
