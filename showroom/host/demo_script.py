"""The demo's host: a scripted community manager that runs one round of the event community's
challenge and a live poll while ``showroom demo`` plays, so the loop shows by itself.

It speaks the host protocol through :class:`~showroom.host.link.HostLink`, exactly as the
console does. Before the visitors arrive it issues an invite code (the tour guide and the
ambient bots join with it) and opens the next unpublished round of the challenge for
submissions; then, on the demo's clock, it approves what was entered, opens the voting,
closes the round and features it (the featured wall fills), and asks the hall a poll.
Every round published already stays published: once every round of a data directory is
featured, the demo re-publishes the latest one, and nothing is lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from showroom.host.link import HostLink, HostLinkError
from showroom.protocol import client_messages as msg
from showroom.protocol import community as cm
from showroom.protocol.server_messages import ErrorReply, ServerMessage, Status

APPROVE_EVERY_S = 3.0
"""How often the demo's host looks at the moderation queue while entries come."""
HOST_PACE_S = 0.15
"""Pause between the host's moderation messages (the server takes at most 10 control messages a second)."""
INVITE_USES = 100
"""People the demo's invite code admits (the invites section of the community file caps it)."""


@dataclass(frozen=True)
class Timing:
    """When each step happens, in seconds after :meth:`DemoHost.start` (the client's start)."""

    approve_from: float = 5.0
    voting: float = 14.0
    closed: float = 20.0
    poll: float = 50.0
    """Late enough that the tour guide has walked to the featured wall: it answers standing before it."""
    poll_seconds: float = 20.0


@dataclass(frozen=True)
class Round:
    """The challenge round the demo runs, and whether it was published before this demo."""

    community: str
    challenge: str
    title: str
    published: bool


POLL_QUESTION = "Which colour for the spring capsule?"
POLL_OPTIONS = ("Rose", "Champagne gold", "Midnight ink")


def pick_round(status: Status, community: str) -> Round | None:
    """The first round of the community's challenge not yet featured (else the last one)."""
    brief = next((c for c in status.communities if c.community == community), None)
    if brief is None or not brief.challenges:
        return None
    fresh = next((c for c in brief.challenges if not c.featured), None)
    chosen = fresh or brief.challenges[-1]
    return Round(community, chosen.id, chosen.title, published=fresh is None)


class DemoHost:
    """Runs the scripted steps on a thread of its own; :meth:`prepare` first, then :meth:`start`."""

    def __init__(self, url: str, token: str, community: str, *, timing: Timing = Timing(),
                 say: Callable[[str], None] = print) -> None:
        self.url = url
        self.token = token
        self.community = community
        self.timing = timing
        self.say = say
        self.link: HostLink | None = None
        self.round: Round | None = None
        self.invite: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- before the visitors come ------------------------------------------------------------
    def prepare(self) -> str | None:
        """Connect, issue the invite code and open the round for submissions; the invite code, or None
        when the server serves no such community (the demo then runs without the loop)."""
        self.link = HostLink.open(self.url, self.token, name="demo host")
        status = self._ask(msg.HostStatus())
        if not isinstance(status, Status):
            return None
        self.round = pick_round(status, self.community)
        if self.round is None:
            return None
        issued = self._ask(cm.HostInvite(community=self.community, max_uses=INVITE_USES))
        if not isinstance(issued, cm.InviteIssued):
            return None
        self.invite = issued.code
        if not self.round.published:
            self._ask(cm.HostPhase(community=self.community, challenge=self.round.challenge, phase="submissions"))
            self.say(f"host: {self.round.title} ({self.round.challenge}) takes entries")
        return self.invite

    def start(self) -> None:
        """Run the steps on the demo's clock, from now."""
        if self.link is None or self.round is None:
            return
        self._thread = threading.Thread(target=self._run, name="demo-host", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the steps and close the connection."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        if self.link is not None:
            self.link.close()

    # ---- on the demo's clock -----------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._steps()
        except HostLinkError as exc:
            if not self._stop.is_set():
                self.say(f"host: {exc}")

    def _steps(self) -> None:
        t0 = time.monotonic()
        timing = self.timing
        rnd = self.round
        assert rnd is not None
        if not rnd.published:
            at = timing.approve_from
            while at < timing.voting:
                if not self._wait(t0, at):
                    return
                self._approve_pending(rnd)
                at += APPROVE_EVERY_S
            if not self._wait(t0, timing.voting):
                return
            self._approve_pending(rnd)
            self._phase(rnd, "voting")
            if not self._wait(t0, timing.closed):
                return
            self._phase(rnd, "closed")
        elif not self._wait(t0, timing.closed):
            return
        done = self._ask(cm.HostFeature(community=rnd.community, challenge=rnd.challenge))
        if not isinstance(done, ErrorReply):
            self.say(f"host: featured the best of {rnd.challenge} on the wall")
        if not self._wait(t0, timing.poll):
            return
        poll = self._ask(cm.HostPoll(question=POLL_QUESTION, options=list(POLL_OPTIONS),
                                     seconds=timing.poll_seconds))
        if isinstance(poll, cm.PollState):
            self.say(f"host: poll {poll.poll}: {POLL_QUESTION}")

    def _wait(self, t0: float, until: float) -> bool:
        """Sleep until ``until`` seconds after ``t0``; False when the demo stops meanwhile."""
        return not self._stop.wait(max(0.0, t0 + until - time.monotonic()))

    def _approve_pending(self, rnd: Round) -> None:
        entries = self._ask(cm.HostEntries(community=rnd.community, challenge=rnd.challenge))
        if not isinstance(entries, cm.Gallery):
            return
        approved = 0
        for entry in (e for e in entries.entries if e.status == "pending"):
            if self._stop.wait(HOST_PACE_S):
                return
            if not isinstance(self._ask(cm.HostModerate(entry=entry.entry, approve=True)), ErrorReply):
                approved += 1
        if approved:
            self.say(f"host: approved {approved} entr{'y' if approved == 1 else 'ies'}")

    def _phase(self, rnd: Round, phase: str) -> None:
        self._ask(cm.HostPhase(community=rnd.community, challenge=rnd.challenge, phase=phase))  # type: ignore[arg-type]
        self.say(f"host: {rnd.challenge} moved to {phase}")

    def _ask(self, message: msg.Message) -> ServerMessage:
        assert self.link is not None
        answer = self.link.request(message)
        if isinstance(answer, ErrorReply):
            self.say(f"host: {message.type} refused ({answer.code}): {answer.message}")
        return answer
