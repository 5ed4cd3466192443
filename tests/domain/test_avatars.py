"""The rules of profile pictures: types, sizes, the centred square, URLs and versions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.domain import avatars
from parley.domain.errors import Invalid, TooLarge, UnsupportedType

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("header", "media_type"),
    [
        ("image/png", "image/png"),
        ("image/jpeg", "image/jpeg"),
        ("image/webp", "image/webp"),
        ("image/gif", "image/gif"),
        ("IMAGE/PNG", "image/png"),
        (" image/jpeg ; q=1", "image/jpeg"),
    ],
)
def test_the_types_we_take(header: str, media_type: str) -> None:
    assert avatars.check_content_type(header) == media_type


@pytest.mark.parametrize(
    "header", [None, "", "image/svg+xml", "image/bmp", "image/jpg", "text/html", "image/png+xml"]
)
def test_other_types_are_415_naming_the_header(header: str | None) -> None:
    with pytest.raises(UnsupportedType) as refused:
        avatars.check_content_type(header)
    assert (refused.value.status, refused.value.field, refused.value.rule) == (
        415,
        "Content-Type",
        "one_of",
    )


def test_upload_size() -> None:
    avatars.check_upload_bytes(1)
    avatars.check_upload_bytes(avatars.MAX_UPLOAD_BYTES)
    with pytest.raises(TooLarge) as refused:
        avatars.check_upload_bytes(avatars.MAX_UPLOAD_BYTES + 1)
    assert (refused.value.status, refused.value.field, refused.value.rule) == (
        413,
        "body",
        "max_bytes",
    )
    assert "5 MiB" in refused.value.message
    with pytest.raises(Invalid) as empty:
        avatars.check_not_empty(0)
    assert (empty.value.status, empty.value.rule) == (422, "required")


@pytest.mark.parametrize(
    ("width", "height", "rule"),
    [
        (32, 32, None),
        (6000, 4000, None),  # a 24 MP camera photo
        (10_000, 2_500, None),
        (31, 500, "min_dimensions"),
        (500, 31, "min_dimensions"),
        (10_001, 100, "max_dimensions"),
        (100, 10_001, "max_dimensions"),
        (5001, 5000, "max_pixels"),
        (10_000, 10_000, "max_pixels"),
    ],
)
def test_dimensions(width: int, height: int, rule: str | None) -> None:
    if rule is None:
        avatars.check_dimensions(width, height)
        return
    with pytest.raises(Invalid) as refused:
        avatars.check_dimensions(width, height)
    assert (refused.value.field, refused.value.rule) == ("body", rule)


@pytest.mark.parametrize(
    ("pillow_format", "read_as"),
    [("PNG", "PNG"), ("JPEG", "JPEG"), ("MPO", "JPEG"), ("WEBP", "WEBP"), ("GIF", "GIF")],
)
def test_formats_we_read(pillow_format: str, read_as: str) -> None:
    assert avatars.check_format(pillow_format) == read_as


@pytest.mark.parametrize("pillow_format", [None, "BMP", "TIFF", "PSD", "EPS", "ICO"])
def test_other_formats_are_not_pictures(pillow_format: str | None) -> None:
    with pytest.raises(Invalid) as refused:
        avatars.check_format(pillow_format)
    assert refused.value.rule == "image"


@pytest.mark.parametrize(
    ("width", "height", "box"),
    [
        (256, 256, (0, 0, 256, 256)),
        (300, 200, (50, 0, 250, 200)),
        (200, 300, (0, 50, 200, 250)),
        (301, 200, (50, 0, 250, 200)),  # the odd pixel stays on the right
        (1, 1000, (0, 499, 1, 500)),
    ],
)
def test_square_box(width: int, height: int, box: tuple[int, int, int, int]) -> None:
    assert avatars.square_box(width, height) == box


@given(st.integers(1, 20_000), st.integers(1, 20_000))
def test_the_square_is_the_largest_centred_one(width: int, height: int) -> None:
    left, top, right, bottom = avatars.square_box(width, height)
    side = min(width, height)
    assert right - left == bottom - top == side
    assert left >= 0 and right <= width and top >= 0 and bottom <= height
    # Centred: the margins differ by at most the odd pixel.
    assert 0 <= (width - right) - left <= 1
    assert 0 <= (height - bottom) - top <= 1


def test_no_square_in_nothing() -> None:
    with pytest.raises(ValueError, match="no square"):
        avatars.square_box(0, 10)


def test_url_and_current_version() -> None:
    assert avatars.avatar_url("Alice", 3) == "/api/users/Alice/avatar?v=3"
    assert avatars.is_current("3", 3)
    assert not avatars.is_current(None, 3)
    assert not avatars.is_current("2", 3)
    assert not avatars.is_current("03", 3)
    assert not avatars.is_current("3 ", 3)
