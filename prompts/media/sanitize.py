"""Removing every kind of metadata from a stored original, without re-encoding its pixels."""
from __future__ import annotations

import struct

from PIL import Image

_PNG_DROP = {b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"tIME"}


def strip_metadata(data: bytes, fmt: str, *, orientation: int = 1) -> bytes:
    """The same pixels without EXIF/GPS, XMP, comments or text chunks (no re-encode)."""
    if fmt == "JPEG":
        return _strip_jpeg(data, orientation)
    if fmt == "PNG":
        return _strip_png(data)
    if fmt == "WEBP":
        return _strip_webp(data)
    return data


def _strip_jpeg(data: bytes, orientation: int) -> bytes:
    out = bytearray(data[:2])  # SOI
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: the rest is image data
            break
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        segment = data[pos:pos + 2 + length]
        # Keep JFIF (APP0), ICC profiles (APP2 'ICC_PROFILE') and Adobe (APP14); drop EXIF/XMP (APP1),
        # the other APPn blocks and comments (COM).
        keep = marker not in range(0xE1, 0xF0) and marker != 0xFE
        if marker == 0xE2 and segment[4:16] == b"ICC_PROFILE\0":
            keep = True
        if marker == 0xEE:
            keep = True
        if keep:
            out += segment
        pos += 2 + length
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        payload = b"Exif\0\0" + exif.tobytes()
        out[2:2] = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    # Nothing after the end-of-image marker is kept: a ZIP, a web page or a second picture (MPO, with its
    # own EXIF) can hide there. Scan data cannot contain FF D9 (an FF in it is followed by 00 or a restart).
    end = data.find(b"\xff\xd9", pos)
    out += data[pos:end + 2] if end != -1 else data[pos:]
    return bytes(out)


def _strip_png(data: bytes) -> bytes:
    out = bytearray(data[:8])
    pos = 8
    while pos + 8 <= len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        kind = data[pos + 4:pos + 8]
        chunk = data[pos:pos + 12 + length]
        if kind not in _PNG_DROP:
            out += chunk
        pos += 12 + length
        if kind == b"IEND":
            break
    return bytes(out)


def _strip_webp(data: bytes) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return data
    chunks, pos = [], 12
    end = min(len(data), 8 + struct.unpack("<I", data[4:8])[0])  # bytes after the RIFF container are dropped
    while pos + 8 <= end:
        kind = data[pos:pos + 4]
        length = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        chunk = bytearray(data[pos:min(end, pos + 8 + length + (length & 1))])
        if kind == b"VP8X":
            chunk[8] &= ~(0x08 | 0x04) & 0xFF  # clear the EXIF and XMP flags
        if kind not in (b"EXIF", b"XMP "):
            chunks.append(bytes(chunk))
        pos += 8 + length + (length & 1)
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body
