"""The visitor's on-screen interface (DirectGUI): status line, announcement banner, look and
music caption, camera mode, notices, chat, reactions bar, selfie button with queue position,
the wallet panel with redeem buttons, and the last selfie's thumbnail.

The HUD only draws what :class:`showroom.client.state.ClientState` holds and calls back
into the app (``on_*`` callables) for anything that sends a message.
"""

from __future__ import annotations

from collections.abc import Callable

from direct.gui.DirectGui import DirectButton, DirectEntry, DirectFrame, OnscreenImage
from direct.gui.OnscreenText import OnscreenText
from panda3d.core import ClockObject, NodePath, TextNode, Texture, TransparencyAttrib

from showroom.client.hud_text import (
    WALLET_MAX_ROWS,
    WALLET_ROW_H,
    reaction_total,
    short_holder,
    wallet_label,
    wallet_panel_bottom,
)
from showroom.client.wallet import WalletRow
from showroom.protocol.codes import REACTIONS

PANEL = (0.06, 0.06, 0.09, 0.82)
BACKING = (0.03, 0.03, 0.05, 0.6)
BANNER_HALF_W = 0.8
"""The banner stays left of the community button's left edge in a 16:9 window."""
BANNER_SCALE = 0.045
BANNER_ROW_H = BANNER_SCALE * 1.2
CAPTION_Y = -0.24
""""Look and music" caption, under the top row (lower still under a banner)."""
GOLD = (0.95, 0.78, 0.3, 1)
WHITE = (1, 1, 1, 1)
MAX_WALLET_ROWS = WALLET_MAX_ROWS
CHAT_HINT = "Enter: chat"
RIGHT_MARGIN = -0.05
"""Right-corner elements end this far from the window's right edge (aspect2d units)."""


def _text(parent: NodePath, pos: tuple[float, float], scale: float, align: int = TextNode.ALeft,
          fg: tuple = WHITE, wordwrap: float | None = None) -> OnscreenText:
    return OnscreenText(parent=parent, text="", pos=pos, scale=scale, fg=fg, align=align, mayChange=True,
                        shadow=(0, 0, 0, 0.9), wordwrap=wordwrap)


def _backed(text: OnscreenText) -> None:
    """Give a text a dark card, so whatever the venue shows behind it (a lit sign, the runway) it reads."""
    node = text.textNode
    node.setCardColor(*BACKING)
    node.setCardAsMargin(0.4, 0.4, 0.22, 0.12)


def _place(text: OnscreenText, y: float) -> None:
    """Move a text up or down (only when it moves: the text's transform is rebuilt)."""
    x, old = text.getTextPos()
    if abs(old - y) > 1e-6:
        text.setTextPos(x, y)


def _set(text: OnscreenText, value: str) -> None:
    if text.getText() != value:
        text.setText(value)


