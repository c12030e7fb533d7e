"""Removing every kind of metadata from a stored original, without re-encoding its pixels.

Each format is rebuilt from its parsed structure (JPEG segments, PNG chunks, RIFF chunks, GIF blocks),
keeping only what draws the picture and its colour profile. EXIF/GPS, XMP, IPTC, comments, text chunks,
secondary images (MPO gain maps and depth maps) and any bytes after the end of the image are left behind.
Orientation is the one piece of EXIF that is kept, re-written alone, so the original still shows upright.
A structure that cannot be walked to its end is refused (DamagedImage) rather than stored half-cleaned.
"""

from __future__ import annotations

import io
import re
import struct
import zlib

from PIL import Image


class DamagedImage(ValueError):
    """The file's structure is broken where the stripper has to read it; the message is for people."""

    def __init__(self) -> None:
        super().__init__("This file could not be read as an image. It may be damaged.")


def strip_metadata(data: bytes, fmt: str, *, orientation: int = 1) -> bytes:
    """The same pixels without EXIF/GPS, XMP, comments, text chunks or extra images (no re-encode)."""
    if fmt in ("JPEG", "MPO"):
        return _strip_jpeg(data, orientation)
    if fmt == "PNG":
        return _strip_png(data, orientation)
    if fmt == "WEBP":
        return _strip_webp(data, orientation)
    if fmt == "GIF":
        return _strip_gif(data)
    raise ValueError(f"no metadata stripper for {fmt!r}")  # never store a format we cannot clean


