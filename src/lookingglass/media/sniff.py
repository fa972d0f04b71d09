"""What some bytes are: image, video, audio or page — decided from their content, never trusted from a name."""

from __future__ import annotations

from pathlib import Path

from lookingglass.errors import BadInput

_IMAGE_EXTS = frozenset({"jpg", "jpeg", "jpe", "png", "gif", "webp", "bmp", "tif", "tiff", "heic", "heif", "avif"})
_VIDEO_EXTS = frozenset({"mp4", "m4v", "mov", "webm", "mkv", "avi", "ogv"})
_AUDIO_EXTS = frozenset({"mp3", "wav", "m4a", "ogg", "oga", "opus", "flac", "aac"})
_HTML_EXTS = frozenset({"html", "htm", "xhtml"})

# ISO-BMFF brands (bytes 8..12 of an `ftyp` box) -> (ext, content type, kind)
_FTYP_BRANDS: dict[bytes, tuple[str, str, str]] = {
    b"avif": ("avif", "image/avif", "image"),
    b"avis": ("avif", "image/avif", "image"),
    **{b: ("heic", "image/heic", "image") for b in (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx")},
    **{b: ("heif", "image/heif", "image") for b in (b"mif1", b"msf1")},
    b"qt  ": ("mov", "video/quicktime", "video"),
    **{b: ("m4a", "audio/mp4", "audio") for b in (b"M4A ", b"M4B ", b"M4P ", b"F4A ")},
    **{
        b: ("mp4", "video/mp4", "video")
        for b in (
            b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"mp71", b"avc1", b"dash",
            b"M4V ", b"M4VH", b"M4VP", b"mmp4", b"f4v ", b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"MSNV", b"XAVC",
        )
    },
}  # fmt: skip

_HTML_STARTS = (
    b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<h1", b"<div", b"<font",
    b"<table", b"<a", b"<style", b"<title", b"<b", b"<br", b"<p", b"<!--", b"<meta", b"<link",
)  # fmt: skip
_BMP_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})


def sniff_media(data: bytes, filename: str | None = None) -> tuple[str, str, str]:
    """(ext, content_type, kind) of `data` from its magic bytes; BadInput for empty or unsupported content.

    The name is only a fallback for HTML (which has no magic number): a renamed text file must not get into
    the image pipeline because it is called `x.jpg`, so a mismatch says what the bytes looked like.
    """
    if not data:
        raise BadInput("empty file" + (f": “{filename}”" if filename else ""))
    found = _sniff_binary(data) or _sniff_html(data)
    if found:
        return found
    name_ext = Path(filename).suffix.lower().lstrip(".") if filename else ""
    if name_ext in _HTML_EXTS and _looks_like_text(data):
        return ("html", "text/html", "page")
    raise BadInput(_unsupported_message(data, filename, name_ext))


def _sniff_binary(data: bytes) -> tuple[str, str, str] | None:
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return ("jpg", "image/jpeg", "image")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ("png", "image/png", "image")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return ("gif", "image/gif", "image")
    if head.startswith(b"RIFF") and len(head) >= 12:
        riff = head[8:12]
        if riff == b"WEBP":
            return ("webp", "image/webp", "image")
        if riff == b"WAVE":
            return ("wav", "audio/wav", "audio")
        if riff == b"AVI ":
            return ("avi", "video/x-msvideo", "video")
        return None
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return ("tiff", "image/tiff", "image")
    bmp_dib_size = int.from_bytes(head[14:18], "little") if len(head) >= 18 else 0
    if head.startswith(b"BM") and bmp_dib_size in _BMP_HEADER_SIZES:
        return ("bmp", "image/bmp", "image")
    if head[4:8] == b"ftyp":
        return _sniff_ftyp(data)
    if head[4:8] in (b"moov", b"mdat", b"wide", b"pnot"):  # QuickTime files from before `ftyp` existed
        return ("mov", "video/quicktime", "video")
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska or its WebM profile
        if b"webm" in data[:4096]:
            return ("webm", "video/webm", "video")
        return ("mkv", "video/x-matroska", "video")
    if head.startswith(b"OggS"):
        if b"\x80theora" in data[:4096]:
            return ("ogv", "video/ogg", "video")
        return ("ogg", "audio/ogg", "audio")
    if head.startswith(b"fLaC"):
        return ("flac", "audio/flac", "audio")
    if head.startswith(b"ID3"):
        return ("mp3", "audio/mpeg", "audio")
    return _sniff_mpeg_audio(head)


