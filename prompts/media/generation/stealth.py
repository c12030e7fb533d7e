"""A1111/NovelAI "stealth" metadata: text hidden in the least significant bits of a PNG's pixels.

Written by the sd-webui-stealth-pnginfo extension and by NovelAI. The bits run column by column
(x outer, y inner): the 15-byte signature, a 32-bit big-endian length in bits, then the payload.
`stealth_pnginfo`/`stealth_pngcomp` use the alpha channel (the latter gzip), `stealth_rgbinfo`/
`stealth_rgbcomp` the red, green and blue bits of each pixel in turn.

Checking costs almost nothing: the first column's first 152 pixels are enough, and in a
non-interlaced PNG the first pixel of a row is unfiltered from the row above alone, so only
the first rows are inflated. Only a file that carries the signature is decoded in full.
"""

from __future__ import annotations

import io
import zlib

from PIL import Image

from prompts.media.generation import containers
from prompts.media.generation import text as t

SIGNATURES = {
    b"stealth_pnginfo": ("alpha", False),
    b"stealth_pngcomp": ("alpha", True),
    b"stealth_rgbinfo": ("rgb", False),
    b"stealth_rgbcomp": ("rgb", True),
}
SIGNATURE_BITS = 15 * 8
HEADER_BITS = SIGNATURE_BITS + 32
MAX_PAYLOAD = 4_000_000
_BITS = bytes(0x30 | (v & 1) for v in range(256))  # byte -> ASCII '0' / '1' of its lowest bit


def _bits_to_bytes(bits: bytes) -> bytes:
    usable = len(bits) - len(bits) % 8
    if not usable:
        return b""
    return int(bits[:usable], 2).to_bytes(usable // 8, "big")


def _first_pixels(data: bytes, carrier: containers.Carrier, rows: int) -> list[bytes] | None:
    """The first pixel of each of the first `rows` rows, or None when the fast path does not apply."""
    channels = {6: 4, 2: 3}.get(carrier.png_color_type)
    if channels is None or carrier.png_bit_depth != 8 or carrier.png_interlace or carrier.height < rows:
        return None
    stride = 1 + carrier.width * channels
    wanted = stride * rows
    inflater, raw = zlib.decompressobj(), bytearray()
    try:
        for start, length in carrier.idat:
            raw += inflater.decompress(data[start : start + length], wanted - len(raw))
            if len(raw) >= wanted:
                break
    except zlib.error:
        return None
    if len(raw) < wanted:
        return None
    pixels, previous = [], bytes(channels)
    for row in range(rows):
        offset = row * stride
        kind, current = raw[offset], raw[offset + 1 : offset + 1 + channels]
        if kind in (2, 4):  # Up, Paeth (left and upper-left are zero at x=0)
            current = bytes((c + p) & 0xFF for c, p in zip(current, previous, strict=False))
        elif kind == 3:  # Average
            current = bytes((c + p // 2) & 0xFF for c, p in zip(current, previous, strict=False))
        elif kind > 4:
            return None
        pixels.append(bytes(current))
        previous = pixels[-1]
    return pixels


def detect(data: bytes, carrier: containers.Carrier | None = None) -> tuple[str, bool] | None:
    """(mode, compressed) when the PNG carries a stealth signature."""
    carrier = carrier or containers.read(data)
    if carrier.format != "PNG" or carrier.png_color_type not in (2, 6):
        return None
    pixels = _first_pixels(data, carrier, SIGNATURE_BITS)
    if pixels is not None:
        alpha = bytes(p[3] for p in pixels) if carrier.png_color_type == 6 else b""
        rgb = b"".join(p[:3] for p in pixels[: SIGNATURE_BITS // 3])
        candidates = [_bits_to_bytes(alpha.translate(_BITS)), _bits_to_bytes(rgb.translate(_BITS))]
        return next((SIGNATURES[c] for c in candidates if c in SIGNATURES), None)
    image = _open(data)
    if image is None:
        return None
    for mode in ("alpha", "rgb"):
        bits = _plane(image, mode, SIGNATURE_BITS)
        found = SIGNATURES.get(_bits_to_bytes(bits))
        if found and found[0] == mode:
            return found
    return None


def _open(data: bytes) -> Image.Image | None:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception:  # noqa: BLE001 - undecodable pixels hold nothing we can read
        return None
    return image if image.mode in ("RGBA", "RGB") else None


def _plane(image: Image.Image, mode: str, count: int) -> bytes:
    """The lowest bits, column by column, as ASCII '0'/'1' (at most `count`)."""
    if mode == "alpha":
        if image.mode != "RGBA":
            return b""
        source = image.getchannel("A")
        pixels_needed = count
    else:
        source = image.convert("RGB") if image.mode != "RGB" else image
        pixels_needed = -(-count // 3)
    columns = -(-pixels_needed // image.height) if image.height else 0
    strip = source.crop((0, 0, min(image.width, columns), image.height)).transpose(Image.Transpose.TRANSPOSE)
    return strip.tobytes()[:count].translate(_BITS)


def read(data: bytes, carrier: containers.Carrier | None = None) -> str:
    """The hidden text (A1111 parameters, or NovelAI's JSON), or '' when there is none."""
    found = detect(data, carrier)
    if found is None:
        return ""
    mode, compressed = found
    image = _open(data)
    if image is None:
        return ""
    available = image.width * image.height * (1 if mode == "alpha" else 3)
    header = _plane(image, mode, HEADER_BITS)
    if len(header) < HEADER_BITS:
        return ""
    length = int(header[SIGNATURE_BITS:], 2)
    length = min(length, available - HEADER_BITS, MAX_PAYLOAD * 8)
    payload = _bits_to_bytes(_plane(image, mode, HEADER_BITS + length)[HEADER_BITS:])
    if compressed:
        try:
            payload = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(payload, MAX_PAYLOAD)
        except zlib.error:
            return ""
    return t.decode_bytes(payload)


def clear_stealth_bits(data: bytes, fmt: str) -> bytes:
    """The same PNG with the hidden channel overwritten, when it has one; otherwise `data` unchanged.

    Alpha bits are set (opaque pixels stay opaque), colour bits cleared: at most one level of 255
    changes, invisible, and nothing remains to read.
    """
    if fmt != "PNG":
        return data
    found = detect(data)
    image = _open(data) if found else None
    if image is None:
        return data
    if found[0] == "alpha":
        red, green, blue, alpha = image.split()
        image = Image.merge("RGBA", (red, green, blue, alpha.point(lambda v: v | 1)))
    else:
        bands = [band.point(lambda v: v & 0xFE) for band in image.split()]
        if image.mode == "RGBA":
            bands[3] = image.getchannel("A")
        image = Image.merge(image.mode, bands)
    out = io.BytesIO()
    options = {key: image_info for key, image_info in _kept_info(data).items() if image_info is not None}
    image.save(out, format="PNG", **options)
    return out.getvalue()


def _kept_info(data: bytes) -> dict:
    try:
        info = Image.open(io.BytesIO(data)).info
    except Exception:  # noqa: BLE001 - the caller already decoded it; this only keeps colour profile and density
        return {}
    return {"icc_profile": info.get("icc_profile"), "dpi": info.get("dpi")}
