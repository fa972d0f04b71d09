"""Bad input gets a clear error and loses nothing.

`decode_image` is the only door from stored bytes to pixels. Whatever comes through it is either an RGB uint8 image
in the orientation a viewer shows, or a `BadInput` (`TooLarge` for decompression bombs) that says what was wrong.
Valid but unusual images (CMYK, 16-bit, transparency, palettes, EXIF rotation, animation) keep their content.

The real photos live outside the repository (LG_TEST_FACES, default ../shared/data/faces); tests that need them are
skipped, with the reason, when they are absent. Everything else is generated here with Pillow and numpy.
"""

from __future__ import annotations

import io
import json
import os
import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, features

import lookingglass
from lookingglass.errors import BadInput, TooLarge
from lookingglass.media.decode import decode_image
from lookingglass.media.sniff import sniff_media
from lookingglass.vision.detect import iou
from lookingglass.vision.faces import FaceModels

FACES = Path(os.environ.get("LG_TEST_FACES") or Path(__file__).resolve().parents[2].parent / "shared/data/faces")
OBAMA = "face_recognition_ageitgey/examples/obama.jpg"
DOGS = "dlib_examples_faces/dogs.jpg"


def photo(relpath: str) -> bytes:
    """A labelled photo's bytes, or a visible skip when the photo collection is not there."""
    path = FACES / relpath
    if not path.is_file():
        pytest.skip(f"test photo {relpath} not found under {FACES} (set LG_TEST_FACES)")
    return path.read_bytes()


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def noise_photo(width: int = 320, height: int = 240) -> Image.Image:
    """Random pixels: compresses badly, so half of the file really is half of the image data."""
    rng = np.random.default_rng(7)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")


@pytest.fixture(scope="module")
def models() -> FaceModels:
    face_models = FaceModels.create()
    face_models.load()
    return face_models


# --- Not an image at all: refused with a message that says what the bytes looked like


def test_empty_bytes_are_refused() -> None:
    with pytest.raises(BadInput, match="empty"):
        decode_image(b"")
    with pytest.raises(BadInput, match="empty"):
        sniff_media(b"", "photo.jpg")


def test_a_text_file_renamed_to_jpg_is_refused_by_both_gates(tmp_path: Path) -> None:
    renamed = tmp_path / "holiday.jpg"
    renamed.write_text("Dear diary,\nthis is not a photo.\n" * 20)
    data = renamed.read_bytes()

    with pytest.raises(BadInput, match="plain text"):
        decode_image(data)
    with pytest.raises(BadInput, match=r"holiday\.jpg"):
        sniff_media(data, renamed.name)


def test_html_bytes_are_refused_as_html() -> None:
    page = b"<!DOCTYPE html>\n<html><head><title>Not found</title></head><body>404</body></html>"
    with pytest.raises(BadInput, match="HTML"):
        decode_image(page)


@pytest.mark.parametrize("fmt", ["PPM", "TGA"])
def test_formats_outside_the_ingest_list_are_refused_even_when_pillow_could_read_them(fmt: str) -> None:
    # Uploads for lookup reach decode_image without sniff_media; Pillow's long tail of parsers (EPS even runs
    # Ghostscript) stays closed to them.
    data = encode(noise_photo(16, 16), fmt)
    assert Image.open(io.BytesIO(data)).format == fmt  # Pillow itself would decode it

    with pytest.raises(BadInput, match="not a recognisable image"):
        decode_image(data)


