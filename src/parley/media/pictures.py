"""Profile pictures through Pillow: an upload decoded (its first frame), turned upright by its EXIF
orientation, brought to sRGB, cut to its centred square, resized and encoded anew as WebP with no
metadata at all (no EXIF, GPS, ICC profile or XMP leaves with it).

Blocking and CPU-bound: call `make_avatar` in a worker thread, never on an event loop.
"""

from __future__ import annotations

import io
import logging
import threading

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from parley.domain import avatars as rules

log = logging.getLogger(__name__)

# A picture being made holds up to ~100 MB decoded (domain/avatars.py MAX_PIXELS), and a copy or
# two while it is converted: at most this many at once per process, whatever the number of
# uploads (the others wait in their worker thread).
_DECODING = threading.BoundedSemaphore(2)
WEBP_QUALITY = 85
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def make_avatar(data: bytes) -> bytes:
    """The stored picture made from an upload's bytes, or Invalid naming what is wrong with it."""
    with _DECODING:
        picture = _decode(data)
        try:
            return _encode(_square(_in_srgb(picture)))
        finally:
            picture.close()


def _decode(data: bytes) -> Image.Image:
    try:
        # Only the decoders of the formats we take are tried: none of Pillow's others ever reads
        # an upload. Opening reads the header alone.
        image = Image.open(io.BytesIO(data), formats=rules.DECODERS)
    except UnidentifiedImageError:
        raise rules.not_an_image() from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard (a warning past 89 MP, an error past twice that) spoke first.
        raise rules.too_many_pixels() from None
    except Exception as exc:  # a header that is damaged in a way no decoder names
        log.info("avatar: unreadable header (%s: %s)", type(exc).__name__, exc)
        raise rules.damaged() from None
    try:
        rules.check_format(image.format)
        # Before a single pixel is decoded: a decompression bomb's header declares its size.
        rules.check_dimensions(*image.size)
        if image.format in ("JPEG", "MPO"):
            # Decode a large JPEG at 1/2, 1/4 or 1/8 of its size, as long as it still covers the
            # square we keep: far less memory and time for the same result.
            image.draft(image.mode, (rules.AVATAR_SIDE_PX, rules.AVATAR_SIDE_PX))
        try:
            # The first frame of an animated GIF, WebP or PNG (the one an Image opens on).
            image.load()
            # Upright as the camera meant it (EXIF orientation), before it is cropped.
            ImageOps.exif_transpose(image, in_place=True)
        except Exception as exc:
            # A picture damaged or cut short: Pillow's decoders raise OSError, SyntaxError,
            # ValueError, struct.error... on hostile bytes; each is the sender's bad picture.
            log.info("avatar: undecodable picture (%s: %s)", type(exc).__name__, exc)
            raise rules.damaged() from None
    except BaseException:
        image.close()
        raise
    return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info


def _in_srgb(image: Image.Image) -> Image.Image:
    """RGB (or RGBA when it has transparency) in sRGB: a picture with another colour profile
    (a phone's Display P3, a CMYK print file) is converted by it, since the profile itself is
    not kept."""
    mode = "RGBA" if _has_alpha(image) else "RGB"
    if image.mode.startswith("I"):
        # 16-bit grey (PNG): converting would clip every value above 255 to white; scale it.
        image = image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    icc = image.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode)
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError) as exc:
            # A profile that does not fit the picture (or is broken): its colours as stored.
            log.info("avatar: colour profile not applied (%s)", exc)
    return image.convert(mode)


def _square(image: Image.Image) -> Image.Image:
    side = rules.AVATAR_SIDE_PX
    box = rules.square_box(*image.size)
    square = image.resize((side, side), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    if square.mode == "RGBA":
        alpha = square.getchannel("A").getextrema()
        if alpha == (255, 255):  # transparency that is not used costs bytes for nothing
            square = square.convert("RGB")
    return square


def _encode(image: Image.Image) -> bytes:
    # An image made from another carries what the decoder read (EXIF, XMP, ICC) in `info`; the
    # WebP encoder writes only the metadata it is given as arguments, and it is given none.
    image.info = {}
    out = io.BytesIO()
    image.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    return out.getvalue()
