"""Safe image decoding: every broken, hostile or unusual image becomes either RGB pixels or a clear BadInput.

- Pixel limit checked from the header *before* decoding (decompression bombs never allocate).
- Truncated files are errors, not half-grey images (we never set LOAD_TRUNCATED_IMAGES).
- EXIF orientation applied, so boxes match what a viewer displays.
- CMYK, 16-bit, grayscale, RGBA, palette: all normalised to 8-bit RGB.
"""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lookingglass.errors import BadInput, TooLarge
from lookingglass.media.sniff import describe_bytes, sniff_media

DEFAULT_MAX_PIXELS = 50_000_000
# The raster formats ingestion accepts (stores.objects.sniff_media). Pillow can open many more (EPS hands the file
# to Ghostscript; FITS, PSD, SGI, ... are rarely-exercised parsers): uploads that skip sniffing must not reach them.
DECODABLE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP", "AVIF")


@dataclass(frozen=True)
class DecodedImage:
    rgb: np.ndarray  # HxWx3 uint8, displayed orientation
    format: str
    original_mode: str

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in {"I;16", "I;16B", "I;16L", "I"}:
        # 16/32-bit grayscale: scale the real range to 8 bits instead of clipping everything to white.
        array = np.asarray(image, dtype=np.float64)
        lo, hi = float(array.min()), float(array.max())
        scaled = np.zeros_like(array) if hi <= lo else (array - lo) * (255.0 / (hi - lo))
        return Image.fromarray(scaled.astype(np.uint8), "L").convert("RGB")
    if mode == "F":
        array = np.asarray(image, dtype=np.float64)
        lo, hi = float(np.nanmin(array)), float(np.nanmax(array))
        scaled = np.zeros_like(array) if hi <= lo else (array - lo) * (255.0 / (hi - lo))
        return Image.fromarray(np.nan_to_num(scaled).astype(np.uint8), "L").convert("RGB")
    if mode in {"RGBA", "LA", "PA"} or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")  # L, P, CMYK, YCbCr, LAB, 1, RGBX ...


def _over_limit(max_pixels: int) -> str:
    return f"over the limit of {max_pixels:,} (LG_MAX_IMAGE_PIXELS)"


def _bomb_message(pillow_says: str, max_pixels: int) -> str:
    """What to tell someone whose image Pillow refused before we could look at it: the size, and the setting that
    governs it. Pillow's own ceiling is named only when LG_MAX_IMAGE_PIXELS is set above it, since only then does
    it decide."""
    found = re.search(r"\((\d+) pixels\)", pillow_says)  # "Image size (400000000 pixels) exceeds limit of ..."
    size = f"image is {int(found.group(1)):,} pixels" if found else "image has too many pixels"
    ceiling = 2 * (Image.MAX_IMAGE_PIXELS or 0)
    if ceiling and max_pixels >= ceiling:
        return f"{size}; the image library refuses more than {ceiling:,} whatever LG_MAX_IMAGE_PIXELS says"
    return f"{size}, {_over_limit(max_pixels)}"


def decode_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Decode image bytes to RGB uint8 in displayed orientation, or raise BadInput / TooLarge."""
    if not data:
        raise BadInput("empty file: no image data")
    try:
        # Our own pixel limit is checked from the header before any pixel is decoded. (Pillow's own bomb guard
        # still refuses images over 2 x Image.MAX_IMAGE_PIXELS, ~179 Mpx, whatever LG_MAX_IMAGE_PIXELS says.)
        image = Image.open(io.BytesIO(data), formats=DECODABLE_FORMATS)
        width, height = image.size
        if width * height > max_pixels:
            raise TooLarge(f"image is {width}x{height} = {width * height:,} pixels, {_over_limit(max_pixels)}")
        if width <= 0 or height <= 0:
            raise BadInput(f"image has no pixels ({width}x{height})")
        fmt = image.format or "unknown"
        original_mode = image.mode
        # Image.open leaves animated GIF/WebP/PNG and multi-page TIFF at frame 0: the first frame stands for
        # the image. (Asking for `n_frames` would parse every later frame, and crash on a corrupt one.)
        image.load()
        image = ImageOps.exif_transpose(image) or image
        rgb = np.asarray(_to_rgb(image), dtype=np.uint8)
    except (TooLarge, BadInput):
        raise
    except Image.DecompressionBombError as exc:
        raise TooLarge(_bomb_message(str(exc), max_pixels)) from exc
    except UnidentifiedImageError as exc:
        raise BadInput(f"not a recognisable image ({_what_it_looks_like(data)})") from exc
    except OSError as exc:  # truncated or corrupt data
        raise BadInput("corrupt or truncated image: the file is damaged or cut off before its end") from exc
    except (ValueError, SyntaxError, EOFError, TypeError, KeyError, IndexError, struct.error, RuntimeError) as exc:
        # Pillow's parsers report some malformed files this way (a TIFF frame without dimensions is a TypeError,
        # a broken AVIF a RuntimeError); the type goes into the message so a bug of ours would still show.
        raise BadInput("corrupt image: the file is damaged and could not be decoded") from exc
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise BadInput("the image decoded to an unusual pixel layout that cannot be searched")
    return DecodedImage(rgb=np.ascontiguousarray(rgb), format=fmt, original_mode=original_mode)


def _what_it_looks_like(data: bytes) -> str:
    """Said to people: a photo that starts like one but is cut short or damaged is called that (never its bytes)."""
    try:
        ext, _, kind = sniff_media(data)
    except BadInput:
        return f"looks like {describe_bytes(data)}"
    if kind == "image":
        return f"it starts like a {ext.upper()} file, but the rest is damaged or missing"
    return f"looks like {describe_bytes(data)}"
