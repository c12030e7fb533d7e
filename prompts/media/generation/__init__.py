"""How an image was generated, read from the file itself.

`read(data)` returns {prompt, negative_prompt, settings, source, generator} (and `provenance`
when the file carries C2PA Content Credentials), or {} when the file says nothing usable. It
never raises: every reader works on untrusted bytes and a failure is "nothing found".

Formats (one small module each): A1111/Forge/SD.Next/Civitai text (`a1111`), ComfyUI graphs
(`comfyui`), NovelAI (`novelai`), InvokeAI 1-3+ (`invokeai`), Fooocus/RuinedFooocus/SwarmUI/
Hugging Face Spaces JSON (`jsonformats`), stealth alpha/RGB bits (`stealth`), C2PA (`provenance`),
in PNG text chunks, EXIF (UserComment of any charset, ImageDescription, Make/Model), JPEG
comments and XMP (`containers`).
"""

from __future__ import annotations

import logging
import re

from prompts.media.generation import (
    a1111,
    comfyui,
    containers,
    generators,
    invokeai,
    jsonformats,
    novelai,
    provenance,
    stealth,
)
from prompts.media.generation import text as t
from prompts.media.generation.found import Found
from prompts.media.generation.provenance import remove_provenance
from prompts.media.generation.stealth import clear_stealth_bits

__all__ = ["clear_stealth_bits", "read", "remove_provenance"]

logger = logging.getLogger(__name__)

# Words editors, cameras and converters leave in description/comment fields: never a prompt.
_BOILERPLATE = re.compile(
    r"^(?:(?:created|made|edited|generated|processed|saved|exported|optimi[sz]ed|converted|compressed|modified)"
    r"\s+(?:with|by|using|in|on)\b|(?:olympus|sony|samsung|lg|nikon|canon|kodak|pentax|fujifilm|minolta)\b"
    r"|digital camera|screenshot|default|untitled|copyright|©|\(c\)|file written by|lavf|lavc|exif_jpeg|"
    r"(?:img|dsc|dscn|pxl|photo)[_-]?\d|https?://\S+$|[\w\-. ]+\.(?:jpe?g|png|webp|gif|psd|tiff?)$)",
    re.IGNORECASE,
)
_EDITORS = re.compile(
    r"gimp|photoshop|lightroom|affinity|paint\.net|krita|pixelmator|snapseed|picasa|acdsee|irfanview|"
    r"xnview|capture one|darktable|rawtherapee|luminar|canva|preview|photos|windows|google|"
    r"instagram|microsoft",
    re.IGNORECASE,
)
_GENERATION_MARKERS = re.compile(r"--(?:ar|v|style|stylize|s|q|niji|chaos|seed)\b|job id:", re.IGNORECASE)
_COMFY_PREFIX = re.compile(r"^\s*(prompt|workflow)\s*:\s*(?=[{\[])", re.IGNORECASE)


def read(data: bytes) -> dict:
    try:
        return _read(data)
    except Exception:  # the contract is "never raises": a reader bug must not fail an upload
        logger.exception("generation metadata reader failed")
        return {}


def _read(data: bytes) -> dict:
    carrier = containers.read(data)
    if not carrier.format:
        return {}
    found = _structured(data, carrier)
    if found is None:
        found = _free_text(carrier)
    credit = provenance.read(data, carrier)
    words = " ".join(
        [
            carrier.exif.get("software", ""),
            carrier.texts.get("Software", ""),
            containers.xmp_field(carrier.xmp, "photoshop:Credit"),
            carrier.exif.get("artist", ""),
        ]
    )
    if found is None and not credit:
        named = re.search(
            r"novel ?ai|midjourney|made with google ai|firefly|dall[·\-]?e|chatgpt|gpt-image", words, re.IGNORECASE
        )
        generator = generators.guess("", "", {}, words) if named else ""
        return (
            {"prompt": "", "negative_prompt": "", "settings": {}, "source": "", "generator": generator}
            if generator
            else {}
        )
    result = found.as_dict() if found is not None else Found().as_dict()
    result["generator"] = generators.guess(
        result["source"],
        found.hints if found else "",
        credit,
        f"{words} {found.prompt if found and found.source == 'EXIF/XMP' else ''}",
    )
    if credit:
        result["provenance"] = credit
    return result


