"""The rules engine: what happens at the event earns Meta-Pass entitlements, once each.

Triggers come from the scene's reward rules: joining among the first N visitors, staying
N minutes, a selfie with a mascot, reacting during a look. Each award is keyed by
(rule, visitor wallet) and handed, at once, to the ledger's writer thread
(:class:`server.storage.ledger_writer.LedgerWriter`), which commits whatever is waiting in one
durable transaction; a repeat is harmless and a limited voucher is one atomic claim. The
visitor is told (``awarded``) only when the writer's acknowledgement is delivered on the loop,
after the commit. A crowd that qualifies in the same tick costs the tick one hand-over each,
never a disk sync. Nothing earned is dropped: each (rule, wallet) key is handed over at most
once (:attr:`Rewards.done`), so what waits for the writer is bounded by the rules times the
wallets that came; a write that fails is logged and its key forgotten, so the next trigger
earns it again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from server.storage.ledger import Award, Claim, LedgerRefusal, Request
from server.storage.ledger_writer import LedgerWriter, WriteFailed, Written
from showroom.protocol.server_messages import Awarded
from showroom.scene.model import Scene
from showroom.scene.rewards import AttendedRule, FirstJoinersRule, ReactedRule, SelfieRule

log = logging.getLogger("showroom.server")


def wallet_key(token: str) -> str:
    """The public name of a wallet in ledger records: a hash of the visitor's secret token."""
    return "w-" + hashlib.sha256(token.encode()).hexdigest()[:32]


class Rewards:
    """Turns event happenings into ledger awards and tells the visitors once they are written."""

    def __init__(self, scene: Scene, writer: LedgerWriter, perks: Callable[[str], set[str]] = lambda wallet: set(),
                 told: Callable[[str, Awarded], None] = lambda wallet, awarded: None) -> None:
        """Awards go through ``writer``; ``perks`` says what a wallet's passes allow (early view of a closed
        drop); ``told`` gets each new award's wallet and ``awarded`` event, on the loop, after its commit."""
        self.writer = writer
        self.perks = perks
        self.told = told
        self.names = {e.id: e.name for e in scene.entitlements}
        self.first = [r for r in scene.rewards if isinstance(r, FirstJoinersRule)]
        self.attended = [r for r in scene.rewards if isinstance(r, AttendedRule)]
        self.selfie = {r.mascot: r for r in scene.rewards if isinstance(r, SelfieRule)}
        self.reacted = [r for r in scene.rewards if isinstance(r, ReactedRule)]
        self.look_ids = [lk.id for lk in scene.looks]
        self.joined: dict[str, int] = {}
        self.done: set[tuple[str, str]] = set()
        """(rule, wallet) keys handed to the writer (or written): each is handed over at most once."""
        self.closed_drops: set[str] = set()
        self.failed = 0
        """Awards the writer could not write (each logged, its key forgotten so that it can be earned again)."""

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
        """Award ``rule``'s entitlement to ``wallet`` once: the path every other source of awards (a
        community's featuring and loyalty tiers) takes to the ledger."""
        self._queue(rule, wallet)

    def _queue(self, rule: str, wallet: str) -> None:
        """Hand (rule, wallet) to the writer unless it was already; a closed drop waits for its opening
        (early-view passes see it first)."""
        key = (rule, wallet)
        if key in self.done:
            return
        if self.writer.grants.get(rule) in self.closed_drops and "early_view" not in self.perks(wallet):
            return
        try:
            self.writer.submit(Claim(rule, wallet), self._written)
        except WriteFailed as exc:  # the server is stopping: nothing was handed over, a later visit earns it
            log.error("award %s for %s was not handed to the ledger: %s", rule, wallet, exc)
            return
        self.done.add(key)

    # ---- acknowledgements ---------------------------------------------------------------
    def _written(self, claim: Request, outcome: Written) -> None:
        """The writer's answer to a claim, on the loop: tell a new award's holder; log a refusal or failure."""
        assert isinstance(claim, Claim)
        rule, wallet = claim
        if isinstance(outcome, Award):
            if outcome.new:
                self.told(wallet, self.event_of(outcome))
        elif isinstance(outcome, LedgerRefusal):
            log.info("no %s for %s: %s", rule, wallet, outcome)
        else:
            self.failed += 1
            self.done.discard((rule, wallet))
            log.error("award %s for %s was not written (%s); the next trigger tries again", rule, wallet, outcome)

    def event_of(self, award: Award) -> Awarded:
        """The ``awarded`` personal event for an award."""
        return Awarded(seq=award.seq, entitlement=award.entitlement, kind=award.kind,
                       name=self.names.get(award.entitlement, award.entitlement), valid_until=award.valid_until)
