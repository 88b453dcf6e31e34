"""The community panel (DirectGUI), in the top-right corner where the wallet opens (one of the two
at a time): my community, membership, tier, points and streak, the next residency show, an invite
code box, and the challenge: its phase, my entry and its moderation, a submit button, the gallery
of approved entries to pick for my ballot, and the results once featured.

It draws :func:`showroom.client.community_text.panel_text` and the book's images, and calls back
into the app (``on_join(code)``, ``on_submit()``, ``on_pick(entry)``, ``on_vote()``).
"""

from __future__ import annotations

from collections.abc import Callable

from direct.gui.DirectGui import DirectButton, DirectEntry, DirectFrame, OnscreenImage
from direct.gui.OnscreenText import OnscreenText
from panda3d.core import NodePath, TextNode, Texture

from showroom.client.community import CommunityBook
from showroom.client.community_text import ballot_mark, panel_text
from showroom.client.featured import short
from showroom.client.featured_wall import picture_texture

PANEL = (0.06, 0.06, 0.09, 0.86)
GOLD = (0.95, 0.78, 0.3, 1)
SOFT = (0.78, 0.8, 0.88, 1)
X0, X1 = -1.25, -0.02
TOP, BOTTOM = -0.33, -1.2
"""Below the wallet and community buttons, above the selfie thumbnail (top-right corner units)."""
LEFT = X0 + 0.05
THUMBS = 6
THUMB_W, THUMB_H = 0.16, 0.12
"""Six thumbnails and their gaps fit inside the panel (LEFT to X1)."""
BUTTON = {"text_fg": (1, 1, 1, 1), "pad": (0.3, 0.2), "scale": 0.036}
WRAP = 32
"""Characters a line of small text holds before it wraps (about 1.1 units at scale 0.034)."""
RESULTS = 5
LINE = 0.052


def _text(parent: NodePath, scale: float, fg: tuple = (1, 1, 1, 1), wrap: float | None = None) -> OnscreenText:
    return OnscreenText(parent=parent, text="", pos=(LEFT, 0), scale=scale, fg=fg, align=TextNode.ALeft,
                        mayChange=True, wordwrap=wrap)


