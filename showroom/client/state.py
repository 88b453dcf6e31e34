"""What the client knows, updated from decoded server messages: the crowd, the mascots, the
show, the visitor's own queue, photos due, wallet and chat. Plain data, no panda3d, so the
whole client logic is tested without a window.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from showroom.client.community import COMMUNITY_REFS, CommunityBook
from showroom.client.hud_text import look_caption
from showroom.client.interp import SnapshotBuffer
from showroom.client.polls import PollBook
from showroom.protocol import community as cm
from showroom.protocol.codes import Activity
from showroom.protocol.limits import TICK_HZ
from showroom.protocol.server_messages import (
    Announcement,
    Audience,
    Awarded,
    ChatLine,
    DropChanged,
    ErrorReply,
    ReactionCounts,
    Redeemed,
    SceneChanged,
    SceneText,
    SelfieLeft,
    SelfieQueue,
    SelfieTaken,
    WalletContents,
    Welcome,
    read_event,
    read_message,
)
from showroom.protocol.snapshot import unpack_cell
from showroom.scene import Scene
from showroom.scene.load import parse_scene

COMMUNITY_REPLIES = (cm.CommunityState, cm.Gallery, cm.EntryImage, cm.UploadReady, cm.EntryReceived, cm.VoteRecorded)
"""Replies about the event's community (:class:`showroom.client.community.CommunityBook` takes them)."""
BANNER_S = 8.0
TOAST_S = 4.0


@dataclass(frozen=True)
class MascotState:
    """Every mascot at one tick: arrays in scene order."""

    time_s: float
    pos: NDArray[np.float64]
    heading: NDArray[np.float64]
    activity: NDArray[np.uint8]
    pose: NDArray[np.int8]
    phase: NDArray[np.float64]


@dataclass(frozen=True)
class PhotoRequest:
    """The server reported a selfie of this visitor: render the photo."""

    mascot: str
    show_t: float
    visible: tuple[int, ...]
    visitor: int


@dataclass
class SelfieStatus:
    """The visitor's place in a mascot's selfie queue (0 = being photographed now)."""

    mascot: str
    position: int
    size: int


