"""The community's part of the client, wired for the app: the panel, the poll overlay, the
featured wall, my name tag with its tier badge, and the actions behind their keys and buttons
(join with an invite code, submit an entry, pick and vote, answer a poll). The tour guide calls
the same actions, so what it does shows on screen as if a person did it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from showroom.client.community_panel import CommunityPanel
from showroom.client.community_text import tier_color, tier_label
from showroom.client.featured import camera_yaw_deg, face_to_world
from showroom.client.featured_wall import FeaturedWallView
from showroom.client.label_view import tag_text
from showroom.client.poll_overlay import PollOverlay
from showroom.client.upload import EntryFileError, check_entry_file
from showroom.protocol import client_messages as msg
from showroom.protocol.limits import PROTOCOL_VERSION

NOTICE_S = 5.0
LOOK_CAMERA = (13.5, 8.0)
"""Camera distance (m) and pitch (degrees) while looking at the featured wall: the whole board in view,
between the captions at the top and the chat at the bottom, over the visitor's head."""
LOOK_AT = (2.0, 2.4)
"""The camera aims this far in front of the wall's middle (m), this high (m)."""
LOOK_LEFT = 0.2
"""...and this share of the wall's width to the viewer's left of its middle, so the board sits right of centre,
clear of the poll overlay and the chat on the left of the screen."""


def entry_title(path: Path) -> str:
    """An entry's title: ``Selfie with <mascot>`` for a selfie photo (from its sidecar), else the file's name."""
    try:
        meta = json.loads(path.with_suffix(".json").read_text())
        return f"Selfie with {meta['mascot_name']}"[:80]
    except (OSError, ValueError, KeyError, TypeError):
        return path.stem.replace("-", " ").replace("_", " ")[:80] or "My entry"


