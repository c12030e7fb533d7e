"""The Automatic1111 text, also written by Forge, reForge, SD.Next, Fooocus (A1111 scheme) and Civitai.

<prompt, any number of lines>
Negative prompt: <negative, any number of lines>
Steps: 30, Sampler: DPM++ 2M, CFG scale: 7, Seed: 1234, Size: 512x512, Model: sdxl, Lora hashes: "a: 1, b: 2"
"""

from __future__ import annotations

import re

from prompts.media.generation import text as t
from prompts.media.generation.found import Found

_PAIR = re.compile(r'\s*([A-Za-z][\w \-/()\.]{0,40}?):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')
_SETTINGS_START = re.compile(r"^\s*Steps:\s*\d+\s*,")
_KNOWN_KEYS = ("Sampler", "Seed", "CFG scale", "Size", "Model")
# Civitai appends JSON lists/objects unquoted: their commas would break the key/value pairs.
_CIVITAI_JSON = re.compile(r"(Civitai resources|Civitai metadata):\s*")


def looks_like(text: str) -> bool:
    """A1111 text has a settings line or a negative prompt line; free text has neither."""
    lines = text.strip().split("\n")
    return bool(lines) and (
        _settings_index(lines) is not None or any(line.startswith("Negative prompt:") for line in lines)
    )


def _settings_index(lines: list[str]) -> int | None:
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        if _SETTINGS_START.match(line):
            return index
        pairs = [key for key, _ in _PAIR.findall(line)]
        if len(pairs) >= 3 and sum(key.strip() in _KNOWN_KEYS for key in pairs) >= 2:
            return index
        if line.strip():  # only the last non-empty line can be the settings line
            return None
    return None


def _strip_civitai_json(line: str) -> tuple[str, str]:
    """Cut `Civitai resources: [...]` / `Civitai metadata: {...}` out of the line (brackets matched)."""
    extra = ""
    for _ in range(4):
        match = _CIVITAI_JSON.search(line)
        if not match or match.end() >= len(line) or line[match.end()] not in "[{":
            break
        depth, end, in_string, escape = 0, None, False, False
        for index in range(match.end(), len(line)):
            ch = line[index]
            if in_string:
                escape = ch == "\\" and not escape
                if ch == '"' and not escape:
                    in_string = False
                continue
            if ch == '"':
                in_string = True
            elif ch in "[{":
                depth += 1
            elif ch in "]}":
                depth -= 1
                if depth == 0:
                    end = index + 1
                    break
        if end is None:
            line = line[: match.start()]
            break
        extra += f"{match.group(1)} {line[match.end() : end]} "
        line = line[: match.start()] + line[end:].lstrip(", ")
    return line, extra


def source_of(settings_line: str, text: str) -> str:
    version = re.search(r"\bVersion:\s*([^,\s]+)", settings_line)
    version = version.group(1) if version else ""
    if "App: SD.Next" in settings_line or "SD.Next" in version:
        return "SD.Next"
    if version.startswith("neo"):
        return "Forge Neo"
    if re.match(r"f\d", version):
        return "Forge"
    if "Fooocus" in settings_line:
        return "Fooocus"
    if "Civitai resources" in text or "Civitai metadata" in text:
        return "Civitai"
    if version == "ComfyUI":
        return "ComfyUI"
    if "swarm_version" in settings_line:
        return "SwarmUI"
    return "Automatic1111"


def parse(parameters: str) -> Found | None:
    """None when the text is a placeholder (comfy image saver writes `unknown` when nothing is wired)."""
    if not isinstance(parameters, str) or t.is_placeholder(parameters):
        return None
    text = parameters[:200_000].replace("\r\n", "\n").strip()
    lines = text.split("\n")
    index = _settings_index(lines)
    settings_line = ""
    if index is not None:
        settings_line = " ".join(lines[index:])
        lines = lines[:index]
    negative = ""
    for position, line in enumerate(lines):
        if line.startswith("Negative prompt:"):
            negative = "\n".join([line[len("Negative prompt:") :].strip(), *lines[position + 1 :]])
            lines = lines[:position]
            break
    cut_line, civitai = _strip_civitai_json(settings_line)
    found = Found(prompt="\n".join(lines), negative_prompt=negative, source=source_of(settings_line, civitai + text))
    for key, raw in _PAIR.findall(cut_line):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = raw[1:-1].replace('\\"', '"')
        found.add(key.strip(), raw)
    # Civitai names the checkpoint only in its resource list ("modelName":"FLUX").
    found.hints = " ".join([*(found.settings.get(k, "") for k in ("Model", "Version", "App")), civitai[:2000]])
    if not found.prompt and not found.settings:
        return None
    return found
