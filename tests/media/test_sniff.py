"""sniff_media: what some bytes are (image, video, audio, page), decided from the bytes, never from the name."""

from __future__ import annotations

import io
import struct
import wave

import pytest
from PIL import Image, features

from lookingglass.errors import BadInput
from lookingglass.media.sniff import sniff_media


def png_bytes(color: tuple[int, int, int] = (10, 200, 10)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(buf, "PNG")
    return buf.getvalue()


def _pillow(fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), (1, 2, 3)).save(buf, fmt, **kw)
    return buf.getvalue()


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00\x00\x00\x08free"


def _wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("JPEG", ("jpg", "image/jpeg", "image")),
        ("PNG", ("png", "image/png", "image")),
        ("GIF", ("gif", "image/gif", "image")),
        ("WEBP", ("webp", "image/webp", "image")),
        ("BMP", ("bmp", "image/bmp", "image")),
        ("TIFF", ("tiff", "image/tiff", "image")),
        ("AVIF", ("avif", "image/avif", "image")),
    ],
)
def test_sniff_real_images_made_by_pillow(fmt: str, expected: tuple[str, str, str]) -> None:
    if fmt == "AVIF" and not features.check("avif"):
        pytest.skip("this Pillow build cannot write AVIF")
    assert sniff_media(_pillow(fmt), "whatever.bin") == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_ftyp(b"heic", b"mif1", b"heic"), ("heic", "image/heic", "image")),
        (_ftyp(b"mif1", b"mif1", b"heic"), ("heic", "image/heic", "image")),
        (_ftyp(b"mif1", b"mif1", b"avif"), ("avif", "image/avif", "image")),
        (_ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), ("mp4", "video/mp4", "video")),
        (_ftyp(b"mp42", b"mp42", b"isom"), ("mp4", "video/mp4", "video")),
        (_ftyp(b"qt  ", b"qt  "), ("mov", "video/quicktime", "video")),
        (_ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"), ("m4a", "audio/mp4", "audio")),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm\x42\x87", ("webm", "video/webm", "video")),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", ("mkv", "video/x-matroska", "video")),
        (b"RIFF\x24\x00\x00\x00AVI LIST\x00\x00\x00\x00hdrl", ("avi", "video/x-msvideo", "video")),
        (_wav(), ("wav", "audio/wav", "audio")),
        (
            b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + bytes(64),
            ("mp3", "audio/mpeg", "audio"),
        ),
        (b"\xff\xfb\x90\x64" + bytes(400), ("mp3", "audio/mpeg", "audio")),
        (b"OggS\x00\x02" + bytes(22) + b"\x01\x1e\x01vorbis", ("ogg", "audio/ogg", "audio")),
        (b"OggS\x00\x02" + bytes(22) + b"\x01\x2a\x80theora", ("ogv", "video/ogg", "video")),
        (b"fLaC\x00\x00\x00\x22" + bytes(34), ("flac", "audio/flac", "audio")),
        (b"<!DOCTYPE html>\n<html><body>hi</body></html>", ("html", "text/html", "page")),
        (b"\xef\xbb\xbf\n  <HTML lang=en><p>bom and blanks", ("html", "text/html", "page")),
        (
            b'<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml">',
            ("html", "text/html", "page"),
        ),
    ],
)
def test_sniff_by_magic_bytes(data: bytes, expected: tuple[str, str, str]) -> None:
    assert sniff_media(data, None) == expected


def test_sniff_uses_the_name_only_as_a_fallback_for_html() -> None:
    fragment = b"Hello <b>world</b>, no tags at the start"
    assert sniff_media(fragment, "page.HTM") == ("html", "text/html", "page")
    with pytest.raises(BadInput, match="plain text"):
        sniff_media(fragment, "notes.txt")
    # a real image named .html is still an image
    assert sniff_media(png_bytes(), "index.html") == ("png", "image/png", "image")


def test_sniff_rejects_a_text_file_renamed_to_jpg() -> None:
    with pytest.raises(BadInput) as err:
        sniff_media(b"just some notes, not a picture\n", "holiday.jpg")
    message = str(err.value)
    assert message.startswith("unsupported file type")
    assert "image" in message and "plain text" in message and "holiday.jpg" in message


@pytest.mark.parametrize(
    ("data", "looks_like"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "PDF"),
        (b"PK\x03\x04\x14\x00\x00\x00", "ZIP"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
        (b'{"not": "media"}', "JSON"),
        (bytes([0, 1, 2, 3, 250, 251, 252, 253]) * 4, "binary data of a kind this server does not read"),
        (b"BM this is text that starts like a bitmap", "plain text"),
        (b"RIFF\x00\x00\x00\x00CDXA", "binary data"),
        (_ftyp(b"crx ", b"crx "), "binary data"),
    ],
)
def test_sniff_rejects_unsupported_content_saying_what_it_looked_like(data: bytes, looks_like: str) -> None:
    with pytest.raises(BadInput, match="unsupported file type") as err:
        sniff_media(data, "upload.bin")
    assert looks_like in str(err.value)
    assert "00 01" not in str(err.value) and "\\x" not in str(err.value)  # plain words, never bytes


def test_sniff_rejects_empty_data() -> None:
    with pytest.raises(BadInput, match="empty file"):
        sniff_media(b"", "x.jpg")
