"""The featured wall in the venue: a board (from the scene's ``venue.featured_wall``) on which the
featured entries of the community's latest challenge hang as pictures, each with its rank, title
and author beneath. A handful of nodes, rebuilt only when the featured set or its images change.

The pictures are lit from within (no scene lighting), so they show their own colours however the
show's light cues dim the house.
"""

from __future__ import annotations

from panda3d.core import CardMaker, NodePath, PNMImage, StringStream, TextNode, Texture, TransparencyAttrib

from showroom.client import meshes as mk
from showroom.client.community import Featured
from showroom.client.featured import face_to_world, layout, short
from showroom.scene.venue import FeaturedWall

BOARD = (0.09, 0.08, 0.11, 1)
TRIM = (0.83, 0.68, 0.28, 1)
PLACEHOLDER = (0.22, 0.21, 0.26, 1)
TEXTURE_PX = 512
"""Pictures are scaled to this square power of two (software renderers take nothing else); the card keeps the aspect."""


def picture_texture(jpeg: bytes, name: str) -> tuple[Texture, float] | None:
    """An entry's stored JPEG as a texture and its aspect (width / height), or None when it does not decode."""
    img = PNMImage()
    if not img.read(StringStream(jpeg), "entry.jpg") or not img.getYSize():
        return None
    small = PNMImage(TEXTURE_PX, TEXTURE_PX, 3)
    if img.getXSize() > TEXTURE_PX or img.getYSize() > TEXTURE_PX:
        small.gaussianFilterFrom(1.0, img)
    else:
        small.quickFilterFrom(img)
    tex = Texture(name)
    tex.load(small)
    tex.setMinfilter(Texture.FT_linear_mipmap_linear)
    tex.setMagfilter(Texture.FT_linear)
    tex.setWrapU(Texture.WM_clamp)
    tex.setWrapV(Texture.WM_clamp)
    return tex, img.getXSize() / img.getYSize()


class FeaturedWallView:
    """The board and the pictures on it."""

    def __init__(self, wall: FeaturedWall, parent: NodePath) -> None:
        self.wall = wall
        self.root = parent.attachNewNode("featured-wall")
        self.root.setPos(wall.at[0], wall.at[1], 0)
        self.root.setH(wall.heading)
        w, h = wall.width, wall.height
        board = mk.box((0, 0, h / 2), (w, 0.12, h), BOARD)
        trim = mk.box((0, 0.02, h - 0.05), (w + 0.1, 0.14, 0.1), TRIM) + mk.box((0, 0.02, 0.05), (w + 0.1, 0.14, 0.1), TRIM)
        self.root.attachNewNode(mk.geom_node("featured-board", board + trim))
        self.face = self.root.attachNewNode("face")  # x to the viewer's right, cards facing the viewer
        self.face.setH(180)
        self.face.setY(0.07)
        self.face.setLightOff()
        self.title = self._text(wall.title, (0, h - 0.38), 0.3, TRIM)
        self.subtitle = self._text("", (0, h - 0.66), 0.2, (0.85, 0.85, 0.9, 1))
        self.pictures = self.face.attachNewNode("pictures")
        self.shown: tuple = ()
        self.textures: dict[int, tuple[Texture, float]] = {}
        self.slots: list = []
        self.show(None, {})

    def _text(self, text: str, at: tuple[float, float], scale: float, color: tuple, parent: NodePath | None = None,
              ) -> NodePath:
        node = TextNode("featured-text")
        node.setText(text)
        node.setAlign(TextNode.ACenter)
        node.setTextColor(*color)
        np_ = (parent or self.face).attachNewNode(node)
        np_.setPos(at[0], -0.01, at[1])
        np_.setScale(scale)
        np_.setTransparency(TransparencyAttrib.MAlpha)
        return np_

    def show(self, featured: Featured | None, images: dict[int, bytes]) -> None:
        """Hang ``featured``'s entries (their images where fetched); nothing changes when nothing did."""
        entries = featured.entries if featured is not None else ()
        key = (featured.challenge if featured else None, tuple(e.entry for e in entries),
               tuple(e.entry in images for e in entries))
        if key == self.shown:
            return
        self.shown = key
        self.pictures.removeNode()
        self.pictures = self.face.attachNewNode("pictures")
        sub = self.subtitle.node()
        assert isinstance(sub, TextNode)
        if featured is None or not entries:
            sub.setText("No featured entries yet")
            return
        sub.setText(short(featured.title, 60))
        for entry in entries:
            if entry.entry in images and entry.entry not in self.textures:
                made = picture_texture(images[entry.entry], f"entry-{entry.entry}")
                if made is not None:
                    self.textures[entry.entry] = made
        aspects = [self.textures[e.entry][1] if e.entry in self.textures else 1.0 for e in entries]
        self.slots = layout(self.wall.width, self.wall.height, aspects)
        for entry, slot in zip(entries, self.slots):
            card = CardMaker(f"entry-{entry.entry}")
            card.setFrame(slot.x0, slot.x1, slot.z0, slot.z1)
            picture = self.pictures.attachNewNode(card.generate())
            made = self.textures.get(entry.entry)
            if made is not None:
                picture.setTexture(made[0])
            else:
                picture.setColor(*PLACEHOLDER)
            frame = CardMaker("frame")
            frame.setFrame(slot.x0 - 0.05, slot.x1 + 0.05, slot.z0 - 0.05, slot.z1 + 0.05)
            back = self.pictures.attachNewNode(frame.generate())
            back.setColor(*TRIM)
            back.setY(0.005)
            chars = max(int(slot.width_m / 0.1), 8)
            cx = (slot.x0 + slot.x1) / 2
            self._text(f"#{entry.rank}  {short(entry.title, chars)}", (cx, slot.label_z - 0.2), 0.19, (1, 1, 1, 1),
                       self.pictures)
            self._text(f"by {short(entry.by, chars)}", (cx, slot.label_z - 0.44), 0.16, (0.8, 0.8, 0.86, 1),
                       self.pictures)

    def centre_of(self, index: int) -> tuple[float, float, float] | None:
        """The venue point (metres) at the middle of the ``index``-th picture hung (0: the best), for tests and the camera."""
        if index >= len(self.slots):
            return None
        x, z = self.slots[index].centre
        return face_to_world(self.wall, x, z, 0.08)
