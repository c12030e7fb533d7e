"""Generation metadata in AI images (removing metadata from stored files is in sanitize.py).

Automatic1111/Forge write a PNG text chunk `parameters`; ComfyUI writes `prompt`/`workflow` JSON
chunks; others use EXIF UserComment/ImageDescription or XMP. Nothing read here is trusted: texts
are capped, control characters dropped, values kept only when they are short strings or numbers.
"""
from __future__ import annotations

import io
import json
import re

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
