"""The places inside PNG, JPEG and WebP files where generators leave their text.

We walk the containers ourselves instead of asking Pillow: it is faster (no pixel is decoded),
it sees PNG text chunks written after the image data, it decodes tEXt as the UTF-8 generators
really write, and it notices C2PA boxes Pillow ignores. EXIF itself is parsed by Pillow.
"""

from __future__ import annotations

import html
import re
import struct
import warnings
import zlib
from dataclasses import dataclass, field

from PIL import Image

from prompts.media.generation import text as t

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT_CHUNK = t.MAX_JSON
MAX_TEXT_TOTAL = 8_000_000
MAX_CHUNKS = 10_000

# EXIF tags that carry generation text.
IMAGE_DESCRIPTION, MAKE, MODEL, SOFTWARE, ARTIST = 0x010E, 0x010F, 0x0110, 0x0131, 0x013B
USER_COMMENT, MAKER_NOTE, XP_COMMENT, EXIF_IFD = 0x9286, 0x927C, 0x9C9C, 0x8769
CAMERA_TAGS = (0x829A, 0x829D, 0x8827, 0x920A)  # exposure time, f-number, ISO, focal length


@dataclass
class Carrier:
    """Everything textual a file holds, plus what the stealth and C2PA readers need to know."""

    format: str = ""
    texts: dict[str, str] = field(default_factory=dict)  # PNG text chunks (first of each keyword)
    exif: dict[str, str] = field(default_factory=dict)  # description, make, model, software, user_comment, ...
    camera: bool = False  # exposure/f-number/ISO tags: a photograph
    xmp: str = ""
    comment: str = ""  # JPEG COM segment
    c2pa: bool = False
    width: int = 0
    height: int = 0
    png_color_type: int = -1
    png_bit_depth: int = 0
    png_interlace: int = 0
    idat: list[tuple[int, int]] = field(default_factory=list)  # (offset, length) of each IDAT payload