def _orientation_tiff(orientation: int) -> bytes:
    """A TIFF block (the body of an EXIF segment/chunk) holding only the Orientation tag."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    raw = exif.tobytes()
    return raw[6:] if raw.startswith(b"Exif\0\0") else raw


# --- JPEG (and MPO, whose primary image is a JPEG) ------------------------------------------

_SOI, _EOI = b"\xff\xd8", b"\xff\xd9"
# In entropy-coded data an FF is followed by 00 (a stuffed FF byte) or D0-D7 (a restart marker); any other
# byte after FF is a real marker (FF FF is a fill byte in front of one) and ends the scan.
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7]")


def _keep_jpeg_segment(marker: int, segment: bytes) -> bool:
    if marker == 0xE0:
        return segment[4:9] == b"JFIF\0"  # JFIF's density; JFXX carries a thumbnail, other APP0s are tags
    if marker == 0xE2:
        return segment[4:16] == b"ICC_PROFILE\0"  # the colour profile (in one or more chunks); MPF is dropped
    if marker == 0xEE:
        return segment[4:9] == b"Adobe"  # its transform flag says how CMYK/YCCK data is stored
    # Every other APPn (EXIF, XMP, MPF, IPTC, maker blocks) and comments go; tables, frames and scans stay.
    return not (0xE0 <= marker <= 0xEF or marker == 0xFE)


def _strip_jpeg(data: bytes, orientation: int) -> bytes:
    """Walk the segments from SOI to the first image's EOI and rebuild the file from the ones that draw it.

    Marker segments are followed by their lengths (with any FF fill bytes in front of a marker skipped);
    after each SOS header the entropy-coded data runs to the next real marker, so segments between the
    scans of a progressive JPEG are filtered like the others. Whatever follows EOI is dropped: an MPO's
    secondary images (gain map, depth map) with their own EXIF, a ZIP, a web page.
    """
    if not data.startswith(_SOI):
        raise DamagedImage()
    out = [_SOI]
    pos, size = 2, len(data)
    while True:
        if pos >= size or data[pos] != 0xFF:
            raise DamagedImage()
        while pos < size and data[pos] == 0xFF:
            pos += 1
        if pos >= size:
            raise DamagedImage()
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # TEM and restart markers stand alone
            out.append(bytes((0xFF, marker)))
            continue
        if marker in (0x00, 0xD8) or pos + 2 > size:
            raise DamagedImage()
        length = struct.unpack(">H", data[pos : pos + 2])[0]
        if length < 2 or pos + length > size:
            raise DamagedImage()
        segment = bytes((0xFF, marker)) + data[pos : pos + length]
        pos += length
        if marker == 0xE0 and segment[4:9] == b"JFIF\0" and len(segment) > 18:
            # JFIF's own thumbnail goes too (editors may leave one of the uncropped picture): the header
            # is kept with its thumbnail size set to 0x0.
            segment = b"\xff\xe0\x00\x10" + segment[4:16] + b"\0\0"
        if _keep_jpeg_segment(marker, segment):
            out.append(segment)
        if marker == 0xDA:
            match = _SCAN_END.search(data, pos)
            end = match.start() if match else size
            out.append(data[pos:end])
            pos = end
            if end == size:  # no EOI after the image data: decoders take the end of the file as one
                break
    if orientation != 1:
        tiff = _orientation_tiff(orientation)
        app1 = b"\xff\xe1" + struct.pack(">H", len(tiff) + 8) + b"Exif\0\0" + tiff
        # JFIF asks to come first; EXIF then follows it, as cameras and Pillow write them.
        out.insert(2 if len(out) > 1 and out[1][:2] == b"\xff\xe0" else 1, app1)
    out.append(_EOI)
    return b"".join(out)


# --- PNG (and APNG) -------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Ancillary chunks that change how the pixels look: transparency, colour (gamma, chromaticities, sRGB,
# ICC, CICP and HDR levels), significant bits, background, pixel aspect, animation. Every other ancillary
# chunk (tEXt/zTXt/iTXt, eXIf, tIME, C2PA's caBX, editors' private chunks) is metadata and goes.
_PNG_KEEP = {
    b"tRNS",
    b"gAMA",
    b"cHRM",
    b"sRGB",
    b"iCCP",
    b"cICP",
    b"mDCV",
    b"cLLI",
    b"sBIT",
    b"bKGD",
    b"pHYs",
    b"acTL",
    b"fcTL",
    b"fdAT",
}


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _strip_png(data: bytes, orientation: int) -> bytes:
    if not data.startswith(_PNG_SIGNATURE):
        raise DamagedImage()
    out = [_PNG_SIGNATURE]
    pos = len(_PNG_SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise DamagedImage()  # no IEND: cut short
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise DamagedImage()
        critical = kind[:1].isupper()  # a decoder must understand these: never metadata
        if critical or kind in _PNG_KEEP:
            out.append(data[pos:end])
        if kind == b"IHDR" and orientation != 1:
            out.append(_png_chunk(b"eXIf", _orientation_tiff(orientation)))  # before IDAT, where readers look
        pos = end
        if kind == b"IEND":
            return b"".join(out)


# --- WebP -----------------------------------------------------------------------------------

# Chunks that draw the picture: the extended header, colour profile, animation, alpha and the bitstreams.
_WEBP_KEEP = {b"VP8X", b"ICCP", b"ANIM", b"ANMF", b"ALPH", b"VP8 ", b"VP8L"}
_VP8X_ALPHA, _VP8X_EXIF, _VP8X_XMP = 0x10, 0x08, 0x04


def _strip_webp(data: bytes, orientation: int) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise DamagedImage()
    end = min(len(data), 8 + struct.unpack("<I", data[4:8])[0])  # bytes after the RIFF container are dropped
    chunks, pos = [], 12
    while pos < end:
        if pos + 8 > end:
            raise DamagedImage()
        kind = data[pos : pos + 4]
        length = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        stop = pos + 8 + length + (length & 1)
        if pos + 8 + length > end:
            raise DamagedImage()
        if kind in _WEBP_KEEP:
            chunks.append(bytearray(data[pos : min(stop, end)]))
        pos = stop
    if not chunks:
        raise DamagedImage()
    if orientation != 1:
        if chunks[0][:4] != b"VP8X":  # a simple WebP: an extended header is needed to carry EXIF
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                alpha = _VP8X_ALPHA if img.mode == "RGBA" else 0
            header = bytes((alpha, 0, 0, 0)) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
            chunks.insert(0, bytearray(b"VP8X" + struct.pack("<I", 10) + header))
        tiff = _orientation_tiff(orientation)
        chunks.append(bytearray(b"EXIF" + struct.pack("<I", len(tiff)) + tiff + b"\0" * (len(tiff) & 1)))
    if chunks[0][:4] == b"VP8X":
        chunks[0][8] &= ~(_VP8X_EXIF | _VP8X_XMP) & 0xFF
        if orientation != 1:
            chunks[0][8] |= _VP8X_EXIF
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- GIF ------------------------------------------------------------------------------------

# Application extensions that change how the GIF plays or looks: the loop count and the colour profile.
# Every other one (XMP, Photoshop IPTC, editors' private blocks) is metadata.
_GIF_KEEP_APPS = {b"NETSCAPE2.0", b"ANIMEXTS1.0", b"ICCRGBG1012"}


def _gif_sub_blocks_end(data: bytes, pos: int) -> int:
    """Where a chain of sub-blocks (a length byte, that many bytes, ... a zero length) ends."""
    while True:
        if pos >= len(data):
            raise DamagedImage()
        length = data[pos]
        pos += 1 + length
        if length == 0:
            return pos


def _colour_table_size(flags: int) -> int:
    return 3 * (2 << (flags & 0x07)) if flags & 0x80 else 0


def _strip_gif(data: bytes) -> bytes:
    """Keep the header, colour tables, frames and their graphic control blocks, the loop and ICC blocks.

    Comments go, and so do plain-text extensions: no browser draws them, so they are hidden text.
    """
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        raise DamagedImage()
    pos = 13 + _colour_table_size(data[10])
    if pos > len(data):
        raise DamagedImage()
    out = [data[:pos]]
    while pos < len(data):
        introducer = data[pos]
        if introducer == 0x3B:  # trailer
            break
        if introducer == 0x21:  # extension: label, then sub-blocks (the first holds its fixed fields)
            if pos + 2 > len(data):
                raise DamagedImage()
            label = data[pos + 1]
            end = _gif_sub_blocks_end(data, pos + 2)
            identifier = data[pos + 3 : pos + 14] if label == 0xFF and data[pos + 2] == 11 else b""
            if label == 0xF9 or identifier in _GIF_KEEP_APPS:
                out.append(data[pos:end])
            pos = end
        elif introducer == 0x2C:  # image: descriptor, local colour table, LZW code size, data sub-blocks
            if pos + 11 > len(data):
                raise DamagedImage()
            start = pos
            pos += 10 + _colour_table_size(data[pos + 9]) + 1
            pos = _gif_sub_blocks_end(data, pos)
            out.append(data[start:pos])
        else:
            raise DamagedImage()
    out.append(b"\x3b")  # the trailer, also when the file ended without one; nothing after it is kept
    return b"".join(out)
