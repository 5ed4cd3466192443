"""Rules of profile pictures: what an upload may be, the square it is cut to and its URL. No I/O.

The decoding itself (Pillow) is in media/pictures.py, which asks these rules at each step.
"""

from __future__ import annotations

from parley.domain.errors import Invalid, TooLarge, UnsupportedType

# Every picture is stored and served as one square of this side, re-encoded as WebP.
AVATAR_SIDE_PX = 256
AVATAR_MEDIA_TYPE = "image/webp"
# An upload larger than this is refused before it is read whole.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# Decoding costs memory by pixel (4 bytes each): 25 MP is a 6000x4000 camera photo, ~100 MB
# decoded. Checked on the header's size, before any pixel is decoded (a decompression bomb
# declares a size it never needed bytes for).
MAX_PIXELS = 25_000_000
MAX_SIDE_PX = 10_000
MIN_SIDE_PX = 32

# What a client may send, and the decoders (Pillow format names) that may read it. The type
# declared only has to be one of these: the picture is read as what its bytes are, among them
# (a .png that is really a JPEG is common), and nothing else is ever tried on it.
CONTENT_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
DECODERS = ("PNG", "JPEG", "WEBP", "GIF")
# A camera's JPEG with several pictures in it (MPO) is a JPEG to us: its first picture.
READ_AS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WEBP", "GIF": "GIF"}

_MIB = 1024 * 1024


def check_content_type(header: str | None) -> str:
    """The media type of a Content-Type header (parameters and case aside), if one we take."""
    media_type = (header or "").split(";", 1)[0].strip().lower()
    if media_type not in CONTENT_TYPES:
        raise UnsupportedType(
            "Content-Type", "one_of", "must be one of " + ", ".join(CONTENT_TYPES)
        )
    return media_type


def check_upload_bytes(size: int) -> None:
    """An upload of `size` bytes: declared by Content-Length, or received so far."""
    if size > MAX_UPLOAD_BYTES:
        raise TooLarge("body", "max_bytes", f"must be at most {MAX_UPLOAD_BYTES // _MIB} MiB")


def check_not_empty(size: int) -> None:
    if size == 0:
        raise Invalid("body", "required", "send the picture as the request body")


def check_dimensions(width: int, height: int) -> None:
    """A picture's size as its header declares it, before it is decoded."""
    if width > MAX_SIDE_PX or height > MAX_SIDE_PX:
        raise Invalid(
            "body", "max_dimensions", f"must be at most {MAX_SIDE_PX} pixels wide and high"
        )
    if width * height > MAX_PIXELS:
        raise too_many_pixels()
    if width < MIN_SIDE_PX or height < MIN_SIDE_PX:
        raise Invalid(
            "body", "min_dimensions", f"must be at least {MIN_SIDE_PX} pixels wide and high"
        )


def check_format(pillow_format: str | None) -> str:
    """The format a picture's bytes turned out to be, if one we read."""
    read_as = READ_AS.get(pillow_format or "")
    if read_as is None:
        raise not_an_image()
    return read_as


def too_many_pixels() -> Invalid:
    return Invalid(
        "body", "max_pixels", f"must have at most {MAX_PIXELS // 1_000_000} million pixels"
    )


def not_an_image() -> Invalid:
    return Invalid("body", "image", "must be a PNG, JPEG, WebP or GIF picture")


def damaged() -> Invalid:
    return Invalid("body", "decodable", "the picture is damaged or incomplete")


def square_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The largest centred square of a width x height picture, as (left, top, right, bottom).
    An odd difference leaves the extra pixel on the right or bottom."""
    if width <= 0 or height <= 0:
        raise ValueError(f"no square in a {width}x{height} picture")
    side = min(width, height)
    left = (width - side) // 2
    top = (height - side) // 2
    return left, top, left + side, top + side


def avatar_url(handle: str, version: int) -> str:
    """Where a user's picture is served. The version changes with every new picture, so the URL
    of one picture can be cached for ever and a new picture is a new URL."""
    return f"/api/users/{handle}/avatar?v={version}"


def is_current(asked_version: str | None, version: int) -> bool:
    """Whether `?v=` names the picture stored now: only that URL is cached as immutable."""
    return asked_version is not None and asked_version == str(version)