def _sniff_ftyp(data: bytes) -> tuple[str, str, str] | None:
    size = int.from_bytes(data[0:4], "big")
    major = data[8:12]
    end = min(size if size >= 16 else 16, len(data), 256)
    compatible = [data[i : i + 4] for i in range(16, end - 3, 4)]
    if major in (b"mif1", b"msf1"):  # generic HEIF: the compatible brands say which codec
        for brand in compatible:
            if brand in (b"avif", b"avis", b"heic", b"heix"):
                return _FTYP_BRANDS[brand]
    if major in _FTYP_BRANDS:
        return _FTYP_BRANDS[major]
    for brand in compatible:  # an unknown major brand (vendor-specific) that declares a known one
        if brand in _FTYP_BRANDS:
            return _FTYP_BRANDS[brand]
    return None


def _sniff_mpeg_audio(head: bytes) -> tuple[str, str, str] | None:
    """An MPEG audio frame header (MP3 without ID3) or ADTS AAC; checks the fields a text byte would break."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    if layer == 0:
        if head[1] & 0xF6 == 0xF0 and (head[2] >> 2) & 0xF < 13:  # ADTS: MPEG-4/2, layer 00, valid rate index
            return ("aac", "audio/aac", "audio")
        return None
    if version == 1 or head[2] >> 4 == 0xF or (head[2] >> 2) & 3 == 3:  # reserved version, bitrate or rate
        return None
    return ("mp3", "audio/mpeg", "audio")


def _sniff_html(data: bytes) -> tuple[str, str, str] | None:
    text = data[:1024].lstrip(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith(b"<?xml") and b"<html" in text:
        return ("html", "text/html", "page")
    for start in _HTML_STARTS:
        if text.startswith(start):
            after = text[len(start) : len(start) + 1]
            if start == b"<!--" or after in (b" ", b">", b"\t", b"\n", b"\r", b"/"):
                return ("html", "text/html", "page")
    return None


def _looks_like_text(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(sample) - 3  # a multi-byte character cut by the sample boundary
    return True


_DAMAGED = {
    b"\x89PNG": "a damaged or incomplete PNG image",
    b"\xff\xd8\xff": "a damaged or incomplete JPEG image",
    b"GIF8": "a damaged or incomplete GIF image",
    b"RIFF": "a damaged or incomplete WebP image",
}


def describe_bytes(data: bytes) -> str:
    """A human guess at what unsupported bytes are, for the error message."""
    head = data[:16]
    known = {
        b"%PDF": "a PDF document",
        b"PK\x03\x04": "a ZIP archive (or an office document)",
        b"\x1f\x8b": "gzip-compressed data",
        b"7z\xbc\xaf": "a 7-Zip archive",
        b"Rar!": "a RAR archive",
        b"\x7fELF": "an executable (ELF)",
        b"MZ": "an executable (Windows)",
    }
    for magic, what in known.items():
        if head.startswith(magic):
            return what
    for magic, what in _DAMAGED.items():  # an image's signature that the decoder still refused
        if head.startswith(magic) and (magic != b"RIFF" or head[8:12] == b"WEBP"):
            return what
    if _looks_like_text(data):
        text = data[:1024].lstrip(b"\xef\xbb\xbf").lstrip().lower()
        if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
            return "an SVG image (not supported: it is a document that can carry scripts)"
        if text.startswith((b"<!doctype html", b"<html")):
            return "an HTML page"
        if text.startswith((b"<?xml", b"<")):
            return "XML or markup text"
        if text.startswith((b"{", b"[")):
            return "JSON or other structured text"
        return "plain text"
    return "binary data of a kind this server does not read"  # never the bytes themselves: nobody reads hex


def _unsupported_message(data: bytes, filename: str | None, name_ext: str) -> str:
    looks = describe_bytes(data)
    if name_ext in _IMAGE_EXTS | _VIDEO_EXTS | _AUDIO_EXTS:
        kind = "an image" if name_ext in _IMAGE_EXTS else "a video" if name_ext in _VIDEO_EXTS else "audio"
        return f"unsupported file type: “{filename}” is named like {kind} (.{name_ext}) but looks like {looks}"
    named = f" “{filename}”" if filename else ""
    return f"unsupported file type{named}: looks like {looks}; expected an image, video or audio file, or an HTML page"