class CommunityPanel:
    """The panel's widgets; :meth:`refresh` lays out what applies now, top to bottom."""

    def __init__(self, corner: NodePath, *, on_join: Callable[[str], None], on_submit: Callable[[], None],
                 on_pick: Callable[[int], None], on_vote: Callable[[], None]) -> None:
        self.on_join = on_join
        self.frame = DirectFrame(parent=corner, frameColor=PANEL, frameSize=(X0, X1, BOTTOM, TOP), state="normal")
        f = self.frame
        self.title = _text(f, 0.05, GOLD)
        self.membership = _text(f, 0.034, SOFT)
        self.loyalty = _text(f, 0.038, GOLD)
        self.residency = _text(f, 0.034, SOFT)
        self.invite_label = _text(f, 0.034)
        self.invite_label.setText("Invite code:")
        self.invite = DirectEntry(parent=f, scale=0.036, width=12, numLines=1, focus=0, initialText="",
                                  command=self._join, frameColor=(0.15, 0.15, 0.2, 0.95), text_fg=(1, 1, 1, 1))
        self.join = DirectButton(parent=f, text="Join", command=self._join_click,
                                 frameColor=(0.2, 0.5, 0.3, 0.95), **BUTTON)
        self.challenge = _text(f, 0.042, (1, 1, 1, 1), wrap=26)
        self.phase = _text(f, 0.034, SOFT)
        self.brief = _text(f, 0.032, (0.9, 0.86, 0.78, 1), wrap=WRAP + 2)
        self.entry = _text(f, 0.034, (0.75, 1, 0.85, 1), wrap=WRAP)
        self.submit = DirectButton(parent=f, text="Submit", command=on_submit, frameColor=(0.55, 0.3, 0.6, 0.95),
                                   **BUTTON)
        self.hint = _text(f, 0.034, SOFT, wrap=WRAP)
        self.thumbs: list[tuple[DirectButton, OnscreenText, OnscreenText]] = []
        for k in range(THUMBS):
            button = DirectButton(parent=f, frameSize=(0, THUMB_W + 0.02, -THUMB_H - 0.02, 0), relief=1,
                                  frameColor=(0.3, 0.3, 0.36, 1), command=on_pick, extraArgs=[-1])
            label = OnscreenText(parent=f, text="", scale=0.028, fg=(1, 1, 1, 1), align=TextNode.ACenter,
                                 mayChange=True)
            mark = OnscreenText(parent=f, text="", scale=0.055, fg=(0.1, 0.08, 0.02, 1), bg=GOLD,
                                align=TextNode.ACenter, mayChange=True)
            self.thumbs.append((button, label, mark))
        self.images: dict[int, OnscreenImage] = {}
        self.textures: dict[int, Texture] = {}
        self.vote = DirectButton(parent=f, text="Vote", command=on_vote, frameColor=(0.2, 0.45, 0.75, 0.95), **BUTTON)
        self.results = [_text(f, 0.036, (1, 1, 1, 1)) for _ in range(RESULTS)]
        self.layout: tuple = ()
        self.gallery_y = 0.0
        self.label_fg: dict[int, tuple] = {}
        self.frame.hide()

    # ---- typing ---------------------------------------------------------------------------
    @property
    def typing(self) -> bool:
        """Whether the invite box has the keyboard."""
        return bool(self.invite["focus"])

    def release_keyboard(self) -> None:
        """Give the keyboard back to the venue."""
        self.invite["focus"] = 0

    def _join(self, text: str) -> None:
        self.release_keyboard()
        self.on_join(text)
        self.invite.enterText("")

    def _join_click(self) -> None:
        self._join(self.invite.get())

    def type_invite(self, code: str) -> None:
        """Put a code in the invite box (the tour guide types the one it was given)."""
        self.invite.enterText(code)

    # ---- showing --------------------------------------------------------------------------
    @property
    def visible(self) -> bool:
        """Whether the panel is open."""
        return not self.frame.isHidden()

    def toggle(self, show: bool | None = None) -> bool:
        """Open or close the panel; returns whether it is open."""
        show = self.frame.isHidden() if show is None else show
        if show:
            self.frame.show()
        else:
            self.release_keyboard()
            self.frame.hide()
        return show

    def refresh(self, book: CommunityBook, submit_what: str) -> None:
        """Redraw from the book (texts only where they changed; widgets placed when the set shown changes)."""
        text = panel_text(book, submit_what)
        voting = book.challenge is not None and book.challenge.phase == "voting"
        gallery = [] if text.results else book.votable() if voting \
            else [e for e in (book.gallery.entries if book.gallery else []) if e.status == "approved"]
        gallery = gallery[:THUMBS]
        def lines(value: str) -> int:  # a line holds about twice WRAP characters
            return 1 + len(value) // (WRAP * 2)
        rows: list[tuple[object, float]] = [(self.title, 0.075), (self.membership, LINE)]
        for widget, value in ((self.loyalty, text.loyalty), (self.residency, text.residency)):
            if value:
                rows.append((widget, LINE + 0.004))
        if text.can_join:
            rows.append(("invite", 0.09))
        if text.challenge:
            rows += [("gap", 0.025), (self.challenge, 0.065 * lines(text.challenge) - 0.005), (self.phase, LINE)]
        if text.brief:
            rows.append((self.brief, 0.047 * lines(text.brief) + 0.01))
        if text.entry:
            rows.append((self.entry, LINE * lines(text.entry)))
        if text.can_submit:
            rows.append((self.submit, 0.08))
        if text.gallery_hint:
            rows.append((self.hint, LINE * lines(text.gallery_hint)))
        if gallery:
            rows.append(("gallery", THUMB_H + 0.1))
        if text.can_vote:
            rows.append((self.vote, 0.08))
        for k, line in enumerate(text.results[:RESULTS]):
            rows.append((self.results[k], LINE))
        for widget, value in ((self.title, text.title), (self.membership, text.membership),
                              (self.loyalty, text.loyalty), (self.residency, text.residency),
                              (self.challenge, text.challenge), (self.phase, text.phase), (self.brief, text.brief),
                              (self.entry, text.entry),
                              (self.hint, text.gallery_hint),
                              *zip(self.results, text.results + [""] * RESULTS)):
            self._set(widget, value)
        if text.can_submit and self.submit["text"] != f"Submit {submit_what}":
            self.submit["text"] = f"Submit {submit_what}"
            self.submit.resetFrameSize()
        self._place(rows)
        self._gallery(book, gallery)

    @staticmethod
    def _set(widget: OnscreenText, value: str) -> None:
        if widget.getText() != value:
            widget.setText(value)

    def _place(self, rows: list[tuple[object, float]]) -> None:
        key = tuple((id(w), h) for w, h in rows)
        if key == self.layout:
            return
        self.layout = key
        placed = {id(w) for w, _ in rows}
        inviting = "invite" in [w for w, _ in rows]
        for widget in (self.title, self.membership, self.loyalty, self.residency, self.challenge, self.phase,
                       self.brief, self.entry, self.submit, self.hint, self.vote, *self.results):
            widget.show() if id(widget) in placed else widget.hide()
        for widget in (self.invite_label, self.invite, self.join):
            widget.show() if inviting else widget.hide()
        y = TOP - 0.07
        for widget, height in rows:
            if widget == "invite":
                self.invite_label.setPos(LEFT, y - 0.015)
                self.invite.setPos(LEFT + 0.25, 0, y - 0.015)
                self.join.setPos(LEFT + 0.82, 0, y - 0.012)
            elif widget == "gallery":
                self.gallery_y = y + 0.035
            elif isinstance(widget, DirectButton):
                widget.setPos(LEFT + 0.12 + 0.05 * (widget is self.vote), 0, y - 0.01)
            elif isinstance(widget, OnscreenText):
                widget.setPos(LEFT, y)
            y -= height
        self.frame["frameSize"] = (X0, X1, max(y + 0.02, BOTTOM), TOP)

    def _gallery(self, book: CommunityBook, entries: list) -> None:
        y = self.gallery_y
        for k, (button, label, mark) in enumerate(self.thumbs):
            if k >= len(entries):
                button.hide()
                label.hide()
                mark.hide()
                continue
            e = entries[k]
            x = LEFT + k * (THUMB_W + 0.03)
            button.setPos(x, 0, y)
            button["extraArgs"] = [e.entry]
            picked = ballot_mark(book, e.entry)
            color = GOLD if picked else (0.3, 0.3, 0.36, 1)
            if tuple(button["frameColor"]) != color:
                button["frameColor"] = color
            button.show()
            label.setPos(x + THUMB_W / 2 + 0.01, y - THUMB_H - 0.05)
            self._set(label, ("+ " if picked == "yes" else "") + short(e.title, 14))
            fg = GOLD if picked else (1, 1, 1, 1)
            if self.label_fg.get(k) != fg:
                self.label_fg[k] = fg
                label.setFg(fg)
            label.show()
            mark.setPos(x + 0.04, y - 0.06)
            self._set(mark, picked if picked != "yes" else "")
            mark.show() if picked and picked != "yes" else mark.hide()
            self._thumb(book, e.entry, button)

    def _thumb(self, book: CommunityBook, entry: int, button: DirectButton) -> None:
        image = self.images.get(entry)
        if image is not None and image.getParent() == button:
            return
        if entry not in self.textures:
            data = book.images.get(entry)
            made = picture_texture(data, f"thumb-{entry}") if data else None
            if made is None:
                return
            self.textures[entry] = made[0]
        for child in button.getChildren():
            if child.getName().startswith("thumb-"):
                child.detachNode()
        image = OnscreenImage(parent=button, image=self.textures[entry],
                              pos=(0.01 + THUMB_W / 2, 0, -0.01 - THUMB_H / 2), scale=(THUMB_W / 2, 1, THUMB_H / 2))
        image.setName(f"thumb-{entry}")
        self.images[entry] = image