def read(data: bytes) -> Carrier:
    if data.startswith(PNG_SIGNATURE):
        return _png(data)
    if data[:2] == b"\xff\xd8":
        return _jpeg(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(data)
    return Carrier()


# --- PNG ------------------------------------------------------------------------------------


def png_chunks(data: bytes):
    """(type, payload offset, payload length) of each chunk, stopping at IEND or at a broken length."""
    pos, count = 8, 0
    while pos + 8 <= len(data) and count < MAX_CHUNKS:
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        kind = data[pos + 4 : pos + 8]
        start = pos + 8
        if start + length > len(data):
            length = len(data) - start
        yield kind, start, length
        if kind == b"IEND":
            return
        pos = start + length + 4
        count += 1


def _inflate(raw: bytes, limit: int = MAX_TEXT_CHUNK) -> bytes:
    """Inflated text, or nothing for a decompression bomb: real prompts and workflows shrink ~10:1, a bomb 1000:1."""
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(raw, limit)
    except zlib.error:
        return b""
    return b"" if len(text) > 65_536 and len(text) > 100 * len(raw) else text


def _png(data: bytes) -> Carrier:
    carrier = Carrier(format="PNG")
    total = 0
    for kind, start, length in png_chunks(data):
        if kind == b"IHDR" and length >= 13:
            carrier.width, carrier.height, carrier.png_bit_depth, carrier.png_color_type = struct.unpack(
                ">IIBB", data[start : start + 10]
            )
            carrier.png_interlace = data[start + 12]
        elif kind == b"IDAT":
            carrier.idat.append((start, length))
        elif kind == b"caBX":
            carrier.c2pa = True
        elif kind == b"eXIf":
            _exif(data[start : start + length], carrier)
        elif kind in (b"tEXt", b"zTXt", b"iTXt") and total < MAX_TEXT_TOTAL:
            keyword, value = _png_text(kind, data[start : start + min(length, MAX_TEXT_CHUNK)])
            total += len(value)
            if keyword and keyword not in carrier.texts:
                carrier.texts[keyword] = value
    if "XML:com.adobe.xmp" in carrier.texts:
        carrier.xmp = carrier.texts.pop("XML:com.adobe.xmp")
    return carrier


def _png_text(kind: bytes, raw: bytes) -> tuple[str, str]:
    keyword, sep, rest = raw.partition(b"\0")
    if not sep:
        return "", ""
    name = keyword.decode("latin-1")[:80]
    if kind == b"tEXt":
        return name, t.decode_bytes(rest)
    if kind == b"zTXt":
        return name, t.decode_bytes(_inflate(rest[1:]))
    if len(rest) < 2:
        return "", ""
    compressed, body = rest[0], rest[2:]
    _language, _, body = body.partition(b"\0")
    _translated, _, body = body.partition(b"\0")
    return name, t.decode_bytes(_inflate(body) if compressed else body)


# --- JPEG -----------------------------------------------------------------------------------


def _jpeg(data: bytes) -> Carrier:
    carrier = Carrier(format="JPEG")
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA or marker == 0xD9:
            break
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        body = data[pos + 4 : pos + 2 + length]
        if marker == 0xE1 and body.startswith(b"Exif\0"):
            _exif(body, carrier)
        elif marker == 0xE1 and body.startswith(b"http://ns.adobe.com/xap/1.0/\0"):
            carrier.xmp = t.decode_bytes(body[29:])
        elif marker == 0xEB and body[:2] == b"JP" and b"c2pa" in body[:64]:
            carrier.c2pa = True
        elif marker == 0xFE and not carrier.comment:
            carrier.comment = t.decode_bytes(body).rstrip("\0")
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and len(body) >= 5:
            carrier.height, carrier.width = struct.unpack(">HH", body[1:5])
        pos += 2 + length
    return carrier


# --- WebP -----------------------------------------------------------------------------------


def webp_chunks(data: bytes):
    """(fourcc, payload offset, payload length) of each chunk of the RIFF container."""
    end = min(len(data), 8 + struct.unpack("<I", data[4:8])[0])
    pos, count = 12, 0
    while pos + 8 <= end and count < MAX_CHUNKS:
        kind = data[pos : pos + 4]
        length = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        yield kind, pos + 8, min(length, end - pos - 8)
        pos += 8 + length + (length & 1)
        count += 1


def _webp(data: bytes) -> Carrier:
    carrier = Carrier(format="WEBP")
    for kind, start, length in webp_chunks(data):
        body = data[start : start + length]
        if kind == b"EXIF":
            _exif(body, carrier)
        elif kind == b"XMP ":
            carrier.xmp = t.decode_bytes(body)
        elif kind == b"C2PA":
            carrier.c2pa = True
        elif kind == b"VP8X" and length >= 10:
            carrier.width = 1 + int.from_bytes(body[4:7], "little")
            carrier.height = 1 + int.from_bytes(body[7:10], "little")
    return carrier


# --- EXIF -----------------------------------------------------------------------------------


def _exif(raw: bytes, carrier: Carrier) -> None:
    if raw.startswith(b"Exif\0\0"):
        raw = raw[6:]
    elif raw.startswith(b"Exif\0"):
        raw = raw[5:]
    exif = Image.Exif()
    try:
        with warnings.catch_warnings():  # Pillow warns about every damaged tag; a damaged tag is only skipped
            warnings.simplefilter("ignore")
            exif.load(raw)
            sub = exif.get_ifd(EXIF_IFD)
    except Exception:  # noqa: BLE001 - a broken EXIF block is no error of the upload, only nothing to read
        return
    big_endian = raw[:2] == b"MM"
    names = {IMAGE_DESCRIPTION: "description", MAKE: "make", MODEL: "model", SOFTWARE: "software", ARTIST: "artist"}
    for tag, name in names.items():
        value = exif.get(tag)
        if isinstance(value, bytes):
            value = t.decode_bytes(value)
        if isinstance(value, str) and value.strip("\0 "):
            carrier.exif.setdefault(name, t.utf8_from_latin1(value).rstrip("\0"))
    # UserComment belongs in the Exif sub-IFD; ComfyUI's SaveImage+ writes it into IFD0.
    for where, source in (("user_comment", sub.get(USER_COMMENT)), ("user_comment_ifd0", exif.get(USER_COMMENT))):
        if source is not None:
            comment = t.decode_user_comment(source, big_endian)
            if comment:
                carrier.exif.setdefault(where, comment)
    maker_note = sub.get(MAKER_NOTE)
    if isinstance(maker_note, (bytes, str)) and len(maker_note) < 64:
        carrier.exif["maker_note"] = t.decode_bytes(maker_note) if isinstance(maker_note, bytes) else maker_note
    xp_comment = exif.get(XP_COMMENT)
    if isinstance(xp_comment, (bytes, tuple)):
        carrier.exif["xp_comment"] = bytes(xp_comment).decode("utf-16-le", errors="replace").rstrip("\0")
    carrier.camera = carrier.camera or any(tag in sub for tag in CAMERA_TAGS)


# --- XMP ------------------------------------------------------------------------------------


def xmp_field(xmp: str, name: str) -> str:
    """The first value of an XMP property, as an element (lang alternatives too) or an attribute."""
    if not xmp:
        return ""
    xmp = xmp[:MAX_TEXT_CHUNK]
    element = re.search(rf"<{re.escape(name)}\b[^>]*?(?:/>|>(.*?)</{re.escape(name)}>)", xmp, re.DOTALL)
    if element and element.group(1) is not None:
        inner = element.group(1)
        item = re.search(r"<rdf:li\b[^>]*>(.*?)</rdf:li>", inner, re.DOTALL)
        return _unescape_xml((item.group(1) if item else inner).strip())
    attribute = re.search(rf"\b{re.escape(name)}=\"([^\"]*)\"", xmp)
    return _unescape_xml(attribute.group(1)) if attribute else ""


def _unescape_xml(value: str) -> str:
    return html.unescape(value) if "<" not in value else ""
