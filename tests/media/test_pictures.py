"""Profile pictures through Pillow (media/pictures.py), without the app: what comes out of every
kind of picture, and what is never decoded."""

from __future__ import annotations

import pytest
from PIL import Image, ImageFile

from parley.domain import avatars as rules
from parley.domain.errors import Invalid
from parley.media import pictures
from picture_support import (
    BLUE,
    GREEN,
    RED,
    animated_gif,
    encode,
    halves,
    jpeg_with_metadata,
    near,
    opened,
    picture,
    png_bomb,
    riff_chunks,
)

pytestmark = pytest.mark.unit

NO_METADATA = {"exif", "icc_profile", "xmp"}


def made(data: bytes) -> Image.Image:
    out = pictures.make_avatar(data)
    assert not {"EXIF", "ICCP", "XMP "} & set(riff_chunks(out))
    image = opened(out)
    assert (image.format, image.size) == ("WEBP", (rules.AVATAR_SIDE_PX, rules.AVATAR_SIDE_PX))
    assert not NO_METADATA & set(image.info)
    return image


def test_a_decompression_bomb_is_refused_from_its_header(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(self: ImageFile.ImageFile) -> None:
        raise AssertionError("decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", never)
    for bomb in (png_bomb(6_000, 5_000), png_bomb(20_000, 20_000)):
        assert len(bomb) < 50_000
        with pytest.raises(Invalid) as refused:
            pictures.make_avatar(bomb)
        assert refused.value.rule == "max_pixels"


def test_a_large_jpeg_is_decoded_at_a_fraction_of_its_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sizes: list[tuple[int, int]] = []
    square = pictures._square

    def spy(image: Image.Image) -> Image.Image:
        sizes.append(image.size)
        return square(image)

    monkeypatch.setattr(pictures, "_square", spy)
    image = made(encode(halves((4000, 3000), RED, BLUE), "JPEG"))
    assert sizes == [(500, 375)]  # 1/8: still covers the 256 px square
    assert near(image.getpixel((128, 20)), RED) and near(image.getpixel((128, 236)), BLUE)


@pytest.mark.parametrize(
    ("orientation", "left", "right", "top", "bottom"),
    [
        # Stored top half red, bottom half blue (400 x 200).
        (1, None, None, RED, BLUE),
        (3, None, None, BLUE, RED),  # turned half a turn
        (6, BLUE, RED, None, None),  # a quarter clockwise
        (8, RED, BLUE, None, None),  # a quarter anticlockwise
    ],
)
def test_exif_orientation(
    orientation: int,
    left: tuple[int, int, int] | None,
    right: tuple[int, int, int] | None,
    top: tuple[int, int, int] | None,
    bottom: tuple[int, int, int] | None,
) -> None:
    image = made(jpeg_with_metadata(orientation))
    for point, expected in (
        ((20, 128), left),
        ((236, 128), right),
        ((128, 20), top),
        ((128, 236), bottom),
    ):
        if expected is not None:
            assert near(image.getpixel(point), expected), (point, image.getpixel(point))


def test_the_centred_square_is_kept() -> None:
    # 600 x 200: red, green, blue thirds; the square is the green middle.
    source = Image.new("RGB", (600, 200), RED)
    source.paste(GREEN, (200, 0, 400, 200))
    source.paste(BLUE, (400, 0, 600, 200))
    image = made(encode(source, "PNG"))
    for x in (10, 128, 245):
        assert near(image.getpixel((x, 128)), GREEN)


def test_transparency_is_kept_only_when_used() -> None:
    see_through = made(picture("PNG", (100, 100), (200, 30, 30, 100), mode="RGBA"))
    assert see_through.mode == "RGBA"
    assert abs(int(see_through.getpixel((128, 128))[3]) - 100) <= 5  # type: ignore[index]
    opaque = made(picture("PNG", (100, 100), (200, 30, 30, 255), mode="RGBA"))
    assert opaque.mode == "RGB"
    gif = Image.new("P", (64, 64), 0)
    gif.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    gif.paste(1, (0, 0, 32, 64))
    with_hole = made(encode(gif, "GIF", transparency=0))
    assert with_hole.mode == "RGBA"
    assert with_hole.getpixel((240, 128))[3] == 0  # type: ignore[index]
    assert near(with_hole.getpixel((16, 128)), (200, 30, 30, 255))


@pytest.mark.parametrize(
    ("mode", "color", "expected"),
    [
        ("L", 100, (100, 100, 100)),
        ("1", 1, (255, 255, 255)),
        ("I;16", 30_000, (117, 117, 117)),  # 16-bit grey scaled, not clipped to white
        ("LA", (100, 255), (100, 100, 100)),
        ("CMYK", (0, 255, 255, 0), (255, 0, 0)),
    ],
)
def test_every_mode_becomes_rgb(mode: str, color: object, expected: tuple[int, int, int]) -> None:
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    image = made(encode(Image.new(mode, (64, 64), color), fmt))  # type: ignore[arg-type]
    assert image.mode == "RGB"
    assert near(image.getpixel((128, 128)), expected, tolerance=12)


def test_animated_pictures_keep_their_first_frame() -> None:
    assert near(made(animated_gif([GREEN, RED])).getpixel((128, 128)), GREEN)
    frames = [Image.new("RGB", (64, 64), color) for color in (BLUE, RED)]
    webp = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)
    assert opened(webp).n_frames == 2  # type: ignore[attr-defined]
    assert near(made(webp).getpixel((128, 128)), BLUE)
    apng = encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)
    assert near(made(apng).getpixel((128, 128)), BLUE)


def test_a_broken_colour_profile_is_dropped() -> None:
    data = encode(Image.new("RGB", (64, 64), RED), "PNG", icc_profile=b"not a profile" * 20)
    assert opened(data).info["icc_profile"]
    assert near(made(data).getpixel((128, 128)), RED)


def test_metadata_of_every_kind_is_gone() -> None:
    image = made(jpeg_with_metadata())
    assert not image.getexif()