class Hud:
    """Every on-screen element; :meth:`refresh` redraws them from plain values once per frame."""

    def __init__(self, aspect2d: NodePath, a2d: dict[str, NodePath], *, on_selfie: Callable[[], None],
                 on_leave_queue: Callable[[], None], on_wallet: Callable[[], None],
                 on_redeem: Callable[[int], None], on_chat: Callable[[str], None],
                 on_react: Callable[[int], None], on_community: Callable[[], None] | None = None) -> None:
        self.on_redeem = on_redeem
        self.on_chat = on_chat
        self.typing_elsewhere: list[Callable[[], bool]] = []
        """Other text boxes (the community panel's invite code): while one has the keyboard, keys are not moves."""
        top, bottom = a2d["top_left"], a2d["bottom_left"]
        right_top, right_bottom = a2d["top_right"], a2d["bottom_right"]
        self.status = _text(top, (0.05, -0.07), 0.045)
        _backed(self.status)
        self.banner_frame = DirectFrame(parent=a2d["top_center"], frameColor=(0.45, 0.08, 0.25, 0.88),
                                        frameSize=(-BANNER_HALF_W, BANNER_HALF_W, -0.26, -0.16))
        """Under the top row (status line, wallet and community buttons), between them and the
        camera mode; as many rows tall as the announcement needs."""
        self.banner = _text(self.banner_frame, (0, -0.225), BANNER_SCALE, TextNode.ACenter,
                            wordwrap=(2 * BANNER_HALF_W - 0.08) / BANNER_SCALE)
        self._banner_rows = 1
        self.caption = _text(a2d["top_center"], (0, CAPTION_Y), 0.06, TextNode.ACenter, fg=GOLD)
        _backed(self.caption)
        self.camera_mode = _text(right_top, (-0.05, -0.23), 0.04, TextNode.ARight, fg=(0.8, 0.85, 0.95, 1))
        """Below the wallet and community buttons, above their panels, right of the banner."""
        self.toast = _text(a2d["bottom_center"], (0, 0.42), 0.05, TextNode.ACenter, fg=(0.7, 1, 0.8, 1))
        self.chat_lines = _text(bottom, (0.05, 0.52), 0.038, wordwrap=34)
        self.chat_entry = DirectEntry(parent=bottom, pos=(0.05, 0, 0.17), scale=0.045, width=26,
                                      initialText="", numLines=1, focus=0, command=self._chat,
                                      frameColor=(0.1, 0.1, 0.14, 0.85), text_fg=WHITE,
                                      focusInCommand=self._clear_hint)
        self.chat_hint = _text(bottom, (0.06, 0.175), 0.04, fg=(0.6, 0.6, 0.7, 1))
        self.chat_hint.setText(CHAT_HINT)
        self._sent_frame = -1
        """The frame a chat line was sent in: that frame's Enter must not open the box again."""
        self.reactions = []
        self.reaction_totals = []
        """Above each reaction button: how many of it the whole event has sent (from the ``audience`` event)."""
        for i, name in enumerate(REACTIONS):
            b = DirectButton(parent=a2d["bottom_center"], text=f"{i + 1} {name}", scale=0.04,
                             pos=(-0.75 + i * 0.3, 0, 0.06), command=on_react, extraArgs=[i],
                             frameColor=(0.12, 0.12, 0.18, 0.85), text_fg=WHITE, pad=(0.3, 0.25))
            self.reactions.append(b)
            total = _text(a2d["bottom_center"], (-0.75 + i * 0.3, 0.118), 0.032, TextNode.ACenter,
                          fg=(0.85, 0.85, 0.95, 1))
            _backed(total)  # readable over the lit runway too
            total.hide()
            self.reaction_totals.append(total)
        self.selfie = DirectButton(parent=right_bottom, text="Ask for a selfie", scale=0.05, pos=(-0.45, 0, 0.3),
                                   command=on_selfie, frameColor=(0.85, 0.35, 0.55, 0.95), text_fg=WHITE,
                                   pad=(0.4, 0.3))
        self.leave = DirectButton(parent=right_bottom, text="Leave queue (L)", scale=0.04, pos=(-0.45, 0, 0.14),
                                  command=on_leave_queue, frameColor=(0.2, 0.2, 0.25, 0.9), text_fg=WHITE,
                                  pad=(0.3, 0.2))
        self.leave.setX(RIGHT_MARGIN - self.leave.getBounds()[1] * self.leave.getScale()[0])
        self.wallet_button = DirectButton(parent=right_top, text="Wallet", scale=0.05, pos=(-0.2, 0, -0.1),
                                          command=on_wallet, frameColor=(0.2, 0.17, 0.05, 0.9), text_fg=GOLD,
                                          pad=(0.3, 0.25))
        self.community_button = DirectButton(parent=right_top, text="Community (C)", scale=0.05, pos=(-0.72, 0, -0.1),
                                             command=on_community, frameColor=(0.22, 0.12, 0.3, 0.9),
                                             text_fg=(0.92, 0.85, 1, 1), pad=(0.3, 0.25))
        if on_community is None:
            self.community_button.hide()
        self.panel = DirectFrame(parent=right_top, frameColor=PANEL, frameSize=(-1.25, -0.02, -1.4, -0.33))
        self.panel_title = _text(self.panel, (-1.2, -0.41), 0.055, fg=GOLD)
        self.panel_sub = _text(self.panel, (-1.2, -0.46), 0.032, fg=(0.75, 0.75, 0.8, 1))
        self.rows: list[tuple[OnscreenText, OnscreenText, DirectButton]] = []
        for r in range(MAX_WALLET_ROWS):
            y = -0.55 - r * WALLET_ROW_H
            title = _text(self.panel, (-1.2, y), 0.038, wordwrap=22)
            detail = _text(self.panel, (-1.2, y - 0.043), 0.032, fg=(0.75, 0.85, 0.95, 1))
            button = DirectButton(parent=self.panel, text="Redeem", scale=0.035, pos=(-0.14, 0, y - 0.02),
                                  frameColor=(0.15, 0.45, 0.25, 0.95), text_fg=WHITE, command=self._redeem,
                                  extraArgs=[-1], pad=(0.3, 0.2))
            button.hide()  # until a row is redeemable: an empty wallet shows no buttons, even for a frame
            self.rows.append((title, detail, button))
        self.panel.hide()
        self.thumb_frame = DirectFrame(parent=right_bottom, frameColor=(1, 1, 1, 0.95),
                                       frameSize=(-0.41, 0.01, -0.01, 0.32), pos=(-0.05, 0, 0.45))
        self.thumb: OnscreenImage | None = None
        self.thumb_label = _text(self.thumb_frame, (-0.2, 0.34), 0.032, TextNode.ACenter, fg=WHITE)
        self.thumb_frame.hide()
        self._rows_shown: list[WalletRow] = []

    # ---- callbacks -----------------------------------------------------------------------
    def _chat(self, text: str) -> None:
        text = text.strip()
        if text:
            self.on_chat(text)
        self.chat_entry.enterText("")
        self.release_keyboard()
        self._sent_frame = ClockObject.getGlobalClock().getFrameCount()

    def _clear_hint(self) -> None:
        self.chat_hint.setText("")

    def _redeem(self, seq: int) -> None:
        if seq >= 0:
            self.on_redeem(seq)

    @property
    def typing(self) -> bool:
        """Whether the chat box (or another text box) has the keyboard (so keys are not movement)."""
        return bool(self.chat_entry["focus"]) or any(typing() for typing in self.typing_elsewhere)

    def focus_chat(self) -> None:
        """Give the keyboard to the chat box (Enter), unless that Enter just sent a line from it."""
        if self.typing or ClockObject.getGlobalClock().getFrameCount() == self._sent_frame:
            return
        self.chat_entry["focus"] = 1
        self.chat_hint.setText("")

    def release_keyboard(self) -> None:
        """Take the keyboard from the chat box (after sending, and on Esc); a half-typed line stays."""
        self.chat_entry["focus"] = 0
        if not self.chat_entry.get():
            self.chat_hint.setText(CHAT_HINT)

    # ---- drawing --------------------------------------------------------------------------
    def refresh(self, *, status: str, banner: str, caption: str, toast: str, chat: list[tuple[str, str]],
                selfie_label: str | None, in_queue: bool, wallet_count: int, camera: str = "",
                reaction_totals: dict[str, int] | None = None) -> None:
        """Redraw the per-frame texts and buttons (a text is rebuilt only when it changed)."""
        _set(self.status, status)
        for name, label in zip(REACTIONS, self.reaction_totals):
            shown = reaction_total((reaction_totals or {}).get(name, 0))
            _set(label, shown)
            if label.isHidden() == bool(shown):  # shown only once the event has sent some
                label.show() if shown else label.hide()
        _set(self.camera_mode, camera)
        if banner:
            _set(self.banner, banner)
            rows = max(1, self.banner.textNode.getNumRows())
            if rows != self._banner_rows:
                self._banner_rows = rows
                self.banner_frame["frameSize"] = (-BANNER_HALF_W, BANNER_HALF_W,
                                                  -0.26 - (rows - 1) * BANNER_ROW_H, -0.16)
            self.banner_frame.show()
            _place(self.caption, CAPTION_Y - 0.1 - (rows - 1) * BANNER_ROW_H)
        else:
            self.banner_frame.hide()
            _place(self.caption, CAPTION_Y)
        _set(self.caption, caption)
        _set(self.toast, toast)
        _set(self.chat_lines, "\n".join(f"{name}: {text}" for name, text in chat[-6:]))
        if selfie_label:
            if self.selfie["text"] != selfie_label:
                self.selfie["text"] = selfie_label
                self.selfie.resetFrameSize()
                right = self.selfie.getBounds()[1]  # keep its right edge inside the window, whatever the length
                self.selfie.setX(RIGHT_MARGIN - right * self.selfie.getScale()[0])
            self.selfie.show()
        else:
            self.selfie.hide()
        self.leave.show() if in_queue else self.leave.hide()
        label = wallet_label(wallet_count)
        if self.wallet_button["text"] != label:
            self.wallet_button["text"] = label
            self.wallet_button.resetFrameSize()

    def toggle_wallet(self, show: bool | None = None) -> bool:
        """Open or close the wallet panel; returns whether it is open."""
        show = self.panel.isHidden() if show is None else show
        self.panel.show() if show else self.panel.hide()
        return show

    def show_wallet(self, rows: list[WalletRow], owner: str) -> None:
        """Fill the wallet panel."""
        self.panel_title.setText(f"Meta-Pass wallet  ({len(rows)})" if rows else "Meta-Pass wallet: empty")
        self.panel_sub.setText(f"holder {short_holder(owner)}  |  verify offline with the event key" if owner else "")
        for (title, detail, button), row in zip(self.rows, rows + [None] * MAX_WALLET_ROWS):
            if row is None:
                title.setText("")
                detail.setText("")
                button.hide()
                continue
            title.setText(row.title)
            detail.setText(f"{row.kind} | {row.status}" + (f" | {row.time_left}" if row.time_left else ""))
            if row.redeemable:
                button["extraArgs"] = [row.seq]
                button.show()
            else:
                button.hide()
        self._rows_shown = rows
        self.panel["frameSize"] = (-1.25, -0.02, wallet_panel_bottom(len(rows)), -0.33)  # as tall as its rows

    def show_photo(self, texture: Texture, label: str) -> None:
        """Show the newest selfie photo as a thumbnail."""
        if self.thumb is not None:
            self.thumb.destroy()
        w, h = texture.getXSize(), texture.getYSize()
        aspect = w / h if h else 1.0
        self.thumb = OnscreenImage(parent=self.thumb_frame, image=texture, pos=(-0.2, 0, 0.155),
                                   scale=(0.15 * aspect, 1, 0.15))
        self.thumb.setTransparency(TransparencyAttrib.MAlpha)
        self.thumb_label.setText(label)
        self.thumb_frame.show()

    def react_flash(self, index: int) -> None:
        """Highlight a reaction button briefly (the reaction itself shows above the avatar)."""
        for i, b in enumerate(self.reactions):
            b["frameColor"] = (0.85, 0.45, 0.2, 0.95) if i == index else (0.12, 0.12, 0.18, 0.85)