@dataclass
class ClientState:
    """Everything the client shows, fed by :meth:`receive` with decoded server messages."""

    you: int = -1
    shard: int = -1
    wallet_token: str = ""
    resume: str = ""
    tick_hz: int = TICK_HZ
    event: dict[str, Any] = field(default_factory=dict)
    scene: Scene | None = None
    scene_text: str = ""
    scene_version: int = 1
    scene_due: int | None = None
    """A newer scene version announced by ``scene_changed`` and not fetched yet."""
    crowd: SnapshotBuffer | None = None
    mascots: deque[MascotState] = field(default_factory=lambda: deque(maxlen=8))
    show: dict[str, Any] = field(default_factory=dict)
    show_t: float = 0.0
    ack: int = -1
    chat: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=40))
    banner: tuple[str, float] | None = None
    toast: tuple[str, float] | None = None
    selfie: SelfieStatus | None = None
    photographed: set[str] = field(default_factory=set)
    """Mascots (ids) the visitor has a selfie photo with."""
    photos_due: deque[PhotoRequest] = field(default_factory=lambda: deque(maxlen=8))
    awards: list[dict[str, Any]] = field(default_factory=list)
    wallet: list[dict[str, Any]] = field(default_factory=list)
    wallet_name: str = ""
    pubkey: str = ""
    reactions: dict[str, int] = field(default_factory=dict)
    audience: Audience | None = None
    """The whole event's visitors and reaction totals, as last told (every shard of every worker)."""
    frames: int = 0
    errors: deque[ErrorReply] = field(default_factory=lambda: deque(maxlen=20))
    closed: str | None = None
    community: CommunityBook = field(default_factory=CommunityBook)
    polls: PollBook = field(default_factory=PollBook)
    join_refused: ErrorReply | None = None
    """The server refused our ``join`` (``members_only``: the app may join again with an invite code)."""

    # ---- receiving ------------------------------------------------------------------------
    def receive(self, value: Any, arrival_s: float) -> None:
        """Apply one decoded server message (a map, or a frame ``[personal, cell]``) received at local ``arrival_s``."""
        if isinstance(value, list) and len(value) == 2:
            self._frame(value[0], value[1], arrival_s)
            return
        message = read_message(value)
        if isinstance(message, Awarded):  # sent on its own as soon as it is in the ledger
            self._personal_event(value, arrival_s)
        elif isinstance(message, Welcome):
            self._welcome(message)
        elif isinstance(message, ErrorReply):
            self.errors.append(message)
            self.toast = (f"{message.code}: {message.message}", arrival_s + TOAST_S)
            if message.ref == "selfie":
                self.selfie = None
            elif message.ref == "join":
                self.join_refused = message
            elif message.ref == "poll_answer":
                self.polls.refused(message.message)
            elif message.ref in COMMUNITY_REFS:
                self.community.refused(message.ref, message.message, message.code)
        elif isinstance(message, COMMUNITY_REPLIES):
            self._notice(self.community.receive(message), arrival_s)
        elif isinstance(message, WalletContents):
            self.wallet = [item.model_dump() for item in message.items]
            self.wallet_name = message.visitor
            self.pubkey = message.pubkey
        elif isinstance(message, SceneText):
            self._new_scene(message.text, message.version)
        elif isinstance(message, Redeemed):
            for item in self.wallet:
                if item.get("seq") == message.award:
                    item["redeemed_at"] = message.at
                    item["redeemed_seq"] = message.seq
            self.toast = (f"redeemed {message.entitlement}", arrival_s + TOAST_S)

    def _welcome(self, welcome: Welcome) -> None:
        self.you = welcome.you
        self.shard = welcome.shard
        self.wallet_token = welcome.wallet
        self.resume = welcome.resume
        self.tick_hz = welcome.tick_hz
        self.event = welcome.event.model_dump()
        self.show_t = welcome.t
        self.scene_version = welcome.scene_version
        self.join_refused = None
        text = welcome.scene
        if text and text != self.scene_text:
            self.scene = parse_scene(text, "welcome.scene")
            self.scene_text = text
        if self.scene is not None:  # a new session (after joining again on another worker too): a new crowd
            self.crowd = SnapshotBuffer(tuple(self.scene.venue.size), tick_hz=self.tick_hz)
            self.mascots.clear()
            self.selfie = None
            self.community = CommunityBook(community=self.scene.event.community)
            self.community.start()

    def _new_scene(self, text: str, version: int) -> None:
        """A host's edit of the timeline is live: keep the crowd, take the new looks and cues."""
        if text and version > self.scene_version:
            self.scene = parse_scene(text, f"scene v{version}")
            self.scene_text = text
            self.scene_version = version
        self.scene_due = None

    def _frame(self, personal: dict[str, Any], cell: dict[str, Any], arrival_s: float) -> None:
        if self.crowd is None:
            return
        snap = unpack_cell(cell)
        time_s = snap.tick / self.tick_hz
        self.frames += 1
        self.ack = int(personal.get("ack", -1))
        if snap.show is not None:
            self.show = snap.show
        self.show_t = snap.t
        self.crowd.push(snap, time_s, arrival_s)
        if not self.mascots or time_s > self.mascots[-1].time_s:
            self.mascots.append(MascotState(time_s, snap.mascot_pos, snap.mascot_heading, snap.mascot_activity,
                                            snap.mascot_pose, snap.mascot_phase))
        for event in personal.get("events", ()):  # first: a selfie_taken below ends the queue they report
            self._personal_event(event, arrival_s)
        for event in cell.get("events", ()):
            self._cell_event(event, arrival_s)

    def _cell_event(self, raw: dict[str, Any], arrival_s: float) -> None:
        event = read_event(raw)
        if isinstance(event, ChatLine):
            self.chat.append((event.name, event.text))
        elif isinstance(event, Announcement):
            self.banner = (event.text, arrival_s + BANNER_S)
        elif isinstance(event, ReactionCounts):
            self.reactions = dict(event.counts)
        elif isinstance(event, Audience):
            self.audience = event
        elif isinstance(event, SelfieTaken) and event.visitor == self.you:
            self.photos_due.append(PhotoRequest(event.mascot, event.t, tuple(event.visible), self.you))
            self.photographed.add(event.mascot)
            self.selfie = None
        elif isinstance(event, SceneChanged) and event.version > self.scene_version:
            self.scene_due = event.version  # the app fetches the text with a `scene` request
            self.toast = ("the show's timeline was updated by the host", arrival_s + TOAST_S)
        elif isinstance(event, DropChanged):
            state = "open" if event.open else "closed"
            self.toast = (f"voucher drop {event.entitlement} is {state}", arrival_s + TOAST_S)
        elif isinstance(event, cm.PollState):
            self.polls.opened(event, arrival_s)
        elif isinstance(event, cm.PollResultsEvent):
            self.polls.results(event, arrival_s)
        elif isinstance(event, (cm.ChallengePhase, cm.FeaturedEvent)):
            self._notice(self.community.receive(event), arrival_s)

    def _personal_event(self, raw: dict[str, Any], arrival_s: float) -> None:
        event = read_event(raw)
        if isinstance(event, SelfieQueue):
            self.selfie = SelfieStatus(event.mascot, event.position, event.size)
        elif isinstance(event, SelfieLeft):
            self.selfie = None
            self.toast = (f"left the selfie queue: {event.reason}", arrival_s + TOAST_S)
        elif isinstance(event, Awarded):
            self.awards.append(event.model_dump())
            self.toast = (f"awarded: {event.name}", arrival_s + TOAST_S)
        elif isinstance(event, cm.PollState):
            self.polls.opened(event, arrival_s)
        elif isinstance(event, cm.PollAnswered):
            self.polls.answered(event)
        elif isinstance(event, (cm.EntryModerated, cm.MembershipChanged, cm.TierReached)):
            self._notice(self.community.receive(event), arrival_s)

    def _notice(self, text: str | None, arrival_s: float) -> None:
        if text:
            self.toast = (text, arrival_s + TOAST_S)

    # ---- reading --------------------------------------------------------------------------
    def me(self) -> NDArray[np.float32] | None:
        """The visitor's own avatar position (metres) as the newest frames put it, if it has come."""
        if self.crowd is None:
            return None
        where = self.crowd.copy.where(self.you)  # one avatar looked up, not the whole crowd sorted each frame
        return None if where is None else where.astype(np.float32)

    def mascots_at(self, t: float) -> MascotState | None:
        """Mascots at tick-clock time ``t``, interpolated between the two ticks around it."""
        if not self.mascots:
            return None
        frames = self.mascots
        if t >= frames[-1].time_s or len(frames) == 1:
            return frames[-1]
        if t <= frames[0].time_s:
            return frames[0]
        k = next(i for i in range(1, len(frames)) if frames[i].time_s > t)  # at most 8 frames held
        a, b = frames[k - 1], frames[k]
        w = (t - a.time_s) / (b.time_s - a.time_s)
        turn = (b.heading - a.heading + np.pi) % (2 * np.pi) - np.pi
        return MascotState(t, a.pos + (b.pos - a.pos) * w, a.heading + turn * w, b.activity, b.pose,
                           (a.phase + ((b.phase - a.phase) % 1.0) * w) % 1.0)

    def nearest_selfie_session(self) -> tuple[int, float] | None:
        """The nearest mascot holding a selfie session, anywhere, and its distance from the visitor (metres)."""
        me = self.me()
        if me is None or not self.mascots:
            return None
        m = self.mascots[-1]
        d = np.hypot(*(m.pos - me).T)
        d[m.activity != Activity.SELFIE] = np.inf
        if not d.size or not np.isfinite(d.min()):
            return None
        k = int(np.argmin(d))
        return k, float(d[k])

    def nearest_selfie_mascot(self, within_m: float = 7.0) -> int | None:
        """Index of the nearest mascot holding a selfie session within ``within_m`` of the visitor."""
        found = self.nearest_selfie_session()
        return found[0] if found is not None and found[1] <= within_m else None

    def banner_text(self, now_s: float) -> str:
        """The announcement to show now: a host's for a while, else the timeline's."""
        if self.banner is not None and now_s < self.banner[1]:
            return self.banner[0]
        return str(self.show.get("announce") or "")

    def toast_text(self, now_s: float) -> str:
        """A short notice (award, error, queue change) while it is fresh."""
        return self.toast[0] if self.toast is not None and now_s < self.toast[1] else ""

    def look_caption(self) -> str:
        """The current look's name, and the music mark when it says something else (for the caption line)."""
        return look_caption(self.scene, self.show)