class CommunityUi:
    """Owns the community views of a :class:`showroom.client.app.ClientApp` and carries out their actions."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.panel = CommunityPanel(app.a2dTopRight, on_join=self.join, on_submit=self.submit, on_pick=self.pick,
                                    on_vote=self.vote)
        self.overlay = PollOverlay(app.a2dTopLeft, on_answer=self.answer_poll, on_close=self.dismiss_poll)
        app.hud.typing_elsewhere.append(lambda: self.panel.typing)
        self.wall: FeaturedWallView | None = None
        self.last_photo: Path | None = None
        self.rejoined = False
        self.invited = False
        self.camera_before: tuple[float, float, float, str, tuple] | None = None

    # ---- the world ------------------------------------------------------------------------
    def build(self, scene: Any, render: Any) -> None:
        """(Re)build the wall (when the scene has one and the event a community)."""
        if self.wall is not None:
            self.wall.root.removeNode()
        wall = scene.venue.featured_wall
        self.wall = FeaturedWallView(wall, render) if wall is not None and scene.event.community else None

    # ---- actions --------------------------------------------------------------------------
    def notice(self, text: str) -> None:
        """A short notice in the toast line."""
        self.app.state.toast = (text, time.monotonic() + NOTICE_S)

    def toggle_panel(self, show: bool | None = None) -> None:
        """Open or close the community panel (the wallet closes: they share the corner)."""
        if self.panel.toggle(show):
            self.app.wallet_open = self.app.hud.toggle_wallet(False)
            self.app.state.community.refresh()

    def join(self, code: str) -> None:
        """Join the event's community with an invite code (the panel's Join, ``--invite``)."""
        why = self.app.state.community.join(code)
        if why:
            self.notice(why)

    def submit(self) -> None:
        """Enter the ``--entry`` file, else my last selfie photo, in the challenge taking entries."""
        path = self.entry_path()
        if path is None:
            self.notice("no selfie photo yet: take one with a mascot (P), or start with --entry FILE")
            return
        try:
            data = path.read_bytes()
            check_entry_file(data, path.name)
        except (OSError, EntryFileError) as exc:
            self.notice(str(exc))
            return
        why = self.app.state.community.submit(data, entry_title(path))
        self.notice(why or f"uploading {path.name}")

    def entry_path(self) -> Path | None:
        """What the submit button sends: the ``--entry`` file, else the newest selfie photo of this event."""
        if self.app.options.entry_file:
            return Path(self.app.options.entry_file)
        if self.last_photo is not None and self.last_photo.exists():
            return self.last_photo
        scene = self.app.state.scene
        folder = self.app.photos_folder()
        if scene is None or not (folder / scene.event.id).is_dir():
            return None
        photos = sorted((folder / scene.event.id).glob("selfie-*.png"), key=lambda p: p.stat().st_mtime)
        return photos[-1] if photos else None

    def submit_what(self) -> str:
        """The submit button's words."""
        return Path(self.app.options.entry_file).name if self.app.options.entry_file else "your last selfie"

    def pick(self, entry: int) -> None:
        """Pick or unpick a gallery entry for my ballot."""
        if entry >= 0:
            self.app.state.community.toggle(entry)

    def vote(self) -> None:
        """Cast my ballot."""
        why = self.app.state.community.cast()
        if why:
            self.notice(why)

    def number_key(self, index: int) -> None:
        """A number key: answers the waiting poll, else reacts (1-6)."""
        from showroom.protocol.codes import REACTIONS

        if self.app.state.polls.takes_keys:
            self.answer_poll(index)
        elif index < len(REACTIONS):
            self.app.react(index)

    def answer_poll(self, index: int) -> None:
        """Answer the poll on screen with option ``index`` (a click, a number key, the tour guide): sent once."""
        answer = self.app.state.polls.answer(index)
        if answer is not None:
            self.app.conn.send(answer)

    def dismiss_poll(self) -> None:
        """Close the poll overlay."""
        self.app.state.polls.dismiss()

    def look_at_wall(self, on: bool) -> None:
        """Turn the camera to face the featured wall (the tour guide stands before it), or back."""
        cam = self.app.cam_ctl
        if on and self.wall is not None:
            if self.camera_before is None:
                self.camera_before = (cam.yaw_deg, cam.pitch_deg, cam.distance_m, cam.follow, cam.target)
            cam.follow_target("free")
            cam.target = face_to_world(self.wall.wall, -LOOK_LEFT * self.wall.wall.width, LOOK_AT[1], LOOK_AT[0])
            cam.yaw_deg = camera_yaw_deg(self.wall.wall)
            cam.distance_m, cam.pitch_deg = LOOK_CAMERA
        elif not on and self.camera_before is not None:
            cam.yaw_deg, cam.pitch_deg, cam.distance_m, follow, cam.target = self.camera_before
            cam.follow_target(follow)
            self.camera_before = None

    def carry_out(self, action: Any) -> None:
        """Carry out a tour guide's community action through the panel's and the overlay's own handlers."""
        if action.kind == "panel":
            self.toggle_panel(action.name == "open")
        elif action.kind == "type_invite":
            self.panel.type_invite(action.name)
        elif action.kind == "join":
            self.panel._join_click()
        elif action.kind == "submit":
            self.submit()
        elif action.kind == "pick":
            self.pick(action.seq)
        elif action.kind == "vote":
            self.vote()
        elif action.kind == "poll":
            self.answer_poll(action.seq)
        elif action.kind in ("look_wall", "look_done"):
            self.look_at_wall(action.kind == "look_wall")

    # ---- each frame -----------------------------------------------------------------------
    def frame(self, now: float) -> None:
        """Send what is due, join with the invite code once, and redraw the views."""
        app, st = self.app, self.app.state
        opts = app.options
        if st.join_refused is not None and st.join_refused.code == "members_only" and opts.invite and not self.rejoined:
            self.rejoined = True  # a members-only show: the invite code makes this wallet a member, then admits it
            app.conn.send(msg.Join(v=PROTOCOL_VERSION, name=opts.name, role="visitor", token="",
                                   wallet=app.conn.wallet, invite=opts.invite))
        book = st.community
        if opts.invite and not self.invited and app.autopilot is None and book.state is not None:
            self.invited = True
            if not book.member:
                self.join(opts.invite)
        for message in book.due(now):
            app.conn.send(message)
        st.polls.tick(now)
        self.overlay.show(st.polls.current)
        if self.panel.visible:
            self.panel.refresh(book, self.submit_what())
        if self.wall is not None:
            if book.unserved:  # the community's features are off on this server: no wall
                self.wall.root.removeNode()
                self.wall = None
            else:
                self.wall.show(book.featured, book.images)
        app.labels.me.set(tag_text(opts.name), tier_label(book), tier_color(book))
        app.my_tag_shown = self.camera_before is None  # the tag would hang over the wall's labels
