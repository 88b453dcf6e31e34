"""Name tags on the screen: mine (name and community tier badge) and each mascot's.

Tags are flat cards in the 2D overlay, the same readable size at any distance, placed each
frame over the point they label by :func:`showroom.client.labels.layout`, so they never
cover each other or the HUD, and a wall between the camera and a mascot never hides its
name. A handful of nodes, moved once per frame.
"""

from __future__ import annotations

from collections.abc import Sequence

from panda3d.core import NodePath, PGItem, Point2, Point3, TextNode, TransparencyAttrib

from showroom.client.labels import Rect, layout

SCALE = 0.042
"""Tag text height (aspect2d units): the HUD's small text size."""
MARGIN = (0.35, 0.35, 0.2, 0.12)
"""Card margins around the text (left, right, bottom, top), in text heights."""
BADGE_GAP = 0.012
HUD_EVERY = 6
"""Frames between two readings of where the HUD is (it moves when panels open or texts change)."""
MAX_M = 45.0
"""Tags of things further than this from the camera are not drawn."""


def tag_text(name: str) -> str:
    """My tag's text: my name, marked as me (``Ada (you)``; ``You`` when that is the name)."""
    return name if name.strip().lower() == "you" else f"{name} (you)"


def _add(out: list[Rect], lo: Point3, hi: Point3) -> None:
    if hi.x - lo.x > 1e-4 and hi.z - lo.z > 1e-4:
        out.append(Rect(lo.x, lo.z, hi.x, hi.z))


class _Card:
    def __init__(self, parent: NodePath, name: str, fg: tuple, card: tuple) -> None:
        self.text = TextNode(name)
        self.text.setAlign(TextNode.ALeft)
        self.text.setTextColor(*fg)
        self.text.setCardColor(*card)
        self.text.setCardAsMargin(*MARGIN)
        self.text.setShadow(0.05, 0.05)
        self.text.setShadowColor(0, 0, 0, 0.8)
        self.np = parent.attachNewNode(self.text)
        self.np.setScale(SCALE)

    def size(self) -> tuple[float, float]:
        left, right, bottom, top = self.text.getCardActual()
        return ((right - left) * SCALE, (top - bottom) * SCALE)

    def put(self, x0: float, y0: float) -> None:
        """Put the card's lower-left corner at (x0, y0)."""
        left, _, bottom, _ = self.text.getCardActual()
        self.np.setPos(x0 - left * SCALE, 0, y0 - bottom * SCALE)


class ScreenTag:
    """One tag: a name card and, optionally, a badge card beside it."""

    def __init__(self, parent: NodePath, name: str, fg: tuple = (1, 1, 1, 1),
                 card: tuple = (0.08, 0.08, 0.12, 0.85)) -> None:
        self.root = parent.attachNewNode(f"tag-{name}")
        self.root.setTransparency(TransparencyAttrib.MAlpha)
        self.name = _Card(self.root, "name", fg, card)
        self.badge = _Card(self.root, "badge", (1, 1, 1, 1), (0.85, 0.66, 0.12, 0.95))
        self.shown: tuple = ()
        self.set(name)
        self.root.hide()

    def set(self, name: str, badge: str = "", color: tuple[float, float, float, float] = (0, 0, 0, 0)) -> None:
        """Show ``name`` and, when ``badge`` is not empty, a badge in ``color`` beside it."""
        if (name, badge, color) == self.shown:
            return
        self.shown = (name, badge, color)
        self.name.text.setText(name)
        self.badge.text.setText(badge)
        if badge:
            self.badge.text.setCardColor(*color)
            light = 0.3 * color[0] + 0.59 * color[1] + 0.11 * color[2] > 0.5
            self.badge.text.setTextColor(*((0.05, 0.05, 0.08, 1) if light else (1, 0.88, 0.5, 1)))
            self.badge.np.show()
        else:
            self.badge.np.hide()

    def size(self) -> tuple[float, float]:
        w, h = self.name.size()
        if self.shown[1]:
            bw, bh = self.badge.size()
            return (w + BADGE_GAP + bw, max(h, bh))
        return (w, h)

    def move(self, spot: Rect | None) -> None:
        """Put the tag in ``spot`` (from :func:`layout`), or hide it."""
        if spot is None:
            self.root.hide()
            return
        self.name.put(spot.x0, spot.y0)
        if self.shown[1]:
            self.badge.put(spot.x0 + self.name.size()[0] + BADGE_GAP, spot.y0)
        self.root.show()


