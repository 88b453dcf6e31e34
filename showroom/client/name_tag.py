"""My own name over my avatar, with my community tier's badge beside it (``Ada  [Gold]``): two
small cards that always face the camera. Two nodes, moved once per frame."""

from __future__ import annotations

from panda3d.core import NodePath, TextNode, TransparencyAttrib

HEIGHT_M = 2.2
"""Above the avatar's head (1.8 m) and its reaction bubble's foot."""
SCALE = 0.3
GAP = 0.8


def _card(parent: NodePath, name: str, fg: tuple, card: tuple) -> tuple[NodePath, TextNode]:
    node = TextNode(name)
    node.setAlign(TextNode.ALeft)
    node.setTextColor(*fg)
    node.setCardColor(*card)
    node.setCardAsMargin(0.3, 0.3, 0.15, 0.1)
    np_ = parent.attachNewNode(node)
    return np_, node


class NameTag:
    """The visitor's name tag and tier badge."""

    def __init__(self, parent: NodePath, name: str) -> None:
        self.root = parent.attachNewNode("my-name-tag")
        self.root.setBillboardPointEye()
        self.root.setLightOff()
        self.root.setScale(SCALE)
        self.root.setBin("fixed", 6)
        self.root.setDepthWrite(False)
        self.root.setTransparency(TransparencyAttrib.MAlpha)
        self.name_np, self.name = _card(self.root, "me", (1, 1, 1, 1), (0.1, 0.1, 0.14, 0.85))
        self.badge_np, self.badge = _card(self.root, "tier", (1, 1, 1, 1), (0.85, 0.66, 0.12, 0.95))
        self.shown: tuple = ()
        self.set(name, "", (0, 0, 0, 0))
        self.root.hide()

    def set(self, name: str, badge: str, color: tuple[float, float, float, float]) -> None:
        """Show ``name`` and, when ``badge`` is not empty, a badge in ``color`` beside it."""
        if (name, badge, color) == self.shown:
            return
        self.shown = (name, badge, color)
        self.name.setText(name)
        self.badge.setText(badge)
        self.badge.setCardColor(*color)
        light = 0.3 * color[0] + 0.59 * color[1] + 0.11 * color[2] > 0.5
        self.badge.setTextColor(*((0.05, 0.05, 0.08, 1) if light else (1, 0.88, 0.5, 1)))
        wn = self.name.getWidth()
        wb = self.badge.getWidth() if badge else 0.0
        total = wn + (GAP + wb if badge else 0.0)
        self.name_np.setX(-total / 2)
        self.badge_np.setX(-total / 2 + wn + GAP)
        self.badge_np.show() if badge else self.badge_np.hide()

    def place(self, at: tuple[float, float] | None) -> None:
        """Over the avatar standing at ``at`` (metres), hidden when it is not in view."""
        if at is None:
            self.root.hide()
            return
        self.root.setPos(at[0], at[1], HEIGHT_M)
        self.root.show()
