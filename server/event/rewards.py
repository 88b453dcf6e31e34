"""The rules engine: what happens at the event earns Meta-Pass entitlements, once each.

Triggers come from the scene's reward rules: joining among the first N visitors, staying
N minutes, a selfie with a mascot, reacting during a look. Each award is keyed by
(rule, visitor wallet) and goes through :class:`server.storage.ledger.Ledger`, so a repeat
is harmless and a limited voucher is one atomic claim. Attendance is checked once a
second and at most ``MAX_AWARDS_PER_TICK`` awards are written per tick, so a crowd that
qualifies at the same moment cannot stall the tick with disk syncs; the rest wait their
turn in order. Nothing earned is ever dropped: each (rule, wallet) key is queued at most
once, so the queue is bounded by the rules times the wallets that came.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Callable

from server.storage.ledger import Award, Ledger, LedgerRefusal
from showroom.protocol.server_messages import Awarded
from showroom.scene.model import Scene
from showroom.scene.rewards import AttendedRule, FirstJoinersRule, ReactedRule, SelfieRule

log = logging.getLogger("showroom.server")

MAX_AWARDS_PER_TICK = 25


def wallet_key(token: str) -> str:
    """The public name of a wallet in ledger records: a hash of the visitor's secret token."""
    return "w-" + hashlib.sha256(token.encode()).hexdigest()[:32]


class Rewards:
    """Turns event happenings into ledger awards and tells the visitors."""

    def __init__(self, scene: Scene, ledger: Ledger,
                 perks: Callable[[str], set[str]] = lambda wallet: set()) -> None:
        self.ledger = ledger
        self.perks = perks
        self.names = {e.id: e.name for e in scene.entitlements}
        self.first = [r for r in scene.rewards if isinstance(r, FirstJoinersRule)]
        self.attended = [r for r in scene.rewards if isinstance(r, AttendedRule)]
        self.selfie = {r.mascot: r for r in scene.rewards if isinstance(r, SelfieRule)}
        self.reacted = [r for r in scene.rewards if isinstance(r, ReactedRule)]
        self.look_ids = [lk.id for lk in scene.looks]
        self.joined: dict[str, int] = {}
        self.pending: deque[tuple[str, str]] = deque()
        """(rule, wallet) keys waiting for their turn, oldest first; each at most once (see ``done``)."""
        self.done: set[tuple[str, str]] = set()
        self.closed_drops: set[str] = set()

    # ---- triggers ---------------------------------------------------------------------
    def on_join(self, wallet: str) -> None:
        """A visitor joined (first time for this wallet counts for first-N rules)."""
        if wallet not in self.joined:
            self.joined[wallet] = len(self.joined) + 1
            for rule in self.first:
                if self.joined[wallet] <= rule.count:
                    self._queue(rule.id, wallet)

    def on_presence(self, wallet: str, minutes: float) -> None:
        """A visitor has been present for ``minutes``."""
        for rule in self.attended:
            if minutes >= rule.minutes:
                self._queue(rule.id, wallet)

    def on_selfie(self, mascot: str, wallet: str) -> None:
        """A selfie with ``mascot`` was taken."""
        rule = self.selfie.get(mascot)
        if rule is not None:
            self._queue(rule.id, wallet)

    def on_reaction(self, wallet: str, reaction: str, look: int) -> None:
        """A reaction during look index ``look`` (-1: between looks)."""
        if look < 0:
            return
        for rule in self.reacted:
            if rule.look == self.look_ids[look] and (rule.reaction is None or rule.reaction == reaction):
                self._queue(rule.id, wallet)

    def grant(self, rule: str, wallet: str) -> None:
        """Award ``rule``'s entitlement to ``wallet`` once, at a coming flush: the path every other
        source of awards (a community's featuring and loyalty tiers) takes to the ledger."""
        self._queue(rule, wallet)

    def _queue(self, rule: str, wallet: str) -> None:
        key = (rule, wallet)
        if key not in self.done:
            self.done.add(key)
            self.pending.append(key)

    # ---- writing ------------------------------------------------------------------------
    def flush(self) -> list[tuple[str, Awarded]]:
        """Write up to ``MAX_AWARDS_PER_TICK`` queued awards; return (wallet, awarded event) pairs."""
        told = []
        for _ in range(min(MAX_AWARDS_PER_TICK, len(self.pending))):
            rule, wallet = self.pending.popleft()
            grant = self.ledger.grants[rule]
            if grant in self.closed_drops and "early_view" not in self.perks(wallet):
                self.done.discard((rule, wallet))  # the drop may open again (early-view passes see it first)
                continue
            try:
                award = self.ledger.award(rule, wallet)
            except LedgerRefusal as exc:
                log.info("no %s for %s: %s", rule, wallet, exc)
                continue
            if award.new:
                told.append((wallet, self.event_of(award)))
        return told

    def event_of(self, award: Award) -> Awarded:
        """The ``awarded`` personal event for an award."""
        return Awarded(seq=award.seq, entitlement=award.entitlement, kind=award.kind,
                       name=self.names.get(award.entitlement, award.entitlement), valid_until=award.valid_until)