class ScreenLabels:
    """My tag and the mascots' tags, laid out on the 2D overlay every frame.

    ``base`` is the ShowBase (camera, lens, render, aspect2d); ``hud_roots`` the overlay's
    anchors whose visible children the tags must keep clear of.
    """

    def __init__(self, base: object, hud_roots: Sequence[NodePath]) -> None:
        self.base = base
        self.hud_roots = list(hud_roots)
        self.root = base.aspect2d.attachNewNode("name-tags", -10)  # type: ignore[attr-defined]
        self.me = ScreenTag(self.root, "me", card=(0.1, 0.09, 0.04, 0.88))
        self.mascots: list[ScreenTag] = []
        self.hud: list[Rect] = []
        self.frames = 0

    def set_mascots(self, names: Sequence[str], colors: Sequence[tuple[float, float, float, float]]) -> None:
        """One tag per mascot, in the brand's colour."""
        for tag in self.mascots:
            tag.root.removeNode()
        self.mascots = [ScreenTag(self.root, n, card=c) for n, c in zip(names, colors)]

    def destroy(self) -> None:
        self.root.removeNode()

    def _hud_rects(self) -> list[Rect]:
        rects: list[Rect] = []
        for anchor in self.hud_roots:
            for child in anchor.getChildren():
                self._visible(child, rects)
        return rects

    def _visible(self, node: NodePath, out: list[Rect]) -> None:
        """The rectangles ``node`` shows: its whole bounds, or, when something inside it is hidden
        (a closed panel's rows), its own frame and what its children show."""
        if node.isHidden() or node.isStashed():
            return
        overlay = self.base.aspect2d  # type: ignore[attr-defined]
        if not any(d.isHidden() for d in node.findAllMatches("**")):
            bounds = node.getTightBounds(overlay)
            if bounds is not None:
                _add(out, bounds[0], bounds[1])
            return
        own = node.node()
        if isinstance(own, PGItem):
            left, right, bottom, top = own.getFrame()
            mat = node.getMat(overlay)
            lo = mat.xformPoint(Point3(left, 0, bottom))
            hi = mat.xformPoint(Point3(right, 0, top))
            _add(out, Point3(min(lo.x, hi.x), 0, min(lo.z, hi.z)), Point3(max(lo.x, hi.x), 0, max(lo.z, hi.z)))
        for child in node.getChildren():
            self._visible(child, out)

    def _screen(self, point: tuple[float, float, float] | None) -> tuple[float, float] | None:
        if point is None:
            return None
        base = self.base
        p = base.cam.getRelativePoint(base.render, Point3(*point))  # type: ignore[attr-defined]
        if p.y <= 0.1 or p.length() > MAX_M:
            return None
        film = Point2()
        if not base.camLens.project(p, film):  # type: ignore[attr-defined]
            return None
        aspect = base.getAspectRatio()  # type: ignore[attr-defined]
        return (film.x * aspect, film.y) if aspect >= 1 else (film.x, film.y / aspect)

    def update(self, me: tuple[float, float, float] | None,
               mascots: Sequence[tuple[float, float, float] | None]) -> None:
        """Place my tag over ``me`` and each mascot's over its head point (None: not in view)."""
        if getattr(self.base, "win", None) is None:  # the window is gone (leaving the event)
            return
        if self.frames % HUD_EVERY == 0:
            self.hud = self._hud_rects()
        self.frames += 1
        aspect = self.base.getAspectRatio()  # type: ignore[attr-defined]
        window = Rect(-aspect, -1.0, aspect, 1.0) if aspect >= 1 else Rect(-1.0, -1 / aspect, 1.0, 1 / aspect)
        tags = [self.me] + self.mascots[: len(mascots)]
        anchors = [self._screen(me)] + [self._screen(p) for p in mascots[: len(self.mascots)]]
        spots = layout(anchors, [t.size() for t in tags], self.hud, window)
        for tag, spot in zip(tags, spots):
            tag.move(spot)
        for tag in self.mascots[len(mascots):]:
            tag.move(None)
