"""Pictures for the profile-picture tests, made here with Pillow (no binary files in the repo)."""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import ExifTags, Image, ImageCms

RED = (220, 20, 20)
BLUE = (20, 20, 220)
GREEN = (20, 200, 20)
# A place the GPS tags of `jpeg_with_metadata` point at: the test looks for them afterwards.
GPS_LATITUDE = (52.0, 31.0, 12.5)
GPS_LONGITUDE = (13.0, 24.0, 36.75)
CAMERA = "Parley Test Camera"
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'dc:creator="Secret Photographer"/></rdf:RDF></x:xmpmeta>'
)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def picture(
    fmt: str = "PNG", size: tuple[int, int] = (300, 200), color: object = RED, mode: str = "RGB"
) -> bytes:
    """A plain picture of one colour."""
    return encode(Image.new(mode, size, color), fmt)  # type: ignore[arg-type]


def halves(
    size: tuple[int, int], first: tuple[int, int, int], second: tuple[int, int, int]
) -> Image.Image:
    """Top half `first`, bottom half `second`."""
    width, height = size
    image = Image.new("RGB", size, first)
    image.paste(second, (0, height // 2, width, height))
    return image


def noise(size: tuple[int, int] = (400, 400), seed: int = 1) -> Image.Image:
    """Random pixels: they compress badly, so a file of them is long enough to cut short."""
    width, height = size
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(width * height * 3))


def jpeg_with_metadata(orientation: int = 1, size: tuple[int, int] = (400, 200)) -> bytes:
    """A JPEG as a phone writes one: EXIF with the camera, GPS position and an orientation, an
    ICC colour profile and XMP. Top half red, bottom half blue, as stored."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = GPS_LONGITUDE
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encode(halves(size, RED, BLUE), "JPEG", quality=95, exif=exif, icc_profile=srgb, xmp=XMP)


def animated_gif(colors: list[tuple[int, int, int]], size: tuple[int, int] = (64, 64)) -> bytes:
    frames = [Image.new("RGB", size, color) for color in colors]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A whole, valid black-and-white PNG of width x height pixels whose file is a few kilobytes:
    its rows of zeros compress a thousandfold. Pillow cannot make one without the pixels in
    memory, so it is written chunk by chunk (PNG spec, s5)."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then 1 bit a pixel
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height)]
    idat = b"".join(parts) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def riff_chunks(webp: bytes) -> list[str]:
    """The chunk names of a WebP file (RIFF): where EXIF, ICCP and XMP would be."""
    assert webp[:4] == b"RIFF" and webp[8:12] == b"WEBP", webp[:16]
    names: list[str] = []
    offset = 12
    while offset + 8 <= len(webp):
        name = webp[offset : offset + 4].decode("ascii")
        (size,) = struct.unpack("<I", webp[offset + 4 : offset + 8])
        names.append(name)
        offset += 8 + size + (size & 1)
    return names


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def near(actual: object, expected: tuple[int, ...], tolerance: int = 40) -> bool:
    """A pixel near a colour (lossy encodings move it a little)."""
    assert isinstance(actual, tuple)
    return all(abs(int(a) - b) <= tolerance for a, b in zip(actual, expected, strict=False))
