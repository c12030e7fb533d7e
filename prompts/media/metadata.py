"""Generation metadata in AI images, and removing every kind of metadata from public files.

Automatic1111/Forge write a PNG text chunk `parameters`; ComfyUI writes `prompt`/`workflow` JSON
chunks; others use EXIF UserComment/ImageDescription or XMP. Nothing read here is trusted: texts
are capped, control characters dropped, values kept only when they are short strings or numbers.
"""
from __future__ import annotations

import io
import json
import re
import struct

from PIL import Image

MAX_PROMPT = 5000
MAX_VALUE = 200
MAX_SETTINGS = 30
_SETTING_RE = re.compile(r"\s*([A-Za-z][A-Za-z0-9 _\-/]{0,40}):\s*(\"[^\"]*\"|[^,]*)")


def _text(value, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    cleaned = "".join(ch for ch in value if ch.isprintable() or ch in "\n\t")
    return cleaned.strip()[:limit]


def parse_a1111(parameters: str) -> dict:
    """'<prompt>\\nNegative prompt: ...\\nSteps: 20, Sampler: Euler a, ...' -> structured data."""
    lines = parameters.strip().split("\n")
    settings_line = ""
    if lines and re.match(r"^\s*Steps:\s*\d+", lines[-1]):
        settings_line = lines.pop()
    negative = ""
    for index, line in enumerate(lines):
        if line.startswith("Negative prompt:"):
            negative = "\n".join([line[len("Negative prompt:"):].strip(), *lines[index + 1:]])
            lines = lines[:index]
            break
    settings = {}
    for key, value in _SETTING_RE.findall(settings_line):
        if len(settings) >= MAX_SETTINGS:
            break
        settings[_text(key, 40)] = _text(value.strip().strip('"'), MAX_VALUE)
    return {"prompt": _text("\n".join(lines), MAX_PROMPT), "negative_prompt": _text(negative, MAX_PROMPT),
            "settings": settings, "source": "Automatic1111"}


def parse_comfyui(prompt_json: str) -> dict:
    """The positive prompt of a ComfyUI graph: the text node wired into the sampler's `positive`."""
    try:
        graph = json.loads(prompt_json)
    except (ValueError, TypeError):
        return {}
    if not isinstance(graph, dict):
        return {}
    nodes = {key: node for key, node in graph.items() if isinstance(node, dict)}

    def text_of(reference) -> str:
        if isinstance(reference, list) and reference and str(reference[0]) in nodes:
            inputs = nodes[str(reference[0])].get("inputs", {})
            return inputs.get("text", "") if isinstance(inputs, dict) else ""
        return ""

    settings, positive, negative = {}, "", ""
    for node in nodes.values():
        inputs = node.get("inputs", {}) if isinstance(node.get("inputs"), dict) else {}
        kind = str(node.get("class_type", ""))
        if "KSampler" in kind:
            positive = positive or text_of(inputs.get("positive"))
            negative = negative or text_of(inputs.get("negative"))
            for key in ("seed", "steps", "cfg", "sampler_name", "scheduler", "denoise"):
                if isinstance(inputs.get(key), (int, float, str)):
                    settings[key] = _text(str(inputs[key]), MAX_VALUE)
        if "CheckpointLoader" in kind and isinstance(inputs.get("ckpt_name"), str):
            settings["model"] = _text(inputs["ckpt_name"], MAX_VALUE)
    if not positive:
        texts = [n.get("inputs", {}).get("text") for n in nodes.values()
                 if "CLIPTextEncode" in str(n.get("class_type", "")) and isinstance(n.get("inputs"), dict)]
        positive = next((t for t in texts if isinstance(t, str) and t.strip()), "")
    return {"prompt": _text(positive, MAX_PROMPT), "negative_prompt": _text(negative, MAX_PROMPT),
            "settings": dict(list(settings.items())[:MAX_SETTINGS]), "source": "ComfyUI"}


def _exif_texts(img: Image.Image) -> list[str]:
    texts = []
    try:
        exif = img.getexif()
        description = exif.get(0x010E)
        user_comment = exif.get_ifd(0x8769).get(0x9286)
        software = exif.get(0x0131)
    except Exception:  # a broken EXIF block is not an error of the upload
        return texts
    if isinstance(user_comment, bytes):
        # EXIF UserComment starts with an 8-byte character code: ASCII, UNICODE (UTF-16) or zeros.
        code, body = user_comment[:8], user_comment[8:]
        user_comment = body.decode("utf-16-be" if code.startswith(b"UNICODE") else "utf-8", errors="ignore")
    texts += [t for t in (user_comment, description, software) if isinstance(t, str) and t.strip()]
    return texts


def _xmp_description(img: Image.Image) -> str:
    xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp") or b""
    if isinstance(xmp, bytes):
        xmp = xmp.decode("utf-8", errors="ignore")
    match = re.search(r"<dc:description>.*?<rdf:li[^>]*>(.*?)</rdf:li>", xmp, re.S)
    return match.group(1) if match else ""


def guess_generator(found: dict, hints: str) -> str:
    text = f"{found.get('source', '')} {json.dumps(found.get('settings', {}))} {hints}".lower()
    if "midjourney" in text or "job id" in text:
        return "midjourney"
    if "dall" in text and "e" in text and "openai" in text or "dall-e" in text or "dalle" in text:
        return "dall-e"
    if "flux" in text:
        return "flux"
    if "firefly" in text or "adobe" in text:
        return "firefly"
    if "ideogram" in text:
        return "ideogram"
    if "leonardo" in text:
        return "leonardo"
    if found.get("source") in ("Automatic1111", "ComfyUI") or "stable diffusion" in text or "sdxl" in text:
        return "stable-diffusion"
    return ""


def read_generation_metadata(data: bytes) -> dict:
    """What the image says about how it was made: {prompt, negative_prompt, settings, source, generator}."""
    try:
        img = Image.open(io.BytesIO(data))
        info = dict(getattr(img, "text", {}) or {}) if img.format == "PNG" else {}
        info.update({k: v for k, v in img.info.items() if isinstance(v, str)})
    except Exception:
        return {}
    found: dict = {}
    if isinstance(info.get("parameters"), str):
        found = parse_a1111(info["parameters"][:20000])
    elif isinstance(info.get("prompt"), str) and info["prompt"].lstrip().startswith("{"):
        found = parse_comfyui(info["prompt"][:200000])
    hints = " ".join(str(v)[:500] for k, v in info.items() if k.lower() in ("software", "description", "comment"))
    if not found.get("prompt"):
        for candidate in [_xmp_description(img), *_exif_texts(img), info.get("Description", "")]:
            text = _text(candidate, MAX_PROMPT)
            if len(text) >= 3 and not text.lower().startswith(("adobe", "created with")):
                found = {"prompt": text, "negative_prompt": "", "settings": {}, "source": "EXIF/XMP"}
                break
        hints += " " + " ".join(_exif_texts(img))
    if not found.get("prompt"):
        return {}
    found["generator"] = guess_generator(found, hints)
    return found


# --- Stripping metadata from the stored original ------------------------------------------

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
