"""The demo's tour guide: when nobody is at the keyboard (``showroom demo`` offscreen, or
``--autopilot``), it walks the visitor through the event the way a person would: watch the
show from the front of the runway, queue for a selfie with each mascot whose session is
open, cheer during looks, open the wallet when an award arrives and redeem a voucher; with a
community guide (:mod:`showroom.client.autopilot_community`) it also joins the event's
community, enters and votes in its challenge, answers polls and looks at the featured wall.

Pure decisions over :class:`showroom.client.state.ClientState`; the app carries them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from showroom.client.selfie_guide import queue_point
from showroom.client.state import ClientState
from showroom.protocol.codes import REACTIONS, Activity

if TYPE_CHECKING:
    from showroom.client.autopilot_community import CommunityGuide

ASK_WITHIN_M = 6.0
"""Ask for a selfie this close to the mascot (the server accepts up to 8 m)."""
REACT_EVERY_S = 6.0
MOVE_EVERY_S = 1.0
WALLET_OPEN_S = 15.0
"""The wallet panel stays open this long after an award, then the view is cleared."""


@dataclass(frozen=True)
class Action:
    """One thing to do now: ``move`` (x, y), ``selfie`` (mascot id), ``react`` (name),
    ``wallet`` (ask for it and open the panel), ``wallet_close``, ``redeem`` (award seq);
    community ones: ``panel`` (name ``open`` or ``close``), ``type_invite`` (name: the code),
    ``join``, ``submit``, ``pick`` (seq: entry id), ``vote``, ``poll`` (seq: option index),
    ``look_wall`` (turn the camera to the featured wall), ``look_done``."""

    kind: str
    x: float = 0.0
    y: float = 0.0
    name: str = ""
    seq: int = -1


@dataclass
class Autopilot:
    """Decides the visitor's next actions from what the client knows."""

    done: set[str] = field(default_factory=set)
    asked: str | None = None
    asked_at: float = -1e9
    next_move: float = 0.0
    next_react: float = 3.0
    awards_seen: int = 0
    redeemed: set[int] = field(default_factory=set)
    wallet_at: float | None = None
    wallet_shown: bool = False
    guide: CommunityGuide | None = None
    photo: bool = False
    """An entry for the community challenge is at hand (the app says so)."""

    def step(self, state: ClientState, now: float) -> list[Action]:
        """Actions due at local time ``now`` (seconds)."""
        scene = state.scene
        me = state.me()
        if scene is None or me is None or not state.mascots:
            return []
        out: list[Action] = []
        if self.guide is not None:
            out += self.guide.step(state, now, photo=self.photo)
            if self.guide.busy(now):
                return out  # standing before the featured wall
        mascots = state.mascots[-1]
        open_ = [i for i in range(len(scene.mascots))
                 if mascots.activity[i] == Activity.SELFIE and scene.mascots[i].id not in self.done]
        if self.asked is not None and state.selfie is None and now - self.asked_at > 3.0:
            if not state.photos_due and self.asked not in {scene.mascots[i].id for i in open_}:
                self.asked = None  # the session closed before our turn
        if state.photos_due:
            self.done.add(state.photos_due[-1].mascot)
            self.asked = None
        goal: np.ndarray | None = None
        if open_:
            k = min(open_, key=lambda i: float(np.hypot(*(mascots.pos[i] - me))))
            near = float(np.hypot(*(mascots.pos[k] - me))) <= ASK_WITHIN_M
            if near and self.asked is None and state.selfie is None:
                out.append(Action("selfie", name=scene.mascots[k].id))
                self.asked, self.asked_at = scene.mascots[k].id, now
            if state.selfie is None and now >= self.next_move:  # in the queue, the line moves by itself
                goal = queue_point(state.scene, mascots.pos[k])
        elif now >= self.next_move:
            goal = self._watch_spot(state)
        if goal is not None:
            out.append(Action("move", float(goal[0]), float(goal[1])))
            self.next_move = now + MOVE_EVERY_S
        if int(state.show.get("look", -1)) >= 0 and now >= self.next_react:
            out.append(Action("react", name=REACTIONS[int(now) % len(REACTIONS)]))
            self.next_react = now + REACT_EVERY_S
        if len(state.awards) > self.awards_seen:
            self.awards_seen = len(state.awards)
            out.append(Action("wallet"))
            self.wallet_at = now
            self.wallet_shown = True
        elif self.wallet_shown and self.wallet_at is not None and now - self.wallet_at > WALLET_OPEN_S:
            out.append(Action("wallet_close"))
            self.wallet_shown = False
        return out + self._redeem(state, now)

    def _redeem(self, state: ClientState, now: float) -> list[Action]:
        if self.wallet_at is None or now - self.wallet_at < 2 * WALLET_OPEN_S:
            return []  # leave the wallet open a while before redeeming, so it can be seen
        for item in state.wallet:
            seq = int(item.get("seq", -1))
            if item.get("kind") == "voucher" and not item.get("redeemed_at") and seq not in self.redeemed:
                self.redeemed.add(seq)
                return [Action("redeem", seq=seq)]
        return []

    @staticmethod
    def _watch_spot(state: ClientState) -> np.ndarray | None:
        """A point in the nearest standing zone, close to the runway."""
        scene = state.scene
        me = state.me()
        zones = [z for z in scene.venue.zones if z.kind == "standing"] if scene else []
        if not zones or me is None:
            return None
        runway = np.asarray(scene.venue.runway.centerline, float).mean(axis=0)
        best = None
        for zone in zones:  # a handful of zones
            pts = np.asarray(zone.polygon, float)
            c = pts.mean(axis=0)
            towards = c + (runway - c) * 0.55
            lo, hi = pts.min(axis=0) + 0.6, pts.max(axis=0) - 0.6
            p = np.clip(towards, lo, hi)
            if best is None or np.hypot(*(p - me)) < np.hypot(*(best - me)):
                best = p
        return best