# --- Broken images: reported, never half-decoded


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_truncated_file_is_reported_not_half_decoded(fmt: str) -> None:
    data = encode(noise_photo(), fmt)
    with pytest.raises(BadInput, match=r"truncated|corrupt"):
        decode_image(data[: len(data) // 2])


def test_the_first_half_of_a_real_photo_is_reported_as_truncated() -> None:
    data = photo(OBAMA)
    assert decode_image(data).rgb.shape == (1137, 910, 3)  # the whole file is fine

    with pytest.raises(BadInput, match=r"truncated|corrupt"):
        decode_image(data[: len(data) // 2])


def test_a_broken_later_page_does_not_stop_the_first_page_from_decoding() -> None:
    # A two-page TIFF whose second page lost its width and height tags. Only the first page stands for the image,
    # so the second is never parsed (counting frames used to parse it and escape as a TypeError).
    pages = [Image.new("RGB", (20, 10), (200, 30, 30)), Image.new("RGB", (20, 10), (30, 200, 30))]
    data = bytearray(encode(pages[0], "TIFF", save_all=True, append_images=pages[1:]))
    assert data[:2] == b"II"
    first_ifd = struct.unpack_from("<I", data, 4)[0]
    entries = struct.unpack_from("<H", data, first_ifd)[0]
    second_ifd = struct.unpack_from("<I", data, first_ifd + 2 + 12 * entries)[0]
    for i in range(struct.unpack_from("<H", data, second_ifd)[0]):
        at = second_ifd + 2 + 12 * i
        if struct.unpack_from("<H", data, at)[0] in (256, 257):  # ImageWidth, ImageLength
            struct.pack_into("<H", data, at, 0xFFF0 + i)  # now an unknown private tag

    image = decode_image(bytes(data))

    assert image.rgb.shape == (10, 20, 3)
    assert tuple(image.rgb[5, 10]) == (200, 30, 30)


def _damaged_samples() -> dict[str, bytes]:
    base = noise_photo(48, 32)
    exif = Image.Exif()
    exif[0x0112] = 6
    frames = [Image.new("RGB", (24, 16), c) for c in [(255, 0, 0), (0, 255, 0)]]
    samples = {
        "jpeg+exif": encode(base, "JPEG", exif=exif.tobytes()),
        "png-16bit": encode(Image.fromarray(np.asarray(base)[..., 0].astype(np.uint16) * 250), "PNG"),
        "png-rgba": encode(base.convert("RGBA"), "PNG"),
        "gif-animated": encode(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "webp": encode(base, "WEBP"),
        "tiff-pages": encode(frames[0], "TIFF", save_all=True, append_images=frames[1:]),
        "bmp": encode(base, "BMP"),
        "cmyk-jpeg": encode(base.convert("CMYK"), "JPEG"),
    }
    if features.check("avif"):
        samples["avif"] = encode(base, "AVIF")
    return samples


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the damage it skips over
@pytest.mark.parametrize(("name", "data"), list(_damaged_samples().items()))
def test_damaged_bytes_give_pixels_or_bad_input_never_another_exception(name: str, data: bytes) -> None:
    # Random byte damage and cuts, with a fixed seed: each outcome is an image or a BadInput, nothing else.
    rng = random.Random(name)
    for _ in range(150):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.3:
            damaged = damaged[: rng.randrange(1, len(damaged))]
        try:
            image = decode_image(bytes(damaged))
        except BadInput:
            continue
        assert image.rgb.dtype == np.uint8 and image.rgb.ndim == 3 and image.rgb.shape[2] == 3


# --- Too many pixels: refused from the header, before any pixel memory exists


def bomb_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of `width` x `height` black pixels: a few tens of KB on disk, built in a blink."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then all-zero pixels
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row * 500) for _ in range(height // 500))
    idat += compressor.compress(row * (height % 500)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # bit depth 1, grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# Runs in a fresh interpreter so its peak resident memory says what decoding cost. (Pillow allocates pixels in C,
# where tracemalloc cannot see them: a 400 MB decode shows up there as 2 MB.)
_DECODE_AND_MEASURE = """
import json, resource, sys, time
from lookingglass.errors import TooLarge
from lookingglass.media.decode import decode_image
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    image = decode_image(data)
    outcome = f"decoded {image.width}x{image.height}"
except TooLarge as exc:
    outcome = "TooLarge: " + exc.message
seconds = time.perf_counter() - started
grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"outcome": outcome, "seconds": seconds, "grown_mb": grown_kb / 1024}))
"""


@pytest.mark.parametrize(
    "side",
    [
        20_000,  # 400 Mpx: far over our limit and Pillow's own bomb guard
        8_000,  # 64 Mpx: over our default 50 Mpx limit, under Pillow's guard (89 Mpx) - our check must catch it
    ],
)
def test_a_decompression_bomb_is_too_large_before_its_pixels_exist(tmp_path: Path, side: int) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(bomb_png(side, side))
    assert bomb.stat().st_size < 200_000

    env = {**os.environ, "PYTHONPATH": str(Path(lookingglass.__file__).resolve().parents[1])}
    run = subprocess.run(
        [sys.executable, "-c", _DECODE_AND_MEASURE, str(bomb)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=True,
    )
    report = json.loads(run.stdout)

    assert report["outcome"].startswith("TooLarge"), report
    assert f"{side * side:,} pixels" in report["outcome"] and "LG_MAX_IMAGE_PIXELS" in report["outcome"]
    assert report["seconds"] < 1.0, report
    assert report["grown_mb"] < 50, report  # decoding would take 1 byte/pixel in Pillow, 3 more in numpy


def test_the_pixel_limit_is_inclusive_and_names_the_size() -> None:
    data = encode(Image.new("RGB", (100, 50), (9, 9, 9)), "PNG")

    assert decode_image(data, max_pixels=5_000).rgb.shape == (50, 100, 3)
    with pytest.raises(TooLarge, match="100x50"):
        decode_image(data, max_pixels=4_999)


def test_the_pixel_limit_message_names_our_setting_not_the_image_librarys() -> None:
    """Pillow refuses a 400 Mpx image before our own check sees it; the message must still point at the setting
    an operator can change, with our limit, not Pillow's internal 178,956,970."""
    with pytest.raises(TooLarge) as refused:
        decode_image(bomb_png(20_000, 20_000), max_pixels=50_000_000)

    assert refused.value.message == "image is 400,000,000 pixels, over the limit of 50,000,000 (LG_MAX_IMAGE_PIXELS)"


# --- Unusual but valid images: all become 8-bit RGB of the right size, content kept


def test_cmyk_jpeg_becomes_rgb_with_its_colours() -> None:
    rgb = Image.new("RGB", (64, 32), (220, 20, 20))
    rgb.paste((20, 20, 220), (32, 0, 64, 32))
    data = encode(rgb.convert("CMYK"), "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"

    image = decode_image(data)

    assert image.rgb.shape == (32, 64, 3) and image.rgb.dtype == np.uint8
    assert image.original_mode == "CMYK"
    np.testing.assert_allclose(image.rgb[16, 8], (220, 20, 20), atol=12)
    np.testing.assert_allclose(image.rgb[16, 56], (20, 20, 220), atol=12)


@pytest.mark.parametrize(("low", "high"), [(0, 65_535), (1_000, 4_095)])  # full range; 12-bit sensor data
def test_16_bit_grayscale_keeps_its_contrast(low: int, high: int) -> None:
    ramp = np.linspace(low, high, 256, dtype=np.float64).round().astype(np.uint16)
    data = encode(Image.fromarray(np.tile(ramp, (16, 1))), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")  # 16-bit on disk

    image = decode_image(data)

    assert image.rgb.shape == (16, 256, 3) and image.rgb.dtype == np.uint8
    left, right = int(image.rgb[8, 0, 0]), int(image.rgb[8, -1, 0])
    assert left < 20 and right > 235  # not clipped to white, not crushed to black
    assert np.all(np.diff(image.rgb[8, :, 0].astype(int)) >= 0)  # the ramp still rises
    assert (image.rgb[..., 0] == image.rgb[..., 2]).all()  # still gray


def test_8_bit_grayscale_becomes_gray_rgb() -> None:
    ramp = np.tile(np.arange(256, dtype=np.uint8), (8, 1))
    image = decode_image(encode(Image.fromarray(ramp, "L"), "PNG"))

    assert image.rgb.shape == (8, 256, 3)
    for channel in range(3):
        np.testing.assert_array_equal(image.rgb[..., channel], ramp)


def test_transparent_pixels_become_white_not_their_hidden_colour() -> None:
    rgba = np.zeros((10, 20, 4), dtype=np.uint8)
    rgba[:, :10] = (200, 30, 30, 255)  # opaque red on the left
    rgba[:, 10:] = (0, 0, 0, 0)  # fully transparent on the right, black underneath
    image = decode_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))

    assert image.rgb.shape == (10, 20, 3)
    assert tuple(image.rgb[5, 2]) == (200, 30, 30)
    assert tuple(image.rgb[5, 15]) == (255, 255, 255)


def test_palette_png_keeps_its_exact_colours() -> None:
    indexed = Image.new("P", (30, 10), 0)
    indexed.putpalette([10, 20, 30, 250, 200, 0, 0, 128, 255] + [0] * (256 * 3 - 9))
    indexed.paste(1, (10, 0, 20, 10))
    indexed.paste(2, (20, 0, 30, 10))
    image = decode_image(encode(indexed, "PNG"))

    assert image.original_mode == "P"
    assert [tuple(image.rgb[5, x]) for x in (5, 15, 25)] == [(10, 20, 30), (250, 200, 0), (0, 128, 255)]


def test_one_bit_image_becomes_black_and_white_rgb() -> None:
    checker = (np.indices((8, 12)).sum(axis=0) % 2).astype(bool)
    image = decode_image(encode(Image.fromarray(checker), "PNG"))

    assert image.original_mode == "1"
    assert image.rgb.shape == (8, 12, 3)
    np.testing.assert_array_equal(image.rgb[..., 1], np.where(checker, 255, 0))


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_an_animation_decodes_to_its_first_frame(fmt: str) -> None:
    frames = [Image.new("RGB", (40, 30), colour) for colour in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    options = {"lossless": True} if fmt == "WEBP" else {}
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, **options)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3

    image = decode_image(data)

    assert image.rgb.shape == (30, 40, 3)
    assert (image.rgb == (255, 0, 0)).all()


# --- EXIF orientation: pixels come back the way a viewer shows them, and so do face boxes

# For each EXIF Orientation value, how the camera stored an upright picture (EXIF 2.3, section 4.6.4 A):
# a viewer applying the tag to these stored pixels shows the upright picture again.
STORED_AS = {
    1: lambda a: a,
    2: np.fliplr,  # mirrored
    3: lambda a: np.rot90(a, 2),  # upside down
    4: np.flipud,  # mirrored upside down
    5: lambda a: a.transpose(1, 0, 2),  # row 0 is the left side, column 0 the top
    6: lambda a: np.rot90(a, 1),  # row 0 is the right side: shown after turning 90 degrees clockwise
    7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),  # row 0 is the right side, column 0 the bottom
    8: lambda a: np.rot90(a, -1),  # row 0 is the left side: shown after turning 90 degrees anticlockwise
}


@pytest.fixture(scope="module")
def upright_obama(models: FaceModels) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    upright = decode_image(photo(OBAMA)).rgb
    faces = models.find_faces(upright)
    assert len(faces) == 1
    return upright, faces[0].box


@pytest.mark.parametrize("orientation", sorted(STORED_AS))
def test_exif_orientation_is_applied_so_faces_are_found_where_a_viewer_sees_them(
    models: FaceModels, upright_obama: tuple[np.ndarray, tuple[float, float, float, float]], orientation: int
) -> None:
    upright, upright_box = upright_obama
    stored = np.ascontiguousarray(STORED_AS[orientation](upright))
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif.tobytes())

    shown = decode_image(data).rgb

    assert shown.shape == upright.shape
    assert np.abs(shown.astype(np.int16) - upright).mean() < 4  # the same picture, give or take JPEG
    faces = models.find_faces(shown)
    assert len(faces) == 1
    assert iou(faces[0].box, upright_box) >= 0.8


# --- No face is an answer, not an error


def test_a_gradient_has_no_faces(models: FaceModels) -> None:
    gradient = np.zeros((480, 640, 3), dtype=np.uint8)
    gradient[...] = np.linspace(0, 255, 640, dtype=np.uint8)[None, :, None]
    decoded = decode_image(encode(Image.fromarray(gradient), "PNG")).rgb

    assert models.find_faces(decoded) == []


def test_dogs_have_no_human_faces(models: FaceModels) -> None:
    assert models.find_faces(decode_image(photo(DOGS)).rgb) == []
