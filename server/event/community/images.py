"""Challenge entries as images: decoded and re-encoded on the server, never kept as received.

An upload is checked for its declared format before decoding (PNG or JPEG signatures),
decoded with a pixel limit (no decompression bombs), flattened to RGB, scaled to at most
:data:`~showroom.protocol.limits.STORED_IMAGE_MAX_SIDE` pixels on its longer side and written
anew as JPEG: nothing of the original file (EXIF, GPS, comments, colour profiles, trailing
bytes) survives. Runs on the ``images`` lane, never on the event loop.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from showroom.protocol.limits import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, STORED_IMAGE_MAX_SIDE

SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}
"""The formats accepted, by the bytes a file of that format starts with."""
JPEG_QUALITY = 90


class ImageRefused(ValueError):
    """An upload that is not a usable image; the message says why, for the member."""


@dataclass(frozen=True)
class StoredImage:
    """An image as kept: JPEG bytes, their SHA-256 and the picture's size in pixels."""

    data: bytes
    sha256: str
    width: int
    height: int


def reencode(data: bytes) -> StoredImage:
    """Check, decode and re-encode an uploaded image; raise :class:`ImageRefused` saying why it cannot be used."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRefused(f"the file is {len(data):,} bytes; at most {MAX_IMAGE_BYTES:,}")
    kind = next((name for magic, name in SIGNATURES.items() if data.startswith(magic)), None)
    if kind is None:
        raise ImageRefused("not a PNG or JPEG image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ImageRefused(f"the image is {width} x {height} pixels; at most {MAX_IMAGE_PIXELS:,} in all")
                image.load()
                picture = ImageOps.exif_transpose(image).convert("RGB")
    except ImageRefused:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise ImageRefused(f"the {kind} file cannot be read ({type(exc).__name__})") from None
    picture.thumbnail((STORED_IMAGE_MAX_SIDE, STORED_IMAGE_MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)  # no exif, icc or comment is passed on
    stored = out.getvalue()
    return StoredImage(stored, hashlib.sha256(stored).hexdigest(), picture.width, picture.height)