def _structured(data: bytes, carrier: containers.Carrier) -> Found | None:
    """Every structured place in order; a placeholder never wins over real data further on."""
    for found in _candidates(data, carrier):
        if found is not None and found.useful:
            return found
    return None


def _candidates(data: bytes, carrier: containers.Carrier):
    texts = carrier.texts
    parameters = texts.get("parameters")
    if isinstance(parameters, str):
        yield _from_text(parameters)
    yield invokeai.parse(texts)
    yield novelai.parse(texts)
    for key in ("Comment", "comment", "generation_data"):
        if key in texts:
            yield jsonformats.parse(t.load_json(texts[key]))
    if "prompt" in texts:
        graph = comfyui.normalise(t.load_json(texts["prompt"]))
        yield comfyui.parse(graph) if graph else None
    elif "workflow" in texts:
        graph = comfyui.from_workflow(t.load_json(texts["workflow"]))
        yield comfyui.parse(graph) if graph else None
    exif = carrier.exif
    for key in ("user_comment", "user_comment_ifd0", "xp_comment"):
        if key in exif:
            yield _from_text(exif[key], free=False)
    if carrier.comment:
        yield _from_text(carrier.comment, free=False)
    yield _comfy_from_exif(exif)
    if carrier.format == "PNG":
        hidden = stealth.read(data, carrier)
        if hidden:
            payload = t.load_json(hidden)
            if isinstance(payload, dict):
                stealth_texts = {str(k): v for k, v in payload.items() if isinstance(v, str)}
                yield novelai.parse(stealth_texts) or jsonformats.parse(payload)
            else:
                yield _from_text(hidden)


def _from_text(value: str, *, free: bool = True) -> Found | None:
    """A1111 text or one of the JSON objects; free text only where the field holds nothing else."""
    data = t.load_json(value)
    if data is not None:
        return jsonformats.parse(data)
    if _COMFY_PREFIX.match(value):
        return None
    if a1111.looks_like(value) or free:
        return a1111.parse(value)
    return None


def _comfy_from_exif(exif: dict) -> Found | None:
    """ComfyUI's animated WebP writes 'prompt:{...}' into Model and 'workflow:{...}' into Make;
    "save image extended" writes 'Prompt: {...}' / 'Workflow: {...}' into Make/ImageDescription."""
    graphs = {}
    for key in ("model", "make", "description", "user_comment", "user_comment_ifd0"):
        match = _COMFY_PREFIX.match(exif.get(key, ""))
        if match:
            graphs.setdefault(match.group(1).lower(), exif[key][match.end() :])
    graph = comfyui.normalise(t.load_json(graphs.get("prompt")))
    if graph is None and "workflow" in graphs:
        graph = comfyui.from_workflow(t.load_json(graphs["workflow"]))
    return comfyui.parse(graph) if graph else None


def _free_text(carrier: containers.Carrier) -> Found | None:
    """A description that is only a sentence (Midjourney writes its prompt so), unless it is an editor's
    or a camera's: those files' descriptions are never prompts."""
    exif = carrier.exif
    software = " ".join(
        [
            exif.get("software", ""),
            carrier.texts.get("Software", ""),
            containers.xmp_field(carrier.xmp, "xmp:CreatorTool"),
        ]
    )
    fields = [
        containers.xmp_field(carrier.xmp, "dc:description"),
        exif.get("description", ""),
        exif.get("user_comment", ""),
        carrier.texts.get("Description", ""),
        carrier.comment,
    ]
    for value in fields:
        text = t.clean(value)
        if len(text) < 3 or t.is_placeholder(text) or _BOILERPLATE.match(text) or t.load_json(text) is not None:
            continue
        if _COMFY_PREFIX.match(text) or not re.search(r"[^\W\d_]", text):
            continue
        marked = bool(_GENERATION_MARKERS.search(text))
        if not marked and (carrier.camera or _EDITORS.search(software) or exif.get("make")):
            continue
        return Found(prompt=text, source="EXIF/XMP")
    return None
