"""The live poll overlay (DirectGUI), on the left of the screen between the top captions and the
chat: the question, the options numbered (each a button), result bars for live polls and at
close, and a footer that says what the number keys do and where my answer stands. It draws a
:class:`showroom.client.polls.PollView` and calls back ``on_answer(index)`` and ``on_close()``.
"""

from __future__ import annotations

from collections.abc import Callable

from direct.gui.DirectGui import DirectButton, DirectFrame
from direct.gui.OnscreenText import OnscreenText
from panda3d.core import NodePath, TextNode

from showroom.client.featured import short
from showroom.client.polls import PollView

WIDTH = 1.05
LEFT = 0.04
TOP = -0.36
"""Below the banner and caption at the top (aspect2d units from the top-left corner)."""
SPACE = 0.84
"""Height it may take: down to just above the chat lines."""
ROW_MAX = 0.085
FOOT = 0.033
PANEL = (0.07, 0.06, 0.12, 0.9)
ROW = (0.3, 0.28, 0.45, 0.45)
ROW_CHOSEN = (0.95, 0.55, 0.15, 0.6)
BAR = (0.25, 0.45, 0.9, 0.9)
"""Bars are drawn under the rows, which are see-through, and over the panel."""
GOLD = (0.95, 0.78, 0.3, 1)


class PollOverlay:
    """The overlay's widgets, rebuilt when another poll shows and updated in place otherwise."""

    def __init__(self, corner: NodePath, *, on_answer: Callable[[int], None], on_close: Callable[[], None]) -> None:
        self.corner = corner
        self.on_answer = on_answer
        self.frame = DirectFrame(parent=corner, frameColor=PANEL, frameSize=(LEFT, LEFT + WIDTH, -0.5, TOP),
                                 state="normal")
        self.heading = OnscreenText(parent=self.frame, text="LIVE POLL", pos=(LEFT + 0.04, TOP - 0.055), scale=0.036,
                                    fg=GOLD, align=TextNode.ALeft, mayChange=True)
        self.close = DirectButton(parent=self.frame, text="x", scale=0.04, pos=(LEFT + WIDTH - 0.05, 0, TOP - 0.055),
                                  command=on_close, frameColor=(0.3, 0.3, 0.38, 0.95), text_fg=(1, 1, 1, 1),
                                  pad=(0.25, 0.1))
        self.question = OnscreenText(parent=self.frame, text="", pos=(LEFT + 0.04, TOP - 0.12), scale=0.045,
                                     fg=(1, 1, 1, 1), align=TextNode.ALeft, wordwrap=WIDTH / 0.045 - 2, mayChange=True)
        self.footer = OnscreenText(parent=self.frame, text="", pos=(LEFT + 0.04, -0.5), scale=FOOT,
                                   fg=(0.75, 0.9, 1, 1), align=TextNode.ALeft, wordwrap=(WIDTH - 0.08) / FOOT,
                                   mayChange=True)
        self.rows: list[tuple[DirectButton, DirectFrame, OnscreenText]] = []
        self.poll: str | None = None
        self.drawn: tuple = ()
        self.frame.hide()

    @property
    def visible(self) -> bool:
        """Whether the overlay is on screen."""
        return not self.frame.isHidden()

    def show(self, view: PollView | None) -> None:
        """Draw ``view`` (None hides the overlay); cheap when nothing changed."""
        if view is None:
            if self.visible:
                self.frame.hide()
            self.poll = None
            return
        if view.poll != self.poll:
            self._build(view)
        state = (tuple(view.counts or ()), view.final, view.chosen, view.confirmed, view.refused)
        if state != self.drawn:
            self.drawn = state
            self._update(view)
        if not self.visible:
            self.frame.show()

    def _build(self, view: PollView) -> None:
        for button, bar, count in self.rows:
            button.destroy()
            bar.destroy()
            count.destroy()
        self.rows = []
        self.poll = view.poll
        self.drawn = ()
        n = len(view.options)
        lines = 2 if len(view.question) > WIDTH / 0.045 * 1.6 else 1
        self.question.setText(short(view.question, 120))
        top = TOP - 0.12 - 0.055 * lines
        row_h = min(ROW_MAX, (SPACE - 0.3) / max(n, 1))
        scale = min(0.04, row_h * 0.5)
        for k, option in enumerate(view.options):
            y = top - k * row_h
            key = f"{k + 1}" if k < 9 else " "
            box = (LEFT + 0.03, LEFT + WIDTH - 0.03, y - row_h + 0.008, y)
            button = DirectButton(parent=self.frame, text=f"{key}   {short(option, 40)}", text_align=TextNode.ALeft,
                                  text_scale=scale, text_pos=(LEFT + 0.05, y - row_h * 0.62), text_fg=(1, 1, 1, 1),
                                  frameSize=box, frameColor=ROW, relief=1, command=self.on_answer, extraArgs=[k])
            bar = DirectFrame(parent=self.frame, frameColor=BAR, frameSize=(box[0], box[0], box[2], box[3]))
            bar.reparentTo(self.frame, sort=-1)  # before the rows: under their see-through colour and their text
            count = OnscreenText(parent=self.frame, text="", pos=(LEFT + WIDTH - 0.06, y - row_h * 0.62),
                                 scale=scale * 0.9, fg=(0.9, 0.95, 1, 1), align=TextNode.ARight, mayChange=True)
            self.rows.append((button, bar, count))
        bottom = top - n * row_h - 0.12
        self.footer.setPos(LEFT + 0.04, top - n * row_h - 0.045)
        self.frame["frameSize"] = (LEFT, LEFT + WIDTH, bottom, TOP)

    def _update(self, view: PollView) -> None:
        self.heading.setText("POLL CLOSED: FINAL RESULTS" if view.final else "LIVE POLL")
        shares = view.shares()
        bars = view.bars_shown()
        counts = view.counts or [0] * len(view.options)
        for k, (button, bar, count) in enumerate(self.rows):
            button["frameColor"] = ROW_CHOSEN if view.chosen == k else ROW
            x0, _, y0, y1 = bar["frameSize"]
            width = (LEFT + WIDTH - 0.06 - x0) * shares[k] if bars else 0.0
            bar["frameSize"] = (x0, x0 + width, y0, y1)
            count.setText(f"{counts[k]}  ({shares[k]:.0%})" if bars else "")
            button["state"] = "normal" if view.waiting else "disabled"
        self.footer.setText(view.footer())
