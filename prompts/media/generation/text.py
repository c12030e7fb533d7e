"""Text as generators write it, made safe to keep: decoded right, capped, free of control characters.

Every value read from a file goes through `clean` before it leaves this package: the file is
untrusted, and what we keep is shown on public pages (escaped there by the templates).
"""

from __future__ import annotations

import json
import re
import unicodedata

MAX_PROMPT = 5000
MAX_VALUE = 200
MAX_SETTINGS = 30
MAX_JSON = 2_000_000  # ComfyUI workflows of a few hundred kB are common; nothing legitimate is bigger

# Bidirectional overrides can make an escaped text read differently from what it holds.
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
PLACEHOLDERS = {
    "",
    "unknown",
    "none",
    "null",
    "undefined",
    "n/a",
    "na",
    "-",
    "--",
    "prompt",
    "positive",
    "positive prompt",
    "text",
    "string",
    "clip_positive",
    "positive_prompt",
}


def clean(value, limit: int = MAX_PROMPT) -> str:
    """Text only, line breaks and tabs kept, every other control character dropped, capped.

    Non-breaking and ideographic spaces are real characters of real prompts (Japanese prompts
    use U+3000): they are kept, unlike `str.isprintable` would.
    """
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        return ""
    value = value[: limit * 4].replace("\r\n", "\n").replace("\r", "\n")
    kept = []
    for ch in value:
        if ch in "\n\t":
            kept.append(ch)
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs", "Co", "Cn") or ch in _BIDI_CONTROLS:
            continue
        kept.append(ch)
    return "".join(kept).strip()[:limit]


def value(raw) -> str:
    """A setting: a short string or number, nothing else (no lists, no nested objects)."""
    if isinstance(raw, float) and raw.is_integer() and abs(raw) < 1e15:
        raw = int(raw)
    return clean(raw, MAX_VALUE) if isinstance(raw, (str, int, float)) and not isinstance(raw, bool) else ""


def is_placeholder(text: str) -> bool:
    return text.strip().strip("\"'").lower() in PLACEHOLDERS


def utf8_from_latin1(text: str) -> str:
    """Undo the mojibake of UTF-8 bytes decoded as Latin-1 (PNG tEXt, EXIF ASCII).

    Both containers are Latin-1/ASCII by their specifications, but generators write UTF-8 into
    them: `#テスト` arrives as `#ãã¹ã`. Text that is not valid UTF-8 stays as it was.
    """
    if not text or text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def decode_bytes(raw: bytes) -> str:
    """UTF-8 first (what every current generator writes), Latin-1 otherwise."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def decode_utf16(raw: bytes, big_endian_hint: bool = True) -> str:
    """UTF-16 of either byte order, with or without a byte-order mark.

    EXIF says UNICODE text follows the file's byte order; A1111 (piexif) writes big-endian in a
    big-endian file, SwarmUI little-endian. Prompts are mostly ASCII, so the byte order is the
    one that puts the zero bytes in the high half of each code unit.
    """
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw[2:].decode("utf-16-le" if raw[:2] == b"\xff\xfe" else "utf-16-be", errors="replace")
    raw = raw[: len(raw) - (len(raw) % 2)]
    sample = raw[:4000]
    zeros_even = sample[0::2].count(0)
    zeros_odd = sample[1::2].count(0)
    if zeros_even != zeros_odd:
        big_endian = zeros_even > zeros_odd
    else:
        big_endian = big_endian_hint
    return raw.decode("utf-16-be" if big_endian else "utf-16-le", errors="replace")


def decode_user_comment(raw, big_endian_hint: bool = True) -> str:
    """EXIF UserComment: an 8-byte character code, then the text.

    `ASCII\\0\\0\\0` (generators put UTF-8 there), `UNICODE\\0` (UTF-16), `JIS\\0\\0\\0\\0\\0`, eight zero
    bytes (undefined), or no code at all (Fooocus writes bare text).
    """
    if isinstance(raw, str):
        return utf8_from_latin1(raw).rstrip("\0")
    if not isinstance(raw, (bytes, bytearray)):
        return ""
    raw = bytes(raw)
    code, body = raw[:8], raw[8:]
    if code == b"UNICODE\0":
        text = decode_utf16(body, big_endian_hint)
    elif code == b"ASCII\0\0\0" or code == b"\0" * 8:
        text = decode_bytes(body)
    elif code == b"JIS\0\0\0\0\0":
        text = body.decode("shift_jis", errors="replace")
    else:
        text = decode_bytes(raw)
    text = text.strip("\0 ")
    if text.lower().startswith("charset="):  # exiv2 writes 'charset=Ascii text' into some files
        text = text.split(" ", 1)[1] if " " in text else ""
    return text


def load_json(text):
    """A JSON object or list from untrusted text, or None: capped, and never raises."""
    if isinstance(text, (dict, list)):
        return text
    if not isinstance(text, str):
        return None
    text = text.strip().rstrip("\0")
    if not text or text[0] not in "{[" or len(text) > MAX_JSON:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


_SIZE = re.compile(r"^\(?\s*(\d{1,6})\s*[x×,*]\s*(\d{1,6})\s*\)?")


def size(width, height=None) -> str:
    """'832x1216' from two numbers or from texts like '(896, 1152)' / '832 x 1216 (portrait)'."""
    if height is None:
        match = _SIZE.match(str(width)) if isinstance(width, str) else None
        return f"{match.group(1)}x{match.group(2)}" if match else ""
    try:
        w, h = int(float(width)), int(float(height))
    except (TypeError, ValueError, OverflowError):
        return ""
    return f"{w}x{h}" if 0 < w < 10**6 and 0 < h < 10**6 else ""
