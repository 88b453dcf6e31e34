"""The selfie flow's words and choices: what P does where you stand, where to go when no
mascot is near, your place in a queue and the time to your turn, and when the selfie button
shows. Pure decisions over :class:`showroom.client.state.ClientState`; the app carries them out.

P near a mascot in a selfie session asks it for a selfie. P anywhere else says where the
nearest open session is and how far (or when the next one opens, from the timeline) and
offers the walk: P again within :data:`OFFER_S` walks you to that session's queue start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from showroom.client.hud_text import clock, plural
from showroom.client.state import ClientState
from showroom.scene import Scene
from showroom.scene.show import SelfieCue

OFFER_S = 10.0
"""How long "press P again to walk there" stays on offer."""


@dataclass(frozen=True)
class SelfieStep:
    """What P does now: ``ask`` (mascot id), ``walk`` to (x, y) metres, or only ``say`` the text."""

    kind: str
    text: str = ""
    mascot: str = ""
    x: float = 0.0
    y: float = 0.0


def queue_point(scene: Scene | None, mascot_pos: np.ndarray) -> np.ndarray:
    """The queue start of the selfie spot the mascot stands at (the mascot itself without spots)."""
    spots = scene.venue.selfie_spots if scene else []
    if not spots:
        return np.asarray(mascot_pos, float)
    at = np.array([s.at for s in spots], float)
    k = int(np.argmin(np.hypot(*(at - mascot_pos).T)))
    return np.asarray(spots[k].queue, float)


def next_session(scene: Scene, show_t: float) -> SelfieCue | None:
    """The first selfie session the timeline opens after show time ``show_t``."""
    later = [c for c in scene.timeline if isinstance(c, SelfieCue) and c.at > show_t]
    return min(later, key=lambda c: c.at) if later else None


@dataclass
class SelfieGuide:
    """Remembers the walk last offered, so that P again takes it."""

    offer: tuple[float, float, str] | None = None
    offer_until: float = -1.0

    def press(self, state: ClientState, now: float) -> SelfieStep:
        """What pressing P (or the selfie button) at local time ``now`` does."""
        scene = state.scene
        if scene is None:
            return SelfieStep("say", "not in the event yet")
        if state.selfie is not None:
            return SelfieStep("say", queue_label(state) or "")
        k = state.nearest_selfie_mascot()
        if k is not None:
            self.offer = None
            return SelfieStep("ask", mascot=scene.mascots[k].id)
        if self.offer is not None and now < self.offer_until:
            x, y, name = self.offer
            self.offer = None
            return SelfieStep("walk", f"walking to {name}'s selfie queue", x=x, y=y)
        found = state.nearest_selfie_session()
        if found is None:
            self.offer = None
            cue = next_session(scene, state.show_t)
            if cue is None:
                return SelfieStep("say", "No selfie session is open now, and none is left in the show")
            name = _mascot_name(scene, cue.mascot)
            wait = max(cue.at - state.show_t, 0.0)
            return SelfieStep("say", f"No selfie session is open now: {name}'s opens at {clock(cue.at)} "
                                     f"(in {plural(round(wait), 'second')})")
        k, dist = found
        name = scene.mascots[k].name
        goal = queue_point(scene, state.mascots[-1].pos[k])
        self.offer, self.offer_until = (float(goal[0]), float(goal[1]), name), now + OFFER_S
        return SelfieStep("say", f"{name} takes selfies {plural(round(dist), 'metre')} away: press P again to walk there")

    def offered(self, now: float) -> str | None:
        """The mascot whose walk is on offer now, if any."""
        return self.offer[2] if self.offer is not None and now < self.offer_until else None


def _mascot_name(scene: Scene, mascot_id: str) -> str:
    return next((m.name for m in scene.mascots if m.id == mascot_id), mascot_id)


def turn_wait_s(state: ClientState) -> float | None:
    """Seconds until your turn in the queue, at most (each visitor ahead holds the mascot for its photo time)."""
    if state.selfie is None or state.scene is None:
        return None
    mascot = next((m for m in state.scene.mascots if m.id == state.selfie.mascot), None)
    return None if mascot is None else state.selfie.position * mascot.photo_seconds


def queue_label(state: ClientState) -> str | None:
    """Your place in a selfie queue and the time to your turn (None when you are in no queue)."""
    if state.selfie is None or state.scene is None:
        return None
    name = _mascot_name(state.scene, state.selfie.mascot)
    place = state.selfie.position
    if place == 0:
        return f"Selfie with {name}: now, smile!"
    text = f"Selfie queue for {name}\n" + ("you are next" if place == 1 else
                                           f"{plural(place, 'person', 'people')} ahead")
    wait = turn_wait_s(state)
    return text + (f", your turn in about {round(wait)} s" if wait is not None else "")


def selfie_label(state: ClientState, guide: SelfieGuide, now: float) -> str | None:
    """The selfie button's text, or None to hide it: your queue place, the walk on offer, or asking a
    mascot near you (not one you already have a photo with)."""
    label = queue_label(state)
    if label is not None or state.scene is None:
        return label
    k = state.nearest_selfie_mascot()
    if k is not None:
        mascot = state.scene.mascots[k]
        return None if mascot.id in state.photographed else f"Ask {mascot.name} for a selfie (P)"
    offered = guide.offered(now)
    return f"Walk to {offered}'s selfie queue (P)" if offered else None
