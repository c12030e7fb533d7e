"""Generation metadata in AI images (removing metadata from stored files is in sanitize.py).

Reading lives in `prompts.media.generation` (one small module per generator family); this module
keeps the entry point the upload service calls.
"""

from __future__ import annotations

from PIL import Image

from prompts.media import generation
from prompts.media.generation.text import MAX_PROMPT, MAX_SETTINGS, MAX_VALUE

__all__ = ["MAX_PROMPT", "MAX_SETTINGS", "MAX_VALUE", "read_generation_metadata"]


def read_generation_metadata(data: bytes) -> dict:
    """What the image says about how it was made: {prompt, negative_prompt, settings, source, generator[, provenance]}.

    Never raises; {} when the file says nothing usable.
    """
    return generation.read(data)


def dhash(img: Image.Image) -> int:
    """64-bit difference hash: near-duplicates differ in few bits (signed, to fit a BigIntegerField)."""
    small = img.convert("L").resize((9, 8), Image.Resampling.BILINEAR)
    pixels = list(small.getdata()) if not hasattr(small, "get_flattened_data") else list(small.get_flattened_data())
    value = 0
    for row in range(8):
        for col in range(8):
            value = (value << 1) | (pixels[row * 9 + col] > pixels[row * 9 + col + 1])
    return value - (1 << 64) if value >= (1 << 63) else value


def hamming(a: int, b: int) -> int:
    return bin((a ^ b) & ((1 << 64) - 1)).count("1")
